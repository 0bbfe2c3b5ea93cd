"""Math and code verifiers (:mod:`rmr1_plugin.verify`) as TRL reward functions.

1.0 when verified, 0.0 when rejected (wrong, unparsable, failing tests, timed out) and ``None``
when the verdict says nothing about the completion (an unparsable gold answer, a sandbox
failure), which TRL leaves out of the group statistics. Per-status counts go to ``log_metric``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

LogMetric = Callable[[str, float], None]


def _log_statuses(results: Sequence[Any], prefix: str, log_metric: LogMetric | None) -> None:
    if log_metric is None or not results:
        return
    for status, count in Counter(r.status for r in results).items():
        log_metric(f"{prefix}/{status}_rate", count / len(results))


def math_reward(completions: Sequence[Any], gold: Sequence[str] | None = None,
                solution: Sequence[str] | None = None, *, log_metric: LogMetric | None = None,
                **kwargs: Any) -> list[float | None]:
    """Check each completion's final answer against the ``gold`` column (or TRL's ``solution``).

    >>> math_reward(["The answer is 4.", "5"], gold=["4", "4"])   # doctest: +SKIP
    [1.0, 0.0]
    """
    from rmr1_plugin.verify import check_math, to_scores

    answers = gold if gold is not None else solution
    if answers is None:
        raise ValueError("math_reward needs a 'gold' (or 'solution') dataset column with the reference answer")
    results = check_math(completions, list(answers))
    _log_statuses(results, "math", log_metric)
    return to_scores(results)


def code_reward(completions: Sequence[Any], tests: Sequence[Any] | None = None, *,
                inputs: Sequence[list[str]] | None = None, outputs: Sequence[list[str]] | None = None,
                entry_point: Sequence[str | None] | None = None, log_metric: LogMetric | None = None,
                **kwargs: Any) -> list[float | None]:
    """Run each completion's code (last fenced block) in the sandbox against its ``tests`` column
    (assertion code) or ``inputs``/``outputs`` columns (stdin/stdout cases)."""
    from rmr1_plugin.verify import check_code, to_scores

    if tests is None and inputs is None:
        raise ValueError("code_reward needs a 'tests' column, or 'inputs' and 'outputs' columns")
    results = check_code(completions, tests, inputs=inputs, outputs=outputs, entry_point=entry_point)
    _log_statuses(results, "code", log_metric)
    return to_scores(results)
