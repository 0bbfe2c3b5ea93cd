"""math_reward / code_reward: conventional signatures, chat completions, scores that keep statuses apart."""

from __future__ import annotations

import pytest

from rmr1_plugin.verify import (
    CodeResult,
    MathResult,
    code_reward,
    completion_text,
    extract_code,
    math_reward,
    to_scores,
)


@pytest.mark.timeout(60)
def test_math_reward_takes_strings_or_chat_messages_and_ignores_extra_columns():
    completions = [r"... \boxed{4}", [{"role": "assistant", "content": r"so \boxed{5}"}], "no answer", 42]
    results = math_reward(completions, gold=["4", "4", "4", "4"], prompts=["p"] * 4, trainer_state=None)
    assert [r.status for r in results] == ["correct", "incorrect", "unparsable", "error"]
    assert to_scores(results) == [1.0, 0.0, 0.0, None]
    assert to_scores(results, failure=-1.0, undecided=0.0) == [1.0, -1.0, -1.0, 0.0]


@pytest.mark.timeout(60)
def test_code_reward_runs_fenced_code_against_per_row_tests():
    good = "Here you go:\n```python\ndef inc(x):\n    return x + 1\n```"
    bad = "```python\ndef inc(x):\n    return x\n```"
    results = code_reward([good, bad], tests=["assert inc(1) == 2", "assert inc(1) == 2"])
    assert [r.status for r in results] == ["passed", "failed"]
    io = code_reward(["```py\nprint(input()[::-1])\n```"], inputs=[["abc\n"]], outputs=[["cba"]])
    assert io[0].passed


def test_columns_must_match_the_completions():
    with pytest.raises(ValueError, match="column 'tests' has 1 rows but there are 2 completions"):
        code_reward(["a", "b"], tests=["assert True"])


def test_sandbox_errors_and_bad_data_are_undecided_not_failures():
    results = [MathResult(status="timeout"), MathResult(status="error"), CodeResult(status="sandbox_error"),
               CodeResult(status="passed")]
    assert to_scores(results) == [0.0, None, None, 1.0]


def test_text_helpers():
    assert completion_text([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]) == "a"
    with pytest.raises(TypeError, match="string or a list of chat messages"):
        completion_text(3)
    assert extract_code("```python\na\n```\n```python\nb\n```") == "b\n"
    assert extract_code("plain") == "plain"
