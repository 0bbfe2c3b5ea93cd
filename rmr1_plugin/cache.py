"""Content-addressed cache of judge generations.

The key is a hash of (model id, sampling settings, prompt messages), so a comparison that was
already judged — repeated within a group, across epochs, or already seen in the other order when
the judge swaps positions — is never generated again. Memory by default; give a path and the
entries also go to a SQLite file that survives restarts and can be shared by processes.
Only finished generations are stored: errors are retried next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Self

from rmr1_plugin.backends.base import Conversation, Generation, GenerationSettings


def generation_key(model_id: str, settings: GenerationSettings, messages: Conversation) -> str:
    """The content address of one generation request.

    >>> a = generation_key("m", GenerationSettings(), [{"role": "user", "content": "x"}])
    >>> a == generation_key("m", GenerationSettings(seed=1), [{"role": "user", "content": "x"}])
    False
    """
    payload = json.dumps(
        {"model": model_id, "settings": settings.model_dump(mode="json"),
         "messages": [[m["role"], m["content"]] for m in messages]},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class GenerationCache:
    """Memory cache (LRU, ``max_entries``) with an optional SQLite store at ``path``.

    >>> cache = GenerationCache()
    >>> cache.put("k", Generation(text="<answer>[[A]]</answer>"))
    >>> cache.get("k").text, cache.hits, cache.misses
    ('<answer>[[A]]</answer>', 1, 0)
    """

    def __init__(self, path: str | Path | None = None, *, max_entries: int = 100_000):
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self.path = Path(path) if path is not None else None
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[str, Generation] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
                self._db.commit()
            except sqlite3.DatabaseError as error:
                raise ValueError(f"cache file {self.path} is not a usable SQLite database: {error}") from None

    def get(self, key: str) -> Generation | None:
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
            elif self._db is not None:
                row = self._db.execute("SELECT value FROM generations WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    found = Generation.model_validate_json(row[0])
                    self._remember(key, found)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: str, generation: Generation) -> None:
        if generation.finish_reason == "error":
            return
        with self._lock:
            self._remember(key, generation)
            if self._db is not None:
                self._db.execute("INSERT OR REPLACE INTO generations (key, value) VALUES (?, ?)",
                                 (key, generation.model_dump_json()))
                self._db.commit()

    def _remember(self, key: str, generation: Generation) -> None:
        self._memory[key] = generation
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            if self._db is not None:
                return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])
            return len(self._memory)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
