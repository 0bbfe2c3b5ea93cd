"""Responses to one prompt from separate requests are ranked together."""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.server.collector import GroupCollector


def ranked_by_length(calls: list):
    async def score(key, completions):
        calls.append((key, list(completions)))
        return [len(c) for c in completions]

    return score


def test_a_full_group_is_ranked_once_and_each_member_gets_its_own_results():
    calls = []

    async def scenario():
        collector = GroupCollector(3, 60.0, ranked_by_length(calls))
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
        collector = GroupCollector(8, 0.05, ranked_by_length(calls))
        results = await asyncio.gather(collector.submit("p", ["a"]), collector.submit("p", ["bb"]))
        return results, collector.parked

    assert asyncio.run(scenario()) == ([[1], [2]], 0)
    assert calls == [("p", ["a", "bb"])]


def test_a_failed_ranking_fails_every_member_with_the_reason():
    async def broken(key, completions):
        raise ConnectionError("judge backend down")

    async def scenario():
        collector = GroupCollector(2, 60.0, broken)
        return await asyncio.gather(
            collector.submit("p", ["a"]), collector.submit("p", ["b"]), return_exceptions=True
        )

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, ConnectionError) and "down" in str(o) for o in outcomes)


def test_a_member_that_stops_waiting_does_not_cancel_the_group():
    calls = []

    async def scenario():
        collector = GroupCollector(2, 60.0, ranked_by_length(calls))
        impatient = asyncio.create_task(collector.submit("p", ["a"]))
        await asyncio.sleep(0)
        impatient.cancel()
        return await collector.submit("p", ["bb"])

    assert asyncio.run(scenario()) == [2]
    assert calls == [("p", ["a", "bb"])]


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="size"):
        GroupCollector(1, 1.0, ranked_by_length([]))
