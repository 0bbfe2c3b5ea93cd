"""Math and code verifiers as TRL rewards: 1 / 0 / None and per-status rates."""

from __future__ import annotations

import pytest
from rmr1_trl import code_reward, math_reward


def test_math_reward_reads_gold_or_trls_solution_column_and_logs_statuses():
    metrics = {}
    rewards = math_reward(["The answer is 4.", "It is 5.", [{"role": "assistant", "content": "4"}]],
                          gold=["4", "4", "4"], log_metric=metrics.__setitem__)
    assert rewards == [1.0, 0.0, 1.0]
    assert metrics["math/correct_rate"] == pytest.approx(2 / 3)
    assert math_reward(["7"], solution=["7"]) == [1.0]


def test_an_unparsable_gold_answer_gives_no_reward_rather_than_a_wrong_one():
    assert math_reward(["4"], gold=[""]) == [None]


def test_math_reward_needs_a_gold_column():
    with pytest.raises(ValueError, match="'gold'"):
        math_reward(["4"])


@pytest.mark.timeout(120)
def test_code_reward_runs_the_last_code_block_against_the_tests():
    good = "```python\ndef sq(x):\n    return x * x\n```"
    bad = "```python\ndef sq(x):\n    return x + x\n```"
    metrics = {}
    assert code_reward([good, bad], tests=["assert sq(3) == 9"] * 2, log_metric=metrics.__setitem__) == [1.0, 0.0]
    assert metrics["code/passed_rate"] == 0.5
    with pytest.raises(ValueError, match="'tests' column"):
        code_reward([good])
