"""The judge takes the verifier route before spending an LLM call (rmr1_plugin.judge + verify.route)."""

from __future__ import annotations

import pytest

from rmr1_plugin import judge
from rmr1_plugin.backends.replay import ReplayBackend


@pytest.mark.timeout(120)
def test_verifiable_pairs_are_settled_by_the_verifier_without_a_backend_call():
    backend = ReplayBackend.from_records([])  # no recorded generations: any judge call would be an error
    engine = judge.Judge(backend)
    assert engine.verifier is not None, "the judge should find rmr1_plugin.verify.route by default"
    verdicts = engine.judge([
        judge.JudgePair(question="Area of a circle of radius sqrt(7)?", answer_a=r"\boxed{7}",
                        answer_b=r"\boxed{7\pi}", gold=r"7\pi", task="math"),
        judge.JudgePair(question="Write inc(x).", answer_a="```python\ndef inc(x):\n    return x + 1\n```",
                        answer_b="```python\ndef inc(x):\n    return x\n```", tests="assert inc(1) == 2",
                        task="code"),
    ])
    assert [(v.winner, v.source) for v in verdicts] == [("B", "verifier"), ("A", "verifier")]
