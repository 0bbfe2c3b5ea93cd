"""Gather the completions of one prompt as verl hands them over one by one, then score them together.

verl's reward loop calls a reward manager once per sample (``run_single``), concurrently, in the
order rollouts finish. A judge that ranks a prompt's completions against each other needs the
whole group, so each call parks its sample here under the prompt's ``uid`` and waits; when the
group is complete (or its wait runs out) the group is scored once and every waiting call gets its
own result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Scores a group: items in arrival order -> one result per item, same order.
GroupScorer = Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]


@dataclass
class _Group(Generic[Item]):
    expected: int
    items: list[Item] = field(default_factory=list)
    done: asyncio.Future | None = None
    timer: asyncio.TimerHandle | None = None
    started: bool = False


class GroupCollector(Generic[Item, Result]):
    """Collect items by group key; score each group once, when it is complete.

    ``timeout_s`` bounds how long the first item of a group waits for the rest (rollouts can be
    lost, e.g. when a generation fails); the group is then scored with what arrived, and
    ``partial`` is reported to the scorer through :attr:`partial_groups`.

    >>> async def demo():
    ...     async def score(items):
    ...         return [f"{x} of {len(items)}" for x in items]
    ...     collector = GroupCollector(score, timeout_s=5)
    ...     return await asyncio.gather(*(collector.submit("prompt-1", x, expected=2) for x in "ab"))
    >>> asyncio.run(demo())
    ['a of 2', 'b of 2']
    """

    def __init__(self, scorer: GroupScorer, *, timeout_s: float = 1800.0) -> None:
        if timeout_s <= 0:
            raise ValueError(f"group_timeout_s must be positive, got {timeout_s}")
        self._scorer = scorer
        self._timeout_s = timeout_s
        self._groups: dict[str, _Group] = {}
        self._scoring: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks
        self.partial_groups = 0

    @property
    def pending(self) -> int:
        """Groups still waiting for members."""
        return len(self._groups)

    async def submit(self, key: str, item: Item, *, expected: int) -> Result:
        """Add ``item`` to group ``key`` (which should reach ``expected`` items) and wait for its result."""
        if expected < 1:
            raise ValueError(f"a group needs at least one member, got expected={expected}")
        loop = asyncio.get_running_loop()
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(expected=expected, done=loop.create_future())
            group.timer = loop.call_later(self._timeout_s, self._expire, key)
        elif group.expected != expected:
            raise ValueError(f"group {key!r}: expected {group.expected} members, a later sample says {expected}")
        position = len(group.items)
        group.items.append(item)
        if len(group.items) >= group.expected:
            self._start(key)
        results = await asyncio.shield(group.done)
        return results[position]

    def _expire(self, key: str) -> None:
        group = self._groups.get(key)
        if group is None or group.started:
            return
        self.partial_groups += 1
        logger.warning(
            "group %s: %d of %d samples arrived within %.0f s; scoring the group as it is",
            key, len(group.items), group.expected, self._timeout_s,
        )
        self._start(key)

    def _start(self, key: str) -> None:
        group = self._groups.pop(key)
        group.started = True
        if group.timer is not None:
            group.timer.cancel()
        task = asyncio.ensure_future(self._score(group))
        self._scoring.add(task)
        task.add_done_callback(self._scoring.discard)

    async def _score(self, group: _Group) -> None:
        try:
            results = list(await self._scorer(list(group.items)))
            if len(results) != len(group.items):
                raise RuntimeError(f"group scorer returned {len(results)} results for {len(group.items)} items")
            group.done.set_result(results)
        except BaseException as exc:  # every waiting sample must wake up, with the error
            group.done.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
