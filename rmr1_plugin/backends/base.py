"""The one seam between the judge and whatever generates text: the :class:`Backend` protocol.

A backend turns chat conversations plus sampling settings into one :class:`Generation` per
conversation, in order. Backends never parse verdicts and never cache; the judge does both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

Conversation = list[dict[str, str]]
FinishReason = Literal["stop", "length", "error"]
T = TypeVar("T")


class GenerationSettings(BaseModel):
    """Sampling settings shared by every backend.

    ``max_new_tokens`` is the output-length limit: a judgment cut off there has no verdict.
    ``seed`` makes sampled generations reproducible where the backend supports it (the judge
    gives each vote its own seed, so votes differ and each is cached separately).

    >>> GenerationSettings(max_new_tokens=512, temperature=0.7).temperature
    0.7
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(4096, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_tuple(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


class Generation(BaseModel):
    """One generated text. ``finish_reason="length"`` means it hit ``max_new_tokens``;
    ``"error"`` means the backend failed for this conversation and ``error`` says why.
    ``prompt_tokens``/``completion_tokens``: the server's token counts, where it reports them."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    finish_reason: FinishReason = "stop"
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @classmethod
    def failed(cls, reason: str) -> Generation:
        return cls(text="", finish_reason="error", error=reason)


class BackendError(RuntimeError):
    """A backend failed as a whole (not just for one conversation)."""


class BackendUnavailableError(BackendError):
    """No server behind the backend could be reached."""


@runtime_checkable
class Backend(Protocol):
    """Anything that generates judge outputs: messages and settings in, texts out.

    ``generate``/``agenerate`` return exactly one :class:`Generation` per conversation, in order.
    Per-conversation failures come back as ``Generation(finish_reason="error")``; failures of
    the backend as a whole raise :class:`BackendError`.
    """

    model_id: str

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        ...

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        ...


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code.

    Sync calls share one long-lived event loop on a daemon thread, so what a backend keeps per
    loop (HTTP clients, their open connections) serves every call instead of being rebuilt each
    time. When this thread already runs an event loop (a notebook, an async trainer), the
    coroutine runs on a short-lived helper thread instead, so that loop is never re-entered.

    >>> async def twice(x):
    ...     return 2 * x
    >>> run_sync(twice(21))
    42
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        future = asyncio.run_coroutine_threadsafe(coroutine, _sync_loop())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C or a failure here: do not leave the work running
            raise
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


_SYNC_LOOP: tuple[int, asyncio.AbstractEventLoop] | None = None
_SYNC_LOOP_LOCK = threading.Lock()


def _sync_loop() -> asyncio.AbstractEventLoop:
    """The process's loop for sync calls, started on first use (and again in a forked child,
    where the parent's loop thread does not exist)."""
    global _SYNC_LOOP
    with _SYNC_LOOP_LOCK:
        if _SYNC_LOOP is None or _SYNC_LOOP[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="rmr1-sync-loop", daemon=True).start()
            _SYNC_LOOP = (os.getpid(), loop)
        return _SYNC_LOOP[1]


def check_generations(backend: str, conversations: list[Conversation], generations: list[Generation]) -> list[Generation]:
    """Guard the protocol's one-per-conversation promise so no item is lost silently."""
    if len(generations) != len(conversations):
        raise BackendError(
            f"{backend} returned {len(generations)} generations for {len(conversations)} conversations"
        )
    return generations
