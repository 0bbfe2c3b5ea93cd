"""Idempotency keys: a retried request is answered from the first one's result, never judged twice.

A client sends ``Idempotency-Key: <unique id>`` and reuses it when it retries (after a timeout, a
dropped connection, a 429). The first request with a key runs; a duplicate that arrives while it
runs waits for it; a duplicate that arrives later gets the stored answer. A key sent again with a
different body is refused, since that is a client bug. Failures are not stored: a request that
failed (backend down, deadline passed) runs again when retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Longest key accepted; keys are opaque strings chosen by clients (UUIDs are 36 characters).
MAX_KEY_LENGTH = 200


class KeyReused(Exception):
    """The key was first used for a different request."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request body or endpoint"
        )


def fingerprint(endpoint: str, body: Any) -> str:
    """A digest of what a request asks for, so reuse of a key for other work is caught.

    >>> fingerprint("/judge", {"b": 1, "a": 2}) == fingerprint("/judge", {"a": 2, "b": 1})
    True
    """
    # ASCII escapes: any text hashes, lone surrogates included.
    canonical = json.dumps([endpoint, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class _Entry(Generic[T]):
    fingerprint: str
    task: asyncio.Task[T]
    expires: float = float("inf")


class IdempotencyStore(Generic[T]):
    """In-memory results by key, kept ``ttl_s`` seconds after they finish, at most ``max_entries``.

    >>> async def demo():
    ...     store, runs = IdempotencyStore(), []
    ...     async def work():
    ...         runs.append(1)
    ...         return "verdict"
    ...     first = await store.run("k", "fp", work)
    ...     again = await store.run("k", "fp", work)
    ...     return first, again, len(runs)
    >>> asyncio.run(demo())
    (('verdict', False), ('verdict', True), 1)
    """

    def __init__(self, ttl_s: float = 600.0, max_entries: int = 10_000):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[str, _Entry[T]] = {}
        # Finished entries in the order they finished, which (one TTL for all) is the order they
        # expire in: eviction looks at the oldest only, O(1) amortised per request.
        self._finished_order: OrderedDict[str, _Entry[T]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str, print_: str) -> asyncio.Task[T] | None:
        """The task already answering ``key`` (running or finished), or ``None``.

        Raises :class:`KeyReused` when the key belongs to a different request.
        """
        self._evict()
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.fingerprint != print_:
            raise KeyReused(key)
        return entry.task

    def start(self, key: str, print_: str, work: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """Run ``work`` as a task owned by the store (a caller that goes away does not cancel it)."""
        task = asyncio.ensure_future(work())
        entry = _Entry(print_, task)
        self._entries[key] = entry
        task.add_done_callback(lambda t: self._finished(key, entry, t))
        return task

    async def run(self, key: str, print_: str, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result for ``key`` and whether it was replayed (``True``) or computed now."""
        task = self.lookup(key, print_)
        replayed = task is not None
        if task is None:
            task = self.start(key, print_, work)
        return await asyncio.shield(task), replayed

    def _finished(self, key: str, entry: _Entry[T], task: asyncio.Task[T]) -> None:
        if self._entries.get(key) is not entry:
            return
        if task.cancelled() or task.exception() is not None:
            del self._entries[key]  # failures are not answers: a retry runs again
        else:
            entry.expires = time.monotonic() + self.ttl_s
            self._finished_order[key] = entry
            self._finished_order.move_to_end(key)

    def _evict(self) -> None:
        now = time.monotonic()
        finished = self._finished_order
        # Expired answers, then (over capacity) the oldest answers; running entries must stay to
        # be waited on.
        while finished:
            key, entry = next(iter(finished.items()))
            if entry.expires > now and len(self._entries) <= self.max_entries:
                break
            del finished[key]
            if self._entries.get(key) is entry:
                del self._entries[key]
