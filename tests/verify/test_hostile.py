"""The hostile corpus: none passes, none has its host side effect, each ends within its deadline, and
a correct and a wrong candidate run after each are still scored right (all bounded, loopback only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rmr1_plugin.verify import run_code_tests_batch
from rmr1_plugin.verify.sandbox import Limits, LocalSandbox

from .hostile import CONTROLS, CORPUS, RELAY_KEY, TESTS, fill, relay_rows
from .required import skip_unless

SECRET_NAME, SECRET = "RMR1_HOSTILE_SECRET", "correct-horse-battery-staple"
TIMEOUT, TEST_TIMEOUT = 20, 3
#: 512 MiB per run (not the default 1 GiB): the memory trick needs less time to show the bound.
LIMITS = Limits(cpu_s=TIMEOUT + 1, memory_mb=512)
CORRECT = {"code": "def add(a, b):\n    return a + b\n", "tests": TESTS}
WRONG = {"code": "def add(a, b):\n    return a - b\n", "tests": TESTS}
#: What the fresh-interpreter start is also checked against (it confines exactly like a forked run).
FRESH_KINDS = {"harness", "host", "sockets"}


def _sandbox_processes() -> list[str]:
    """Live processes of this test process's sandboxed runs (not the idle zygotes that fork them, not
    zombies waiting for init to reap them, not other processes' sandboxes on a shared machine);
    ``-ww``: full command lines, however long the interpreter's path."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,stat,comm,args"], capture_output=True, text=True,
                         check=False).stdout
    rows = [line.split(None, 4) for line in out.splitlines()[1:]]
    parents = {int(row[0]): int(row[1]) for row in rows}

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parents.get(pid, 0)
        return False

    return [" ".join(row) for row in rows if not row[2].startswith("Z")
            and (row[3] == "rmr1-sandbox" or ("verify/_child.py" in row[4] and " zygote " not in row[4]))
            and (ours(int(row[0])) or f'"parent": {os.getpid()}' in row[4])]


def _ipc_keys() -> set[int]:
    keys = set()
    for kind in ("shm", "msg", "sem"):
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        except OSError:
            continue
        keys |= {int(line.split()[0]) for line in lines if line.split()}
    return keys


def _listener(family: int, address) -> socket.socket:
    listener = socket.socket(family)
    listener.bind(address)
    listener.listen(8)
    listener.settimeout(0.2)
    return listener


def _accepted(listener: socket.socket) -> list:
    accepted = []
    try:
        while True:
            accepted.append(listener.accept())
    except (TimeoutError, OSError):
        pass
    return accepted


def _attack(prefork: bool, names: list[str], follow_up: bool) -> dict:
    """Run ``names`` (each followed by a correct and a wrong candidate) and the controls as one batch,
    with a canary, readable host files, a secret, a marked host process and listening sockets."""
    folder = Path(tempfile.mkdtemp(prefix="rmr1-hostile-"))  # pytest's tmp_path is closed to other users
    folder.chmod(0o777)
    canary, host_file, own_file = folder / "canary.txt", folder / "readable.txt", folder / "own.txt"
    canary.write_text("alive")
    canary.chmod(0o666)
    host_file.write_text("visible")
    host_file.chmod(0o644)
    own_file.write_text("visible")
    own_file.chmod(0o600)
    marker = f"rmr1-hostile-marker-{os.getpid()}"
    marked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", marker])
    os.environ[SECRET_NAME] = SECRET
    unix_path = str(folder / "host.sock")
    abstract = f"rmr1-hostile-{os.getpid()}-{int(prefork)}"
    listeners = {"loopback": _listener(socket.AF_INET, ("127.0.0.1", 0)),
                 "unix": _listener(socket.AF_UNIX, unix_path), "abstract": _listener(socket.AF_UNIX, "\0" + abstract)}
    os.chmod(unix_path, 0o777)
    values = {"canary": str(canary), "port": listeners["loopback"].getsockname()[1], "secret_name": SECRET_NAME,
              "host_file": str(host_file), "own_file": str(own_file), "marker": marker, "unix_socket": unix_path,
              "abstract_socket": abstract}
    keys_before = _ipc_keys()
    try:
        cases = {**{n: CORPUS[n] for n in names}, **(CONTROLS if follow_up else {})}
        rows, where = [], {}
        for name, case in cases.items():
            where[name] = len(rows)
            rows.append({"code": fill(case.code, **values), "tests": list(case.tests), "helpers": case.helpers,
                         "entry_point": case.entry_point})
            if follow_up and name in CORPUS:
                rows += [CORRECT, WRONG]
        with LocalSandbox(prefork=prefork) as sandbox:
            results = run_code_tests_batch(rows, sandbox=sandbox, timeout=TIMEOUT, test_timeout=TEST_TIMEOUT,
                                           limits=LIMITS)
        accepted = {kind: _accepted(listener) for kind, listener in listeners.items()}
    finally:
        for listener in listeners.values():
            listener.close()
        marked.kill()
        marked.wait()
        del os.environ[SECRET_NAME]
    attack = {"results": {n: results[i] for n, i in where.items()}, "canary": canary.read_text(),
              "accepted": accepted, "new_ipc_keys": _ipc_keys() - keys_before,
              "follow_ups": {n: (results[i + 1], results[i + 2]) for n, i in where.items()
                             if follow_up and n in CORPUS}}
    shutil.rmtree(folder)
    return attack


@pytest.fixture(scope="module")
def attack():
    """The whole corpus, forked from zygotes (the default), each case followed by a correct and a wrong run."""
    return _attack(True, list(CORPUS), follow_up=True)


@pytest.fixture(scope="module")
def attack_fresh():
    """The file, harness and socket cases again, each run a freshly started interpreter."""
    return _attack(False, [n for n, c in CORPUS.items() if c.kind in FRESH_KINDS], follow_up=False)


def _needs_a_control_group(result) -> None:
    """Control groups are writable as root (CI); an ordinary user rarely has one delegated: then skip."""
    bound = result.isolation.memory_bound or "no control group"
    reason = f"a run's memory is not bounded as a whole here: {bound}"
    if os.getuid() == 0:
        skip_unless(not bound.startswith("no control group"), reason)
    elif bound.startswith("no control group"):
        pytest.skip(reason)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(CORPUS))
def test_no_hostile_candidate_passes(attack, name):
    result = attack["results"][name]
    if name == "forks-children-that-share-the-memory":
        _needs_a_control_group(result)
    assert result.status in {"failed", "timeout", "unverified"}, (name, result)
    assert not result.passed
    assert result.seconds < TIMEOUT + 15, f"{name} ran past its {TIMEOUT} s deadline: {result.seconds:.1f} s"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(CORPUS))
def test_later_candidates_are_still_scored_right(attack, name):
    correct, wrong = attack["follow_ups"][name]
    assert correct.status == "passed", (name, correct)
    assert wrong.status == "failed", (name, wrong)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", [n for n, c in CORPUS.items() if c.kind in FRESH_KINDS])
def test_no_hostile_candidate_passes_in_a_fresh_interpreter(attack_fresh, name):
    assert not attack_fresh["results"][name].passed, attack_fresh["results"][name]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(CONTROLS))
def test_the_same_tricks_within_the_bounds_pass(attack, name):
    """So that a trick that failed failed for the bound, not because it never worked."""
    assert attack["results"][name].status == "passed", attack["results"][name]


@pytest.mark.timeout(600)
def test_every_run_was_fully_isolated(attack):
    isolation = attack["results"]["exit-zero-at-import"].isolation
    skip_unless(isolation.verified, f"this machine refuses part of the isolation: {isolation.notes}")
    assert isolation.private_root and isolation.ipc_namespace and isolation.syscall_filter
    assert all(r.isolation.verified for r in attack["results"].values() if r.isolation)


@pytest.mark.timeout(600)
def test_the_always_equal_object_never_reaches_a_comparison(attack):
    assert "only plain values" in attack["results"]["always-equal-object"].error
    assert "only plain values" in attack["results"]["int-subclass-always-equal"].error


@pytest.mark.timeout(600)
def test_slow_candidates_are_reported_as_timeouts(attack):
    assert attack["results"]["infinite-loop-in-call"].status == "timeout"
    assert attack["results"]["infinite-loop-at-import"].status == "timeout"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["stops-reading-its-pipe", "trickles-a-reply", "streams-an-endless-reply"])
def test_the_per_test_deadline_holds_against_a_stalled_pipe(attack, name):
    first, second = attack["results"][name].tests[:2]
    assert first.status == "passed"  # it answered the first call correctly, then stalled
    assert second.status in {"timeout", "failed"}, second
    if second.status == "timeout":
        assert "per-test deadline" in second.detail  # not the whole candidate's deadline
    else:
        assert "ProtocolError" in second.detail


@pytest.mark.timeout(600)
@pytest.mark.parametrize("which", ["attack", "attack_fresh"])
def test_no_host_effects(which, request):
    found = request.getfixturevalue(which)
    deleter = found["results"]["deletes-canary"].isolation
    skip_unless(deleter.read_only_host or deleter.uid != os.getuid(),
                f"no private mount namespace and no other uid here: {deleter.notes}")
    assert found["canary"] == "alive"
    for name, result in found["results"].items():
        assert SECRET not in result.model_dump_json(), name
    connector = found["results"]["connects-to-a-host-unix-socket"].isolation
    skip_unless(connector.network_isolated and connector.private_root,
                f"this machine allows no network namespace or private root: {connector.notes}")
    assert found["accepted"] == {"loopback": [], "unix": [], "abstract": []}
    assert RELAY_KEY not in found["new_ipc_keys"]
    assert not Path(sys.prefix, "rmr1-hostile-was-here").exists()


@pytest.mark.timeout(600)
def test_no_sandbox_process_outlives_its_run(attack, attack_fresh):
    isolation = attack["results"]["bounded-fork-loop"].isolation
    skip_unless(isolation.pid_namespace, f"this machine allows no pid namespace: {isolation.notes}")
    deadline = time.monotonic() + 15  # killed processes holding much memory take a moment to go
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sandbox_processes() == []


@pytest.mark.timeout(300)
def test_nothing_relays_answers_from_one_run_to_a_later_one():
    """Writers (correct) store 42 in IPC objects, keyrings and files; later wrong readers pass only if they find it."""
    writers, readers = relay_rows()
    keys_before = _ipc_keys()
    with LocalSandbox() as sandbox:
        written = run_code_tests_batch(writers, sandbox=sandbox, timeout=TIMEOUT, test_timeout=TEST_TIMEOUT)
        read = run_code_tests_batch(readers, sandbox=sandbox, timeout=TIMEOUT, test_timeout=TEST_TIMEOUT)
    skip_unless(written[0].isolation.ipc_namespace and written[0].isolation.syscall_filter,
                f"no IPC namespace or syscall filter here: {written[0].isolation.notes}")
    assert [r.status for r in written] == ["passed"] * len(writers)
    assert [r.status for r in read] == ["failed"] * len(readers)
    assert RELAY_KEY not in _ipc_keys() - keys_before
    assert not Path("/dev/shm/rmr1-relay").exists() and not Path("/tmp/rmr1-relay").exists()
