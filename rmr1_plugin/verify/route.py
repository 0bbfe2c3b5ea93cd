"""Which verifier, if any, settles a completion: the judge's route before it spends an LLM call.

>>> route("so the answer is \\\\boxed{12}", gold="12").status
'correct'
>>> route("a friendly reply") is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from rmr1_plugin.verify.code import run_code_tests_batch
from rmr1_plugin.verify.math import verify_math_batch
from rmr1_plugin.verify.results import CodeResult, MathResult, VerifyResult
from rmr1_plugin.verify.rewards import extract_code

#: Task hints that never go to a verifier.
NOT_VERIFIABLE = {"chat", "safety", "open"}


def route(completion: str, *, gold: Any = None, tests: Any = None, task: str | None = None,
          **options: Any) -> VerifyResult | None:
    """Verify one completion if a verifier applies, else ``None``; see :func:`route_batch`."""
    return route_batch([completion], golds=[gold], tests=[tests], tasks=[task], **options)[0]


def route_batch(completions: Sequence[str], *, golds: Sequence[Any] | None = None,
                tests: Sequence[Any] | None = None, tasks: Sequence[str | None] | None = None,
                math_deadline: float = 5.0, code_timeout: float = 30.0, sandbox: Any = None) -> list[VerifyResult | None]:
    """For each completion: a :class:`MathResult` when it has a gold answer, a :class:`CodeResult`
    when it has tests (assertion code, a list of blocks, or ``{"inputs": [...], "outputs": [...],
    "entry_point": ...}``), ``None`` when neither (or when ``task`` is ``chat``/``safety``/``open``).
    ``task="math"``/``"code"`` picks the verifier when a row has both. Math and code rows each run
    as one parallel batch.
    """
    n = len(completions)
    golds = list(golds) if golds is not None else [None] * n
    tests = list(tests) if tests is not None else [None] * n
    tasks = list(tasks) if tasks is not None else [None] * n
    if not len(golds) == len(tests) == len(tasks) == n:
        raise ValueError(f"route_batch: {n} completions but {len(golds)} golds, {len(tests)} tests, {len(tasks)} tasks")
    kinds = [_kind(g, t, k) for g, t, k in zip(golds, tests, tasks, strict=True)]
    results: list[VerifyResult | None] = [None] * n
    math_rows = [i for i, k in enumerate(kinds) if k == "math"]
    if math_rows:
        found: list[MathResult] = verify_math_batch([completions[i] for i in math_rows],
                                                    [golds[i] for i in math_rows], deadline=math_deadline)
        for i, result in zip(math_rows, found, strict=True):
            results[i] = result
    code_rows = [i for i, k in enumerate(kinds) if k == "code"]
    if code_rows:
        rows = [_code_row(completions[i], tests[i]) for i in code_rows]
        ran: list[CodeResult] = run_code_tests_batch(rows, sandbox=sandbox, timeout=code_timeout)
        for i, result in zip(code_rows, ran, strict=True):
            results[i] = result
    return results


def _kind(gold: Any, tests: Any, task: str | None) -> str | None:
    if task in NOT_VERIFIABLE:
        return None
    if task == "code" and tests is not None:
        return "code"
    if task == "math" and gold is not None:
        return "math"
    if gold is not None and (tests is None or task != "code"):
        return "math"
    return "code" if tests is not None else None


def _code_row(completion: Any, tests: Any) -> dict[str, Any]:
    code = extract_code(completion) if isinstance(completion, str) else completion
    if isinstance(tests, dict):
        return {"code": code, **{k: tests.get(k) for k in ("tests", "inputs", "outputs", "entry_point") if k in tests}}
    return {"code": code, "tests": tests}


# --- the verifier seam ---------------------------------------------------------------------------


@runtime_checkable
class Verifier(Protocol):
    """What the judge engine calls to settle a completion before asking the judge.

    Returns a :class:`~rmr1_plugin.verify.results.MathResult`/``CodeResult`` (read through its
    ``decision``/``decisive``), a bool (pass/fail) or ``None`` (cannot decide). :func:`route` is one.
    """

    def __call__(self, completion: str, *, gold: Any = None, tests: Any = None,
                 task: str | None = None) -> VerifyResult | bool | None: ...


@runtime_checkable
class SupportsBatch(Protocol):
    """A verifier that also checks a whole batch at once (:func:`route_batch` is one): the judge then
    calls ``batch`` once per batch instead of the verifier once per completion."""

    def batch(self, completions: Sequence[str], *, golds: Sequence[Any], tests: Sequence[Any],
              tasks: Sequence[str | None]) -> Sequence[VerifyResult | bool | None]: ...


class BatchVerifier:
    """A :class:`Verifier` with a batch form: ``batch(completions, golds=, tests=, tasks=) -> results``.

    >>> verifier = BatchVerifier(route, route_batch)
    >>> isinstance(verifier, Verifier) and isinstance(verifier, SupportsBatch)
    True
    """

    def __init__(self, one: Callable[..., Any], batch: Callable[..., Sequence[Any]]):
        self.one, self.batch = one, batch

    def __call__(self, completion: str, **fields: Any) -> Any:
        return self.one(completion, **fields)


def default_verifier() -> BatchVerifier:
    """The judge engine's verifier: :func:`route`, with :func:`route_batch` as its batch form."""
    return BatchVerifier(route, route_batch)
