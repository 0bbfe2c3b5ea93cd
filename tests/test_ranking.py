"""rank_group: every strategy turns pairwise verdicts into rewards in [-1, 1] at its stated cost."""

from __future__ import annotations

import asyncio
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmr1_plugin.ranking import STRATEGIES, Comparison, arank_group, fit_bradley_terry, rank_group


def judge_by_quality(quality, *, log=None, silent=()):
    """A deterministic judge: the better candidate wins; pairs in ``silent`` get no verdict."""
    def compare(pairs):
        if log is not None:
            log.append(list(pairs))
        return [None if frozenset(p) in silent else (0 if quality[p[0]] > quality[p[1]] else 1) for p in pairs]
    return compare


def noisy_judge(quality, beta=2.0, bias=0.3, seed=0):
    rng = random.Random(seed)

    def compare(pairs):
        return [0 if rng.random() < 1 / (1 + math.exp(-(beta * (quality[a] - quality[b]) + bias))) else 1
                for a, b in pairs]
    return compare


QUALITY = [0.3, -1.2, 2.0, 0.9, -0.4, 1.5, -2.2, 0.1]
TRUE_ORDER = sorted(range(8), key=lambda i: -QUALITY[i])


@pytest.mark.parametrize("strategy", ["round_robin", "adaptive"])
def test_a_consistent_judge_gives_the_true_order(strategy):
    scores = rank_group(8, judge_by_quality(QUALITY), strategy, max_calls=None if strategy == "round_robin" else 40)
    assert sorted(range(8), key=lambda i: -scores.rewards[i]) == TRUE_ORDER
    assert all(-1.0 <= r <= 1.0 for r in scores.rewards)


@pytest.mark.parametrize("strategy,calls", [("round_robin", 56), ("knockout", 7), ("circular", 8), ("adaptive", 16)])
def test_each_strategy_costs_what_the_docs_say(strategy, calls):
    log = []
    scores = rank_group(8, judge_by_quality(QUALITY, log=log), strategy)
    assert scores.calls == calls == sum(len(batch) for batch in log)
    assert scores.rounds == len(log)
    assert len(scores.comparisons) == calls


def test_round_robin_falls_back_to_one_order_within_budget_and_balances_slots():
    scores = rank_group(8, judge_by_quality(QUALITY), "round_robin", max_calls=28)
    assert scores.calls == 28 and scores.details["both_orders"] is False
    first = [sum(c.a == i for c in scores.comparisons) for i in range(8)]
    assert max(first) - min(first) <= 1


def test_knockout_champion_gets_one_and_first_round_losers_minus_one():
    scores = rank_group(8, judge_by_quality(QUALITY), "knockout", seed=3)
    assert scores.rewards[2] == 1.0  # the best candidate wins every match
    assert sorted(scores.rewards).count(-1.0) == 4
    assert scores.rounds == 3


def test_knockout_handles_byes_and_uneven_groups():
    scores = rank_group(5, judge_by_quality(QUALITY[:5]), "knockout")
    assert scores.calls == 4 and scores.rewards[2] == 1.0


def test_circular_shows_each_candidate_once_in_each_slot():
    scores = rank_group(6, judge_by_quality(QUALITY[:6]), "circular")
    assert sorted(c.a for c in scores.comparisons) == list(range(6))
    assert sorted(c.b for c in scores.comparisons) == list(range(6))


def test_reference_scores_each_candidate_against_the_baseline():
    quality = [1.0, -1.0, 3.0, 0.0]  # index 3 is the baseline
    scores = rank_group(4, judge_by_quality(quality), "reference", reference=3)
    assert scores.rewards == [1.0, -1.0, 1.0, 0.0]
    assert scores.calls == 6  # both orders by default
    assert rank_group(4, judge_by_quality(quality), "reference", max_calls=3, reference=3).calls == 3


def test_single_response_scoring_is_reference_with_two_candidates():
    assert rank_group(2, judge_by_quality([0.0, 1.0]), "reference", reference=0).rewards == [0.0, 1.0]
    # A judge that always picks slot B is position bias, not preference: both orders cancel it.
    assert rank_group(2, lambda pairs: [1 for _ in pairs], "reference", reference=0).rewards == [0.0, 0.0]


def test_no_verdict_is_a_draw_not_a_loss():
    silent = {frozenset((0, 1))}
    scores = rank_group(2, judge_by_quality([5.0, 0.0], silent=silent), "round_robin")
    assert scores.rewards == [0.0, 0.0]
    adaptive = rank_group(2, judge_by_quality([5.0, 0.0], silent=silent), "adaptive", max_calls=4)
    assert adaptive.rewards == [0.0, 0.0]


def test_adaptive_respects_any_budget_and_batches_rounds():
    log = []
    scores = rank_group(8, noisy_judge(QUALITY), "adaptive", max_calls=11, seed=1)
    rank_group(8, judge_by_quality(QUALITY, log=log), "adaptive", max_calls=11)
    assert scores.calls == 11
    assert [len(batch) for batch in log] == [4, 4, 3]


def test_adaptive_is_reproducible_for_a_seed():
    one = rank_group(8, noisy_judge(QUALITY, seed=5), "adaptive", seed=9)
    two = rank_group(8, noisy_judge(QUALITY, seed=5), "adaptive", seed=9)
    assert one == two


def test_adaptive_estimates_a_position_bias():
    # A judge that always picks slot A: the strengths stay level, the bias term absorbs it.
    scores = rank_group(8, lambda pairs: [0] * len(pairs), "adaptive", max_calls=24)
    assert scores.details["position_bias"] > 1.0
    assert max(scores.rewards) - min(scores.rewards) < 0.5  # a real preference spreads them over ~2


def test_bradley_terry_fit_recovers_order_and_bias():
    rng = random.Random(0)
    quality = [1.0, 0.0, -1.0]
    comparisons = []
    for _ in range(300):
        a, b = rng.sample(range(3), 2)
        p = 1 / (1 + math.exp(-(quality[a] - quality[b] + 0.8)))
        comparisons.append(Comparison(a=a, b=b, winner=0 if rng.random() < p else 1))
    mean, cov = fit_bradley_terry(3, comparisons)
    assert mean[0] > mean[1] > mean[2]
    assert 0.4 < mean[3] < 1.2
    assert cov.shape == (4, 4)


def test_async_driver_matches_sync():
    async def acompare(pairs):
        await asyncio.sleep(0)
        return judge_by_quality(QUALITY)(pairs)

    for strategy in ("round_robin", "knockout", "circular", "adaptive"):
        assert asyncio.run(arank_group(8, acompare, strategy)) == rank_group(8, judge_by_quality(QUALITY), strategy)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_group_of_one_costs_nothing(strategy):
    scores = rank_group(1, lambda pairs: pytest.fail("no comparison expected"), strategy,
                        reference=0 if strategy == "reference" else None)
    assert scores.rewards == [0.0] and scores.calls == 0


@pytest.mark.parametrize("bad,message", [
    (lambda pairs: [0], "verdicts for"),
    (lambda pairs: [2] * len(pairs), "expected 0"),
    (lambda pairs: [-1] * len(pairs), "expected 0"),
    (lambda pairs: [0.0] * len(pairs), "expected 0"),
])
def test_a_compare_function_breaking_the_contract_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        rank_group(4, bad, "circular")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown strategy 'swiss'"):
        rank_group(4, judge_by_quality(QUALITY), "swiss")
    with pytest.raises(ValueError, match="needs 7 calls"):
        rank_group(8, judge_by_quality(QUALITY), "knockout", max_calls=5)
    with pytest.raises(ValueError, match="needs reference"):
        rank_group(4, judge_by_quality(QUALITY), "reference")
    with pytest.raises(ValueError, match="n must be a positive int"):
        rank_group(0, judge_by_quality(QUALITY), "circular")


def test_adaptive_opens_with_two_swiss_rounds_winners_meet_winners():
    rounds: list[list[tuple[int, int]]] = []
    scores = rank_group(8, judge_by_quality(QUALITY, log=rounds), "adaptive", max_calls=8, seed=4)
    first, second = rounds
    assert sorted(x for pair in first for x in pair) == list(range(8))  # a perfect matching
    assert sorted(x for pair in second for x in pair) == list(range(8))
    won_first = {a if QUALITY[a] > QUALITY[b] else b for a, b in first}
    for a, b in second:
        assert (a in won_first) == (b in won_first)  # equal standings meet
        assert {a, b} not in [set(pair) for pair in first]  # and never a rematch
    assert (scores.calls, scores.rounds) == (8, 2)


def test_adaptive_ties_candidates_the_evidence_cannot_order():
    scores = rank_group(8, noisy_judge(QUALITY, seed=2), "adaptive", max_calls=8, seed=2)
    levels = scores.details["levels"]
    assert len(set(levels)) < 8  # eight verdicts cannot order eight candidates
    for i in range(8):
        for j in range(8):
            if levels[i] == levels[j]:
                assert scores.rewards[i] == scores.rewards[j]
            elif levels[i] > levels[j]:
                assert scores.rewards[i] > scores.rewards[j]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 9), strategy=st.sampled_from(["round_robin", "knockout", "circular", "adaptive"]),
       budget=st.one_of(st.none(), st.integers(0, 40)), seed=st.integers(0, 1000), data=st.data())
def test_any_judge_gives_bounded_rewards_within_budget(n, strategy, budget, seed, data):
    """Whatever the verdicts (including None), rewards are n values in [-1, 1] and the
    strategy never asks for more comparisons than allowed, nor pairs out of range."""
    def compare(pairs):
        assert all(0 <= a < n and 0 <= b < n and a != b for a, b in pairs)
        return data.draw(st.lists(st.sampled_from([0, 1, None]), min_size=len(pairs), max_size=len(pairs)))

    try:
        scores = rank_group(n, compare, strategy, budget, seed=seed)
    except ValueError as error:
        assert "needs" in str(error) and budget is not None  # a fixed strategy that does not fit
        return
    assert len(scores.rewards) == n and all(-1.0 <= r <= 1.0 for r in scores.rewards)
    assert budget is None or scores.calls <= budget
    assert scores.calls == len(scores.comparisons)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_adaptive_stops_once_every_pair_is_judged_both_ways(n):
    log = []
    scores = rank_group(n, judge_by_quality(QUALITY[:n], log=log), "adaptive", max_calls=3000)
    judged = [pair for batch in log for pair in batch]
    assert scores.calls == len(judged) <= n * (n - 1)
    assert len(set(judged)) == len(judged)  # no ordered pair is asked twice


def test_async_ranking_yields_to_the_event_loop_every_round_even_on_instant_verdicts():
    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        async def instant(pairs):  # a cache hit: answers without waiting
            return [0 for _ in pairs]

        background = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        scores = await arank_group(4, instant, "adaptive", max_calls=12)
        background.cancel()
        return ticks - before, scores.rounds

    ticks, rounds = asyncio.run(scenario())
    assert ticks >= rounds > 1


def test_expected_calls_bounds_what_each_strategy_asks_for():
    from rmr1_plugin.ranking import expected_calls

    for n in (2, 3, 7):
        for strategy in ("round_robin", "knockout", "circular", "adaptive"):
            for budget in (None, 5, 100):
                try:
                    scores = rank_group(n, judge_by_quality(QUALITY[:n]), strategy, budget)
                except ValueError:
                    continue
                assert scores.calls <= expected_calls(n, strategy, budget)
        assert rank_group(n, judge_by_quality(QUALITY[:n]), "reference", reference=0).calls <= expected_calls(
            n, "reference")
