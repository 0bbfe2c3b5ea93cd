"""The per-sample JSONL log of an evaluation run, and resuming from it.

One line per judged comparison, written as whole lines and synced to disk after every batch, so
an interrupted run loses at most the batch in flight. Reopening the log repairs a line torn by a
kill mid-write (it is dropped and judged again); a damaged line elsewhere is an error naming it.
The run's settings sit beside the log in ``run.json``: resuming with different settings is refused,
since the log would then mix two judges.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Settings that must match for a log to be resumed (all others, e.g. batch size, may change).
RESUME_KEYS: tuple[str, ...] = (
    "benchmark", "backend", "model", "position", "votes", "style", "neutralize", "seed", "generation",
    "backend_errors",
)


class LogError(ValueError):
    """A log that cannot be resumed; the message names the file and line or setting."""


class SampleLog:
    """Append-only JSONL log of judged comparisons, keyed by comparison id.

    >>> import tempfile, pathlib
    >>> log = SampleLog(pathlib.Path(tempfile.mkdtemp()) / "samples.jsonl")
    >>> log.append([{"id": "a", "correct": True}])
    >>> sorted(log.read())
    ['a']
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]]:
        """Records by id; a torn last line is cut off the file, duplicate ids are an error."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            logger.warning("%s: dropping a partly written last line (%d bytes); that sample will be judged again",
                           self.path, len(data) - complete)
            with self.path.open("r+b") as handle:
                handle.truncate(complete)
            data = data[:complete]
        records: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LogError(f"{self.path}, line {number}: not valid JSON ({exc.msg}); "
                               "fix or remove the line, or start a new run with another --out") from None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise LogError(f"{self.path}, line {number}: expected an object with a string 'id'")
            if record["id"] in records:
                raise LogError(f"{self.path}, line {number}: sample {record['id']!r} is logged twice")
            records[record["id"]] = record
        return records

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records as whole lines in one write, then sync to disk."""
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


def check_resumable(saved: Mapping[str, Any], current: Mapping[str, Any], where: Path) -> None:
    """Refuse to resume a log written with different settings (:data:`RESUME_KEYS`).

    >>> check_resumable({"model": "m", "votes": 1}, {"model": "m", "votes": 1}, Path("run.json"))
    >>> check_resumable({"model": "m"}, {"model": "n"}, Path("run.json"))
    Traceback (most recent call last):
    ...
    rmr1_plugin.evaluate.log.LogError: run.json: this run was started with model='m', now model='n'; ...
    """
    changed = [k for k in RESUME_KEYS if saved.get(k) != current.get(k)]
    if changed:
        diffs = ", ".join(f"{k}={saved.get(k)!r}, now {k}={current.get(k)!r}" for k in changed)
        raise LogError(
            f"{where}: this run was started with {diffs}; resume with the same settings, "
            "or pass another --out (or --overwrite) to start a new run"
        )
