"""Inside the local sandbox: confine this process, then run untrusted code.

Started by :mod:`rmr1_plugin.verify.sandbox` as ``python -I -S _child.py MODE FDS_JSON``; imports
the standard library only. The setup (limits, code, tests) arrives on a pipe and what confinement
was applied leaves on another, both closed before any untrusted code runs. Each run gets a root of
its own: the interpreter and system libraries read-only, a private ``/tmp``, a ``/proc`` of its
own pid namespace, and nothing else of the host.

Modes:
  program  run the code as ``__main__`` (stdin/stdout tests; stdout is compared by the parent)
  serve    the candidate: exec the code, then answer calls on a request pipe with plain values
  tests    the tests: run the task's helper code and the test code, calling the candidate's
           functions over the pipe; report each test on a channel only this process holds (the
           candidate never sees tests or expectations)
  zygote   start nothing itself: fork a fresh process for each run the harness asks for, so the
           interpreter start-up and imports are paid once (see :func:`zygote`)
"""

from __future__ import annotations

import ast
import builtins
import ctypes
import ctypes.util
import functools
import importlib
import json
import linecache
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NAME = 15
SIGKILL = 9
MNT_DETACH = 2
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 0x4000, 1 << 18
#: Per-mount flags a remount in a user namespace must keep (they are locked), by their statvfs bits.
_KEPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": 1024,
               "nodiratime": 2048, "relatime": 1 << 21}
_STATVFS_KEPT = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC, os.ST_NOATIME: 1024,
                 os.ST_NODIRATIME: 2048, os.ST_RELATIME: 1 << 21}
#: Per architecture: the seccomp audit arch, pivot_root's number, and the keyring syscalls
#: (add_key, request_key, keyctl), whose keys outlive a run and could relay answers to a later one.
_ARCH = {"x86_64": (0xC000003E, 155, (248, 249, 250)), "aarch64": (0xC00000B7, 41, (217, 218, 219))}
#: What a run's private root holds besides the interpreter: read-only system folders (libraries,
#: tools), the dynamic loader's cache and a few devices. Nothing under /home, /root, /work, /tmp,
#: /var, /run or /etc (bar the loader cache) exists there.
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


# -- confinement -------------------------------------------------------------------------------


@functools.cache  # once per interpreter: runs forked by a zygote inherit its handle
def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unshare(libc, flags: int) -> str | None:
    if libc.unshare(flags) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def _errno() -> str:
    return os.strerror(ctypes.get_errno())


def confine(setup: dict, fds: dict) -> None:
    """Apply control groups, namespaces, a private root, identity, limits, a syscall filter and a
    clean environment; returns in the confined process.

    With a new pid namespace this forks twice: the outer process waits and relays the exit status;
    pid 1 of the namespace only reaps (a namespace's init ignores default-action signals such as
    SIGXCPU, so the code must not be pid 1); the code runs as pid 2. When pid 1 dies, every process
    the code started dies with it, ``setsid`` or not.
    """
    info_fd = fds["info"]
    libc = _libc()
    # If the harness dies, so does the run (it waits for us in the thread that started us).
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() != fds.get("parent", os.getppid()):
        os._exit(137)
    info = {"network_isolated": False, "pid_namespace": False, "ipc_namespace": False, "private_root": False,
            "proc": False, "read_only_host": False, "seccomp": False, "uid": os.getuid(), "cgroup": False,
            "notes": []}
    joined = [_join_group(fds.pop(name)) for name in [n for n in fds if n.startswith("cgroup")]]
    info["cgroup"] = bool(joined) and all(joined)  # before anything forks: every process of the run is in it
    want_net = setup.get("isolate_network", True)
    net = CLONE_NEWNET if want_net else 0
    uid, gid = os.getuid(), os.getgid()
    root = uid == 0
    user = 0 if root else CLONE_NEWUSER  # unprivileged namespaces need a user namespace
    error = _unshare(libc, user | net | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC)
    if error is None:
        info["network_isolated"], info["pid_namespace"], info["ipc_namespace"] = bool(net), True, True
    else:
        info["notes"].append(f"no pid, mount or IPC namespace ({error}): the code sees the host's files and "
                             "processes, and processes that call setsid() may outlive the deadline")
        if net and _unshare(libc, user | net) is None:
            info["network_isolated"] = True
        elif net:
            info["notes"].append(f"no network namespace ({error}): the code can reach the network")
    if not want_net:
        info["notes"].append("network isolation turned off by the caller")
    if user and (info["pid_namespace"] or info["network_isolated"]):
        _map_own_ids(uid, gid)
    if info["pid_namespace"]:
        _enter_pid_namespace(libc, fds)
    drop = setup.get("drop_to") if root else None
    owner = drop or (uid, gid)
    if info["pid_namespace"]:  # our own mount namespace: nothing of the host but the interpreter
        problem, info["proc"] = _private_root(libc, setup["cwd"], setup["limits"]["fsize_mb"], owner)
        info["private_root"] = problem is None
        if problem:
            info["notes"].append(problem)
            problem = _lock_filesystem(libc, setup["cwd"], setup["limits"]["fsize_mb"], owner)
        info["read_only_host"] = problem is None
        if problem:
            info["notes"].append(problem)
        elif not info["proc"]:
            info["notes"].append("no /proc in the run (the kernel refused a new one); the host's is not there either")
    if drop:
        os.setgroups([])
        os.setgid(drop[1])
        os.setuid(drop[0])  # root -> nobody also clears every capability
        info["uid"] = drop[0]
    elif root:
        info["notes"].append("running as root: the code can write any file")
    else:
        _drop_capabilities(libc)  # those the user namespace granted
        if not info["read_only_host"]:
            info["notes"].append("not root and no private mount namespace: runs under your own user id, "
                                 "so files you can write, it can write")
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid binary gives anything back
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no /proc/<pid>/fd, mem or ptrace for same-uid processes
    limits = setup["limits"]
    # RLIMIT_NPROC counts every process of the user, across runs: only where no control group bounds the run.
    nproc = [] if info["cgroup"] else [("RLIMIT_NPROC", limits["nproc"])]
    for name, value in (("RLIMIT_CPU", limits["cpu_s"]), ("RLIMIT_AS", limits["memory_mb"] * 1024 * 1024),
                        *nproc, ("RLIMIT_FSIZE", limits["fsize_mb"] * 1024 * 1024),
                        ("RLIMIT_NOFILE", limits.get("nofile", 256)), ("RLIMIT_CORE", 0)):
        # CPU: SIGXCPU at the soft limit (reported as a timeout), SIGKILL a second later.
        hard = value + 1 if name == "RLIMIT_CPU" else value
        try:
            resource.setrlimit(getattr(resource, name), (value, hard))
        except (ValueError, OSError) as exc:
            info["notes"].append(f"{name} not applied: {exc}")
    problem = _deny_keyrings(libc)
    info["seccomp"] = problem is None
    if problem:
        info["notes"].append(problem)
    cwd = "/tmp" if info["private_root"] else setup["cwd"]
    os.chdir(cwd)
    os.environ.update({"HOME": cwd, "TMPDIR": cwd})
    os.write(info_fd, json.dumps(info).encode())
    os.close(info_fd)


def _join_group(fd: int) -> bool:
    """Move this process into the run's control group (the harness opened its ``cgroup.procs``)."""
    try:
        os.write(fd, b"0")
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _map_own_ids(uid: int, gid: int) -> None:
    """In a fresh user namespace, map our own ids to themselves (files and tmpfs need mapped ids)."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as stream:
            stream.write(text)


@functools.cache  # computed once in the zygote, inherited by every run it forks
def exposed_paths() -> tuple[tuple[str, str], ...]:
    """``(source, target)`` pairs bound read-only into a run's root: system folders and the
    interpreter's prefix and site-packages (never this script's folder), outermost first."""
    import site

    wanted = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
    for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable),
                 *site.getsitepackages()):
        if os.path.isdir(path):
            wanted += [path, os.path.realpath(path)]
    pairs: list[tuple[str, str]] = []
    for target in sorted(set(wanted), key=lambda p: (p.count("/"), p)):
        if any(target == t or target.startswith(t.rstrip("/") + "/") for _, t in pairs if not os.path.islink(t)):
            continue  # already inside a bound folder
        pairs.append((target if os.path.islink(target) else os.path.realpath(target), target))
    return tuple(pairs)


def _private_root(libc, mountpoint: str, size_mb: int, owner) -> tuple[str | None, bool]:
    """Pivot into a fresh root holding only :func:`exposed_paths` (read-only), a few devices, a
    size-capped private ``/tmp`` (the working directory) and a ``/proc`` of the run's own pid
    namespace; the host's root is detached. Returns (problem or None, whether /proc is mounted)."""
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"could not make mounts private ({_errno()})", False
    new = mountpoint.rstrip("/")
    if libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m") != 0:
        return f"could not mount a private root ({_errno()})", False
    bound = []
    for source, target in exposed_paths():
        inside = new + target
        if os.path.islink(source):
            os.makedirs(os.path.dirname(inside), exist_ok=True)
            os.symlink(os.readlink(source), inside)
            continue
        if os.path.isdir(source):
            os.makedirs(inside, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(inside), exist_ok=True)
            open(inside, "w").close()
        if libc.mount(source.encode(), inside.encode(), None, MS_BIND | MS_REC, None) != 0:
            return f"could not bind {source} into the private root ({_errno()})", False
        bound.append(inside)
    os.makedirs(new + "/dev")
    for device in DEVICES:
        open(new + device, "w").close()
        libc.mount(device.encode(), (new + device).encode(), None, MS_BIND, None)  # missing devices: no harm
    for inside in bound:  # read-only, keeping the flags a user namespace locks
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        kept = os.statvfs(inside).f_flag
        for bit, flag in _STATVFS_KEPT.items():
            if kept & bit:
                flags |= flag
        if libc.mount(None, inside.encode(), None, flags, None) != 0:
            return f"could not make {inside[len(new):]} read-only ({_errno()})", False
    os.mkdir(new + "/tmp")
    options = f"size={max(1, size_mb) * 4}m,mode=0700,uid={owner[0]},gid={owner[1]}".encode()
    if libc.mount(b"tmpfs", (new + "/tmp").encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        return f"could not mount a private scratch folder ({_errno()})", False
    os.mkdir(new + "/proc")
    # Mounted while the host's /proc is still in view (a user namespace may only mount a proc it
    # could already see); hidepid: other users' processes (the reaper, as root) stay invisible.
    proc = any(libc.mount(b"proc", (new + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, how) == 0
               for how in (b"hidepid=2,subset=pid", b"hidepid=2", None))
    if libc.mount(None, new.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, None) != 0:
        return f"could not make the private root read-only ({_errno()})", proc
    os.chdir(new)
    machine = os.uname().machine
    if machine not in _ARCH or libc.syscall(_ARCH[machine][1], b".", b".") != 0:
        return f"could not pivot into the private root ({_errno() if machine in _ARCH else machine})", proc
    if libc.umount2(b".", MNT_DETACH) != 0:  # the host's root, now stacked under ours
        return f"could not detach the host's root ({_errno()})", proc
    os.chdir("/")
    return None, proc


def _lock_filesystem(libc, cwd: str, size_mb: int, owner: tuple[int, int] | list[int]) -> str | None:
    """Fallback when no private root could be made: remount every mount read-only (in our private
    mount namespace) and give the code a fresh, size-capped tmpfs as its working directory."""
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"could not make mounts private ({_errno()}); host files stay writable"
    failed = []
    with open("/proc/self/mountinfo") as stream:
        entries = [line.split() for line in stream]
    for fields in entries:
        target = fields[4].encode().decode("unicode_escape").encode("latin-1")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in fields[5].split(","):
            flags |= _KEPT_FLAGS.get(option, 0)
        if libc.mount(None, target, None, flags, None) != 0 and not target.startswith((b"/proc", b"/sys")):
            failed.append(target.decode(errors="replace"))
    options = f"size={max(1, size_mb) * 4}m,mode=0700,uid={owner[0]},gid={owner[1]}".encode()
    if libc.mount(b"tmpfs", cwd.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        return f"could not mount a private working directory ({_errno()})"
    if failed:
        return f"these mounts stay writable: {', '.join(failed[:8])}"
    return None


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def keyring_filter(machine: str) -> list[tuple[int, int, int, int]] | None:
    """A classic-BPF seccomp program: the keyring syscalls (and any call of a foreign ABI) fail with
    EPERM, everything else is allowed. None for an architecture without a table here.

    >>> len(keyring_filter("x86_64"))
    10
    """
    if machine not in _ARCH:
        return None
    arch, _, denied = _ARCH[machine]
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    n = len(denied)
    program = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, eperm), (ld_abs, 0, 0, 0),
               (jge, n + 1, 0, 0x40000000)]  # x32 calls carry this bit
    program += [(jeq, n - i, 0, number) for i, number in enumerate(denied)]
    program += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return program


def _deny_keyrings(libc) -> str | None:
    """Install :func:`keyring_filter` (no_new_privs must already be set)."""
    program = keyring_filter(os.uname().machine)
    if program is None:
        return f"no syscall filter for {os.uname().machine}: kernel keyrings stay reachable"
    instructions = (_SockFilter * len(program))(*[_SockFilter(*i) for i in program])
    fprog = _SockFprog(len(program), instructions)
    if libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog), 0, 0) != 0:
        return f"no syscall filter ({_errno()}): kernel keyrings stay reachable"
    return None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities(libc) -> None:
    """Clear every capability (a new user namespace grants them all inside it)."""
    libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), (_CapData * 2)())


def _exit_like(status: int) -> None:
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _enter_pid_namespace(libc, fds: dict) -> None:
    """Fork into the new pid namespace (see :func:`confine`); returns in pid 2."""
    held = [v for k, v in fds.items() if k not in ("setup", "parent")]
    lifeline_r, lifeline_w = os.pipe()
    pid = os.fork()
    if pid:  # outside: relay the status; hold nothing the parent or the code could wait on
        for fd in (lifeline_r, 0, 1, 2, *held):
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        _exit_like(status)
    os.close(lifeline_w)
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)  # the outer process killed -> the namespace goes
    ready, _, _ = select.select([lifeline_r], [], [], 0)
    if ready:  # it died before the line above took effect
        os._exit(137)
    os.close(lifeline_r)
    child = os.fork()
    if child:  # pid 1: reap until the code's process ends, then end the namespace with its status
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # its /proc entry (root, cwd) stays closed to the code
        for fd in (0, 1, 2, *held):
            os.close(fd)
        while True:
            reaped, status = os.wait()
            if reaped == child:
                _exit_like(status)


# -- plain values across the boundary ------------------------------------------------------------

_type = type
_PLAIN_SEQ = {list: "l", tuple: "t", set: "S", frozenset: "F"}
_DECODE_SEQ = {"l": list, "t": tuple, "S": set, "F": frozenset}
MAX_DEPTH = 64


class Unencodable(Exception):
    pass


def encode(value, handles: dict | None, depth: int = 0):
    """A value as tagged JSON; non-plain objects become handles (or fail when ``handles`` is None)."""
    if depth > MAX_DEPTH:
        raise Unencodable("value nested too deeply")
    t = _type(value)
    if value is None:
        return ["n"]
    if t is bool:
        return ["B", value]
    if t is int:
        return ["i", value]
    if t is float:
        return ["f", repr(value)]
    if t is str:
        return ["s", value]
    if t is bytes:
        return ["b", value.hex()]
    if t is complex:
        return ["c", [repr(value.real), repr(value.imag)]]
    if t in _PLAIN_SEQ:
        return [_PLAIN_SEQ[t], [encode(x, handles, depth + 1) for x in value]]
    if t is dict:
        return ["d", [[encode(k, handles, depth + 1), encode(v, handles, depth + 1)] for k, v in value.items()]]
    if handles is None:
        if isinstance(value, Remote):  # a candidate object handed back to the candidate
            return ["h", object.__getattribute__(value, "_rmr1_handle"), ""]
        raise Unencodable(f"cannot send a {t.__name__} object to the candidate")
    key = len(handles) + 1
    handles[key] = value
    return ["h", key, t.__name__]


def decode(data, make_handle, depth: int = 0):
    """Strict inverse of :func:`encode`: only genuine built-in values (and handles) come out."""
    if depth > MAX_DEPTH or not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ValueError("malformed value")
    tag = data[0]
    if tag == "n":
        return None
    body = data[1]
    if tag == "B" and _type(body) is bool:
        return body
    if tag == "i" and _type(body) is int:
        return body
    if tag == "f" and _type(body) is str:
        return float(body)
    if tag == "s" and _type(body) is str:
        return body
    if tag == "b" and _type(body) is str:
        return bytes.fromhex(body)
    if tag == "c":
        return complex(float(body[0]), float(body[1]))
    if tag in _DECODE_SEQ and _type(body) is list:
        return _DECODE_SEQ[tag](decode(x, make_handle, depth + 1) for x in body)
    if tag == "d" and _type(body) is list:
        return {decode(k, make_handle, depth + 1): decode(v, make_handle, depth + 1) for k, v in body}
    if tag == "h" and _type(body) is int:
        return make_handle(body, str(data[2]) if len(data) > 2 else "object")
    raise ValueError(f"malformed value tagged {tag!r}")


# -- line channel ------------------------------------------------------------------------------


class ChannelClosed(BaseException):
    """The other end closed its pipe (in the tests process: the candidate ended). A BaseException,
    so test code that catches ``Exception`` cannot mistake it for something the candidate raised."""


class ProtocolError(BaseException):
    """The other end broke the line protocol: an oversized, malformed or undecodable message."""


class Channel:
    """JSON lines over a pair of pipe fds, with a deadline on reads and writes and a cap on message size.

    With a deadline, a write to a peer that stops reading and a read of a reply that never ends
    both give up at the deadline (:class:`TestTimeout`); a reply over ``max_bytes`` is a
    :class:`ProtocolError`. The read buffer grows by appending, never by copying it whole.
    """

    def __init__(self, read_fd: int | None, write_fd: int | None, max_bytes: int = 16 << 20) -> None:
        self.read_fd, self.write_fd, self.max_bytes = read_fd, write_fd, max_bytes
        self.buffer = bytearray()
        self.scanned = 0

    def send(self, message, deadline: float | None = None) -> None:
        view = memoryview((json.dumps(message) + "\n").encode())
        if deadline is not None and os.get_blocking(self.write_fd):
            os.set_blocking(self.write_fd, False)
        while view:
            if deadline is not None:
                _, ready, _ = select.select([], [self.write_fd], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise TestTimeout()
            try:
                view = view[os.write(self.write_fd, view):]
            except BlockingIOError:
                continue
            except BrokenPipeError:
                raise ChannelClosed("the candidate process ended") from None

    def receive(self, deadline: float | None):
        while (end := self.buffer.find(b"\n", self.scanned)) < 0:
            self.scanned = len(self.buffer)
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.read_fd], [], [], wait)
            if not ready:
                raise TestTimeout()
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise ChannelClosed("the candidate process ended")
            self.buffer += chunk
            if len(self.buffer) > self.max_bytes:
                raise ProtocolError(f"a message over {self.max_bytes >> 20} MiB")
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        self.scanned = 0
        try:
            return json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"a malformed message ({type(exc).__name__})") from None


class TestTimeout(BaseException):
    """Raised in the tests process when a test overruns (a BaseException: test code cannot swallow it)."""


#: Exception types a candidate's exception may be raised as in the tests process; any other is
#: raised as its nearest listed base class, or as :class:`CandidateError`. Never StopIteration
#: (it would end a ``map``/``filter`` that a test consumes early, as if every item had passed),
#: StopAsyncIteration, GeneratorExit, or the BaseExceptions that end a process.
RAISED_AS = frozenset({
    ArithmeticError, AssertionError, AttributeError, BufferError, FloatingPointError, IndexError, KeyError,
    LookupError, MemoryError, NameError, NotImplementedError, OSError, OverflowError, RecursionError,
    RuntimeError, TypeError, UnboundLocalError, UnicodeError, ValueError, ZeroDivisionError,
})


def candidate_exception(name: object, message: str) -> Exception:
    """The exception the tests see for one the candidate reported by type name.

    >>> type(candidate_exception("ZeroDivisionError", "x")).__name__
    'ZeroDivisionError'
    >>> type(candidate_exception("UnicodeDecodeError", "x")).__name__
    'UnicodeError'
    >>> candidate_exception("StopIteration", "")
    CandidateError('StopIteration: ')
    """
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        for base in cls.__mro__:
            if base in RAISED_AS:
                return base(message)
    return CandidateError(f"{name}: {message}")


# -- modes -----------------------------------------------------------------------------------------


def run_program(setup: dict) -> None:
    sys.argv = ["main.py"]
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    code = compile(setup["code"], "main.py", "exec")
    del setup
    exec(code, namespace)


def serve(setup: dict, req_fd: int, resp_fd: int) -> None:
    channel = Channel(req_fd, resp_fd)
    handles: dict = {}
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    code = setup["code"]
    del setup
    try:
        exec(compile(code, "solution.py", "exec"), namespace)
    except BaseException as exc:  # any failure to load is the candidate's
        channel.send({"load_error": f"{_type(exc).__name__}: {exc}"})
        return
    channel.send({"ready": True})
    while True:
        try:
            request = channel.receive(None)
        except (ChannelClosed, ProtocolError):
            return
        try:
            op = request["op"]
            if op == "get":
                if request["name"] not in namespace:
                    raise NameError(f"name {request['name']!r} is not defined")
                value = namespace[request["name"]]
            elif op == "getattr":
                value = getattr(handles[request["h"]], request["attr"])
            elif op == "call":
                args = [decode(a, lambda h, _t: handles[h]) for a in request["args"]]
                kwargs = {k: decode(v, lambda h, _t: handles[h]) for k, v in request["kwargs"].items()}
                value = handles[request["h"]](*args, **kwargs)
            else:
                raise ValueError(f"unknown op {op!r}")
            reply = {"value": encode(value, handles)}
        except BaseException as exc:  # reported to the tests as the candidate's exception
            reply = {"exc": _type(exc).__name__, "msg": str(exc)[:2000]}
        channel.send(reply)


def run_tests(setup: dict, req_fd: int, resp_fd: int, report_fd: int) -> None:
    channel = Channel(resp_fd, req_fd)
    report = Channel(None, report_fd)
    per_test = float(setup["per_test_timeout"])
    state = {"deadline": None}

    def rpc(message):
        channel.send(message, state["deadline"])
        reply = channel.receive(state["deadline"])
        if not isinstance(reply, dict):
            raise ProtocolError("a reply that is not an object")
        if "exc" in reply:
            raise candidate_exception(reply["exc"], str(reply.get("msg", ""))[:2000])
        try:
            return decode(reply["value"], make_remote)
        except (KeyError, ValueError, TypeError, IndexError, RecursionError) as exc:
            raise ProtocolError(f"an undecodable value ({type(exc).__name__})") from None

    def make_remote(handle: int, typename: str):
        return Remote(handle, typename, rpc)

    load_timeout = float(setup["load_timeout"])
    status = "error"  # never taken from the candidate's message
    try:
        hello = channel.receive(time.monotonic() + load_timeout)
    except TestTimeout:
        hello, status = {"load_error": f"did not finish loading within {load_timeout:g} s"}, "timeout"
    except (ChannelClosed, ProtocolError) as exc:  # EOF, garbage, absurd nesting: all the candidate's doing
        hello = {"load_error": f"ended or misbehaved while loading ({type(exc).__name__}: {exc})"}
    if not (isinstance(hello, dict) and hello.get("ready") is True):
        problem = str(hello.get("load_error"))[:2000] if isinstance(hello, dict) and "load_error" in hello else (
            f"sent {str(hello)[:100]!r} instead of its ready message")
        report.send({"test": -1, "status": status, "detail": f"candidate failed to load: {problem}"})
        report.send({"done": True})
        return

    blocks = list(setup["tests"])
    helpers = setup.get("helpers") or ""
    entry_point = setup.get("entry_point")
    namespace = TestNames(rpc, modules=module_names([helpers, *blocks]) - {entry_point})
    namespace["__name__"] = "__tests__"
    namespace["__builtins__"] = builtins
    if helpers:  # the task's own code (HumanEval's prompt): trusted, so it runs here, not in the candidate
        try:
            exec(compile(helpers, "task.py", "exec"), namespace)
        except Exception as exc:  # the task's fault, reported as such
            report.send({"test": -1, "status": "error", "detail": f"the task's helper code failed: "
                                                                  f"{type(exc).__name__}: {exc}"[:2000]})
            report.send({"done": True})
            return
        if entry_point:
            dict.pop(namespace, entry_point, None)  # the prompt's stub: the entry point is the candidate's
    if entry_point:
        blocks.append(None)  # check(candidate) once the test code has been defined
    for index, block in enumerate(blocks):
        start = time.monotonic()
        state["deadline"] = start + per_test
        try:
            if block is None:
                check = dict.get(namespace, "check")
                if not callable(check):
                    raise NameError("the tests define no check(candidate) function to call with the entry point")
                check(namespace.from_candidate(entry_point))
            else:
                name = f"test_{index}.py"
                linecache.cache[name] = (len(block), None, block.splitlines(True), name)  # for failure messages
                exec(compile(block, name, "exec"), namespace)
            outcome = {"status": "passed"}
        except TestTimeout:
            report.send({"test": index, "status": "timeout", "seconds": time.monotonic() - start,
                         "detail": f"no answer within the {per_test:g} s per-test deadline"})
            report.send({"done": True})
            return
        except AssertionError as exc:
            outcome = {"status": "failed", "detail": _where(exc) + (f": {exc}" if str(exc) else "")}
        except (ChannelClosed, ProtocolError) as exc:
            report.send({"test": index, "status": "failed", "detail": f"{type(exc).__name__}: {exc}",
                         "seconds": time.monotonic() - start})
            break
        except Exception as exc:  # a test that raises has failed
            outcome = {"status": "failed", "detail": f"{_type(exc).__name__}: {exc}"[:2000]}
        report.send({"test": index, **outcome, "seconds": time.monotonic() - start})
    report.send({"done": True})


def module_names(sources: list[str]) -> set[str]:
    """Names the code uses as ``name.attribute`` and never calls: where the code does not define
    them, they are modules, imported in the tests process (MBPP keeps its imports apart from its
    tests), never the candidate's objects.

    >>> sorted(module_names(["assert math.isclose(area(2), 12.56, rel_tol=0.01)", "assert Stack().size == 0"]))
    ['math']
    """
    bases, called = set(), set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                bases.add(node.value.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
    return bases - called


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    test_frames = [f for f in frames if f.filename.startswith("test_")]
    frame = (test_frames or frames or [None])[-1]
    return f"assertion failed at {frame.filename}:{frame.lineno}: {frame.line}" if frame else "assertion failed"


class CandidateError(Exception):
    """An exception the candidate raised whose type the tests do not see as such (see :data:`RAISED_AS`)."""


class TestNames(dict):
    """Globals of the test code. A name the tests and the task's helper code do not define is a
    builtin; else, when the tests use it only as ``name.attribute`` (:func:`module_names`), a
    module imported here: by that name, or, for an alias such as ``np``, by the name of the module
    the candidate bound to it; never a candidate's object. Any other name is the candidate's (its
    functions and classes, as proxies)."""

    __test__ = False  # not a pytest class

    def __init__(self, rpc, modules: set[str]) -> None:
        super().__init__()
        self._rpc = rpc
        self._modules = modules

    def __missing__(self, name: str):
        if hasattr(builtins, name):
            return getattr(builtins, name)
        if name in self._modules:
            try:
                value = importlib.import_module(name)
            except ImportError:
                value = self._module_behind_alias(name)
            self[name] = value
            return value
        return self.from_candidate(name)

    def _module_behind_alias(self, name: str):
        bound = self._rpc({"op": "get", "name": name})
        if isinstance(bound, Remote) and object.__getattribute__(bound, "_rmr1_type") == "module":
            real = bound.__name__  # a plain string from the candidate: only used to import here
            if isinstance(real, str):
                try:
                    return importlib.import_module(real)
                except ImportError:
                    pass
        raise NameError(f"the tests use {name!r} as a module, and no module of that name can be imported here")

    def from_candidate(self, name: str):
        value = self._rpc({"op": "get", "name": name})
        self[name] = value
        return value



class Remote:
    """A candidate object seen from the tests: callable and attribute access go to the candidate;
    comparing, hashing or truth-testing it raises, so only plain values are ever judged."""

    __slots__ = ("_rmr1_handle", "_rmr1_rpc", "_rmr1_type")

    def __init__(self, handle: int, typename: str, rpc) -> None:
        object.__setattr__(self, "_rmr1_handle", handle)
        object.__setattr__(self, "_rmr1_type", typename)
        object.__setattr__(self, "_rmr1_rpc", rpc)

    def __call__(self, *args, **kwargs):
        rpc = object.__getattribute__(self, "_rmr1_rpc")
        return rpc({"op": "call", "h": object.__getattribute__(self, "_rmr1_handle"),
                    "args": [encode(a, None) for a in args],
                    "kwargs": {k: encode(v, None) for k, v in kwargs.items()}})

    def __getattr__(self, name: str):
        rpc = object.__getattribute__(self, "_rmr1_rpc")
        return rpc({"op": "getattr", "h": object.__getattribute__(self, "_rmr1_handle"), "attr": name})

    def __repr__(self) -> str:
        return f"<candidate {object.__getattribute__(self, '_rmr1_type')} object>"

    def _refuse(self, *args, **kwargs):
        raise TypeError(f"the candidate returned a {object.__getattribute__(self, '_rmr1_type')} object; "
                        "only plain values (numbers, strings, bytes, lists, tuples, dicts, sets) are judged")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __len__ = __iter__ = _refuse
    __hash__ = __contains__ = __index__ = __int__ = __float__ = __str__ = __format__ = _refuse  # type: ignore[assignment]


# -- entry -------------------------------------------------------------------------------------------


def run_mode(mode: str, fds: dict) -> None:
    """Read the setup, confine this process, run ``mode``; the setup pipe is never read by a zygote."""
    with os.fdopen(fds["setup"], "rb") as stream:
        setup = json.loads(stream.read())
    confine(setup, fds)
    if mode == "program":
        run_program(setup)
    elif mode == "serve":
        serve(setup, fds["req"], fds["resp"])
    elif mode == "tests":
        run_tests(setup, fds["req"], fds["resp"], fds["report"])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


#: Descriptors a run receives from the harness, in the order :func:`zygote` expects them.
STDIO = ("stdin", "stdout", "stderr")


def zygote(control_fd: int) -> None:
    """Fork one fresh process per run the harness asks for, over a ``SOCK_SEQPACKET`` socket.

    Requests: ``{"op": "spawn", "mode", "cwd", "env", "names"}`` with the run's descriptors attached
    (stdio, then ``names``), answered ``{"spawned": pid}``; ``{"op": "kill", "pid"}``, answered
    ``{"killed": pid}`` once every process of the run is dead and reaped. Event:
    ``{"exited": pid, "status": wait_status}`` when a run's process ends.

    The zygote never reads a run's setup (code, tests): that arrives on a descriptor only the forked
    run opens, so nothing of one run lingers here for the next. It serves one run at a time and is a
    child subreaper: whatever a run leaves behind, even processes that left its process group,
    becomes the zygote's child, so a kill takes it down too and nothing stays unreaped. It only
    signals its own children, never a stranger. End of file on the socket (the harness is gone)
    ends it, and with it every run.
    """
    control = socket.socket(fileno=control_fd)
    _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    exposed_paths()  # once here rather than in every run
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd sees SIGCHLD
    live: set[int] = set()

    def send(message: dict) -> None:
        try:
            control.send(json.dumps(message).encode())
        except OSError:  # the harness is gone
            kill_everything()
            os._exit(0)

    def reap(until: float | None = None) -> None:
        """Reap ended children, reporting runs' exits; with ``until``, wait for all of them (or that time)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                if pid in live:
                    live.discard(pid)
                    send({"exited": pid, "status": status})
                continue
            if until is None or time.monotonic() >= until:
                return
            time.sleep(0.001)

    def kill_everything() -> None:
        for pid in live | _children():
            _kill_group(pid)
            try:
                os.kill(pid, SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    while True:
        ready, _, _ = select.select([control, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
        reap()
        if control not in ready:
            continue
        try:
            data, received, _, _ = socket.recv_fds(control, 1 << 16, 64)
        except InterruptedError:
            continue
        if not data:  # the harness closed the socket or died: take every run down with us
            kill_everything()
            os._exit(0)
        request = json.loads(data)
        if request["op"] == "kill":
            kill_everything()
            reap(until=time.monotonic() + 2.0)
            send({"killed": request["pid"]})
            continue
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in received:
                os.close(fd)
            send({"error": f"fork failed: {exc}"})
            continue
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _forked_run(request, received)
        for fd in received:
            os.close(fd)
        live.add(pid)
        send({"spawned": pid})


def _children() -> set[int]:
    """This (single-threaded) process's children, orphans it adopted as a subreaper included."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as stream:
            return {int(pid) for pid in stream.read().split()}
    except OSError:  # kernels without CONFIG_PROC_CHILDREN: the runs' own processes only
        return set()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def _forked_run(request: dict, received: list[int]) -> None:
    """In a process forked by the zygote: become a run like a freshly started one, never return."""
    code = 1
    try:
        os.setsid()
        for target, fd in enumerate(received[:3]):
            os.dup2(fd, target)
        fds = dict(zip(request["names"], received[3:], strict=True))
        _close_all_but({0, 1, 2, *fds.values()})  # the control socket, other runs' leftovers
        os.chdir(request["cwd"])
        os.environ.clear()  # the zygote's own environment is already scrubbed; this one names the run's folder
        os.environ.update(request["env"])
        fds["parent"] = os.getppid()
        _libc().prctl(PR_SET_NAME, b"rmr1-sandbox", 0, 0, 0)  # tells runs from their zygote in ps
        run_mode(request["mode"], fds)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # reported like an uncaught exception in a fresh interpreter
        traceback.print_exc()
    finally:
        _finish(code)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _finish(code: int) -> None:
    """Exit as an interpreter would (threads joined, atexit run, streams flushed), then ``_exit``."""
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # a closed or replaced stream
            pass
    os._exit(code)


def main() -> None:
    mode = sys.argv[1]
    fds = json.loads(sys.argv[2])
    import site  # started with -S: site-packages without running .pth start-up hooks

    sys.path.extend(p for p in site.getsitepackages() if p not in sys.path)
    sys.set_int_max_str_digits(0)
    if mode == "zygote":
        zygote(fds["control"])
    else:
        run_mode(mode, fds)


if __name__ == "__main__":
    main()
