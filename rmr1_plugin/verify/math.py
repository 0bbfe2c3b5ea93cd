"""Math answer verification on math-verify, with hard deadlines from any thread.

The final answer is read from the response by math-verify (boxed answers, "the final answer is
…", else the last expression), inside the last ``<answer>…</answer>`` when there is one; a bare gold
answer is read as LaTeX (``7\\pi`` means 7π, not 7), and the two are compared by ``math_verify.verify``. Parsing
and comparing run in a :class:`~rmr1_plugin.verify.pool.DeadlinePool` of worker processes, so a
tower of exponents costs at most its deadline, in any thread.

>>> verify_math(r"... so the area is \\boxed{7\\pi}.", r"7\\pi").status
'correct'
>>> verify_math(r"... so the area is \\boxed{7}.", r"7\\pi").status
'incorrect'
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

from rmr1_plugin.verify.pool import DeadlinePool
from rmr1_plugin.verify.results import MathResult

#: Seconds per (response, gold) pair, parsing and comparing together.
DEFAULT_DEADLINE = 5.0
#: Address-space cap of each math worker, MiB (sympy on a 50k-character input stays well below).
WORKER_MEMORY_MB = 3072

_TASK = "rmr1_plugin.verify.math:check_pair"
_pool: DeadlinePool | None = None
_pool_lock = threading.Lock()


def default_pool() -> DeadlinePool:
    """The process-wide math pool (one worker per core), started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.usable:
            _pool = DeadlinePool(_TASK, memory_mb=WORKER_MEMORY_MB)
        return _pool


def verify_math(response: str, gold: str, *, deadline: float = DEFAULT_DEADLINE,
                require_marker: bool = False, pool: DeadlinePool | None = None) -> MathResult:
    """Check one response against one gold answer; see :func:`verify_math_batch`.

    >>> verify_math("The answer is 12.", "12").correct
    True
    """
    return verify_math_batch([response], [gold], deadline=deadline, require_marker=require_marker, pool=pool)[0]


def verify_math_batch(responses: Sequence[str], golds: Sequence[str], *, deadline: float = DEFAULT_DEADLINE,
                      require_marker: bool = False, pool: DeadlinePool | None = None) -> list[MathResult]:
    """Check many (response, gold) pairs in parallel; one :class:`MathResult` per pair, in order.

    ``deadline``: seconds per pair (hard: the worker is killed). ``require_marker``: only accept
    an answer given explicitly (tag, box, "the answer is"), never a guess from the last number.
    A malformed pair (non-string, empty gold) is an ``error`` result; the batch goes on.

    >>> [r.status for r in verify_math_batch(["\\\\boxed{2}", "\\\\boxed{3}", 5], ["2", "2", "5"])]
    ['correct', 'incorrect', 'error']
    """
    if len(responses) != len(golds):
        raise ValueError(f"got {len(responses)} responses but {len(golds)} gold answers")
    results: list[MathResult | None] = [None] * len(responses)
    items, where = [], []
    for i, (response, gold) in enumerate(zip(responses, golds, strict=True)):
        problem = _input_problem(response, gold)
        if problem:
            results[i] = MathResult(status="error", error=problem)
        else:
            items.append({"response": response, "gold": gold, "require_marker": require_marker})
            where.append(i)
    if items:
        outcomes = (pool or default_pool()).map(items, deadline=deadline)
        for i, outcome in zip(where, outcomes, strict=True):
            if outcome.status == "ok":
                results[i] = MathResult(**outcome.value, seconds=outcome.seconds)
            else:
                results[i] = MathResult(status=outcome.status, error=outcome.error, seconds=outcome.seconds)
    return results  # type: ignore[return-value]


def _input_problem(response: Any, gold: Any) -> str | None:
    if not isinstance(response, str):
        return f"response must be a string, got {type(response).__name__}"
    if not isinstance(gold, str) and not isinstance(gold, (int, float)) or isinstance(gold, bool):
        return f"gold must be a string, got {type(gold).__name__}"
    if not str(gold).strip():
        return "gold answer is empty"
    return None


# -- worker side (runs inside the pool's processes) ------------------------------------------


def check_pair(item: dict) -> dict:
    """Worker task: parse and compare one pair (no timeouts here: the pool enforces them)."""
    from math_verify import parse, verify

    targets = _targets()
    gold = str(item["gold"])
    gold_parsed = parse(as_latex(gold), targets, parsing_timeout=None)
    if not gold_parsed:
        return {"status": "error", "error": f"gold answer could not be parsed: {gold[:200]!r}"}
    region, how = answer_region(item["response"])
    fields = {"how": how, "parsed_gold": str(gold_parsed[-1])}
    if item.get("require_marker") and how != "answer-tag" and not has_marker(region):
        return {"status": "unparsable", "error": "no marked final answer (<answer>, \\boxed, 'the answer is')",
                **fields}
    answer_parsed = parse(region, targets, parsing_timeout=None)
    if not answer_parsed and how == "answer-tag":
        answer_parsed = parse(as_latex(region), targets, parsing_timeout=None)
    if not answer_parsed:
        return {"status": "unparsable", "error": "no parsable answer in the response", **fields}
    fields.update(extracted=str(answer_parsed[-1])[:2000], parsed_answer=str(answer_parsed[0])[:2000])
    ok = verify(gold_parsed, answer_parsed, timeout_seconds=None, raise_on_error=False)
    return {"status": "correct" if ok else "incorrect", **fields}


@functools.cache
def _targets() -> list:
    """math-verify's extraction settings, built once per worker: its regex caches key on them."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig

    for name in ("math_verify.parser", "math_verify.grader", "math_verify.utils"):
        logging.getLogger(name).setLevel(logging.ERROR)  # its "timeout disabled" warnings: we kill instead
    return [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]


# -- pure helpers ------------------------------------------------------------------------------

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_MARKER = re.compile(r"\\boxed|\\fbox|answer\s*(?:is|:)", re.IGNORECASE)
_DELIMITED = re.compile(r"\$|\\\(|\\\[|\\boxed|\\fbox")


def as_latex(answer: str) -> str:
    """Make a bare answer read as LaTeX: ``7\\pi`` -> ``\\boxed{7\\pi}``; delimited text is kept.

    >>> as_latex(r"7\\pi")
    '\\\\boxed{7\\\\pi}'
    >>> as_latex("$x=2$")
    '$x=2$'
    """
    return answer if _DELIMITED.search(answer) else "\\boxed{" + answer.strip() + "}"


def answer_region(response: str) -> tuple[str, str]:
    """The text the final answer is read from: the last non-empty ``<answer>`` tag's content
    (``"answer-tag"``), else the whole response, where math-verify looks for boxed answers,
    "the final answer is …" and, failing those, the last expression (``"response"``).

    >>> answer_region("reasoning <answer>42</answer>")
    ('42', 'answer-tag')
    >>> answer_region(r"so \\boxed{3}")[1]
    'response'
    """
    tags = [t.strip() for t in _ANSWER_TAG.findall(response) if t.strip()]
    if tags:
        return tags[-1], "answer-tag"
    return response, "response"


def has_marker(text: str) -> bool:
    """Whether the text marks its final answer (``\\boxed``, ``\\fbox``, "answer is", "answer:").

    >>> has_marker("The answer is 4"), has_marker("maybe 4")
    (True, False)
    """
    return bool(_MARKER.search(text))
