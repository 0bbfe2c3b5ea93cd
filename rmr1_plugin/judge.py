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
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rmr1_plugin.backends.base import (
    Backend,
    Conversation,
    Generation,
    GenerationSettings,
    run_sync,
)
from rmr1_plugin.cache import GenerationCache, generation_key
from rmr1_plugin.prompts import build_judge_messages
from rmr1_plugin.ranking import GroupScores, Pair, arank_group
from rmr1_plugin.types import Strategy, Style, SwapPolicy, Winner
from rmr1_plugin.verdict import Judgment, parse_verdict

log = logging.getLogger(__name__)


#: Verifier statuses that decide a comparison; every other status (unparsable, timeout, error,
#: ...) leaves the pair to the judge.
PASS_STATUSES = frozenset({"correct", "passed", "pass"})
FAIL_STATUSES = frozenset({"incorrect", "failed", "fail", "wrong"})

#: ``verifier(completion, gold=..., tests=..., task=...)`` returns a result with a ``status``
#: (attribute or key), a bool, or ``None`` when it cannot decide.
Verifier = Callable[..., Any]


class JudgeError(RuntimeError):
    """Raised with ``on_error="raise"`` when the backend fails for a pair."""


NoVerdictCause = Literal["backend_error", "no_verdict"]


class NoVerdictError(JudgeError):
    """No comparison of a group produced a verdict, so the group has no reward (never a tie).

    ``cause`` is ``"backend_error"`` when every comparison failed in the backend (a judge server
    that is down or unreachable: worth waiting for) and ``"no_verdict"`` when the judge answered
    but never named a winner; ``first_error`` is the first comparison's error text and ``scores``
    the :class:`~rmr1_plugin.ranking.GroupScores` that would have been returned.
    """

    def __init__(self, cause: NoVerdictCause, first_error: str, comparisons: int, scores: GroupScores | None = None):
        self.cause, self.first_error, self.comparisons, self.scores = cause, first_error, comparisons, scores
        what = ("the judge backend failed for every comparison" if cause == "backend_error"
                else "the judge answered but named no winner in any comparison")
        super().__init__(f"no verdict for a group of completions: {what} ({comparisons} comparison(s)); "
                         f"first error: {first_error}")

    @classmethod
    def from_failures(cls, failures: Sequence[str], scores: GroupScores | None = None) -> NoVerdictError:
        """The error for comparisons that all failed, given each one's error text.

        The cause is ``"backend_error"`` (worth waiting for) only when every one failed in the backend.

        >>> NoVerdictError.from_failures(["backend error: refused", "no_verdict"]).cause
        'no_verdict'
        """
        backend_down = all("backend error" in f for f in failures)
        return cls("backend_error" if backend_down else "no_verdict", failures[0], len(failures), scores)


async def ascore_until_judged(score: Callable[[], Awaitable[GroupScores]], *, wait_s: float,
                              first_delay_s: float = 1.0, max_delay_s: float = 30.0) -> GroupScores:
    """Run ``score()`` again, with exponential backoff, while its judge backend is down.

    Gives up after ``wait_s`` seconds and raises the last :class:`NoVerdictError` (whose message
    carries the backend's error). A group the judge answered without any verdict raises at once:
    waiting does not change a judgment.

    >>> from rmr1_plugin.ranking import GroupScores
    >>> async def dead(): raise NoVerdictError("backend_error", "ConnectError: refused", 1)
    >>> run_sync(ascore_until_judged(dead, wait_s=0.0))
    Traceback (most recent call last):
    ...
    rmr1_plugin.judge.NoVerdictError: no verdict for a group of completions: the judge backend failed ...
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


class JudgePair(BaseModel):
    """Two answers to compare, as ``question``/``answer_a``/``answer_b`` or as two conversations.

    ``gold`` (a reference answer) or ``tests`` with ``task`` ``"math"``/``"code"`` let the judge
    route the pair to a verifier first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str | None = None
    answer_a: str | None = None
    answer_b: str | None = None
    conversation_a: list[dict[str, str]] | None = None
    conversation_b: list[dict[str, str]] | None = None
    gold: str | None = None
    tests: Any = None
    task: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> JudgePair:
        single = (self.question, self.answer_a, self.answer_b)
        multi = (self.conversation_a, self.conversation_b)
        if any(v is not None for v in multi):
            if any(v is not None for v in single):
                raise ValueError("give question/answer_a/answer_b or conversation_a/conversation_b, not both")
            if any(v is None for v in multi):
                raise ValueError("both conversation_a and conversation_b are required")
        elif any(v is None for v in single):
            missing = [n for n, v in zip(("question", "answer_a", "answer_b"), single, strict=True) if v is None]
            raise ValueError(f"a single-turn pair needs question, answer_a and answer_b; missing {missing}")
        return self

    def messages(self, style: Style, neutralize: bool, swapped: bool = False) -> Conversation:
        """The judge prompt, with the answers in the given order or swapped."""
        if self.conversation_a is not None:
            first, second = (self.conversation_b, self.conversation_a) if swapped else (self.conversation_a, self.conversation_b)
            return build_judge_messages(conversation_a=first, conversation_b=second, style=style, neutralize=neutralize)
        first, second = (self.answer_b, self.answer_a) if swapped else (self.answer_a, self.answer_b)
        return build_judge_messages(self.question, first, second, style=style, neutralize=neutralize)

    def completions(self) -> tuple[str, str]:
        """The two candidate texts (for conversations, each one's last assistant turn)."""
        if self.conversation_a is None:
            return self.answer_a or "", self.answer_b or ""
        return _last_assistant(self.conversation_a), _last_assistant(self.conversation_b or [])


class PairVerdict(BaseModel):
    """The combined verdict on one pair, in the caller's A/B order.

    ``score`` is in [-1, 1], positive for A. ``judgments``/``texts``/``swapped`` list every
    judgment used (``swapped[i]`` says judgment i saw the answers in reverse order; its own
    ``winner`` is in that prompt's order). ``flipped`` is True when the two orders named different
    answers (position bias), None when only one order was judged. ``source`` is ``"verifier"``
    when the verifiers decided without the judge.
    """

    winner: Winner | None = None
    score: float | None = None
    judgments: list[Judgment] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)
    swapped: list[bool] = Field(default_factory=list)
    flipped: bool | None = None
    error: str | None = None
    source: Literal["judge", "verifier"] = "judge"
    verification: tuple[bool | None, bool | None] | None = None

    @property
    def label(self) -> str | None:
        """``"model_a"``, ``"model_b"`` or ``None``."""
        return None if self.winner is None else f"model_{self.winner.lower()}"


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


@dataclass
class _Request:
    pair: int
    swapped: bool
    vote: int
    messages: Conversation
    settings: GenerationSettings
    generation: Generation | None = None

    def judgment(self) -> Judgment:
        """The parsed judgment (a backend error reads as an empty one)."""
        generation = self.generation
        if generation is None or generation.finish_reason == "error":
            return Judgment(error="empty")
        return parse_verdict(generation.text, truncated=generation.finish_reason == "length")


class Judge:
    """An RM-R1 judge over a :class:`~rmr1_plugin.backends.Backend`.

    ``cache``: ``None`` for a fresh in-memory :class:`~rmr1_plugin.cache.GenerationCache`, a
    cache object (e.g. ``GenerationCache("judge.sqlite")`` to survive restarts), or ``False``.
    ``verifier``: see :data:`Verifier`; defaults to :mod:`rmr1_plugin.verify`'s routing when
    that module is installed.
    """

    def __init__(self, backend: Backend, config: JudgeConfig | None = None,
                 cache: GenerationCache | Literal[False] | None = None, *,
                 verifier: Verifier | None | Literal[False] = None):
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
        checked = [_as_pair(p, k) for k, p in enumerate(pairs)]
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
        by_pair: dict[int, list[_Request]] = {k: [] for k in todo}
        for requests in first:
            for request in requests:
                by_pair[request.pair].append(request)
        await self._run([r for group in first for r in group])
        if swap == "on_disagreement":
            again = [k for k in todo if not _decisive(by_pair[k])]
            second = [self._requests(k, checked[k], swapped=True) for k in again]
            for requests in second:
                by_pair[requests[0].pair].extend(requests)
            await self._run([r for group in second for r in group])
        done: list[PairVerdict] = []
        for k, verdict in enumerate(verdicts):
            done.append(verdict if verdict is not None else self._combine(by_pair[k]))
        return done

    def _requests(self, index: int, pair: JudgePair, *, swapped: bool) -> list[_Request]:
        messages = pair.messages(self.config.style, self.config.neutralize, swapped)
        base = self.config.generation
        seed0 = base.seed if base.seed is not None else 0
        return [
            _Request(index, swapped, vote, messages,
                     base if self.config.votes == 1 else base.model_copy(update={"seed": seed0 + vote}))
            for vote in range(self.config.votes)
        ]

    async def _run(self, requests: list[_Request]) -> None:
        """Fill in each request's generation: cache first, then one backend batch per setting."""
        if not requests:
            return
        self.stats.requests += len(requests)
        model_id = self.backend.model_id
        missing: dict[str, list[_Request]] = {}
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

    async def _generate(self, settings: GenerationSettings, keys: list[str], missing: dict[str, list[_Request]]) -> None:
        conversations = [missing[key][0].messages for key in keys]
        try:
            generations = await self.backend.agenerate(conversations, settings)
            if len(generations) != len(conversations):
                raise RuntimeError(f"backend returned {len(generations)} generations for {len(conversations)} prompts")
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

    def _combine(self, requests: list[_Request]) -> PairVerdict:
        judgments, texts, swapped, errors = [], [], [], []
        order_votes: dict[bool, list[int]] = {False: [], True: []}
        for request in requests:
            generation = request.generation or Generation.failed("not generated")
            judgment = request.judgment()
            if generation.finish_reason == "error":
                errors.append(f"backend error: {generation.error}")
            else:
                cut = generation.finish_reason == "length"
                if judgment.winner is None:
                    # A judgment cut off at the length limit is "no verdict", never a loss.
                    errors.append(f"truncated at max_new_tokens={request.settings.max_new_tokens}" if cut
                                  else judgment.error or "no_verdict")
            judgments.append(judgment)
            texts.append(generation.text)
            swapped.append(request.swapped)
            if judgment.winner is not None:
                for_a = (judgment.winner == "A") != request.swapped
                order_votes[request.swapped].append(1 if for_a else -1)
        order_scores = {s: sum(v) / len(v) for s, v in order_votes.items() if v}
        flipped = None
        if {False, True} <= {r.swapped for r in requests}:
            self.stats.both_orders += 1
            signs = {s: _sign(x) for s, x in order_scores.items()}
            flipped = len(signs) == 2 and 0 not in signs.values() and signs[False] != signs[True]
            self.stats.flips += int(flipped)
        if not order_scores:
            self.stats.no_verdict += 1
            return PairVerdict(judgments=judgments, texts=texts, swapped=swapped, flipped=flipped,
                               error="no verdict: " + _summarise(errors))
        score = sum(order_scores.values()) / len(order_scores)
        if self.config.vote == "majority":
            score = float(_sign(score))
        winner: Winner | None = "A" if score > 0 else "B" if score < 0 else None
        error = None
        if winner is None:
            self.stats.no_verdict += 1
            error = "position flip: each order preferred the same slot" if flipped else "tie: the votes split evenly"
        return PairVerdict(winner=winner, score=score, judgments=judgments, texts=texts, swapped=swapped,
                           flipped=flipped, error=error)

    # --- verifier routing --------------------------------------------------------------------

    async def _verify_pairs(self, pairs: list[JudgePair]) -> list[PairVerdict | None]:
        routed = [k for k, p in enumerate(pairs) if _verifiable(p)]
        results: list[PairVerdict | None] = [None] * len(pairs)
        if not routed:
            return results
        texts = [(k, side) for k in routed for side in (0, 1)]
        outcomes = await self._verify_many([(pairs[k].completions()[side], pairs[k]) for k, side in texts])
        status = dict(zip(texts, outcomes, strict=True))
        for k in routed:
            a, b = status[(k, 0)], status[(k, 1)]
            if a is not None and b is not None and a != b:
                self.stats.verified += 1
                results[k] = PairVerdict(winner="A" if a else "B", score=1.0 if a else -1.0, source="verifier",
                                         verification=(a, b))
        return results

    async def _verify_many(self, items: list[tuple[str, JudgePair]]) -> list[bool | None]:
        """Pass/fail/undecided per (completion, pair); a failing verifier only means "ask the judge"."""
        verifier = self.verifier
        assert verifier is not None
        batch = getattr(verifier, "batch", None)
        try:
            if batch is not None:
                results = await asyncio.to_thread(
                    batch, [c for c, _ in items], golds=[p.gold for _, p in items],
                    tests=[p.tests for _, p in items], tasks=[p.task for _, p in items])
            else:
                results = await asyncio.gather(*(
                    asyncio.to_thread(verifier, c, gold=p.gold, tests=p.tests, task=p.task) for c, p in items))
        except Exception as error:
            log.warning("verifier failed (%s: %s); the judge decides", type(error).__name__, error)
            return [None] * len(items)
        return [verifier_outcome(r) for r in results]

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
        candidates = [_checked_completion(c, k) for k, c in enumerate(completions)]
        if strategy == "reference":
            if reference is None:
                raise ValueError("strategy='reference' needs reference=<a baseline answer>")
            candidates.append(_checked_completion(reference, "reference"))
        elif reference is not None:
            raise ValueError(f"reference= only applies to strategy='reference', not {strategy!r}")
        if not completions:
            return GroupScores(rewards=[], calls=0, strategy=strategy)

        probe = _pair_for(prompt, "", "", gold, tests, task)
        outcomes: list[bool | None] = [None] * len(candidates)
        if self.config.verify and self.verifier is not None and _verifiable(probe):
            outcomes = await self._verify_many([(c, probe) for c in candidates])
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
            judge_pairs = [_pair_for(prompt, candidates[pairs[s][0]], candidates[pairs[s][1]]) for s in ask]
            counts["judged_pairs"] += len(judge_pairs)
            for slot, verdict in zip(ask, await self.ajudge(judge_pairs), strict=True):
                result[slot] = None if verdict.winner is None else (0 if verdict.winner == "A" else 1)
                counts["no_verdict"] += verdict.winner is None
                counts["both_orders"] += verdict.flipped is not None
                counts["flips"] += verdict.flipped is True
                if verdict.winner is None:
                    failures.append(verdict.error or "no verdict")
                texts.append((pairs[slot], verdict.texts[0] if verdict.texts else f"(no judgment: {verdict.error})"))
            return result

        ref_index = len(completions) if strategy == "reference" else None
        scores = await arank_group(len(candidates), acompare, strategy, max_calls, reference=ref_index, seed=seed)
        if ref_index is not None:
            scores.rewards = scores.rewards[:ref_index]
        scores.details.update(counts, verification=outcomes[: len(completions)], texts=texts)
        if counts["judged_pairs"] and not counts["verified_pairs"] and counts["no_verdict"] == counts["judged_pairs"]:
            raise NoVerdictError.from_failures(failures, scores)
        return scores


# --- helpers ---------------------------------------------------------------------------------
def group_flip_rate(scorings: Sequence[GroupScores]) -> float | None:
    """Share of the pairs judged in both orders whose two orders disagreed, over these group
    scorings only: each :meth:`Judge.ascore_group` call counts its own ``flips`` and
    ``both_orders``, so concurrent users of one judge never mix their metrics.

    >>> group_flip_rate([GroupScores(rewards=[], calls=2, details={"flips": 1, "both_orders": 2}),
    ...                  GroupScores(rewards=[], calls=2, details={"flips": 0, "both_orders": 2})])
    0.25
    """
    flips = sum(s.details.get("flips", 0) for s in scorings)
    both = sum(s.details.get("both_orders", 0) for s in scorings)
    return flips / both if both else None




def default_verifier() -> Verifier | None:
    """The routing function of :mod:`rmr1_plugin.verify` when that module is present, else None.

    Its batch form (``route_batch``) is attached as ``.batch`` so a whole batch of completions is
    verified in parallel.
    """
    try:
        from rmr1_plugin import verify
    except ImportError:
        return None
    route = getattr(verify, "route", None)
    batch = getattr(verify, "route_batch", None)
    if route is None or batch is None:
        return route
    return BatchVerifier(route, batch)


class BatchVerifier:
    """A verifier with a batch form: ``batch(completions, golds=, tests=, tasks=) -> results``."""

    def __init__(self, one: Verifier, batch: Callable[..., Sequence[Any]]):
        self.one, self.batch = one, batch

    def __call__(self, completion: str, **fields: Any) -> Any:
        return self.one(completion, **fields)


def verifier_outcome(result: Any) -> bool | None:
    """Read a verifier result as pass (True), fail (False) or undecided (None).

    >>> verifier_outcome({"status": "correct"}), verifier_outcome({"status": "timeout"}), verifier_outcome(False)
    (True, None, False)
    """
    if result is None or isinstance(result, bool):
        return result
    status = result.get("status") if isinstance(result, dict) else getattr(result, "status", None)
    status = getattr(status, "value", status)  # enums
    if not isinstance(status, str):
        return None
    status = status.lower()
    return True if status in PASS_STATUSES else False if status in FAIL_STATUSES else None


def _verifiable(pair: JudgePair) -> bool:
    return pair.task in ("math", "code") and (pair.gold is not None or pair.tests is not None)


def _pair_for(prompt: str | Conversation, a: str, b: str, gold: str | None = None, tests: Any = None,
              task: str | None = None) -> JudgePair:
    if isinstance(prompt, str):
        return JudgePair(question=prompt, answer_a=a, answer_b=b, gold=gold, tests=tests, task=task)
    conversation = list(prompt)
    return JudgePair(conversation_a=conversation + [{"role": "assistant", "content": a}],
                     conversation_b=conversation + [{"role": "assistant", "content": b}],
                     gold=gold, tests=tests, task=task)


def _as_pair(pair: JudgePair | dict[str, Any], index: int) -> JudgePair:
    if isinstance(pair, JudgePair):
        return pair
    if isinstance(pair, dict):
        try:
            return JudgePair(**pair)
        except ValidationError as error:
            problems = "; ".join(
                (f"field {'.'.join(map(str, e['loc']))!r}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            raise ValueError(f"pair {index}: {problems}") from None
    raise TypeError(f"pair {index}: expected a JudgePair or a dict, got {type(pair).__name__}")


def _checked_completion(completion: Any, index: int | str) -> str:
    if not isinstance(completion, str):
        raise TypeError(f"completion {index}: expected a string, got {type(completion).__name__}")
    return completion


def _last_assistant(conversation: list[dict[str, str]]) -> str:
    for message in reversed(conversation):
        if message.get("role") == "assistant":
            return message.get("content", "")
    return ""


def _decisive(requests: list[_Request]) -> bool:
    """True when every vote gave a verdict and they all agree."""
    winners = [r.judgment().winner for r in requests]
    return None not in winners and len(set(winners)) == 1


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _summarise(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return ", ".join(f"{e} (x{n})" if n > 1 else e for e, n in counts.items())
