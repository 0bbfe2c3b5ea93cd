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


def test_a_result_says_pass_fail_or_undecided_and_whether_it_was_checked_outright():
    from rmr1_plugin.verify.results import CodeResult, MathResult

    assert (MathResult(status="correct").decision, MathResult(status="correct").decisive) == ("pass", True)
    assert (MathResult(status="incorrect").decision, MathResult(status="incorrect").decisive) == ("fail", True)
    # Unread or cut off: scored as a failure, but too weak to order a pair without the judge.
    assert (MathResult(status="unparsable").decision, MathResult(status="unparsable").decisive) == ("fail", False)
    assert (CodeResult(status="timeout").decision, CodeResult(status="timeout").decisive) == ("fail", False)
    for status in ("error", "sandbox_error", "unverified"):
        assert CodeResult(status=status).decision == "undecided" and not CodeResult(status=status).decisive


def test_route_is_the_judges_verifier_seam():
    from rmr1_plugin.verify.route import SupportsBatch, Verifier, default_verifier

    verifier = default_verifier()
    assert isinstance(route, Verifier) and isinstance(verifier, Verifier) and isinstance(verifier, SupportsBatch)
    assert not isinstance(route, SupportsBatch)
    assert verifier.one is route and verifier.batch is route_batch
