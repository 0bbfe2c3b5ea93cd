"""Group scoring: one reward per completion of a prompt, from pairwise judgments planned by
:mod:`rmr1_plugin.ranking`, with each completion verified first when the row allows it.

:func:`ascore_group` is what :meth:`rmr1_plugin.judge.Judge.ascore_group` runs. Each call reports
its own counts in the returned :class:`~rmr1_plugin.ranking.GroupScores` (``flips``,
``both_orders``, ``judged_pairs``...), so concurrent users of one judge never mix their metrics:
:func:`group_flip_rate` reads them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from rmr1_plugin.backends.base import Conversation
from rmr1_plugin.errors import NoVerdictError
from rmr1_plugin.pairs import JudgePair, check_reference, uses_reference
from rmr1_plugin.ranking import GroupScores, Pair, arank_group
from rmr1_plugin.types import Strategy
from rmr1_plugin.verification import averify

if TYPE_CHECKING:
    from rmr1_plugin.judge import Judge

log = logging.getLogger(__name__)


async def ascore_group(judge: Judge, prompt: str | Conversation, completions: Sequence[str], *,
                       strategy: Strategy = "adaptive", max_calls: int | None = None, reference: str | None = None,
                       gold: str | None = None, tests: Any = None, task: str | None = None,
                       seed: int = 0) -> GroupScores:
    """One reward in [-1, 1] per completion of ``prompt``, from ``judge``'s pairwise verdicts
    (see :meth:`rmr1_plugin.judge.Judge.score_group`)."""
    candidates = [checked_completion(c, k) for k, c in enumerate(completions)]
    check_reference(strategy, reference)
    if reference is not None:
        candidates.append(checked_completion(reference, "reference"))
    if not completions:
        return GroupScores(rewards=[], calls=0, strategy=strategy)

    probe = JudgePair.from_prompt(prompt, "", "", gold=gold, tests=tests, task=task)
    outcomes: list[bool | None] = [None] * len(candidates)
    if judge.config.verify and judge.verifier is not None and probe.verifiable:
        n = len(candidates)
        outcomes = await averify(judge.verifier, candidates, golds=[gold] * n, tests=[tests] * n, tasks=[task] * n)
    # This call's own counts (the judge's ``stats`` are shared by every concurrent caller).
    counts = {"judged_pairs": 0, "verified_pairs": 0, "no_verdict": 0, "flips": 0, "both_orders": 0}
    failures: list[str] = []  # why each undecided comparison has no verdict
    # The judge's own words per judged comparison, for trainers that log rationales.
    texts: list[tuple[tuple[int, int], str]] = []

    async def acompare(pairs: list[Pair]) -> list[int | None]:
        result: list[int | None] = [None] * len(pairs)
        ask = []
        for slot, (i, j) in enumerate(pairs):
            a, b = outcomes[i], outcomes[j]
            if a is not None and b is not None and a != b:
                result[slot] = 0 if a else 1
                counts["verified_pairs"] += 1
            else:
                ask.append(slot)
        judge_pairs = [JudgePair.from_prompt(prompt, candidates[pairs[s][0]], candidates[pairs[s][1]]) for s in ask]
        counts["judged_pairs"] += len(judge_pairs)
        for slot, verdict in zip(ask, await judge.ajudge(judge_pairs), strict=True):
            result[slot] = None if verdict.winner is None else (0 if verdict.winner == "A" else 1)
            counts["no_verdict"] += verdict.winner is None
            counts["both_orders"] += verdict.flipped is not None
            counts["flips"] += verdict.flipped is True
            if verdict.winner is None:
                failures.append(verdict.error or "no verdict")
            texts.append((pairs[slot], verdict.texts[0] if verdict.texts else f"(no judgment: {verdict.error})"))
        return result

    ref_index = len(completions) if uses_reference(strategy) else None
    scores = await arank_group(len(candidates), acompare, strategy, max_calls, reference=ref_index, seed=seed)
    if ref_index is not None:
        scores.rewards = scores.rewards[:ref_index]
    scores.details.update(counts, verification=outcomes[: len(completions)], texts=texts)
    scores.flips, scores.both_orders = counts["flips"], counts["both_orders"]
    if counts["judged_pairs"] and not counts["verified_pairs"] and counts["no_verdict"] == counts["judged_pairs"]:
        raise NoVerdictError.from_failures(failures, scores)
    return scores


def group_flip_rate(scorings: Sequence[GroupScores]) -> float | None:
    """Share of the pairs judged in both orders whose two orders disagreed, over these group
    scorings only: each :meth:`Judge.ascore_group` call counts its own ``flips`` and
    ``both_orders``, so concurrent users of one judge never mix their metrics.

    >>> group_flip_rate([GroupScores(rewards=[], calls=2, flips=1, both_orders=2),
    ...                  GroupScores(rewards=[], calls=2, flips=0, both_orders=2)])
    0.25
    """
    flips = sum(s.flips for s in scorings)
    both = sum(s.both_orders for s in scorings)
    return flips / both if both else None


async def ascore_until_judged(score: Callable[[], Awaitable[GroupScores]], *, wait_s: float,
                              first_delay_s: float = 1.0, max_delay_s: float = 30.0) -> GroupScores:
    """Run ``score()`` again, with exponential backoff, while its judge backend is down.

    Gives up after ``wait_s`` seconds and raises the last :class:`NoVerdictError` (whose message
    carries the backend's error). A group the judge answered without any verdict raises at once:
    waiting does not change a judgment.

    >>> from rmr1_plugin.backends.base import run_sync
    >>> async def dead(): raise NoVerdictError("backend_error", "ConnectError: refused", 1)
    >>> run_sync(ascore_until_judged(dead, wait_s=0.0))
    Traceback (most recent call last):
    ...
    rmr1_plugin.errors.NoVerdictError: no verdict for a group of completions: the judge backend failed ...
    """
    deadline = time.monotonic() + wait_s
    delay = first_delay_s
    while True:
        try:
            return await score()
        except NoVerdictError as error:
            left = deadline - time.monotonic()
            if error.cause != "backend_error" or left <= 0:
                raise
            log.warning("judge backend down (%s); retrying in %.1f s (gives up in %.1f s)",
                        error.first_error, min(delay, left), left)
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, max_delay_s)


def checked_completion(completion: Any, index: int | str) -> str:
    """``completion`` when it is a string; else a ``TypeError`` naming completion ``index``."""
    if not isinstance(completion, str):
        raise TypeError(f"completion {index}: expected a string, got {type(completion).__name__}")
    return completion
