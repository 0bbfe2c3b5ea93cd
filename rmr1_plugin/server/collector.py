"""Gather responses to the same prompt that arrive in separate requests, so they can be ranked
against each other.

OpenRLHF's current rollout sends one ``/get_reward`` request per response, as each finishes; the
G responses to a prompt arrive close together but apart. With ``--group-size G`` the server parks
each response under its (prompt, label) and ranks the group once G responses are there, or
``--group-wait`` seconds after the first arrived, whichever comes first; each request then gets
the rewards of its own responses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Batch(Generic[T]):
    members: list[tuple[list[str], asyncio.Future[list[T]]]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

    @property
    def size(self) -> int:
        return sum(len(completions) for completions, _ in self.members)


class GroupCollector(Generic[T]):
    """Batches completions by key; ``score(key, completions)`` ranks a full (or timed-out) batch.

    >>> async def demo():
    ...     async def score(key, completions):
    ...         return [f"{key}:{c}" for c in completions]
    ...     collector = GroupCollector(2, 5.0, score)
    ...     return await asyncio.gather(collector.submit("q", ["a"]), collector.submit("q", ["b"]))
    >>> asyncio.run(demo())
    [['q:a'], ['q:b']]
    """

    def __init__(
        self, size: int, wait_s: float, score: Callable[[Hashable, list[str]], Awaitable[list[T]]]
    ):
        if size < 2 or wait_s <= 0:
            raise ValueError(f"need size >= 2 and wait_s > 0, got {size} and {wait_s}")
        self.size, self.wait_s, self._score = size, wait_s, score
        self._open: dict[Hashable, _Batch[T]] = {}
        self._running: set[asyncio.Task[None]] = set()

    @property
    def parked(self) -> int:
        """Completions waiting for the rest of their group."""
        return sum(batch.size for batch in self._open.values())

    async def submit(self, key: Hashable, completions: list[str]) -> list[T]:
        """Wait for the group of ``key`` to be ranked; return the results of ``completions``."""
        batch = self._open.get(key)
        if batch is None:
            batch = self._open[key] = _Batch()
            batch.timer = asyncio.get_running_loop().call_later(self.wait_s, self._fire, key, batch)
        future: asyncio.Future[list[T]] = asyncio.get_running_loop().create_future()
        batch.members.append((list(completions), future))
        if batch.size >= self.size:
            self._fire(key, batch)
        # The ranking belongs to the whole group: a member that stops waiting does not cancel it.
        return await asyncio.shield(future)

    def _fire(self, key: Hashable, batch: _Batch[T]) -> None:
        if self._open.get(key) is not batch:
            return
        del self._open[key]
        if batch.timer is not None:
            batch.timer.cancel()
        task = asyncio.ensure_future(self._run(key, batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: Hashable, batch: _Batch[T]) -> None:
        members = [(c, f) for c, f in batch.members if not f.cancelled()]
        try:
            results = await self._score(
                key, [text for completions, _ in members for text in completions]
            )
        except Exception as error:  # every member learns why its group failed
            for _, future in members:
                if not future.done():
                    future.set_exception(error)
            return
        start = 0
        for completions, future in members:
            if not future.done():
                future.set_result(results[start : start + len(completions)])
            start += len(completions)
