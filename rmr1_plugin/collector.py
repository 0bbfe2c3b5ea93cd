"""Gather the members of a group that arrive separately, then score the group once.

A judge ranks a prompt's completions against each other, so it needs the whole group, but
trainers hand completions over apart: verl's reward loop calls a manager once per rollout
(``run_single``) in the order rollouts finish, and OpenRLHF sends one ``/get_reward`` request per
response. Each caller parks its items under the group's key and waits; when the group is complete
(``expected`` items, or the collector's ``size``) or its wait runs out, the group is scored once
and every caller gets the results of its own items. The verl manager and the reward server both
use this one collector.

>>> async def demo():
...     async def score(key, items):
...         return [f"{key}:{x} of {len(items)}" for x in items]
...     collector = GroupCollector(score, wait_s=5.0, size=3)
...     return await asyncio.gather(collector.submit("q", ["a"]), collector.submit("q", ["b", "c"]))
>>> asyncio.run(demo())
[['q:a of 3'], ['q:b of 3', 'q:c of 3']]
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Scores a group: ``(key, items in arrival order)`` -> one result per item, in the same order.
GroupScorer = Callable[[Hashable, list[Item]], Awaitable[Sequence[Result]]]


@dataclass
class _Group(Generic[Item]):
    expected: int
    done: asyncio.Future[list[Any]]
    items: list[Item] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class GroupCollector(Generic[Item, Result]):
    """Collect items by group key; score each group once, when it is complete or its wait ends.

    ``score(key, items)`` returns one result per item. ``size`` is the group size when callers do
    not say (``expected`` in :meth:`submit`); ``wait_s`` bounds how long a group's first item waits
    for the rest (rollouts can be lost, e.g. when a generation fails): the group is then scored
    with what arrived, and counted in :attr:`partial_groups`. A failed scoring wakes every member
    with the error; a member that stops waiting does not cancel its group's scoring.
    """

    def __init__(self, score: GroupScorer, *, wait_s: float, size: int | None = None) -> None:
        if wait_s <= 0:
            raise ValueError(f"the group wait must be positive, got wait_s={wait_s}")
        if size is not None and size < 2:
            raise ValueError(f"a collected group needs size >= 2, got size={size}")
        self.size, self.wait_s = size, wait_s
        self._score = score
        self._groups: dict[Hashable, _Group[Item]] = {}
        self._scoring: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks
        #: Groups scored before they were complete, because their wait ran out.
        self.partial_groups = 0

    @property
    def pending(self) -> int:
        """Groups still waiting for members."""
        return len(self._groups)

    @property
    def parked(self) -> int:
        """Items waiting for the rest of their group."""
        return sum(len(group.items) for group in self._groups.values())

    async def submit(self, key: Hashable, items: Sequence[Item], *, expected: int | None = None) -> list[Result]:
        """Add ``items`` to group ``key`` (complete at ``expected`` items, else at the collector's
        ``size``) and wait for their results, in order."""
        expected = expected if expected is not None else self.size
        if expected is None or expected < 1:
            raise ValueError(f"a group needs at least one member, got expected={expected}")
        loop = asyncio.get_running_loop()
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(expected=expected, done=loop.create_future())
            group.timer = loop.call_later(self.wait_s, self._expire, key, group)
        elif group.expected != expected:
            raise ValueError(f"group {key!r}: expected {group.expected} members, a later sample says {expected}")
        start = len(group.items)
        group.items.extend(items)
        if len(group.items) >= group.expected:
            self._start(key, group)
        # The scoring belongs to the whole group: a member that stops waiting does not cancel it.
        results = await asyncio.shield(group.done)
        return results[start:start + len(items)]

    async def submit_one(self, key: Hashable, item: Item, *, expected: int | None = None) -> Result:
        """:meth:`submit` for a single item; returns its result."""
        (result,) = await self.submit(key, [item], expected=expected)
        return result

    def _expire(self, key: Hashable, group: _Group[Item]) -> None:
        if self._groups.get(key) is not group:
            return
        self.partial_groups += 1
        logger.warning("group %s: %d of %d members arrived within %g s; scoring the group as it is",
                       key, len(group.items), group.expected, self.wait_s)
        self._start(key, group)

    def _start(self, key: Hashable, group: _Group[Item]) -> None:
        if self._groups.get(key) is not group:
            return
        del self._groups[key]
        if group.timer is not None:
            group.timer.cancel()
        task = asyncio.ensure_future(self._run(key, group))
        self._scoring.add(task)
        task.add_done_callback(self._scoring.discard)

    async def _run(self, key: Hashable, group: _Group[Item]) -> None:
        try:
            results = list(await self._score(key, list(group.items)))
            if len(results) != len(group.items):
                raise RuntimeError(f"group scorer returned {len(results)} results for {len(group.items)} items")
            group.done.set_result(results)
        except BaseException as exc:  # every waiting member must wake up, with the error
            group.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
