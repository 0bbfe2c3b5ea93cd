"""The judge engine's side of the verifier seam: run a :class:`~rmr1_plugin.verify.route.Verifier`
over completions and read each result as pass (True), fail (False) or undecided (None).

A result is read through :attr:`~rmr1_plugin.verify.results.MathResult.decisive` and ``decision``:
only a completion checked outright orders a pair; an unparsable or timed-out one, an error, or a
verifier that fails leaves the comparison to the judge.

>>> verifier_outcome({"status": "correct"}), verifier_outcome({"status": "timeout"}), verifier_outcome(False)
(True, None, False)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the verifiers load on first use: importing the judge does not start them
    from rmr1_plugin.verify.route import BatchVerifier, Verifier

log = logging.getLogger(__name__)


def default_verifier() -> BatchVerifier:
    """The engine's default verifier: :func:`rmr1_plugin.verify.route` with its batch form."""
    from rmr1_plugin.verify.route import default_verifier as route_verifier

    return route_verifier()


def verifier_outcome(result: Any) -> bool | None:
    """Read a verifier result as pass (True), fail (False) or undecided (None).

    A result object is read by its ``decision``/``decisive``; a mapping or an object with only a
    ``status`` by the same status table (:data:`rmr1_plugin.verify.results.STATUS_OUTCOMES`).
    """
    if result is None or isinstance(result, bool):
        return result
    if hasattr(result, "decision") and hasattr(result, "decisive"):
        decision, decisive = result.decision, result.decisive
    else:
        status = result.get("status") if isinstance(result, dict) else getattr(result, "status", None)
        from rmr1_plugin.verify.results import status_outcome

        decision, decisive = status_outcome(status)
    if not decisive or decision == "undecided":
        return None
    return decision == "pass"


async def averify(verifier: Verifier, completions: Sequence[str], *, golds: Sequence[Any],
                  tests: Sequence[Any], tasks: Sequence[str | None]) -> list[bool | None]:
    """Pass/fail/undecided per completion (one batch call when the verifier supports it, else one
    call per completion, in threads); a failing verifier only means "ask the judge"."""
    from rmr1_plugin.verify.route import SupportsBatch

    try:
        if isinstance(verifier, SupportsBatch):
            results = await asyncio.to_thread(verifier.batch, list(completions), golds=list(golds),
                                              tests=list(tests), tasks=list(tasks))
        else:
            results = await asyncio.gather(*(
                asyncio.to_thread(verifier, c, gold=g, tests=t, task=k)
                for c, g, t, k in zip(completions, golds, tests, tasks, strict=True)))
    except Exception as error:
        log.warning("verifier failed (%s: %s); the judge decides", type(error).__name__, error)
        return [None] * len(completions)
    return [verifier_outcome(r) for r in results]
