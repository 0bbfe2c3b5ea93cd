"""A pool of worker processes with a hard per-item deadline that works from any thread.

Signal-based timeouts (``signal.alarm``, math-verify's own) only work in the main thread of the
main interpreter; TRL and verl call rewards from worker threads and Ray actors. Here each item is
sent to a worker *process* over a pipe and the calling thread waits with ``select``: a worker that
overruns its deadline is killed (its whole process group) and replaced, so the caller always gets
an answer in time. Workers run ``module:function`` tasks on JSON values and cap their own memory.

>>> pool = DeadlinePool("json:dumps", workers=1)
>>> [o.value for o in pool.map([1, "two"], deadline=30)]
['1', '"two"']
>>> pool.close()
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

#: The folder holding the ``rmr1_plugin`` package, put first on the workers' path so they run
#: the same code as the caller (a worktree, an editable install, a wheel).
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass
class TaskOutcome:
    """What became of one item: ``ok`` with a value, ``timeout``, or ``error`` with a message."""

    status: Literal["ok", "timeout", "error"]
    value: Any = None
    error: str | None = None
    seconds: float = 0.0


#: The earlier name of :class:`TaskOutcome` (``rmr1_plugin.ranking`` has its own ``Outcome``); deprecated.
Outcome = TaskOutcome


@dataclass(eq=False)
class _Worker:
    proc: subprocess.Popen
    ready: bool = False
    buffer: bytearray = field(default_factory=bytearray)
    spawned: float = field(default_factory=time.monotonic)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL'd processes exit
            log.warning("worker %d did not exit after SIGKILL", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def send(self, item_id: int, item: Any) -> None:
        self.proc.stdin.write(json.dumps({"id": item_id, "item": item}).encode() + b"\n")
        self.proc.stdin.flush()

    def read_lines(self) -> list[dict] | None:
        """Messages that arrived, or None at end of file (the worker died)."""
        chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, rest = self.buffer.split(b"\n")
        self.buffer = bytearray(rest)
        return [json.loads(line) for line in lines if line.strip()]


class DeadlinePool:
    """``workers`` processes running ``task`` (``"module:function"``), each item under a deadline.

    Thread-safe: concurrent ``map`` calls share the workers (each call holds the ones it uses).
    ``memory_mb`` caps each worker's address space (``RLIMIT_AS``); an item that exhausts it is
    an ``error`` and the worker is replaced. Workers start lazily and are stopped at exit.
    """

    def __init__(self, task: str, *, workers: int | None = None, memory_mb: int = 4096,
                 startup_timeout: float = 120.0) -> None:
        if ":" not in task:
            raise ValueError(f"task must be 'module:function', got {task!r}")
        self.task = task
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._all: set[_Worker] = set()
        self._owner = os.getpid()
        self._closed = False
        atexit.register(self.close)

    # -- public -----------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Whether :meth:`map` can run here: not closed, and created in this process (not a fork)."""
        return not self._closed and os.getpid() == self._owner

    def call(self, item: Any, *, deadline: float) -> TaskOutcome:
        """Run one item; see :meth:`map`."""
        return self.map([item], deadline=deadline)[0]

    def map(self, items: Sequence[Any], *, deadline: float) -> list[TaskOutcome]:
        """Run every item, in parallel across the workers; one :class:`TaskOutcome` per item, in order.

        ``deadline`` is seconds per item, counted from when its worker starts on it.
        """
        if self._closed:
            raise RuntimeError("DeadlinePool is closed")
        if os.getpid() != self._owner:
            raise RuntimeError("DeadlinePool was created in another process; create a new one after fork")
        self._start()
        outcomes: list[TaskOutcome | None] = [None] * len(items)
        pending = deque(range(len(items)))
        held: list[_Worker] = []
        running: dict[_Worker, tuple[int, float | None]] = {}  # worker -> (item, start or None)
        selector = selectors.DefaultSelector()
        try:
            while pending or running:
                self._acquire(held, selector, want=len(pending) + len(running), block=not held)
                for worker in held:
                    if pending and worker not in running:
                        index = pending.popleft()
                        try:
                            worker.send(index, items[index])
                        except (BrokenPipeError, OSError):
                            pending.appendleft(index)
                            self._replace(worker, held, selector)
                            break
                        running[worker] = (index, time.monotonic() if worker.ready else None)
                timeout = self._next_timeout(running, deadline)
                for key, _ in selector.select(timeout):
                    worker = key.data
                    messages = worker.read_lines()
                    if messages is None:
                        code = worker.proc.poll()
                        if worker in running:
                            index, start = running.pop(worker)
                            outcomes[index] = TaskOutcome("error", error=_death_message(code, self.memory_mb),
                                                      seconds=_since(start))
                        self._replace(worker, held, selector)
                        continue
                    for message in messages:
                        if message.get("ready"):
                            worker.ready = True
                            if worker in running:
                                running[worker] = (running[worker][0], time.monotonic())
                        elif worker in running:
                            index, start = running.pop(worker)
                            outcomes[index] = TaskOutcome(
                                "ok" if message.get("error") is None else "error",
                                value=message.get("value"), error=message.get("error"), seconds=_since(start),
                            )
                now = time.monotonic()
                for worker, (index, start) in list(running.items()):
                    overdue = (start is not None and now - start > deadline) or (
                        start is None and now - worker.spawned > self.startup_timeout)
                    if overdue:
                        del running[worker]
                        outcomes[index] = (
                            TaskOutcome("timeout", error=f"no answer within the {deadline:g} s deadline",
                                    seconds=now - start)
                            if start is not None
                            else TaskOutcome("error", error=f"worker did not start within {self.startup_timeout:g} s")
                        )
                        self._replace(worker, held, selector)
        finally:
            for worker in list(running):
                self._replace(worker, held, selector)  # abandoned by an exception: not reusable
            selector.close()
            for worker in held:
                self._idle.put(worker)
        return [o if o is not None else TaskOutcome("error", error="lost") for o in outcomes]

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        self._closed = True
        if os.getpid() != self._owner:
            return
        with self._lock:
            for worker in list(self._all):
                worker.kill()
            self._all.clear()

    # -- internals --------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                for _ in range(self.workers):
                    self._idle.put(self._spawn())
                self._started = True

    def _spawn(self) -> _Worker:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *filter(None, [env.get("PYTHONPATH")])])
        proc = subprocess.Popen(
            [sys.executable, "-m", "rmr1_plugin.verify._worker", self.task, str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True,
        )
        worker = _Worker(proc)
        self._all.add(worker)
        return worker

    def _acquire(self, held: list[_Worker], selector: selectors.BaseSelector, *, want: int, block: bool) -> None:
        while len(held) < min(want, self.workers):
            try:
                worker = self._idle.get(block=block and not held)
            except queue.Empty:
                return
            held.append(worker)
            selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)

    def _replace(self, worker: _Worker, held: list[_Worker], selector: selectors.BaseSelector) -> None:
        try:
            selector.unregister(worker.proc.stdout)
        except (KeyError, ValueError):
            pass
        worker.kill()
        with self._lock:
            self._all.discard(worker)
            fresh = self._spawn()
        held[held.index(worker)] = fresh
        selector.register(fresh.proc.stdout, selectors.EVENT_READ, fresh)

    def _next_timeout(self, running: dict[_Worker, tuple[int, float | None]], deadline: float) -> float:
        now = time.monotonic()
        ends = [start + deadline if start is not None else w.spawned + self.startup_timeout
                for w, (_, start) in running.items()]
        return max(0.0, min(ends) - now) + 0.001 if ends else 0.05


def _since(start: float | None) -> float:
    return time.monotonic() - start if start is not None else 0.0


def _death_message(code: int | None, memory_mb: int) -> str:
    if code is not None and code < 0:
        return f"worker killed by signal {signal.Signals(-code).name}"
    return f"worker exited with code {code} (out of memory under the {memory_mb} MiB cap?)"
