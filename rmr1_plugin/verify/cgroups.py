"""Per-run control groups: one sandboxed run's processes together get ``memory_mb`` and ``nproc``.

rlimits bound each process on its own (``RLIMIT_AS``) and count processes per user, so a run that
forks could hold ``nproc`` times its memory. A control group bounds the run's processes together.
:class:`RunGroups` finds a writable hierarchy (cgroup v2 with the ``memory`` and ``pids``
controllers, else the v1 ``memory`` and ``pids`` hierarchies), keeps a small pool of groups under
this process's own group (creating one costs a few milliseconds, reusing it nothing) and removes
them at :meth:`RunGroups.close` or exit. A run joins its group itself, through ``cgroup.procs``
descriptors opened here, before it forks anything. Where no hierarchy is writable (an ordinary
user without a delegated group, a locked-down container) :meth:`RunGroups.acquire` returns None
and the sandbox says so in ``Isolation.memory_bound``.

>>> groups = RunGroups()
>>> groups.kind in ("cgroup v2", "cgroup v1", None)
True
>>> groups.close()
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from dataclasses import dataclass, field

_ROOT = "/sys/fs/cgroup"


@dataclass(eq=False)
class RunGroup:
    """One pooled group (a directory per hierarchy); ``open_procs`` gives the run its join descriptors."""

    dirs: list[str]
    kind: str
    limits: tuple[int, int] | None = None
    fds: list[int] = field(default_factory=list)

    def apply(self, memory_mb: int, nproc: int) -> None:
        if self.limits == (memory_mb, nproc):
            return
        memory = str(memory_mb << 20)
        if self.kind == "cgroup v2":
            (folder,) = self.dirs
            _write(folder, "memory.max", memory)
            _write(folder, "memory.swap.max", "0", optional=True)
            _write(folder, "pids.max", str(nproc))
        else:
            memory_dir, pids_dir = self.dirs
            # v1 refuses a memory limit above memsw's (and memsw below memory): order the writes.
            for name, optional in (("memory.limit_in_bytes", True), ("memory.memsw.limit_in_bytes", True),
                                   ("memory.limit_in_bytes", False)):
                _write(memory_dir, name, memory, optional=optional)
            _write(pids_dir, "pids.max", str(nproc))
        self.limits = (memory_mb, nproc)

    def open_procs(self) -> list[int]:
        self.fds = [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC) for d in self.dirs]
        return self.fds

    def close_fds(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


class RunGroups:
    """A pool of per-run groups under this process's own group; ``kind`` is None where none can be made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[RunGroup] = []
        self._made: list[RunGroup] = []
        self._names = itertools.count()
        self._closed = False
        self.kind, self._parents = _find_parents()
        _sweep_stale(self._parents)
        self._finalizer = weakref.finalize(self, _remove_all, self._made)

    def acquire(self, memory_mb: int, nproc: int) -> RunGroup | None:
        """A group with these limits for one run, or None (no writable hierarchy, or creation failed)."""
        if self.kind is None or self._closed:
            return None
        with self._lock:
            group = self._idle.pop() if self._idle else None
        try:
            if group is None:
                group = self._make()
            group.apply(memory_mb, nproc)
            return group
        except OSError:
            if group is not None:
                _remove_all([group])
            return None

    def release(self, group: RunGroup) -> None:
        """Back to the pool once the run's processes are all dead and reaped."""
        group.close_fds()
        with self._lock:
            if not self._closed:
                self._idle.append(group)
                return
        _remove_all([group])  # a run that outlived close()

    def close(self) -> None:
        """Remove every group (a run still in progress removes its own when it ends)."""
        with self._lock:
            self._idle = []
            self._closed = True
        self._finalizer()

    def _make(self) -> RunGroup:
        name = f"rmr1-sandbox-{os.getpid()}-{next(self._names)}"
        dirs = []
        try:
            for parent in self._parents:
                folder = os.path.join(parent, name)
                os.mkdir(folder)
                dirs.append(folder)
        except OSError:
            for folder in dirs:
                os.rmdir(folder)
            raise
        group = RunGroup(dirs, self.kind or "")
        with self._lock:
            self._made.append(group)
        return group


def _write(folder: str, name: str, value: str, *, optional: bool = False) -> None:
    try:
        with open(os.path.join(folder, name), "w") as stream:
            stream.write(value)
    except OSError:
        if not optional:
            raise


def _remove_all(groups: list[RunGroup]) -> None:
    for group in groups:
        group.close_fds()
        for folder in group.dirs:
            for _ in range(20):  # EBUSY while the last killed processes finish exiting
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
    groups.clear()


def _sweep_stale(parents: list[str]) -> None:
    """Remove empty groups left by sandboxes whose process was killed before it could clean up."""
    for parent in parents:
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if len(parts) == 4 and name.startswith("rmr1-sandbox-") and parts[2].isdigit() \
                    and not os.path.exists(f"/proc/{parts[2]}"):
                try:
                    os.rmdir(os.path.join(parent, name))
                except OSError:  # still holds processes: leave it
                    pass


def _find_parents() -> tuple[str | None, list[str]]:
    """Where this process may create groups: ``("cgroup v2", [dir])``, ``("cgroup v1", [memory, pids])``
    or ``(None, [])``."""
    try:
        with open("/proc/self/cgroup") as stream:
            own = dict(line.rstrip("\n").split(":", 2)[1:] for line in stream if line.count(":") >= 2)
        with open("/proc/self/mountinfo") as stream:
            mounts = [line.split() for line in stream]
    except OSError:
        return None, []
    v1: dict[str, str] = {}
    v2 = None
    for fields in mounts:
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3].split(",")
        root, target = fields[3], fields[4]
        if fstype == "cgroup2" and v2 is None:
            v2 = _join(target, root, own.get("", "/"))
        elif fstype == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options and controller in own:
                    v1[controller] = _join(target, root, own[controller])
    if v2 and _v2_usable(v2):
        return "cgroup v2", [v2]
    if "memory" in v1 and "pids" in v1 and all(os.access(d, os.W_OK) for d in v1.values()):
        return "cgroup v1", [v1["memory"], v1["pids"]]
    return None, []


def _join(target: str, root: str, path: str) -> str:
    relative = path[len(root):] if root != "/" and path.startswith(root) else path
    return os.path.normpath(target + "/" + relative.lstrip("/"))


def _v2_usable(folder: str) -> bool:
    """Whether children of ``folder`` get the memory and pids controllers (enabling them if we may)."""
    try:
        with open(os.path.join(folder, "cgroup.controllers")) as stream:
            available = set(stream.read().split())
        if not {"memory", "pids"} <= available or not os.access(folder, os.W_OK):
            return False
        with open(os.path.join(folder, "cgroup.subtree_control")) as stream:
            enabled = set(stream.read().split())
        if not {"memory", "pids"} <= enabled:
            # Refused (EBUSY) when this group holds processes itself: then v2 is not usable from here.
            _write(folder, "cgroup.subtree_control", "+memory +pids")
        return True
    except OSError:
        return False
