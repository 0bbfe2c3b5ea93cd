"""The judge engine: pairs in, verdicts out, through any backend, with debiasing, voting and caching.

>>> from rmr1_plugin.backends import make_backend
>>> from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair
>>> judge = Judge(make_backend("openai", base_urls=["http://127.0.0.1:8000/v1"], model="judge"),
...               JudgeConfig(swap="both"))                                       # doctest: +SKIP
>>> judge.judge([JudgePair(question="2+2?", answer_a="4", answer_b="5")])[0].winner  # doctest: +SKIP
'A'
>>> judge.score_group("2+2?", ["4", "5", "four"], strategy="round_robin").rewards  # doctest: +SKIP
[0.5, -1.0, 0.5]

One call to :meth:`Judge.ajudge` turns a batch of pairs into generation requests (one per pair,
order and vote), drops those already in the cache, sends the rest to the backend as one batch per
seed, parses each output with :func:`~rmr1_plugin.parse_verdict` and combines the judgments of a
pair into a :class:`PairVerdict` in the caller's A/B order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rmr1_plugin.backends.base import (
    Backend,
    Conversation,
    Generation,
    GenerationSettings,
    check_generations,
    run_sync,
)
from rmr1_plugin.cache import GenerationCache, generation_key
from rmr1_plugin.combine import JudgeRequest, PairVerdict, combine, is_decisive
from rmr1_plugin.errors import JudgeError, NoVerdictCause, NoVerdictError
from rmr1_plugin.groups import ascore_group, ascore_until_judged, group_flip_rate
from rmr1_plugin.pairs import JudgePair, as_pair
from rmr1_plugin.ranking import GroupScores
from rmr1_plugin.types import Strategy, Style, SwapPolicy, Winner
from rmr1_plugin.verification import averify, default_verifier, verifier_outcome

__all__ = [
    "Judge", "JudgeConfig", "JudgeError", "JudgePair", "JudgeStats", "NoVerdictCause", "NoVerdictError",
    "PairVerdict", "Winner", "ascore_until_judged", "default_verifier", "group_flip_rate", "run_sync",
    "verifier_outcome",
]

log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """The verifier seam's types, loaded with :mod:`rmr1_plugin.verify` on first use."""
    if name in ("Verifier", "BatchVerifier", "SupportsBatch"):
        import importlib

        return getattr(importlib.import_module("rmr1_plugin.verify.route"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class JudgeConfig(BaseModel):
    """How the judge is asked and how its answers are combined.

    - ``style``: prompt style of the checkpoint (``"instruct"`` or ``"reasoning"``).
    - ``swap``: ``"none"`` judges the given order only; ``"both"`` judges both orders and
      combines them (a pair whose two orders disagree has no winner); ``"on_disagreement"`` judges
      the given order and adds the swapped order only when that first look is not decisive
      (no verdict, or the votes split).
    - ``votes``/``vote``: k sampled judgments per order (needs ``temperature > 0``), combined by
      ``"majority"`` (score in {-1, 0, 1}) or ``"mean"`` (score = mean of ±1 votes).
    - ``generation``: sampling settings; ``max_new_tokens`` is the output-length limit, and a
      judgment cut off there has no verdict.
    - ``on_error``: backend failures give ``None`` verdicts with the reason in
      ``PairVerdict.error`` (``"none"``) or raise :class:`JudgeError` (``"raise"``).
    - ``verify``: use the verifier for pairs that carry ``gold``/``tests`` and a math/code task.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    style: Style = "instruct"
    swap: SwapPolicy = "none"
    votes: int = Field(1, ge=1)
    vote: Literal["majority", "mean"] = "majority"
    neutralize: bool = True
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    on_error: Literal["none", "raise"] = "none"
    verify: bool = True

    @model_validator(mode="after")
    def _votes_need_sampling(self) -> JudgeConfig:
        if self.votes > 1 and self.generation.greedy:
            raise ValueError(
                f"votes={self.votes} needs sampling: set generation.temperature > 0 "
                "(greedy decoding would repeat the same judgment)"
            )
        return self


@dataclass
class JudgeStats:
    """Running counters of a :class:`Judge` (not reset between batches)."""

    pairs: int = 0
    verified: int = 0
    requests: int = 0
    generated: int = 0
    cache_hits: int = 0
    backend_errors: int = 0
    no_verdict: int = 0
    both_orders: int = 0
    flips: int = 0

    @property
    def flip_rate(self) -> float | None:
        """Share of pairs judged in both orders whose two orders named different answers."""
        return self.flips / self.both_orders if self.both_orders else None


class Judge:
    """An RM-R1 judge over a :class:`~rmr1_plugin.backends.Backend`.

    ``cache``: ``None`` for a fresh in-memory :class:`~rmr1_plugin.cache.GenerationCache`, a
    cache object (e.g. ``GenerationCache("judge.sqlite")`` to survive restarts), or ``False``.
    ``verifier``: a :class:`~rmr1_plugin.verify.route.Verifier` (called per completion, or once
    per batch when it also has a ``batch`` method); defaults to :mod:`rmr1_plugin.verify`'s routing.
    """

    def __init__(self, backend: Backend, config: JudgeConfig | None = None,
                 cache: GenerationCache | Literal[False] | None = None, *,
                 verifier: Any = None):
        self.backend = backend
        self.config = config or JudgeConfig()
        self.cache = GenerationCache() if cache is None else None if cache is False else cache
        self.verifier = default_verifier() if verifier is None else None if verifier is False else verifier
        self.stats = JudgeStats()

    # --- pairs ---------------------------------------------------------------------------

    def judge(self, pairs: Sequence[JudgePair | dict[str, Any]]) -> list[PairVerdict]:
        """Judge a batch of pairs; one :class:`PairVerdict` per pair, in order."""
        return run_sync(self.ajudge(pairs))

    async def ajudge(self, pairs: Sequence[JudgePair | dict[str, Any]]) -> list[PairVerdict]:
        """Async :meth:`judge`."""
        checked = [as_pair(p, k) for k, p in enumerate(pairs)]
        self.stats.pairs += len(checked)
        verdicts: list[PairVerdict | None] = [None] * len(checked)
        if self.config.verify and self.verifier is not None:
            for k, verdict in enumerate(await self._verify_pairs(checked)):
                verdicts[k] = verdict
        todo = [k for k, v in enumerate(verdicts) if v is None]
        swap = self.config.swap
        first = [self._requests(k, checked[k], swapped=False) for k in todo]
        if swap == "both":
            first += [self._requests(k, checked[k], swapped=True) for k in todo]
        by_pair: dict[int, list[JudgeRequest]] = {k: [] for k in todo}
        for requests in first:
            for request in requests:
                by_pair[request.pair].append(request)
        await self._run([r for group in first for r in group])
        if swap == "on_disagreement":
            again = [k for k in todo if not is_decisive(by_pair[k])]
            second = [self._requests(k, checked[k], swapped=True) for k in again]
            for requests in second:
                by_pair[requests[0].pair].extend(requests)
            await self._run([r for group in second for r in group])
        done: list[PairVerdict] = []
        for k, verdict in enumerate(verdicts):
            done.append(verdict if verdict is not None else self._combined(by_pair[k]))
        return done

    def _requests(self, index: int, pair: JudgePair, *, swapped: bool) -> list[JudgeRequest]:
        messages = pair.messages(self.config.style, self.config.neutralize, swapped)
        base = self.config.generation
        seed0 = base.seed if base.seed is not None else 0
        return [
            JudgeRequest(index, swapped, vote, messages,
                     base if self.config.votes == 1 else base.model_copy(update={"seed": seed0 + vote}))
            for vote in range(self.config.votes)
        ]

    async def _run(self, requests: list[JudgeRequest]) -> None:
        """Fill in each request's generation: cache first, then one backend batch per setting."""
        if not requests:
            return
        self.stats.requests += len(requests)
        model_id = self.backend.model_id
        missing: dict[str, list[JudgeRequest]] = {}
        for request in requests:
            key = generation_key(model_id, request.settings, request.messages)
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None:
                request.generation = cached
                self.stats.cache_hits += 1
            else:
                missing.setdefault(key, []).append(request)  # identical prompts generate once
        by_settings: dict[GenerationSettings, list[str]] = {}
        for key, same in missing.items():
            by_settings.setdefault(same[0].settings, []).append(key)
        if missing:
            log.debug("judge: %d requests, %d cached, %d to generate", len(requests),
                      len(requests) - sum(len(v) for v in missing.values()), len(missing))
        await asyncio.gather(*(self._generate(settings, keys, missing) for settings, keys in by_settings.items()))

    async def _generate(self, settings: GenerationSettings, keys: list[str], missing: dict[str, list[JudgeRequest]]) -> None:
        conversations = [missing[key][0].messages for key in keys]
        try:
            generations = check_generations(self.backend.model_id, conversations,
                                            await self.backend.agenerate(conversations, settings))
        except Exception as error:  # a failed batch is recorded per pair (or raised), never dropped
            if self.config.on_error == "raise":
                raise JudgeError(f"backend {self.backend.model_id!r} failed: {type(error).__name__}: {error}") from error
            log.warning("judge backend failed for %d prompts: %s: %s", len(keys), type(error).__name__, error)
            generations = [Generation.failed(f"{type(error).__name__}: {error}")] * len(keys)
        self.stats.generated += len(keys)
        for key, generation in zip(keys, generations, strict=True):
            if generation.finish_reason == "error":
                self.stats.backend_errors += 1
                if self.config.on_error == "raise":
                    raise JudgeError(f"backend {self.backend.model_id!r} failed for a prompt: {generation.error}")
            elif self.cache is not None:
                self.cache.put(key, generation)
            for request in missing[key]:
                request.generation = generation

    def _combined(self, requests: list[JudgeRequest]) -> PairVerdict:
        """The pair's verdict (:func:`~rmr1_plugin.combine.combine`), counted in :attr:`stats`."""
        verdict = combine(requests, self.config.vote)
        self.stats.both_orders += verdict.flipped is not None
        self.stats.flips += verdict.flipped is True
        self.stats.no_verdict += verdict.winner is None
        return verdict

    # --- verifier routing --------------------------------------------------------------------

    async def _verify_pairs(self, pairs: list[JudgePair]) -> list[PairVerdict | None]:
        routed = [k for k, p in enumerate(pairs) if p.verifiable]
        results: list[PairVerdict | None] = [None] * len(pairs)
        if not routed:
            return results
        texts = [(k, side) for k in routed for side in (0, 1)]
        assert self.verifier is not None
        outcomes = await averify(self.verifier, [pairs[k].completions()[side] for k, side in texts],
                                 golds=[pairs[k].gold for k, _ in texts], tests=[pairs[k].tests for k, _ in texts],
                                 tasks=[pairs[k].task for k, _ in texts])
        status = dict(zip(texts, outcomes, strict=True))
        for k in routed:
            a, b = status[(k, 0)], status[(k, 1)]
            if a is not None and b is not None and a != b:
                self.stats.verified += 1
                results[k] = PairVerdict(winner="A" if a else "B", score=1.0 if a else -1.0, source="verifier",
                                         verification=(a, b))
        return results

    # --- groups ----------------------------------------------------------------------------

    def score_group(self, prompt: str | Conversation, completions: Sequence[str], *, strategy: Strategy = "adaptive",
                    max_calls: int | None = None, reference: str | None = None, gold: str | None = None,
                    tests: Any = None, task: str | None = None, seed: int = 0) -> GroupScores:
        """One reward in [-1, 1] per completion of ``prompt``, from pairwise judgments.

        ``strategy`` and ``max_calls`` are those of :func:`~rmr1_plugin.ranking.rank_group`;
        ``reference`` (a baseline answer) is required by and only used with
        ``strategy="reference"``. With ``gold``/``tests`` and ``task`` ``"math"``/``"code"``,
        each completion is verified once and the judge only sees pairs the verifier cannot order.

        Raises :class:`NoVerdictError` when the group needed comparisons and none of them produced
        a verdict (a dead backend, or a judge that never names a winner): such a group has no
        reward, and scoring it as a tie would train on nothing.
        """
        return run_sync(self.ascore_group(prompt, completions, strategy=strategy, max_calls=max_calls,
                                          reference=reference, gold=gold, tests=tests, task=task, seed=seed))

    async def ascore_group(self, prompt: str | Conversation, completions: Sequence[str], *, strategy: Strategy = "adaptive",
                           max_calls: int | None = None, reference: str | None = None, gold: str | None = None,
                           tests: Any = None, task: str | None = None, seed: int = 0) -> GroupScores:
        """Async :meth:`score_group`."""
        return await ascore_group(self, prompt, completions, strategy=strategy, max_calls=max_calls,
                                  reference=reference, gold=gold, tests=tests, task=task, seed=seed)
