"""The judging behind the reward server's routes: request models in, judge engine, response models out.

One :class:`RewardService` wraps one judge backend. It keeps two :class:`~rmr1_plugin.judge.Judge`
views of it that share the backend and the cache: one that raises on a backend failure (the
request then fails with 503 and its reason) and one that records the failure as a ``None``
verdict, for clients that asked for partial results. A reward is never made up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from rmr1_plugin.server.metrics import ServerMetrics
from rmr1_plugin.server.models import (
    GroupResult, JudgeRequest, JudgeResponse, LimitError, PairIn, PairResult, RewardRequest, RewardResponse,
    ScoreRequest, ScoreResponse,
)
from rmr1_plugin.server.openrlhf import group_queries

log = logging.getLogger("rmr1_plugin.server")


class BackendUnavailable(Exception):
    """The judge backend failed; the message is its reason."""


class UnknownStrategy(ValueError):
    pass


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

    def __init__(self, backend: Any, config: Any = None, *, cache: Any = None, strategy: str | None = None):
        from rmr1_plugin.cache import GenerationCache
        from rmr1_plugin.judge import Judge, JudgeConfig
        from rmr1_plugin.ranking import STRATEGIES

        self.backend = _CountingBackend(backend)
        self.model_id: str = backend.model_id
        config = config if config is not None else JudgeConfig()
        self.cache = cache if cache is not None else GenerationCache()
        self._strict = Judge(self.backend, config.model_copy(update={"on_error": "raise"}), cache=self.cache)
        self._lenient = Judge(self.backend, config.model_copy(update={"on_error": "none"}), cache=self.cache)
        self.strategies: tuple[str, ...] = tuple(STRATEGIES)
        self.strategy = strategy or self.strategies[0]
        self.check_strategy(self.strategy)
        self.metrics: ServerMetrics | None = None

    def attach_metrics(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics
        self.backend.metrics = metrics
        metrics.track_cache_hits(lambda: self.cache.hits)

    def check_strategy(self, name: str | None) -> None:
        if name is not None and name not in self.strategies:
            raise LimitError(("strategy",), f"unknown strategy {name!r}; choose one of {', '.join(self.strategies)}")

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
        jobs = [(g.prompt if isinstance(g.prompt, str) else [m.model_dump() for m in g.prompt],
                 g.completions, g.reference) for g in request.groups]
        results = await self._score_groups(jobs, strategy, request.max_calls, request.partial)
        return ScoreResponse(model=self.model_id, strategy=strategy, groups=results)

    async def reward(self, request: RewardRequest) -> RewardResponse:
        groups = group_queries(request.query, request.prompts, request.labels)
        jobs = [(g.prompt, g.completions, g.reference) for g in groups]
        results = await self._score_groups(jobs, self.strategy, None, request.partial)
        rewards: list[float | None] = [None] * len(request.query)
        for group, result in zip(groups, results):
            for index, reward in zip(group.indices, result.rewards):
                rewards[index] = reward
        scores = [None if r is None else (r + 1.0) / 2.0 for r in rewards]
        return RewardResponse(rewards=rewards, scores=scores,
                              extra_logs={"judge_calls": float(sum(r.calls for r in results))})

    async def probe(self) -> None:
        """Ask the backend for one token; raise with the reason when it cannot answer.

        Recorded generations (the replay backend) are local data: loaded means ready.
        """
        from rmr1_plugin.backends import GenerationSettings, ReplayBackend

        if isinstance(self.backend._backend, ReplayBackend):
            return
        generations = await self.backend.agenerate(
            [[{"role": "user", "content": "Reply with OK."}]], GenerationSettings(max_new_tokens=1, temperature=0.0))
        if not generations or generations[0].finish_reason == "error":
            raise BackendUnavailable(generations[0].error if generations else "no generation returned")

    # --- helpers ---------------------------------------------------------------------------

    async def _score_groups(self, jobs: Sequence[tuple[Any, list[str], str | None]], strategy: str,
                            max_calls: int | None, partial: bool) -> list[GroupResult]:
        judge = self._lenient if partial else self._strict

        async def one(prompt: Any, completions: list[str], reference: str | None) -> GroupResult:
            # A lone completion can only be compared with its reference.
            how = "reference" if len(completions) == 1 else strategy
            scores = await judge.ascore_group(prompt, completions, strategy=how, max_calls=max_calls,
                                              reference=reference)
            return GroupResult(rewards=list(scores.rewards), calls=scores.calls)

        outcomes = await asyncio.gather(*(one(*job) for job in jobs), return_exceptions=True)
        results = []
        for (_, completions, _), outcome in zip(jobs, outcomes):
            if isinstance(outcome, BaseException):
                if not partial or not _is_backend_failure(outcome):
                    raise _classify(outcome)
                log.warning("group of %d failed, answered with null rewards: %s", len(completions), outcome)
                outcome = GroupResult(rewards=[None] * len(completions), calls=0, error=_reason(outcome))
            results.append(outcome)
        return results

    async def _guard(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except Exception as exc:
            raise _classify(exc) from exc


def _engine_pair(pair: PairIn) -> Any:
    from rmr1_plugin.judge import JudgePair

    fields = pair.model_dump(exclude_none=True)
    return JudgePair(**fields)


def _result(verdict: Any, include_text: bool) -> PairResult:
    first = verdict.judgments[0] if verdict.judgments else None
    result = PairResult(winner=verdict.winner, task_type=first.task_type if first else None,
                        flipped=verdict.flipped, error=verdict.error)
    if include_text and first is not None:
        result.rubric, result.evaluation, result.solution = first.rubric, first.evaluation, first.solution
        result.texts = list(verdict.texts)
    return result


def _is_backend_failure(exc: BaseException) -> bool:
    return not isinstance(exc, (ValueError, TypeError, LimitError))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _classify(exc: BaseException) -> BaseException:
    """Bad input stays a client error (422); anything else from the engine is a backend failure."""
    if isinstance(exc, LimitError):
        return exc
    if isinstance(exc, (ValueError, TypeError)):
        return LimitError(("body",), str(exc))
    return BackendUnavailable(_reason(exc))
