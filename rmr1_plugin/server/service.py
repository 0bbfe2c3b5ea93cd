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
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from rmr1_plugin.server.collector import GroupCollector
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
from rmr1_plugin.server.openrlhf import RewardGroup, group_queries, read_prompt

#: Ranking strategy of /score and /get_reward when neither the server nor the request names one.
DEFAULT_STRATEGY = "adaptive"

log = logging.getLogger("rmr1_plugin.server")


class BackendUnavailable(Exception):
    """The judge backend failed; the message is its reason."""


class _CountingBackend:
    """Passes generations through to a backend and counts them (and its failures) for /metrics."""

    def __init__(self, backend: Any):
        self._backend = backend
        self.model_id = backend.model_id
        self.metrics: ServerMetrics | None = None

    async def agenerate(self, conversations: list[list[dict]], settings: Any) -> list[Any]:
        if self.metrics is not None:
            self.metrics.judge_calls.inc(len(conversations))
        try:
            generations = await self._backend.agenerate(conversations, settings)
        except Exception:
            if self.metrics is not None:
                self.metrics.backend_errors.inc(len(conversations))
            raise
        if self.metrics is not None:
            self.metrics.backend_errors.inc(sum(g.finish_reason == "error" for g in generations))
        return generations

    def generate(self, conversations: list[list[dict]], settings: Any) -> list[Any]:
        return self._backend.generate(conversations, settings)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


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
        from rmr1_plugin.ranking import STRATEGIES

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
        self.strategies: tuple[str, ...] = tuple(STRATEGIES)
        self.strategy = strategy or DEFAULT_STRATEGY
        self.check_strategy(self.strategy)
        self.metrics: ServerMetrics | None = None
        self._slot: Callable[[], AbstractAsyncContextManager[Any]] = contextlib.nullcontext
        self.collector = (
            GroupCollector(group_size, group_wait_s, self._score_collected)
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
        groups = group_queries(
            request.query, request.prompts, request.labels, lone_ok=self.collector is not None
        )
        if self.collector is None:
            results = await self._score_groups(
                [_reward_job(g, self.strategy) for g in groups], None, request.partial
            )
            per_group = [[(r, result.calls) for r in result.rewards] for result in results]
        else:
            per_group = await self._collected(groups, request.partial)
        rewards: list[float | None] = [None] * len(request.query)
        calls = 0
        for group, outcome in zip(groups, per_group):
            for index, (reward, group_calls) in zip(group.indices, outcome):
                rewards[index] = reward
            calls += outcome[0][1] if outcome else 0
        scores = [None if r is None else (r + 1.0) / 2.0 for r in rewards]
        return RewardResponse(
            rewards=rewards, scores=scores, extra_logs={"judge_calls": float(calls)}
        )

    async def _collected(
        self, groups: list[RewardGroup], partial: bool
    ) -> list[list[tuple[float | None, int]]]:
        """Rank each group together with the responses to its prompt from other requests."""
        assert self.collector is not None
        outcomes = await asyncio.gather(
            *(self.collector.submit((g.prompt_text, g.reference), g.completions) for g in groups),
            return_exceptions=True,
        )
        results = []
        for group, outcome in zip(groups, outcomes):
            if isinstance(outcome, LimitError):
                raise LimitError(("query", group.indices[0]), outcome.message)
            if isinstance(outcome, BaseException):
                if not partial or not _is_backend_failure(outcome):
                    raise _classify(outcome)
                log.warning(
                    "responses to one prompt failed, answered with null rewards: %s", outcome
                )
                outcome = [(None, 0)] * len(group.completions)
            results.append(outcome)
        return results

    async def _score_collected(
        self, key: tuple[str, str | None], completions: list[str]
    ) -> list[tuple[float | None, int]]:
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
        return [(r, result.calls) for r in result.rewards]

    async def probe(self) -> None:
        """Ask the backend for one token; raise with the reason when it cannot answer.

        Recorded generations (the replay backend) are local data: loaded means ready.
        """
        from rmr1_plugin.backends import GenerationSettings, ReplayBackend

        backend = self.backend._backend  # a probe is not a judge call: bypass the counting
        if isinstance(backend, ReplayBackend):
            return
        generations = await backend.agenerate(
            [[{"role": "user", "content": "Reply with OK."}]],
            GenerationSettings(max_new_tokens=1, temperature=0.0),
        )
        if not generations or generations[0].finish_reason == "error":
            raise BackendUnavailable(
                generations[0].error if generations else "no generation returned"
            )

    # --- helpers ---------------------------------------------------------------------------

    async def _score_groups(
        self, jobs: Sequence[_GroupJob], max_calls: int | None, partial: bool
    ) -> list[GroupResult]:
        # Always the strict judge: a comparison lost to a backend failure would otherwise count as
        # a draw and the group would get made-up rewards. With ``partial`` the failed group is
        # answered with nulls and the reason instead.
        async def one(job: _GroupJob) -> GroupResult:
            scores = await self._strict.ascore_group(
                job.prompt,
                job.completions,
                strategy=job.strategy,
                max_calls=max_calls,
                reference=job.reference,
                **job.extra,
            )
            return GroupResult(rewards=list(scores.rewards), calls=scores.calls)

        outcomes = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
        results = []
        for job, outcome in zip(jobs, outcomes):
            if isinstance(outcome, BaseException):
                if not partial or not _is_backend_failure(outcome):
                    raise _classify(outcome)
                log.warning(
                    "group of %d failed, answered with null rewards: %s",
                    len(job.completions),
                    outcome,
                )
                outcome = GroupResult(
                    rewards=[None] * len(job.completions), calls=0, error=_reason(outcome)
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
    how = "reference" if len(group.completions) == 1 else strategy
    if how == "reference" and group.reference is None:
        raise LimitError(
            ("labels", group.indices[0] if group.indices else 0),
            "the server's strategy is 'reference', which needs a label as the reference answer",
        )
    return _GroupJob(
        group.prompt, group.completions, how, group.reference if how == "reference" else None
    )


def _group_strategy(
    strategy: str, size: int, reference: str | None, loc: tuple[str | int, ...]
) -> str:
    """The strategy a group is ranked with: a lone completion is compared with its reference."""
    how = "reference" if size == 1 else strategy
    if how == "reference" and reference is None:
        raise LimitError(
            (*loc, "reference"), "strategy 'reference' (and a single completion) needs a reference"
        )
    if how != "reference" and reference is not None:
        raise LimitError(
            (*loc, "reference"), f"a reference is only used by strategy 'reference', not {how!r}"
        )
    return how


def _engine_pair(pair: PairIn) -> Any:
    from rmr1_plugin.judge import JudgePair

    fields = pair.model_dump(exclude_none=True)
    return JudgePair(**fields)


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

    return isinstance(exc, (JudgeError, BackendError, OSError, TimeoutError, BackendUnavailable))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _classify(exc: BaseException) -> BaseException:
    """Bad input is a client error (422), a backend failure a 503; anything else stays itself (a
    bug: 500), so no failure is reported as something it is not."""
    if isinstance(exc, LimitError):
        return exc
    if _is_backend_failure(exc):
        return exc if isinstance(exc, BackendUnavailable) else BackendUnavailable(_reason(exc))
    if isinstance(exc, (ValueError, TypeError)):
        return LimitError(("body",), str(exc))
    return exc
