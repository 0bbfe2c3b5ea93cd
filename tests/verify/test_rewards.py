"""check_math / check_code: conventional signatures, chat completions, scores that keep statuses apart."""

from __future__ import annotations

import pytest

from rmr1_plugin.verify import (
    CodeResult,
    MathResult,
    check_code,
    check_math,
    completion_text,
    extract_code,
    to_scores,
)


@pytest.mark.timeout(60)
def test_check_math_takes_strings_or_chat_messages_and_ignores_extra_columns():
    completions = [r"... \boxed{4}", [{"role": "assistant", "content": r"so \boxed{5}"}], "no answer", 42]
    results = check_math(completions, gold=["4", "4", "4", "4"], prompts=["p"] * 4, trainer_state=None)
    assert [r.status for r in results] == ["correct", "incorrect", "unparsable", "error"]
    assert to_scores(results) == [1.0, 0.0, 0.0, None]
    assert to_scores(results, failure=-1.0, undecided=0.0) == [1.0, -1.0, -1.0, 0.0]


@pytest.mark.timeout(60)
def test_check_code_runs_fenced_code_against_per_row_tests():
    good = "Here you go:\n```python\ndef inc(x):\n    return x + 1\n```"
    bad = "```python\ndef inc(x):\n    return x\n```"
    results = check_code([good, bad], tests=["assert inc(1) == 2", "assert inc(1) == 2"])
    assert [r.status for r in results] == ["passed", "failed"]
    io = check_code(["```py\nprint(input()[::-1])\n```"], inputs=[["abc\n"]], outputs=[["cba"]])
    assert io[0].passed


def test_columns_must_match_the_completions():
    with pytest.raises(ValueError, match="column 'tests' has 1 rows but there are 2 completions"):
        check_code(["a", "b"], tests=["assert True"])


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


def test_the_old_result_returning_names_still_work_and_say_they_are_deprecated():
    from rmr1_plugin.verify import code_reward, math_reward

    with pytest.warns(DeprecationWarning, match="use check_math"):
        assert [r.status for r in math_reward(["4"], gold=["4"])] == ["correct"]
    with pytest.warns(DeprecationWarning, match="use check_code"):
        assert code_reward(["x = 1"], tests=["assert x == 1"])[0].passed
