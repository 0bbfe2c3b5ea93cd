"""Per-sample rewards from pairwise verdicts: rank a group of G candidates with a pairwise judge.

Policy-gradient trainers (GRPO, RLOO) need one scalar per completion; an RM-R1 judge only says
which of two answers is better. :func:`rank_group` turns a pairwise ``compare`` function into one
reward per candidate, choosing which pairs to judge according to a *strategy*:

==============  ===========================================  ===========================
strategy        what is judged                               calls (n candidates)
==============  ===========================================  ===========================
``reference``   each candidate against a baseline candidate  n-1 (2(n-1) in both orders)
``round_robin`` every pair                                   n(n-1)/2, or n(n-1) both orders
``knockout``    a single-elimination bracket                 n-1
``circular``    each candidate against the next (a ring)     n
``adaptive``    Swiss-style rounds picked by a Bradley–Terry  ``max_calls`` (default 2n)
                model with a position-bias term
==============  ===========================================  ===========================

``compare(pairs)`` receives a batch of ordered index pairs ``(i, j)`` — ``i`` is shown to the
judge as answer A — and returns, per pair, ``0`` when A wins, ``1`` when B wins, or ``None`` when
there is no verdict. All comparisons of a round go to ``compare`` as one batch. A ``None``
verdict is never a loss: it counts as a draw (or, for ``adaptive``, as no evidence).

Every strategy is written once, as a generator that yields rounds and receives verdicts, so the
sync (:func:`rank_group`) and async (:func:`arank_group`) drivers share all the logic.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from rmr1_plugin.types import STRATEGIES, Strategy

Pair = tuple[int, int]
Outcome = int | None
Compare = Callable[[list[Pair]], Sequence[Outcome]]
ACompare = Callable[[list[Pair]], Awaitable[Sequence[Outcome]]]
Plan = Generator[list[Pair], list[Outcome], "GroupScores"]



class Comparison(BaseModel):
    """One judged comparison: ``a`` was shown as answer A, ``b`` as B; ``winner`` is 0 (A), 1 (B) or None."""

    a: int
    b: int
    winner: int | None


class GroupScores(BaseModel):
    """Rewards for a group of candidates, in [-1, 1], and what it cost.

    ``calls`` counts comparisons sent to ``compare``; ``rounds`` counts the batches;
    ``comparisons`` lists every verdict; ``details`` holds strategy-specific extras (for
    ``adaptive``: the Bradley–Terry strengths and the estimated position bias). ``flips`` and
    ``both_orders`` are this scoring's own position-bias counts (filled by the judge engine:
    comparisons judged in both orders, and those whose two orders disagreed).
    """

    rewards: list[float]
    calls: int
    rounds: int = 0
    strategy: str = ""
    comparisons: list[Comparison] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    flips: int = 0
    both_orders: int = 0

    @property
    def flip_rate(self) -> float | None:
        """Share of this scoring's comparisons judged in both orders whose orders disagreed, or
        ``None`` when none was judged both ways."""
        return self.flips / self.both_orders if self.both_orders else None


# --- drivers ---------------------------------------------------------------------------------


def rank_group(
    n: int,
    compare: Compare,
    strategy: Strategy = "adaptive",
    max_calls: int | None = None,
    *,
    reference: int | None = None,
    seed: int = 0,
) -> GroupScores:
    """Rewards for ``n`` candidates from pairwise verdicts returned by ``compare``.

    ``max_calls`` caps the number of comparisons (``None``: the strategy's natural cost, see the
    module table); a fixed strategy that cannot fit the cap raises ``ValueError``. ``reference``
    is the index of the baseline candidate for ``strategy="reference"`` (its own reward is 0).
    ``seed`` makes pairings that involve chance (knockout bracket, adaptive first round) reproducible.

    >>> quality = [0.1, 0.9, 0.5]
    >>> better = lambda pairs: [0 if quality[a] > quality[b] else 1 for a, b in pairs]
    >>> scores = rank_group(3, better, "round_robin")
    >>> scores.rewards, scores.calls
    ([-1.0, 1.0, 0.0], 6)
    """
    plan = _plan(n, strategy, max_calls, reference, seed)
    try:
        pairs = next(plan)
        while True:
            pairs = plan.send(_checked(pairs, compare(list(pairs))))
    except StopIteration as done:
        return done.value


async def arank_group(
    n: int,
    acompare: ACompare,
    strategy: Strategy = "adaptive",
    max_calls: int | None = None,
    *,
    reference: int | None = None,
    seed: int = 0,
) -> GroupScores:
    """Async :func:`rank_group`: ``acompare`` is awaited once per round.

    Every round yields to the event loop, even when ``acompare`` answers without waiting (cache
    hits), so deadlines and other requests keep running; the model refits of large ``adaptive``
    groups run in a worker thread for the same reason.
    """
    plan = _plan(n, strategy, max_calls, reference, seed)
    offload = strategy == "adaptive" and n >= OFFLOAD_FROM
    try:
        pairs = next(plan)
        while True:
            outcomes = _checked(pairs, await acompare(list(pairs)))
            if offload:
                pairs = await asyncio.to_thread(plan.send, outcomes)
            else:
                await asyncio.sleep(0)
                pairs = plan.send(outcomes)
    except StopIteration as done:
        return done.value


def expected_calls(n: int, strategy: str, max_calls: int | None = None) -> int:
    """The most comparisons :func:`rank_group` asks for on a group of ``n`` (with ``strategy="reference"``,
    ``n`` counts the baseline too), for admission and budgets before any is judged.

    >>> expected_calls(64, "round_robin"), expected_calls(8, "adaptive"), expected_calls(2, "adaptive", 3000)
    (4032, 16, 2)
    """
    if n < 2:
        return 0
    natural = {
        "reference": 2 * (n - 1),
        "round_robin": n * (n - 1),
        "knockout": n - 1,
        "circular": 1 if n == 2 else n,
        "adaptive": min(2 * n, n * (n - 1)),
    }[strategy]
    if strategy == "adaptive" and max_calls is not None:
        return min(max_calls, n * (n - 1))
    return natural if max_calls is None else min(natural, max(max_calls, 0))


def _checked(pairs: list[Pair], outcomes: Sequence[Outcome]) -> list[Outcome]:
    outcomes = list(outcomes)
    if len(outcomes) != len(pairs):
        raise ValueError(f"compare returned {len(outcomes)} verdicts for {len(pairs)} pairs")
    for pair, outcome in zip(pairs, outcomes, strict=True):
        if outcome not in (0, 1, None) or isinstance(outcome, float):
            raise ValueError(f"compare returned {outcome!r} for pair {pair}; expected 0 (A wins), 1 (B wins) or None")
    return outcomes


def _plan(n: int, strategy: str, max_calls: int | None, reference: int | None, seed: int) -> Plan:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if max_calls is not None and max_calls < 0:
        raise ValueError(f"max_calls must be >= 0 or None, got {max_calls}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    if strategy == "reference":
        return _reference(n, max_calls, reference)
    if reference is not None:
        raise ValueError(f"reference= only applies to strategy='reference', not {strategy!r}")
    if n == 1:
        return _nothing(strategy)
    planner = {"round_robin": _round_robin, "knockout": _knockout, "circular": _circular, "adaptive": _adaptive}
    return planner[strategy](n, max_calls, seed)


def _nothing(strategy: str) -> Plan:
    return GroupScores(rewards=[0.0], calls=0, strategy=strategy)
    yield []  # pragma: no cover - makes this a generator


def _need(strategy: str, needed: int, max_calls: int | None) -> None:
    if max_calls is not None and max_calls < needed:
        raise ValueError(
            f"strategy {strategy!r} needs {needed} calls for this group but max_calls={max_calls}; "
            "use strategy='adaptive' to rank within any budget"
        )


# --- fixed strategies ------------------------------------------------------------------------


def _points(n: int, comparisons: list[Comparison]) -> tuple[list[int], list[int]]:
    """(wins - losses, games) per candidate; a None verdict is a game without points."""
    score, games = [0] * n, [0] * n
    for c in comparisons:
        games[c.a] += 1
        games[c.b] += 1
        if c.winner is not None:
            winner, loser = (c.a, c.b) if c.winner == 0 else (c.b, c.a)
            score[winner] += 1
            score[loser] -= 1
    return score, games


def _play(pairs: list[Pair], outcomes: list[Outcome]) -> list[Comparison]:
    return [Comparison(a=a, b=b, winner=w) for (a, b), w in zip(pairs, outcomes, strict=True)]


def _reference(n: int, max_calls: int | None, reference: int | None) -> Plan:
    if reference is None:
        raise ValueError("strategy='reference' needs reference=<index of the baseline candidate>")
    if not 0 <= reference < n:
        raise ValueError(f"reference={reference} is out of range for a group of {n}")
    others = [i for i in range(n) if i != reference]
    _need("reference", len(others), max_calls)
    # One order shows every candidate in the same slot, so position bias shifts all rewards alike
    # and the ranking is unaffected; both orders also cancel it in the rewards themselves.
    pairs = [(i, reference) for i in others]
    if max_calls is None or max_calls >= 2 * len(others):
        pairs += [(reference, i) for i in others]
    comparisons = _play(pairs, (yield pairs)) if pairs else []
    score, games = _points(n, comparisons)
    rewards = [0.0 if i == reference or not games[i] else score[i] / games[i] for i in range(n)]
    return GroupScores(rewards=rewards, calls=len(pairs), rounds=int(bool(pairs)), strategy="reference",
                       comparisons=comparisons, details={"reference": reference})


def _round_robin(n: int, max_calls: int | None, seed: int) -> Plan:
    half = [(i, j) if (i + j) % 2 else (j, i) for i in range(n) for j in range(i + 1, n)]
    _need("round_robin", len(half), max_calls)
    both = max_calls is None or max_calls >= 2 * len(half)
    pairs = half + [(b, a) for a, b in half] if both else half
    comparisons = _play(pairs, (yield pairs))
    score, games = _points(n, comparisons)
    return GroupScores(rewards=[s / g for s, g in zip(score, games, strict=True)], calls=len(pairs), rounds=1,
                       strategy="round_robin", comparisons=comparisons, details={"both_orders": both})


def _circular(n: int, max_calls: int | None, seed: int) -> Plan:
    # Each candidate is A once and B once, so a constant position bias cancels.
    pairs = [(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)]
    _need("circular", len(pairs), max_calls)
    comparisons = _play(pairs, (yield pairs))
    score, games = _points(n, comparisons)
    return GroupScores(rewards=[s / g for s, g in zip(score, games, strict=True)], calls=len(pairs), rounds=1,
                       strategy="circular", comparisons=comparisons)


def _knockout(n: int, max_calls: int | None, seed: int) -> Plan:
    _need("knockout", n - 1, max_calls)
    rng = random.Random(seed)
    alive = list(range(n))
    rng.shuffle(alive)
    survived = [0] * n
    total_rounds = math.ceil(math.log2(n))
    comparisons: list[Comparison] = []
    undecided = 0
    rounds = 0
    while len(alive) > 1:
        pairs = [(alive[k], alive[k + 1]) if rounds % 2 == 0 else (alive[k + 1], alive[k])
                 for k in range(0, len(alive) - 1, 2)]
        bye = alive[-1:] if len(alive) % 2 else []
        outcomes = yield pairs
        rounds += 1
        comparisons += _play(pairs, outcomes)
        alive = []
        for (a, b), winner in zip(pairs, outcomes, strict=True):
            if winner is None:
                # No verdict: a coin decides who goes on, so a silent judge cannot favour a slot.
                undecided += 1
                winner = rng.randrange(2)
            alive.append(a if winner == 0 else b)
        alive += bye
        for i in alive:
            survived[i] += 1
    rewards = [2.0 * s / total_rounds - 1.0 for s in survived]
    return GroupScores(rewards=rewards, calls=len(comparisons), rounds=rounds, strategy="knockout",
                       comparisons=comparisons, details={"undecided": undecided})


# --- adaptive: Swiss-style pairing on a Bradley–Terry model with a position-bias term ---------

#: Prior variance of a candidate's strength (logit scale); judges separate typical answers by a
#: few logits, so N(0, 2^2) is weakly informative.
STRENGTH_PRIOR_VAR = 4.0
#: Most comparisons scored by the full look-ahead per pick (all of them for groups up to 23).
MAX_LOOKAHEAD = 256
#: Groups from this size refit the model of ``adaptive`` in a worker thread (a round of a large
#: group takes long enough to delay every other request on the event loop).
OFFLOAD_FROM = 16
#: Prior variance of the position-bias term (logit of the first slot winning a coin-flip pair).
BIAS_PRIOR_VAR = 1.0


def _adaptive(n: int, max_calls: int | None, seed: int) -> Plan:
    # Judging an ordered pair again adds nothing (a deterministic or cached judge repeats itself),
    # so the budget never exceeds every pair in both orders, and the rounds stop there.
    budget = min(2 * n if max_calls is None else max_calls, n * (n - 1))
    rng = np.random.default_rng(seed)
    comparisons: list[Comparison] = []
    shown_first = np.zeros(n)  # times shown as A minus times shown as B
    mean, cov = np.zeros(n + 1), np.diag([STRENGTH_PRIOR_VAR] * n + [BIAS_PRIOR_VAR])
    rounds = 0
    # Open with two Swiss rounds: a random matching, then neighbours in the standings (winners
    # meet winners) who have not met. For the first n calls this beats both a random ring and
    # look-ahead picks in simulation, and it is what a Bayes-optimal judge of the simulator does
    # about as well as (benchmarks/group_strategies.py --ceiling).
    while len(comparisons) < budget:
        size = min(max(n // 2, 1), budget - len(comparisons))
        if rounds == 0:
            order = [int(x) for x in rng.permutation(n)]
            pairs = [(order[k], order[k + 1]) for k in range(0, 2 * size, 2)]
        elif rounds == 1:
            pairs = _swiss_pairs(mean[:n], comparisons, size, rng)
        else:
            pairs = []
        if pairs:
            pairs = _balance_slots(pairs, shown_first)
        else:
            pairs = _next_round(mean, cov, size, comparisons, shown_first, rng)
        if not pairs:
            break
        outcomes = yield pairs
        rounds += 1
        comparisons += _play(pairs, outcomes)
        mean, cov = fit_bradley_terry(n, comparisons)
    strengths = mean[:n]
    # Expected score against a random other member of the group: in [-1, 1], monotone in strength.
    diff = strengths[:, None] - strengths[None, :]
    expected = (2.0 / (1.0 + np.exp(-diff)) - 1.0).sum(axis=1) / (n - 1)
    levels = resolve_levels(strengths, cov[:n, :n])
    rewards = np.zeros(n)
    for level in np.unique(levels):
        members = levels == level
        rewards[members] = expected[members].mean()
    return GroupScores(
        rewards=[float(r) for r in rewards], calls=len(comparisons), rounds=rounds, strategy="adaptive",
        comparisons=comparisons,
        details={"strengths": [float(s) for s in strengths], "expected_scores": [float(e) for e in expected],
                 "levels": [int(v) for v in levels], "position_bias": float(mean[n])},
    )


def resolve_levels(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Group candidates into ordered levels at the resolution the evidence supports.

    Candidates are sorted by posterior strength and cut into contiguous levels so as to maximise
    the expected Kendall tau-b between the levels and the true order, using the posterior
    probability ``P(s_a > s_b)`` of each pair: ordering a pair gains ``2P - 1`` (which is small
    when the comparisons barely separate it), tying it shrinks the normaliser instead. Candidates
    the judge could not tell apart thus share a reward rather than getting advantages from noise.
    Returns one level per candidate; higher is better, equal means tied.

    >>> resolve_levels(np.array([3.0, 0.0, -3.0]), np.eye(3) * 0.01).tolist()
    [2, 1, 0]
    >>> resolve_levels(np.array([3.0, 0.01, 0.0]), np.eye(3) * 0.5).tolist()
    [1, 0, 0]
    """
    var = np.maximum(np.diag(cov)[:, None] + np.diag(cov)[None, :] - 2 * cov, 1e-12)
    better = 1.0 - 0.5 * _erfc((mean[:, None] - mean[None, :]) / np.sqrt(2.0 * var))  # P(s_a > s_b)
    return tie_levels(better, order=np.argsort(-mean, kind="stable"))


def tie_levels(better: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Levels that maximise the expected Kendall tau-b, given ``better[a, b] = P(a is better than b)``.

    Candidates are taken in ``order`` (default: by expected wins, ``better.sum(1)``) and cut into
    contiguous levels; see :func:`resolve_levels`. Any source of pairwise probabilities works, such
    as an exact posterior (benchmarks/group_strategies.py ``--ceiling``).

    >>> tie_levels(np.array([[0.5, 0.9, 0.95], [0.1, 0.5, 0.55], [0.05, 0.45, 0.5]])).tolist()
    [1, 0, 0]
    """
    n = len(better)
    if n < 2:
        return np.zeros(n, dtype=int)
    if order is None:
        order = np.argsort(-better.sum(axis=1), kind="stable")
    gain = 2.0 * better[np.ix_(order, order)] - 1.0
    upper = np.triu(gain, 1)
    total_pairs = n * (n - 1) // 2
    # within[j, i]: gain lost by tying positions j..i-1 together.
    cumulative = np.zeros((n + 1, n + 1))
    for j in range(n):
        for i in range(j + 2, n + 1):
            cumulative[j, i] = upper[j:i, j:i].sum()
    # best[i][t]: least gain lost over partitions of the first i positions with t tied pairs.
    best = np.full((n + 1, total_pairs + 1), np.inf)
    choice = np.zeros((n + 1, total_pairs + 1), dtype=int)
    best[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(i):
            tied = (i - j) * (i - j - 1) // 2
            candidate = best[j, : total_pairs + 1 - tied] + cumulative[j, i]
            target = best[i, tied:]
            better = candidate < target
            target[better] = candidate[better]
            choice[i, tied:][better] = j
    whole = upper.sum()
    untied = total_pairs - np.arange(total_pairs + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(untied > 0, (whole - best[n]) / np.sqrt(np.maximum(untied, 1) * total_pairs), -np.inf)
    t = int(np.argmax(value))
    cuts, i = [], n
    while i > 0:
        j = int(choice[i, t])
        cuts.append((j, i))
        t -= (i - j) * (i - j - 1) // 2
        i = j
    levels = np.zeros(n, dtype=int)
    for rank, (j, i) in enumerate(sorted(cuts, reverse=True)):
        levels[order[j:i]] = rank
    return levels


def _swiss_pairs(strengths: np.ndarray, comparisons: list[Comparison], size: int,
                 rng: np.random.Generator) -> list[Pair]:
    """Up to ``size`` disjoint pairs of neighbours in the standings that have not met yet."""
    met = {(c.a, c.b) for c in comparisons} | {(c.b, c.a) for c in comparisons}
    waiting = [int(i) for i in np.lexsort((rng.random(len(strengths)), -strengths))]  # ties: by chance
    pairs: list[Pair] = []
    while waiting and len(pairs) < size:
        a = waiting.pop(0)
        b = next((b for b in waiting if (a, b) not in met), None)
        if b is not None:
            waiting.remove(b)
            pairs.append((a, b))
    return pairs


def _balance_slots(pairs: list[Pair], shown_first: np.ndarray, judged: set[Pair] | None = None) -> list[Pair]:
    """Show each pair in the order that evens out how often its members were answer A (or in the
    order not ``judged`` yet)."""
    ordered = []
    for a, b in pairs:
        if shown_first[b] < shown_first[a]:
            a, b = b, a
        if judged is not None and (a, b) in judged:
            a, b = b, a
        shown_first[a] += 1
        shown_first[b] -= 1
        ordered.append((a, b))
    return ordered


def _next_round(mean: np.ndarray, cov: np.ndarray, size: int, comparisons: list[Comparison],
                shown_first: np.ndarray, rng: np.random.Generator) -> list[Pair]:
    """The ``size`` pairs whose verdicts most reduce the expected number of misordered pairs.

    Each candidate comparison is scored by a one-step look-ahead: the Gaussian posterior is
    updated for either verdict (a Laplace rank-one update) and the expected count of misordered
    pairs is averaged over the two outcomes. Later picks of a round see the covariance shrink of
    earlier ones, so a round does not pile onto one candidate. Each pair is shown in the order
    that balances how often its members were first.
    """
    n = len(mean) - 1
    i, j = np.triu_indices(n, 1)
    mean, cov = mean[:n], cov[:n, :n].copy()
    diff = mean[i] - mean[j]
    judged = {(c.a, c.b) for c in comparisons}
    # A pair already judged in both orders has nothing left to say.
    pairs = zip(i.tolist(), j.tolist(), strict=True)
    candidates = np.flatnonzero([(a, b) not in judged or (b, a) not in judged for a, b in pairs])
    evaluated = np.arange(len(i))
    if not len(candidates):
        return []
    if len(i) > MAX_LOOKAHEAD:
        # Large groups: look ahead only from the most promising comparisons by a cheap score
        # (the shrinkage of their own difference), and count misordering only over the pairs
        # whose order is most in doubt; a round of G = 64 then takes well under a second.
        var = cov[i, i] + cov[j, j] - 2 * cov[i, j]
        q = 1.0 / (1.0 + np.exp(-diff / np.sqrt(1.0 + math.pi * var / 8.0)))
        cheap = (var * var * q * (1 - q) / (1.0 + q * (1 - q) * var))[candidates]
        candidates = np.sort(candidates[np.argsort(-cheap, kind="stable")[:MAX_LOOKAHEAD]])
        evaluated = np.sort(np.argsort(np.abs(diff) / np.sqrt(var), kind="stable")[: 2 * MAX_LOOKAHEAD])
    ci, cj, cdiff = i[candidates], j[candidates], diff[candidates]
    ei, ej, ediff = i[evaluated], j[evaluated], diff[evaluated]
    rows = np.arange(len(candidates))
    picked: list[int] = []
    jitter = 1e-9 * rng.random(len(candidates))  # seeded tie-breaking
    for _ in range(min(size, len(candidates))):
        # Candidate comparison k (rows) and evaluated pair p (columns): how a verdict on k
        # moves and shrinks the difference of p.
        sx = cov[:, ci] - cov[:, cj]                    # n x K: cov @ x_k
        v = sx[ci, rows] - sx[cj, rows]
        p = 1.0 / (1.0 + np.exp(-cdiff / np.sqrt(1.0 + math.pi * v / 8.0)))
        w = p * (1 - p)
        gain = (sx[ei, :] - sx[ej, :]).T                # K x P: x_p . cov x_k
        var_p = cov[ei, ei] + cov[ej, ej] - 2 * cov[ei, ej]
        shrunk = np.maximum(var_p[None, :] - (w / (1 + w * v))[:, None] * gain**2, 1e-12)
        cost = np.zeros(len(candidates))
        for outcome, prob in ((1.0, p), (0.0, 1 - p)):
            moved = ediff[None, :] + ((outcome - p) / (1 + w * v))[:, None] * gain
            cost += prob * (0.5 * _erfc(np.abs(moved) / np.sqrt(2.0 * shrunk))).sum(axis=1)
        cost += jitter
        cost[picked] = np.inf
        k = int(np.argmin(cost))
        picked.append(k)
        cov = cov - np.outer(sx[:, k], sx[:, k]) * (w[k] / (1 + w[k] * v[k]))
    picked = [int(candidates[k]) for k in picked]
    return _balance_slots([(int(i[k]), int(j[k])) for k in picked], shown_first, judged)


def _erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, vectorised (numpy has none and scipy is not a dependency)."""
    # Abramowitz & Stegun 7.1.26 on |x| (max abs error 1.5e-7), reflected for negative x.
    ax = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * ax)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    y = poly * np.exp(-ax * ax)
    return np.where(x >= 0, y, 2.0 - y)


def fit_bradley_terry(n: int, comparisons: Sequence[Comparison], *, iterations: int = 25
                      ) -> tuple[np.ndarray, np.ndarray]:
    """MAP strengths of ``n`` candidates plus a position-bias term, and their Laplace covariance.

    Model: ``logit P(A wins) = s_A - s_B + bias`` with Gaussian priors; ``None`` verdicts carry no
    evidence. Returns ``(mean, cov)`` of length ``n + 1`` (the last entry is the bias).

    >>> mean, _ = fit_bradley_terry(2, [Comparison(a=0, b=1, winner=0), Comparison(a=1, b=0, winner=1)])
    >>> bool(mean[0] > mean[1]), abs(float(mean[2])) < 1e-9
    (True, True)
    """
    decided = [c for c in comparisons if c.winner is not None]
    prior = np.array([1.0 / STRENGTH_PRIOR_VAR] * n + [1.0 / BIAS_PRIOR_VAR])
    x = np.zeros(n + 1)
    design = np.zeros((len(decided), n + 1))
    for row, c in enumerate(decided):
        design[row, c.a], design[row, c.b], design[row, n] = 1.0, -1.0, 1.0
    y = np.array([1.0 if c.winner == 0 else 0.0 for c in decided])
    hessian = np.diag(prior)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ x)))
        grad = design.T @ (y - p) - prior * x
        hessian = (design.T * (p * (1 - p))) @ design + np.diag(prior)
        step = np.linalg.solve(hessian, grad)
        x = x + step
        if np.abs(step).max() < 1e-8:
            break
    p = 1.0 / (1.0 + np.exp(-(design @ x)))
    hessian = (design.T * (p * (1 - p))) @ design + np.diag(prior)
    return x, np.linalg.inv(hessian)
