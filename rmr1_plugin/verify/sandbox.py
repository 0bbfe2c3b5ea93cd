"""Where untrusted code runs: the :class:`Sandbox` protocol, a local one and a SandboxFusion client.

:class:`LocalSandbox` (the default) starts a fresh ``python -I`` per run in its own session, with
a scrubbed environment, new network, pid, IPC and mount namespaces, a root of its own (the
interpreter and system libraries read-only, a private ``/tmp``, its own ``/proc``, nothing else
of the host), ``nobody``'s identity when started as root, a seccomp filter on the kernel keyrings,
a control group bounding the run's memory and processes together where the machine allows one,
and rlimits on CPU seconds, address space, processes, file size and open files. What was applied
is said in :class:`~rmr1_plugin.verify.results.Isolation`; where something the verdict relies on
could not be applied, a pass is scored ``unverified`` unless the caller passed
``accept_weak_isolation=True``.

For assertion tests it also offers :meth:`LocalSandbox.run_split`: the candidate and the tests
run in two such processes joined by pipes, so the candidate never sees the tests or the expected
values and only the tests process can report a pass (see docs/verify.md).

:class:`SandboxFusionSandbox` runs programs on a SandboxFusion server (``POST /run_code``), the
usual code sandbox of verl deployments, for scale-out.

>>> outcome = LocalSandbox().run(RunRequest(code="print(input()[::-1])", stdin="abc\\n"))
>>> outcome.status, outcome.stdout
('finished', 'cba\\n')
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, Field

from rmr1_plugin.verify.cgroups import RunGroup, RunGroups
from rmr1_plugin.verify.results import Isolation, TestOutcome

_CHILD = str(Path(__file__).with_name("_child.py"))
#: Idle zygotes kept per sandbox: enough for a default batch (two per worker, one per core).
MAX_IDLE_ZYGOTES = 2 * (os.cpu_count() or 1)

log = logging.getLogger(__name__)


class Limits(BaseModel):
    """Per-process resource limits of a sandboxed run."""

    cpu_s: int = Field(10, description="RLIMIT_CPU: CPU seconds")
    memory_mb: int = Field(1024, description="RLIMIT_AS: address space, MiB")
    nproc: int = Field(32, description="RLIMIT_NPROC: processes of the sandbox user")
    fsize_mb: int = Field(16, description="RLIMIT_FSIZE: largest file (and stdout/stderr) written, MiB")
    nofile: int = Field(256, description="RLIMIT_NOFILE: open files")


class RunRequest(BaseModel):
    """One program to run: ``code`` in ``language`` with ``stdin``, under ``timeout`` seconds of wall time."""

    code: str
    language: str = "python"
    stdin: str = ""
    timeout: float = 10.0
    limits: Limits = Field(default_factory=Limits)


class RunOutcome(BaseModel):
    """What a program did. ``finished`` means it exited (any code); ``sandbox_error``: the sandbox failed."""

    status: Literal["finished", "timeout", "sandbox_error"]
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    error: str | None = None
    isolation: Isolation | None = None


class SplitOutcome(BaseModel):
    """What the tests process reported about a candidate (see :meth:`LocalSandbox.run_split`)."""

    status: Literal["completed", "incomplete", "timeout", "sandbox_error"]
    tests: list[TestOutcome] = Field(default_factory=list)
    error: str | None = None
    stderr_tail: str | None = None
    seconds: float = 0.0
    isolation: Isolation | None = None


@runtime_checkable
class Sandbox(Protocol):
    """Runs one program and reports what it printed; the harness decides what that means."""

    name: str

    def run(self, request: RunRequest) -> RunOutcome: ...


@runtime_checkable
class SplitSandbox(Sandbox, Protocol):
    """A sandbox that can run a candidate and its assertion tests in separate processes."""

    def run_split(self, code: str, tests: list[str], *, entry_point: str | None, timeout: float,
                  per_test_timeout: float, limits: Limits, helpers: str | None = None) -> SplitOutcome: ...


# -- local -------------------------------------------------------------------------------------


class LocalSandbox:
    """Fresh confined Python processes on this machine (Python only for now).

    Each run is a new process, forked by default from a *zygote*: a small ``python -I -S`` started
    once per concurrent run slot, which has already paid the interpreter start-up and imports and
    never sees any run's code (it only passes descriptors on). A forked run then confines itself
    exactly as a freshly started one does. ``prefork=False`` starts a fresh interpreter per run
    instead (slower; nothing stays running between runs). Call :meth:`close` (or use ``with``) to
    stop the zygotes early; they also end when this process does.

    ``-S`` skips ``site`` start-up work (``.pth`` hooks); the runner puts the site-packages folders
    on ``sys.path`` itself, so installed libraries stay importable.

    ``isolate_network``: put runs in a new network namespace (default). ``user``: the account to
    run as when started as root (default ``nobody``). ``max_output_bytes``: how much of stdout and
    stderr is read back. ``accept_weak_isolation``: count passes from runs whose isolation is not
    complete (this OS refused a namespace, the private root or the syscall filter, or
    ``isolate_network=False``); by default they are ``unverified``, never passes.
    """

    name = "local"

    def __init__(self, *, isolate_network: bool = True, user: str = "nobody", python: str = sys.executable,
                 max_output_bytes: int = 1 << 20, prefork: bool = True, accept_weak_isolation: bool = False) -> None:
        self.isolate_network = isolate_network
        self.accept_weak_isolation = accept_weak_isolation
        self._groups = RunGroups()
        self.python = python
        self.max_output_bytes = max_output_bytes
        self.prefork = prefork
        self._idle: list[_Zygote] = []
        self._lock = threading.Lock()
        self.drop_to: tuple[int, int] | None = None
        if os.getuid() == 0:
            try:
                entry = pwd.getpwnam(user)
                self.drop_to = (entry.pw_uid, entry.pw_gid)
            except KeyError:  # minimal images may lack the account; its conventional ids still work
                self.drop_to = (65534, 65534)

    def run(self, request: RunRequest) -> RunOutcome:
        """Run one program; stdout and stderr come back (up to ``max_output_bytes``)."""
        if request.language != "python":
            return RunOutcome(status="sandbox_error", error=f"LocalSandbox runs python only, not {request.language!r}")
        start = time.monotonic()
        with _Workdir(self.drop_to) as cwd, tempfile.TemporaryFile() as stdin, \
                tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
            stdin.write(request.stdin.encode())
            stdin.seek(0)
            try:
                proc = self._spawn("program", {"code": request.code}, cwd, request.limits,
                                   stdin=stdin, stdout=stdout, stderr=stderr, fds={})
            except OSError as exc:
                return RunOutcome(status="sandbox_error", error=f"could not start the sandbox: {exc}")
            try:
                code = proc.wait(timeout=request.timeout)
                status = "finished"
            except subprocess.TimeoutExpired:
                code, status = None, "timeout"
            proc.kill()
            if code is not None and code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
                status = "timeout"  # the CPU-seconds limit hit first
            return RunOutcome(
                status=status, exit_code=code, stdout=_read(stdout, self.max_output_bytes),
                stderr=_read(stderr, self.max_output_bytes), seconds=time.monotonic() - start,
                isolation=proc.isolation("stdout compared by the harness process"),
            )

    def run_split(self, code: str, tests: list[str], *, entry_point: str | None, timeout: float,
                  per_test_timeout: float, limits: Limits, helpers: str | None = None) -> SplitOutcome:
        """Run ``code`` in one confined process and ``tests`` in another; only the tests process can
        report, over a pipe the candidate never holds. ``helpers``: the task's own code (HumanEval's
        prompt), run in the tests process, so the tests never call the candidate's version of it.
        Each test gets ``per_test_timeout`` seconds, everything together ``timeout``."""
        start = time.monotonic()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        report_r, report_w = os.pipe()
        procs: list[_Proc] = []
        try:
            with _Workdir(self.drop_to) as cand_dir, _Workdir(self.drop_to) as test_dir, \
                    tempfile.TemporaryFile() as cand_err, tempfile.TemporaryFile() as test_err:
                try:
                    procs.append(self._spawn("serve", {"code": code}, cand_dir, limits, stdin=subprocess.DEVNULL,
                                             stdout=cand_err, stderr=cand_err, fds={"req": req_r, "resp": resp_w}))
                    procs.append(self._spawn(
                        "tests", {"tests": tests, "helpers": helpers, "entry_point": entry_point,
                                  "per_test_timeout": per_test_timeout, "load_timeout": max(per_test_timeout, 5.0)},
                        test_dir, limits.model_copy(update={"cpu_s": max(limits.cpu_s, int(timeout) + 1)}),
                        stdin=subprocess.DEVNULL, stdout=test_err, stderr=test_err,
                        fds={"req": req_w, "resp": resp_r, "report": report_w}))
                except OSError as exc:
                    return SplitOutcome(status="sandbox_error", error=f"could not start the sandbox: {exc}")
                finally:
                    for fd in (req_r, req_w, resp_r, resp_w, report_w):
                        os.close(fd)
                reports, done = _read_reports(report_r, start + timeout)
                for proc in procs:
                    proc.kill()
                outcomes = [TestOutcome(index=r["test"], status=r["status"], detail=r.get("detail"),
                                        seconds=r.get("seconds", 0.0)) for r in reports if "test" in r]
                tail = (_read(cand_err, 4000, tail=True) or None)
                runner_tail = _read(test_err, 4000, tail=True)
                error = None
                if not done and not any(o.status == "timeout" for o in outcomes):
                    if time.monotonic() - start >= timeout:
                        return SplitOutcome(status="timeout", tests=outcomes, stderr_tail=tail,
                                            error=f"tests did not finish within the {timeout:g} s deadline",
                                            seconds=time.monotonic() - start, isolation=procs[0].isolation(_SPLIT))
                    error = "the tests process ended without a final report" + (
                        f": {runner_tail[-1000:]}" if runner_tail else "")
                # A tests process that dies early may have been driven to it by the candidate:
                # "incomplete" is a failure, never a skipped sample.
                return SplitOutcome(status="completed" if done else "incomplete", tests=outcomes, error=error,
                                    stderr_tail=tail, seconds=time.monotonic() - start,
                                    isolation=procs[0].isolation(_SPLIT))
        finally:
            for proc in procs:
                proc.kill()
            os.close(report_r)

    # -- internals --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the idle zygotes (runs in progress keep theirs until they end) and remove the idle
        control groups."""
        with self._lock:
            idle, self._idle = self._idle, []
        for zygote in idle:
            zygote.close()
        self._groups.close()

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _spawn(self, mode: str, payload: dict, cwd: str, limits: Limits, *, stdin, stdout, stderr,
               fds: dict[str, int]) -> _Proc:
        setup = {**payload, "cwd": cwd, "limits": limits.model_dump(), "isolate_network": self.isolate_network,
                 "drop_to": list(self.drop_to) if self.drop_to else None}
        info_r, info_w = os.pipe()
        group = self._groups.acquire(limits.memory_mb, limits.nproc)
        bounds = (limits, self._groups.kind if group else None, self.drop_to is not None)
        with tempfile.TemporaryFile() as setup_file:
            setup_file.write(json.dumps(setup).encode())
            setup_file.seek(0)
            joins = {f"cgroup{i}": fd for i, fd in enumerate(group.open_procs())} if group else {}
            all_fds = {**fds, **joins, "setup": setup_file.fileno(), "info": info_w}
            try:
                if self.prefork:
                    try:
                        return self._fork(mode, cwd, (stdin, stdout, stderr), all_fds, info_r, group, bounds)
                    except OSError as exc:
                        log.warning("no sandbox zygote (%s): starting a fresh interpreter per run from now on", exc)
                        self.prefork = False
                fd_numbers = tuple(all_fds.values())
                all_fds["parent"] = os.getpid()
                popen = subprocess.Popen(
                    [self.python, "-I", "-S", _CHILD, mode, json.dumps(all_fds)], stdin=stdin, stdout=stdout,
                    stderr=stderr, pass_fds=fd_numbers, env=_clean_env(cwd), cwd=cwd,
                    start_new_session=True,
                )
                return _Proc(info_r, wait=popen.wait, kill=self._then_release(lambda: _kill_popen(popen), group),
                             bounds=bounds)
            except BaseException:
                os.close(info_r)
                if group:
                    self._groups.release(group)
                raise
            finally:
                os.close(info_w)
                if group:
                    group.close_fds()  # the run holds its own copies until it has joined

    def _then_release(self, kill: Callable[[], None], group: RunGroup | None) -> Callable[[], None]:
        """``kill``, then the run's control group back to the pool (its processes are all reaped by then)."""
        def kill_and_release() -> None:
            kill()
            if group:
                self._groups.release(group)
        return kill_and_release

    def _fork(self, mode: str, cwd: str, stdio: tuple, fds: dict[str, int], info_r: int, group: RunGroup | None,
              bounds: tuple[Limits, str | None, bool]) -> _Proc:
        """A run forked by an idle zygote (a new one when none is idle or the idle one has died)."""
        with self._lock:
            zygote = self._idle.pop() if self._idle else None
        for attempt in range(2):
            if zygote is None or not zygote.alive():
                if zygote is not None:
                    zygote.close()
                zygote = _Zygote(self.python)
            try:
                pid = zygote.spawn(mode, cwd, stdio, fds)
                break
            except OSError:
                zygote.close()
                zygote = None
                if attempt:
                    raise
        chosen = zygote

        def kill() -> None:
            chosen.kill(pid)
            with self._lock:
                keep = chosen.alive() and len(self._idle) < MAX_IDLE_ZYGOTES
                if keep:
                    self._idle.append(chosen)
            if not keep:
                chosen.close()

        return _Proc(info_r, wait=lambda timeout=None: chosen.wait(pid, timeout), kill=self._then_release(kill, group),
                     bounds=bounds)


_SPLIT = "tests run in a separate process and report over a pipe the candidate never holds"


class _Proc:
    """One sandboxed run's process: ``wait`` for its exit code, ``kill`` its whole process group
    (with a pid namespace, everything the run started); its confinement report arrives on ``info_fd``."""

    def __init__(self, info_fd: int, *, wait: Callable[..., int], kill: Callable[[], None],
                 bounds: tuple[Limits, str | None, bool]) -> None:
        self.info_fd, self._wait, self._kill, self.bounds = info_fd, wait, kill, bounds
        self._info: dict | None = None
        self._killed = False

    def wait(self, timeout: float | None = None) -> int:
        """The exit code (negative: killed by that signal); ``subprocess.TimeoutExpired`` after ``timeout``."""
        return self._wait(timeout)

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        self._kill()
        if self._info is None:
            data = b""
            while True:
                ready, _, _ = select.select([self.info_fd], [], [], 0)
                chunk = os.read(self.info_fd, 65536) if ready else b""
                if not chunk:
                    break
                data += chunk
            os.close(self.info_fd)
            try:
                self._info = json.loads(data) if data else {}
            except json.JSONDecodeError:
                self._info = {}

    def isolation(self, channel: str) -> Isolation:
        info = self._info or {}
        notes = list(info.get("notes", []))
        if not info:
            notes.append("the sandbox ended before reporting its confinement")
        limits, group_kind, shared_uid = self.bounds
        if info and group_kind and not info.get("cgroup"):
            group_kind = None
            notes.append("the run could not join its control group")
        memory, processes = _bounds(limits, group_kind, shared_uid)
        needed = ("network_isolated", "pid_namespace", "ipc_namespace", "private_root", "seccomp")
        return Isolation(sandbox="local", network_isolated=info.get("network_isolated"),
                         pid_namespace=info.get("pid_namespace"), ipc_namespace=info.get("ipc_namespace"),
                         private_root=info.get("private_root"), proc=info.get("proc"),
                         read_only_host=info.get("read_only_host"), syscall_filter=info.get("seccomp"),
                         uid=info.get("uid"), memory_bound=memory, process_bound=processes, pass_channel=channel,
                         verified=bool(info) and all(info.get(k) for k in needed) and info.get("uid") != 0,
                         notes=notes)


def _bounds(limits: Limits, group_kind: str | None, shared_uid: bool) -> tuple[str, str]:
    """How a run's memory and process count are bounded, in words (``Isolation.memory_bound``/``process_bound``)."""
    if group_kind:
        return (f"{limits.memory_mb} MiB for the run's processes together ({group_kind}), "
                f"and {limits.memory_mb} MiB of address space per process",
                f"{limits.nproc} processes and threads for the run ({group_kind})")
    users = " of the sandbox user, shared by every run at once" if shared_uid else " per run (its user namespace)"
    return (f"no control group: {limits.memory_mb} MiB of address space per process, so at most "
            f"{limits.nproc} x {limits.memory_mb} MiB for the run",
            f"no control group: {limits.nproc} processes{users}")


def _kill_popen(popen: subprocess.Popen) -> None:
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    popen.wait()


class _Zygote:
    """The harness's end of one ``_child.py zygote`` process (see ``_child.zygote`` for the protocol).

    Serves one run's process at a time, so its events need no routing.
    """

    def __init__(self, python: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = tempfile.TemporaryFile()
        try:
            self.popen = subprocess.Popen(
                [python, "-I", "-S", _CHILD, "zygote", json.dumps({"control": theirs.fileno()})],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, pass_fds=(theirs.fileno(),),
                env=_clean_env("/"), cwd="/", start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.control = ours
        self.exits: dict[int, int] = {}
        self.dead = False

    def alive(self) -> bool:
        return not self.dead and self.popen.poll() is None

    def spawn(self, mode: str, cwd: str, stdio: tuple, fds: dict[str, int]) -> int:
        """Fork a run; ``stdio`` are descriptors, file objects or ``subprocess.DEVNULL``."""
        opened, numbers = [], []
        for stream in stdio:
            if stream == subprocess.DEVNULL:
                stream = os.open(os.devnull, os.O_RDWR)
                opened.append(stream)
            numbers.append(stream if isinstance(stream, int) else stream.fileno())
        try:
            request = {"op": "spawn", "mode": mode, "cwd": cwd, "env": _clean_env(cwd), "names": list(fds)}
            socket.send_fds(self.control, [json.dumps(request).encode()], [*numbers, *fds.values()])
        finally:
            for fd in opened:
                os.close(fd)
        while True:
            message = self._receive(time.monotonic() + 30.0)
            if message is None:
                self.dead = True
                raise OSError(f"the sandbox zygote did not answer: {_read(self.log, 2000, tail=True)}")
            if "spawned" in message:
                return message["spawned"]
            if "error" in message:
                raise OSError(message["error"])

    def wait(self, pid: int, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self.exits:
            if self.dead:  # the zygote died, and its runs with it (they die with their parent)
                return -signal.SIGKILL
            if self._receive(deadline) is None and not self.dead:
                raise subprocess.TimeoutExpired(f"sandbox run {pid}", timeout or 0.0)
        return os.waitstatus_to_exitcode(self.exits[pid])

    def kill(self, pid: int) -> None:
        """Kill every process of the run and wait until the zygote has reaped them all."""
        if not self.dead:
            try:
                self.control.send(json.dumps({"op": "kill", "pid": pid}).encode())
            except OSError:
                self.dead = True
        while not self.dead:
            message = self._receive(None)
            if message is not None and message.get("killed") == pid:
                break
        self.exits.pop(pid, None)

    def close(self) -> None:
        self.dead = True
        self.control.close()  # end of file: the zygote exits and takes its runs down
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.log.close()

    def _receive(self, deadline: float | None) -> dict | None:
        """The next message (recording exits); None at the deadline or when the zygote is gone."""
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([self.control], [], [], wait)
        if not ready:
            return None
        try:
            data = self.control.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.dead = True
            return None
        message = json.loads(data)
        if "exited" in message:
            self.exits[message["exited"]] = message["status"]
        return message


class _Workdir:
    """A fresh temporary directory owned by the sandbox user, removed afterwards."""

    def __init__(self, owner: tuple[int, int] | None) -> None:
        self.owner = owner

    def __enter__(self) -> str:
        self.path = tempfile.mkdtemp(prefix="rmr1-sandbox-")
        if self.owner:
            os.chown(self.path, *self.owner)
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _clean_env(home: str) -> dict[str, str]:
    """No inherited variables: secrets in the caller's environment never reach the code."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}


def _read(stream, limit: int, *, tail: bool = False) -> str:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit) if tail else 0)
    return stream.read(limit).decode("utf-8", errors="replace")


def _read_reports(fd: int, deadline: float) -> tuple[list[dict], bool]:
    """Report lines from the tests process until ``done``, end of file or the deadline."""
    reports, buffer = [], b""
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            return reports, False
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return reports, False
        chunk = os.read(fd, 65536)
        if not chunk:
            return reports, False
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if message.get("done"):
                return reports, True
            reports.append(message)


# -- SandboxFusion -------------------------------------------------------------------------------


class SandboxFusionSandbox:
    """A SandboxFusion server (``POST {url}/run_code``): any of its languages, isolation is the server's.

    stdin/stdout tests are compared here and count as verified. Assertion tests run as one program
    (candidate and tests in one process), whose pass the candidate can forge: they are scored
    ``unverified`` unless ``accept_weak_isolation=True``.

    >>> SandboxFusionSandbox("http://127.0.0.1:8080").name
    'sandbox-fusion'
    """

    name = "sandbox-fusion"

    def __init__(self, url: str, *, client: httpx.Client | None = None, extra_timeout: float = 30.0,
                 accept_weak_isolation: bool = False) -> None:
        self.accept_weak_isolation = accept_weak_isolation
        self.url = url.rstrip("/")
        self.client = client or httpx.Client()
        self.extra_timeout = extra_timeout

    def run(self, request: RunRequest) -> RunOutcome:
        body = {"code": request.code, "language": request.language, "stdin": request.stdin,
                "run_timeout": request.timeout, "compile_timeout": request.timeout}
        start = time.monotonic()
        isolation = Isolation(sandbox=self.name, network_isolated=None,
                              pass_channel="stdout returned by the SandboxFusion server, compared by the harness",
                              verified=True, notes=["isolation is the SandboxFusion server's"])
        try:
            response = self.client.post(f"{self.url}/run_code", json=body,
                                        timeout=request.timeout * 2 + self.extra_timeout)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return RunOutcome(status="sandbox_error", error=f"SandboxFusion {self.url}: {exc}",
                              seconds=time.monotonic() - start, isolation=isolation)
        return _fusion_outcome(data, time.monotonic() - start, isolation)


def _fusion_outcome(data: dict, seconds: float, isolation: Isolation) -> RunOutcome:
    """Translate a SandboxFusion ``RunCodeResponse`` into a :class:`RunOutcome`."""
    if data.get("status") == "SandboxError":
        return RunOutcome(status="sandbox_error", error=f"SandboxFusion: {data.get('message')}",
                          seconds=seconds, isolation=isolation)
    compiled = data.get("compile_result") or {}
    if compiled and compiled.get("status") != "Finished" or compiled.get("return_code") not in (None, 0):
        return RunOutcome(status="timeout" if compiled.get("status") == "TimeLimitExceeded" else "finished",
                          exit_code=compiled.get("return_code") or 1, stdout=compiled.get("stdout") or "",
                          stderr=compiled.get("stderr") or "", seconds=seconds, isolation=isolation,
                          error="compilation failed")
    run = data.get("run_result") or {}
    if not run:
        return RunOutcome(status="sandbox_error", error=f"SandboxFusion returned no run_result: {data.get('message')}",
                          seconds=seconds, isolation=isolation)
    return RunOutcome(status="timeout" if run.get("status") == "TimeLimitExceeded" else "finished",
                      exit_code=run.get("return_code"), stdout=run.get("stdout") or "", stderr=run.get("stderr") or "",
                      seconds=seconds, isolation=isolation)
