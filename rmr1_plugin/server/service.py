"""The judging behind the reward server's routes: request models in, judge engine, response models out.

One :class:`RewardService` wraps one judge backend. It keeps two :class:`~rmr1_plugin.judge.Judge`
views of it that share the backend and the cache: one that raises on a backend failure (the
request then fails with 503 and its reason) and one that records the failure as a ``None``
verdict, for clients that asked for partial results. A reward is never made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from rmr1_plugin.backends.base import BackendUnavailableError
from rmr1_plugin.collector import GroupCollector
from rmr1_plugin.pairs import JudgePair, check_reference, group_strategy, uses_reference
from rmr1_plugin.server.metrics import ServerMetrics
from rmr1_plugin.server.models import (
    GroupResult,
    JudgeRequest,
    JudgeResponse,
    LimitError,
    PairIn,
    PairResult,
    RewardRequest,
    RewardResponse,
    ScoreRequest,
    ScoreResponse,
)
from rmr1_plugin.server.openrlhf import RewardGroup, plan_queries, read_prompt

#: Ranking strategy of /score and /get_reward when neither the server nor the request names one.
DEFAULT_STRATEGY = "adaptive"

log = logging.getLogger("rmr1_plugin.server")


def __getattr__(name: str) -> Any:
    """``BackendUnavailable``: the deprecated name of :class:`rmr1_plugin.backends.BackendUnavailableError`."""
    if name == "BackendUnavailable":
        warnings.warn("rmr1_plugin.server.service.BackendUnavailable is deprecated: use "
                      "rmr1_plugin.backends.BackendUnavailableError", DeprecationWarning, stacklevel=2)
        return BackendUnavailableError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class NoVerdict(BackendUnavailableError):
    """The judge answered but no comparison of a group got a verdict: its rewards would be made-up
    draws (a wrong chat template, too small ``max_new_tokens``, a judge that is not RM-R1).
    ``result`` holds the group's counts."""

    def __init__(self, reason: str, result: GroupResult):
        super().__init__(reason)
        self.result = result


def group_failure(details: dict[str, Any]) -> str | None:
    """Why a ranked group's rewards cannot be used, from the engine's counts, or ``None``.

    A group in which the judge was asked and no comparison produced a verdict (none settled by a
    verifier either) is failed: every reward would be a draw no judge gave.

    >>> group_failure({"judged_pairs": 3, "no_verdict": 3, "verified_pairs": 0})
    'no verdict: the judge gave none in 3 comparisons (check the prompt style and --max-new-tokens)'
    >>> group_failure({"judged_pairs": 3, "no_verdict": 2, "verified_pairs": 0}) is None
    True
    """
    judged, silent = details.get("judged_pairs", 0), details.get("no_verdict", 0)
    if judged and silent >= judged and not details.get("verified_pairs", 0):
        return (
            f"no verdict: the judge gave none in {judged} comparisons "
            "(check the prompt style and --max-new-tokens)"
        )
    return None


class _CountingBackend:
    """Passes generations through to ``inner`` (the judge backend) and counts them, and its
    failures, for /metrics. Only the async path exists: the engine never calls another."""

    def __init__(self, backend: Any):
        self.inner = backend
        self.model_id = backend.model_id
        self.metrics: ServerMetrics | None = None

    async def agenerate(self, conversations: list[list[dict]], settings: Any) -> list[Any]:
        if self.metrics is not None:
            self.metrics.judge_calls.inc(len(conversations))
        try:
            generations = await self.inner.agenerate(conversations, settings)
        except Exception:
            if self.metrics is not None:
                self.metrics.backend_errors.inc(len(conversations))
            raise
        if self.metrics is not None:
            self.metrics.backend_errors.inc(sum(g.finish_reason == "error" for g in generations))
        return generations


class RewardService:
    """Judging for the server's routes.

    >>> from rmr1_plugin.backends import make_backend                       # doctest: +SKIP
    >>> service = RewardService(make_backend("replay", path="judge.jsonl"))  # doctest: +SKIP
    """

    def __init__(
        self,
        backend: Any,
        config: Any = None,
        *,
        cache: Any = None,
        strategy: str | None = None,
        group_size: int = 1,
        group_wait_s: float = 5.0,
    ):
        from rmr1_plugin.cache import GenerationCache
        from rmr1_plugin.judge import Judge, JudgeConfig
        from rmr1_plugin.types import STRATEGIES

        self.backend = _CountingBackend(backend)
        self.model_id: str = backend.model_id
        config = config if config is not None else JudgeConfig()
        self.cache = cache if cache is not None else GenerationCache()
        self._strict = Judge(
            self.backend, config.model_copy(update={"on_error": "raise"}), cache=self.cache
        )
        self._lenient = Judge(
            self.backend, config.model_copy(update={"on_error": "none"}), cache=self.cache
        )
        # Generations one comparison may take: both orders, each with its votes.
        self.calls_per_comparison = (1 if config.swap == "none" else 2) * config.votes
        self.strategies: tuple[str, ...] = tuple(STRATEGIES)
        self.strategy = strategy or DEFAULT_STRATEGY
        self.check_strategy(self.strategy)
        self.metrics: ServerMetrics | None = None
        self._slot: Callable[[], AbstractAsyncContextManager[Any]] = contextlib.nullcontext
        self.collector = (
            GroupCollector(self._score_collected, wait_s=group_wait_s, size=group_size)
            if group_size > 1
            else None
        )

    def attach(
        self, metrics: ServerMetrics, slot: Callable[[], AbstractAsyncContextManager[Any]]
    ) -> None:
        """Report to ``metrics``; take a judging slot from ``slot()`` for groups gathered across
        requests (their requests wait without holding one)."""
        self._slot = slot
        self.metrics = metrics
        self.backend.metrics = metrics
        metrics.track_cache_hits(lambda: self.cache.hits)

    def check_strategy(self, name: str | None) -> None:
        if name is not None and name not in self.strategies:
            raise LimitError(
                ("strategy",),
                f"unknown strategy {name!r}; choose one of {', '.join(self.strategies)}",
            )

    # --- judge work, before any is done ---------------------------------------------------

    def judge_work(self, request: JudgeRequest) -> int:
        """Most judge calls ``request`` can take."""
        return len(request.pairs) * self.calls_per_comparison

    def score_work(self, request: ScoreRequest) -> int:
        from rmr1_plugin.ranking import expected_calls

        strategy = request.strategy or self.strategy
        total = 0
        for group in request.groups:
            size = len(group.completions)
            how = group_strategy(strategy, size)
            total += expected_calls(size + uses_reference(how), how, request.max_calls)
        return total * self.calls_per_comparison

    def reward_work(self, request: RewardRequest) -> int:
        from rmr1_plugin.ranking import expected_calls

        groups, _ = plan_queries(
            request.query, request.prompts, request.labels, lone_ok=self.collector is not None
        )
        total = 0
        for group in groups:
            size = len(group.completions)
            if self.collector is not None:
                size = max(size, self.collector.size)
            how = group_strategy(self.strategy, size)
            total += expected_calls(size + uses_reference(how), how)
        return total * self.calls_per_comparison

    # --- routes ----------------------------------------------------------------------------

    async def judge(self, request: JudgeRequest) -> JudgeResponse:
        judge = self._lenient if request.partial else self._strict
        pairs = [_engine_pair(p) for p in request.pairs]
        verdicts = await self._guard(judge.ajudge(pairs))
        results = [_result(v, request.include_text) for v in verdicts]
        if self.metrics is not None:
            self.metrics.observe_verdicts([r.winner for r in results])
        return JudgeResponse(model=self.model_id, results=results)

    async def score(self, request: ScoreRequest) -> ScoreResponse:
        strategy = request.strategy or self.strategy
        jobs = []
        for i, group in enumerate(request.groups):
            how = _group_strategy(strategy, len(group.completions), group.reference, ("groups", i))
            prompt = (
                group.prompt
                if isinstance(group.prompt, str)
                else [m.model_dump() for m in group.prompt]
            )
            jobs.append(
                _GroupJob(
                    prompt,
                    group.completions,
                    how,
                    group.reference,
                    {
                        k: v
                        for k, v in (
                            ("gold", group.gold),
                            ("tests", group.tests),
                            ("task", group.task),
                        )
                        if v is not None
                    },
                )
            )
        results = await self._score_groups(jobs, request.max_calls, request.partial)
        return ScoreResponse(model=self.model_id, strategy=strategy, groups=results)

    async def reward(self, request: RewardRequest) -> RewardResponse:
        groups, refused = plan_queries(
            request.query, request.prompts, request.labels, lone_ok=self.collector is not None
        )
        if not groups:  # nothing in the request can be judged: a client error, named
            index = next(iter(refused))
            raise LimitError(("query", index), refused[index])
        errors: list[str | None] = [None] * len(request.query)
        for index, reason in refused.items():
            errors[index] = f"query[{index}]: {reason}"
            log.warning("/get_reward answered null for query[%d]: %s", index, reason)
        if self.collector is None:
            results = await self._score_groups(
                [_reward_job(g, self.strategy) for g in groups], None, request.partial
            )
            per_group = [[(r, result) for r in result.rewards] for result in results]
        else:
            per_group = await self._collected(groups, request.partial)
        rewards: list[float | None] = [None] * len(request.query)
        counted: dict[int, GroupResult] = {}
        for group, outcome in zip(groups, per_group, strict=True):
            for index, (reward, result) in zip(group.indices, outcome, strict=True):
                rewards[index] = reward
                counted[id(result)] = result
                if result.error is not None:
                    errors[index] = result.error
        scores = [None if r is None else (r + 1.0) / 2.0 for r in rewards]
        logs = {
            name: float(sum(getattr(r, field) for r in counted.values()))
            for name, field in (
                ("judge_calls", "calls"),
                ("verdicts", "verdicts"),
                ("no_verdicts", "no_verdicts"),
                ("verified", "verified"),
            )
        }
        logs["null_rewards"] = float(sum(r is None for r in rewards))
        return RewardResponse(
            rewards=rewards,
            scores=scores,
            extra_logs=logs,
            errors=errors if any(e is not None for e in errors) else None,
        )

    async def _collected(
        self, groups: list[RewardGroup], partial: bool
    ) -> list[list[tuple[float | None, GroupResult]]]:
        """Rank each group together with the responses to its prompt from other requests."""
        assert self.collector is not None
        outcomes = await asyncio.gather(
            *(self.collector.submit((g.prompt_text, g.reference), g.completions) for g in groups),
            return_exceptions=True,
        )
        results = []
        for group, outcome in zip(groups, outcomes, strict=True):
            if isinstance(outcome, LimitError):
                raise LimitError(("query", group.indices[0]), outcome.message)
            if isinstance(outcome, BaseException):
                if not partial or not _is_backend_failure(outcome):
                    raise _classify(outcome)
                log.warning(
                    "responses to one prompt failed, answered with null rewards: %s", outcome
                )
                failed = GroupResult(
                    rewards=[None] * len(group.completions), calls=0, error=_reason(outcome)
                )
                outcome = [(None, failed)] * len(group.completions)
            results.append(outcome)
        return results

    async def _score_collected(
        self, key: tuple[str, str | None], completions: list[str]
    ) -> list[tuple[float | None, GroupResult]]:
        prompt_text, label = key
        group = RewardGroup(
            read_prompt(prompt_text), completions, reference=label, prompt_text=prompt_text
        )
        if len(completions) == 1 and label is None:
            raise LimitError(
                ("query",),
                f"no other response to its prompt arrived within {self.collector.wait_s:g} s "
                "(--group-wait) and it has no label to be compared with",
            )
        async with self._slot():
            (result,) = await self._score_groups(
                [_reward_job(group, self.strategy)], None, partial=False
            )
        return [(r, result) for r in result.rewards]

    async def probe(self) -> None:
        """Ask the backend for one token; raise with the reason when it cannot answer.

        Recorded generations (the replay backend) are local data: loaded means ready.
        """
        from rmr1_plugin.backends import GenerationSettings, ReplayBackend

        backend = self.backend.inner  # a probe is not a judge call: bypass the counting
        if isinstance(backend, ReplayBackend):
            return
        generations = await backend.agenerate(
            [[{"role": "user", "content": "Reply with OK."}]],
            GenerationSettings(max_new_tokens=1, temperature=0.0),
        )
        if not generations or generations[0].finish_reason == "error":
            raise BackendUnavailableError(
                generations[0].error if generations else "no generation returned"
            )

    # --- helpers ---------------------------------------------------------------------------

    async def _score_groups(
        self, jobs: Sequence[_GroupJob], max_calls: int | None, partial: bool
    ) -> list[GroupResult]:
        from rmr1_plugin.judge import NoVerdictError

        # Always the strict judge: a comparison lost to a backend failure would otherwise count as
        # a draw and the group would get made-up rewards. With ``partial`` the failed group is
        # answered with nulls and the reason instead.
        async def one(job: _GroupJob) -> GroupResult:
            try:
                scores = await self._strict.ascore_group(
                    job.prompt,
                    job.completions,
                    strategy=job.strategy,
                    max_calls=max_calls,
                    reference=job.reference,
                    **job.extra,
                )
            except (LimitError, ValueError, TypeError):
                raise  # bad input: the request's fault
            except NoVerdictError as exc:
                if exc.scores is None:
                    raise BackendUnavailableError(_reason(exc)) from exc
                # Judged, and no comparison named a winner: count it like any group, then fail it below.
                scores = exc.scores
            except Exception as exc:
                # The engine gave up on the group (its backend failed, or no comparison got a
                # verdict): a failed group, never a made-up reward.
                if not _is_backend_failure(exc):
                    log.warning("group of %d failed: %s", len(job.completions), _reason(exc))
                raise exc if _is_backend_failure(exc) else BackendUnavailableError(_reason(exc)) from exc
            details = scores.details
            result = GroupResult(
                rewards=list(scores.rewards),
                calls=scores.calls,
                verdicts=details.get("judged_pairs", 0) - details.get("no_verdict", 0),
                no_verdicts=details.get("no_verdict", 0),
                verified=details.get("verified_pairs", 0),
            )
            if self.metrics is not None:
                self.metrics.observe_counts(decided=result.verdicts, errors=result.no_verdicts)
            failure = group_failure(details)
            if failure is not None:
                raise NoVerdict(failure, result)
            return result

        outcomes = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
        results = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not partial or not _is_backend_failure(outcome):
                    raise _classify(outcome)
                log.warning(
                    "group of %d failed, answered with null rewards: %s",
                    len(job.completions),
                    outcome,
                )
                nulls = [None] * len(job.completions)
                outcome = (
                    outcome.result.model_copy(update={"rewards": nulls, "error": str(outcome)})
                    if isinstance(outcome, NoVerdict)
                    else GroupResult(rewards=nulls, calls=0, error=_reason(outcome))
                )
            results.append(outcome)
        return results

    async def _guard(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except Exception as exc:
            raise _classify(exc) from exc


@dataclass
class _GroupJob:
    prompt: str | list[dict[str, str]]
    completions: list[str]
    strategy: str
    reference: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _reward_job(group: RewardGroup, strategy: str) -> _GroupJob:
    """An OpenRLHF group: ranked within itself, or a lone response against its label."""
    how = group_strategy(strategy, len(group.completions))
    if uses_reference(how) and group.reference is None:
        raise LimitError(
            ("labels", group.indices[0] if group.indices else 0),
            "the server's strategy is 'reference', which needs a label as the reference answer",
        )
    return _GroupJob(
        group.prompt, group.completions, how, group.reference if uses_reference(how) else None
    )


def _group_strategy(
    strategy: str, size: int, reference: str | None, loc: tuple[str | int, ...]
) -> str:
    """The strategy a group is ranked with (:func:`rmr1_plugin.pairs.group_strategy`); a reference
    that does not fit it is the request's fault, named at ``loc``."""
    how = group_strategy(strategy, size)
    try:
        check_reference(how, reference)
    except ValueError as exc:
        raise LimitError((*loc, "reference"), str(exc)) from None
    return how


def _engine_pair(pair: PairIn) -> JudgePair:
    return JudgePair(**pair.model_dump(exclude_none=True))


def _result(verdict: Any, include_text: bool) -> PairResult:
    first = verdict.judgments[0] if verdict.judgments else None
    result = PairResult(
        winner=verdict.winner,
        task_type=first.task_type if first else None,
        flipped=verdict.flipped,
        error=verdict.error,
    )
    if include_text and first is not None:
        result.rubric, result.evaluation, result.solution = (
            first.rubric,
            first.evaluation,
            first.solution,
        )
        result.texts = list(verdict.texts)
    return result


def _is_backend_failure(exc: BaseException) -> bool:
    """Failures of the judge backend (down, refusing, timing out), as opposed to bad input or bugs."""
    from rmr1_plugin.backends import BackendError
    from rmr1_plugin.judge import JudgeError

    return isinstance(exc, (JudgeError, BackendError, OSError, TimeoutError))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _classify(exc: BaseException) -> BaseException:
    """Bad input is a client error (422), a backend failure a 503; anything else stays itself (a
    bug: 500), so no failure is reported as something it is not."""
    if isinstance(exc, LimitError):
        return exc
    if _is_backend_failure(exc):
        return exc if isinstance(exc, BackendUnavailableError) else BackendUnavailableError(_reason(exc))
    if isinstance(exc, (ValueError, TypeError)):
        return LimitError(("body",), str(exc))
    return exc
