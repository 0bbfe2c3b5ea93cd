"""Idempotency keys: retries are answered from the first request, never judged twice."""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.server.idempotency import IdempotencyStore, KeyReused, fingerprint


def test_concurrent_duplicates_wait_for_the_first_and_share_its_answer():
    async def scenario():
        store, runs, gate = IdempotencyStore(), [], asyncio.Event()

        async def work():
            runs.append(1)
            await gate.wait()
            return {"winner": "A"}

        first = asyncio.create_task(store.run("key", "fp", work))
        second = asyncio.create_task(store.run("key", "fp", work))
        await asyncio.sleep(0)
        gate.set()
        return await first, await second, len(runs)

    first, second, runs = asyncio.run(scenario())
    assert first == ({"winner": "A"}, False)
    assert second == ({"winner": "A"}, True)
    assert runs == 1


def test_a_caller_that_goes_away_does_not_cancel_the_work():
    async def scenario():
        store, gate = IdempotencyStore(), asyncio.Event()

        async def work():
            await gate.wait()
            return 42

        impatient = asyncio.create_task(store.run("key", "fp", work))
        await asyncio.sleep(0)
        impatient.cancel()  # e.g. the client's connection dropped
        await asyncio.gather(impatient, return_exceptions=True)
        gate.set()
        return await store.run("key", "fp", work)

    assert asyncio.run(scenario()) == (42, True)


def test_failures_are_not_stored_so_a_retry_runs_again():
    async def scenario():
        store, attempts = IdempotencyStore(), []

        async def work():
            attempts.append(1)
            if len(attempts) == 1:
                raise ConnectionError("backend down")
            return "ok"

        with pytest.raises(ConnectionError):
            await store.run("key", "fp", work)
        return await store.run("key", "fp", work), len(attempts)

    assert asyncio.run(scenario()) == (("ok", False), 2)


def test_a_key_reused_for_a_different_request_is_refused():
    async def scenario():
        store = IdempotencyStore()

        async def work():
            return 1

        await store.run("key", fingerprint("/judge", {"pairs": [1]}), work)
        with pytest.raises(KeyReused, match="key"):
            await store.run("key", fingerprint("/judge", {"pairs": [2]}), work)

    asyncio.run(scenario())


def test_answers_expire_after_their_ttl_and_capacity_drops_the_oldest():
    async def scenario():
        store = IdempotencyStore(ttl_s=1e-9, max_entries=2)

        async def work():
            return 1

        await store.run("old", "fp", work)
        await asyncio.sleep(0.01)
        assert store.lookup("old", "fp") is None  # expired
        store = IdempotencyStore(max_entries=2)
        for key in ("a", "b", "c"):
            await store.run(key, "fp", work)
        assert store.lookup("a", "fp") is None and store.lookup("c", "fp") is not None

    asyncio.run(scenario())


def test_eviction_work_per_lookup_does_not_grow_with_the_stored_answers():
    """A long run fills the store to its capacity; each lookup must still cost O(1): count the lines
    the store executes per lookup (deterministic, unlike a timing) at 100 and at 5k answers."""
    import sys

    from rmr1_plugin.server import idempotency

    def lines_per_lookup(entries: int) -> int:
        async def scenario() -> int:
            store = IdempotencyStore(ttl_s=3600, max_entries=entries)

            async def work():
                return 1

            for k in range(entries + 50):  # over capacity: the oldest answers go
                store.start(f"k{k}", "fp", work)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            counted = 0

            def tracer(frame, event, arg):
                nonlocal counted
                if frame.f_code.co_filename == idempotency.__file__:
                    if event == "line":
                        counted += 1
                    return tracer
                return None

            sys.settrace(tracer)
            try:
                for k in range(20):
                    store.lookup(f"new{k}", "fp")
            finally:
                sys.settrace(None)
            assert len(store) == entries
            return counted

        return asyncio.run(scenario())

    small, large = lines_per_lookup(100), lines_per_lookup(5_000)
    assert large <= small + 200, (small, large)
