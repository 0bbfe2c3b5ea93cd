"""Admission control: a bounded number of requests judged at once, a bounded queue, 429 beyond."""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.server.admission import Admission, QueueFull


def test_requests_beyond_active_plus_queued_are_refused_and_places_come_back():
    async def scenario():
        admission = Admission(max_active=2, max_queued=1)
        release = asyncio.Event()
        order = []

        async def request(name):
            async with admission.enter():
                order.append(name)
                await release.wait()

        tasks = [asyncio.create_task(request(n)) for n in ("a", "b")]
        await asyncio.sleep(0)
        ticket = admission.enter()  # the one queued place
        with pytest.raises(QueueFull) as refused:
            admission.enter()
        assert (refused.value.active, refused.value.queued) == (2, 1)
        assert refused.value.retry_after >= 1
        release.set()
        await asyncio.gather(*tasks)
        async with ticket:
            order.append("c")
        assert order == ["a", "b", "c"]
        assert (admission.active, admission.queued) == (0, 0)

    asyncio.run(scenario())


def test_an_unused_ticket_gives_its_place_back():
    admission = Admission(max_active=1, max_queued=0)
    admission.enter().cancel()
    admission.enter().cancel()
    assert admission.queued == 0


def test_a_request_cancelled_while_queued_leaves_the_queue():
    async def scenario():
        admission = Admission(max_active=1, max_queued=1)
        hold = asyncio.Event()

        async def request():
            async with admission.enter():
                await hold.wait()

        first = asyncio.create_task(request())
        await asyncio.sleep(0)
        waiting = asyncio.create_task(request())
        await asyncio.sleep(0)
        assert admission.queued == 1
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert admission.queued == 0
        hold.set()
        await first

    asyncio.run(scenario())


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_active"):
        Admission(max_active=0, max_queued=1)


def test_admission_is_weighted_by_expected_work_and_first_come_first_served():
    async def scenario():
        admission = Admission(max_active=4, max_queued=8)
        running, peak, log = set(), [0], []
        gates = {name: asyncio.Event() for name in ("light1", "heavy", "light2")}

        async def request(name, weight):
            async with admission.enter(weight):
                running.add(name)
                log.append(name)
                peak[0] = max(peak[0], admission.used)
                await gates[name].wait()
                running.discard(name)

        light1 = asyncio.create_task(request("light1", 1))
        await asyncio.sleep(0)
        heavy = asyncio.create_task(request("heavy", 100))  # clipped to the whole server
        await asyncio.sleep(0)
        light2 = asyncio.create_task(request("light2", 1))  # arrives later: waits behind heavy
        for _ in range(3):
            await asyncio.sleep(0)
        assert running == {"light1"}
        gates["light1"].set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert running == {"heavy"}
        gates["heavy"].set()
        gates["light2"].set()
        await asyncio.gather(light1, heavy, light2)
        return log, peak[0], admission.used

    log, peak, used = asyncio.run(scenario())
    assert log == ["light1", "heavy", "light2"] and peak == 4 and used == 0
