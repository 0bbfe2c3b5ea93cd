"""Bounded concurrency with back-pressure: at most ``max_active`` slots of judging at once, at
most ``max_queued`` more requests wait, and the next one is refused at once (HTTP 429) instead
of piling up until every client times out.

A request takes slots in proportion to the judge work it is expected to need (``weight``, at most
``max_active``): one huge request holds the whole server while it runs instead of sharing it with
``max_active - 1`` others. Slots are granted first come, first served, so a heavy request is not
starved by a stream of light ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Self


class QueueFull(Exception):
    """The server is at capacity; ``retry_after`` is a hint in whole seconds."""

    def __init__(self, active: int, queued: int, retry_after: int):
        self.active, self.queued, self.retry_after = active, queued, retry_after
        super().__init__(
            f"server busy: {active} requests being judged and {queued} waiting (queue full); "
            f"retry after {retry_after} s"
        )


class Admission:
    """Admission control for judge work.

    >>> async def demo():
    ...     admission = Admission(max_active=1, max_queued=0)
    ...     async with admission.enter():
    ...         try:
    ...             admission.enter()
    ...         except QueueFull as exc:
    ...             return exc.retry_after >= 1
    >>> asyncio.run(demo())
    True
    """

    def __init__(self, max_active: int, max_queued: int):
        if max_active < 1 or max_queued < 0:
            raise ValueError(
                f"need max_active >= 1 and max_queued >= 0, got {max_active} and {max_queued}"
            )
        self.max_active, self.max_queued = max_active, max_queued
        self.active = 0  # requests holding slots
        self.queued = 0
        self.used = 0  # slots held
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._recent: deque[float] = deque(maxlen=64)  # seconds each recent request held a slot

    def enter(self, weight: int = 1) -> _Ticket:
        """Reserve a place or raise :class:`QueueFull`; use the ticket as ``async with``.
        ``weight``: the slots the request will hold (clipped to ``[1, max_active]``)."""
        if self.active + self.queued >= self.max_active + self.max_queued:
            raise QueueFull(self.active, self.queued, self.retry_after())
        self.queued += 1
        return _Ticket(self, min(max(weight, 1), self.max_active))

    @contextlib.asynccontextmanager
    async def slot(self, weight: int = 1) -> AsyncIterator[None]:
        """Hold judging slots for work whose requests already have their places (responses
        gathered across requests: their requests wait without a slot, their group takes one)."""
        weight = min(max(weight, 1), self.max_active)
        await self.acquire(weight)
        self.active += 1
        started = time.monotonic()
        try:
            yield
        finally:
            self.active -= 1
            self.release(weight, time.monotonic() - started)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead drained at the recent pace."""
        if not self._recent:
            return 1
        mean = sum(self._recent) / len(self._recent)
        waves = (self.queued + 1) / self.max_active
        return max(1, math.ceil(mean * waves))

    async def acquire(self, weight: int) -> None:
        """Wait until ``weight`` slots are free (first come, first served) and take them."""
        if not self._waiting and self.used + weight <= self.max_active:
            self.used += weight
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((weight, granted))
        try:
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                self._release(weight)  # granted just as it was cancelled: give it back
            else:
                self._waiting.remove((weight, granted))
                self._grant()
            raise

    def release(self, weight: int, held_s: float | None = None) -> None:
        """Give back ``weight`` slots, held for ``held_s`` seconds (the pace :meth:`retry_after` reads)."""
        self._release(weight)
        if held_s is not None:
            self._recent.append(held_s)

    def _release(self, weight: int) -> None:
        self.used -= weight
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self.used + self._waiting[0][0] <= self.max_active:
            weight, granted = self._waiting.popleft()
            self.used += weight
            granted.set_result(None)


class _Ticket:
    def __init__(self, admission: Admission, weight: int = 1):
        self._admission = admission
        self.weight = weight
        self._started: float | None = None
        self._left_queue = False

    async def __aenter__(self) -> Self:
        admission = self._admission
        try:
            await admission.acquire(self.weight)
        finally:
            admission.queued -= 1
            self._left_queue = True
        admission.active += 1
        self._started = time.monotonic()
        return self

    async def __aexit__(self, *exc: object) -> None:
        admission = self._admission
        admission.active -= 1
        admission.release(self.weight, None if self._started is None else time.monotonic() - self._started)

    def cancel(self) -> None:
        """Give the place back when the ticket is never used."""
        if not self._left_queue:
            self._admission.queued -= 1
            self._left_queue = True
