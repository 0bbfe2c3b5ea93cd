"""Small tasks for the DeadlinePool tests (run in the pool's worker processes, imported by name)."""

from __future__ import annotations

import time
from typing import Any


def echo(item: Any) -> Any:
    """A task that returns its input."""
    return item


def allocate(megabytes: int) -> int:
    """A task that allocates ``megabytes`` MiB and returns its size."""
    return len(bytearray(megabytes << 20)) >> 20


def sleep_then_echo(item: dict) -> Any:
    """A task that sleeps ``item["sleep"]`` seconds, then returns ``item["value"]``."""
    time.sleep(item["sleep"])
    return item.get("value")
