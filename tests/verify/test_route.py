"""route / route_batch: the judge's verifier route picks math, code or nothing."""

from __future__ import annotations

import pytest

from rmr1_plugin.verify import CodeResult, MathResult, route, route_batch


@pytest.mark.timeout(60)
def test_a_gold_answer_routes_to_math_and_tests_route_to_code():
    assert isinstance(route(r"\boxed{3}", gold="3"), MathResult)
    code = route("```python\ndef f():\n    return 1\n```", tests="assert f() == 1")
    assert isinstance(code, CodeResult) and code.passed


def test_nothing_to_verify_gives_none():
    assert route("hello") is None
    assert route(r"\boxed{3}", gold="3", task="chat") is None


@pytest.mark.timeout(60)
def test_the_task_hint_picks_between_verifiers_and_batches_keep_order():
    completions = [r"\boxed{2}", "print(input())", "chit-chat", "def f():\n    return 2"]
    results = route_batch(
        completions,
        golds=["2", None, None, "2"],
        tests=[None, {"inputs": ["x\n"], "outputs": ["x"]}, None, "assert f() == 2"],
        tasks=[None, None, None, "code"],
    )
    assert [type(r).__name__ if r else None for r in results] == ["MathResult", "CodeResult", None, "CodeResult"]
    assert [r.ok for r in results if r] == [True, True, True]


def test_mismatched_columns_are_refused():
    with pytest.raises(ValueError, match="2 completions but 1 golds"):
        route_batch(["a", "b"], golds=["1"])
