"""Replay backend: recorded judge generations from a JSONL file.

For re-scoring published per-sample logs (swap the parser, the swap policy or the ranking
strategy without re-running the judge) and for deterministic tests. Each line is an object with
the judge conversation under ``messages`` (or its content hash under ``key``, see
:func:`conversation_key`) and the generation under ``text`` (optionally ``finish_reason`` and
``seed``)::

    {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}], "text": "...<answer>[[A]]</answer>"}

A request with a seed first looks for a row recorded with that seed; otherwise the rows recorded
for a conversation are returned in file order, cycling (so k votes replay k recordings). A
conversation with no recording comes back as an error generation (or raises with
``missing="raise"``). :class:`RecordingBackend` writes such files from any other backend.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from rmr1_plugin.backends.base import (
    Backend,
    BackendError,
    Conversation,
    Generation,
    GenerationSettings,
    check_generations,
    run_sync,
)


def conversation_key(conversation: Conversation) -> str:
    """Content hash of a conversation (roles and contents only).

    >>> conversation_key([{"role": "user", "content": "hi"}])[:12]
    '675b797826f3'
    """
    canonical = json.dumps([[m["role"], m["content"]] for m in conversation], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ReplayBackend:
    """Serve recorded generations from a JSONL file.

    >>> backend = ReplayBackend.from_records([{"messages": [{"role": "user", "content": "Q"}],
    ...                                        "text": "<answer>[[A]]</answer>"}])
    >>> backend.generate([[{"role": "user", "content": "Q"}]], GenerationSettings())[0].text
    '<answer>[[A]]</answer>'
    """

    def __init__(self, path: str | Path | None = None, *, model_id: str | None = None,
                 missing: Literal["error", "raise"] = "error"):
        if missing not in ("error", "raise"):
            raise ValueError(f"missing must be 'error' or 'raise', got {missing!r}")
        self.missing = missing
        self._by_key: dict[str, list[Generation]] = defaultdict(list)
        self._by_seed: dict[tuple[str, int], Generation] = {}
        self._cursor: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self.model_id = model_id or (f"replay:{Path(path).name}" if path else "replay")
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise FileNotFoundError(f"replay file not found: {path}")
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if line.strip():
                        try:
                            record = json.loads(line)
                        except json.JSONDecodeError as error:
                            raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from None
                        self._add(record, f"{path}:{number}")

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], **options: Any) -> ReplayBackend:
        backend = cls(None, **options)
        for number, record in enumerate(records, 1):
            backend._add(record, f"record {number}")
        return backend

    def _add(self, record: Any, where: str) -> None:
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")  # bad data
        if "key" in record:
            key = record["key"]
            if not isinstance(key, str):
                raise ValueError(f"{where}: field 'key' must be a string, got {key!r:.80}")
        elif "messages" in record:
            messages = record["messages"]
            if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
                for m in messages
            ):
                raise ValueError(f"{where}: field 'messages' must be a list of {{'role', 'content'}} strings")
            key = conversation_key(messages)
        else:
            raise ValueError(f"{where}: needs 'messages' (the judge conversation) or 'key' (its hash)")
        text = record.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: field 'text' must be a string, got {text!r:.80}")  # bad data
        finish = record.get("finish_reason", "stop")
        if finish not in ("stop", "length"):
            raise ValueError(f"{where}: field 'finish_reason' must be 'stop' or 'length', got {finish!r}")
        generation = Generation(text=text, finish_reason=finish)
        seed = record.get("seed")
        if seed is not None:
            if not isinstance(seed, int):
                raise ValueError(f"{where}: field 'seed' must be an integer, got {seed!r}")
            self._by_seed[(key, seed)] = generation
        self._by_key[key].append(generation)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())

    def _one(self, conversation: Conversation, settings: GenerationSettings) -> Generation:
        key = conversation_key(conversation)
        if settings.seed is not None and (key, settings.seed) in self._by_seed:
            return self._by_seed[(key, settings.seed)]
        recorded = self._by_key.get(key)
        if not recorded:
            reason = f"no recorded generation for this conversation (key {key[:16]})"
            if self.missing == "raise":
                raise BackendError(f"replay: {reason}")
            return Generation.failed(reason)
        with self._lock:
            index = self._cursor[key] % len(recorded)
            self._cursor[key] += 1
        return recorded[index]

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return check_generations("replay", conversations, [self._one(c, settings) for c in conversations])

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return self.generate(conversations, settings)


class RecordingBackend:
    """Wrap a backend and append every successful generation to a JSONL file a
    :class:`ReplayBackend` can serve later.

    >>> recorder = RecordingBackend(ReplayBackend.from_records([]), "judge_log.jsonl")  # doctest: +SKIP
    """

    def __init__(self, inner: Backend, path: str | Path):
        self.inner = inner
        self.model_id = inner.model_id
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _record(self, conversations: list[Conversation], settings: GenerationSettings,
                generations: list[Generation]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            for conversation, generation in zip(conversations, generations, strict=True):
                if generation.finish_reason != "error":
                    row = {"messages": conversation, "text": generation.text,
                           "finish_reason": generation.finish_reason, "seed": settings.seed,
                           "model": self.model_id}
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        generations = await self.inner.agenerate(conversations, settings)
        await asyncio.to_thread(self._record, conversations, settings, generations)
        return generations

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return run_sync(self.agenerate(conversations, settings))
