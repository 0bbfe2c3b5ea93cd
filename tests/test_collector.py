"""The one GroupCollector: members of a group that arrive separately are scored together.

The first half is the reward server's use (several completions per request, a fixed group size);
the second the verl manager's (one rollout per call, each group's size named by its members).
"""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.collector import GroupCollector


def ranked_by_length(calls: list):
    async def score(key, completions):
        calls.append((key, list(completions)))
        return [len(c) for c in completions]

    return score


def test_a_full_group_is_ranked_once_and_each_member_gets_its_own_results():
    calls = []

    async def scenario():
        collector = GroupCollector(ranked_by_length(calls), wait_s=60.0, size=3)
        return await asyncio.gather(
            collector.submit("p", ["a"]),
            collector.submit("p", ["bb", "ccc"]),
            collector.submit("other", ["dddd"]),
            collector.submit("other", ["e", "ff"]),
        )

    assert asyncio.run(scenario()) == [[1], [2, 3], [4], [1, 2]]
    assert calls == [("p", ["a", "bb", "ccc"]), ("other", ["dddd", "e", "ff"])]


def test_a_group_that_does_not_fill_is_ranked_when_the_wait_ends():
    calls = []

    async def scenario():
        collector = GroupCollector(ranked_by_length(calls), wait_s=0.05, size=8)
        results = await asyncio.gather(collector.submit("p", ["a"]), collector.submit("p", ["bb"]))
        return results, collector.parked

    assert asyncio.run(scenario()) == ([[1], [2]], 0)
    assert calls == [("p", ["a", "bb"])]


def test_a_failed_ranking_fails_every_member_with_the_reason():
    async def broken(key, completions):
        raise ConnectionError("judge backend down")

    async def scenario():
        collector = GroupCollector(broken, wait_s=60.0, size=2)
        return await asyncio.gather(
            collector.submit("p", ["a"]), collector.submit("p", ["b"]), return_exceptions=True
        )

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, ConnectionError) and "down" in str(o) for o in outcomes)


def test_a_member_that_stops_waiting_does_not_cancel_the_group():
    calls = []

    async def scenario():
        collector = GroupCollector(ranked_by_length(calls), wait_s=60.0, size=2)
        impatient = asyncio.create_task(collector.submit("p", ["a"]))
        await asyncio.sleep(0)
        impatient.cancel()
        return await collector.submit("p", ["bb"])

    assert asyncio.run(scenario()) == [2]
    assert calls == [("p", ["a", "bb"])]


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="size"):
        GroupCollector(ranked_by_length([]), wait_s=1.0, size=1)


# --- one item per call, as verl's reward loop hands rollouts over ------------------------------


def keyless(scorer):
    """A group scorer that only needs the items (the verl manager's)."""

    async def score(key, items):
        return await scorer(items)

    return score


def test_collector_scores_a_group_once_whatever_the_arrival_order():
    calls = []

    async def scorer(items):
        calls.append(list(items))
        return [f"{item}/{len(items)}" for item in items]

    async def run():
        collector = GroupCollector(keyless(scorer), wait_s=60)
        order = [("g1", "a"), ("g2", "x"), ("g1", "b"), ("g2", "y"), ("g1", "c")]
        return await asyncio.gather(*(collector.submit_one(k, v, expected=3 if k == "g1" else 2) for k, v in order))

    assert asyncio.run(run()) == ["a/3", "x/2", "b/3", "y/2", "c/3"]
    assert sorted(map(sorted, calls)) == [["a", "b", "c"], ["x", "y"]]


def test_collector_scores_an_incomplete_group_when_its_wait_runs_out():
    async def scorer(items):
        return [len(items)] * len(items)

    async def run():
        collector = GroupCollector(keyless(scorer), wait_s=0.05)
        results = await asyncio.gather(collector.submit_one("g", "a", expected=4), collector.submit_one("g", "b", expected=4))
        return results, collector.partial_groups, collector.pending

    assert asyncio.run(run()) == ([2, 2], 1, 0)


def test_collector_wakes_every_member_with_the_scorers_error():
    async def scorer(items):
        raise RuntimeError("judge server down")

    async def run():
        collector = GroupCollector(keyless(scorer), wait_s=60)
        return await asyncio.gather(*(collector.submit_one("g", i, expected=2) for i in range(2)), return_exceptions=True)

    assert [str(e) for e in asyncio.run(run())] == ["judge server down"] * 2


def test_collector_refuses_inconsistent_group_sizes():
    async def scorer(items):
        return items

    async def run():
        collector = GroupCollector(keyless(scorer), wait_s=0.05)
        first = asyncio.ensure_future(collector.submit_one("g", 1, expected=2))
        await asyncio.sleep(0)
        with pytest.raises(ValueError, match="expected 2 members, a later sample says 3"):
            await collector.submit_one("g", 2, expected=3)
        return await first

    assert asyncio.run(run()) == 1
