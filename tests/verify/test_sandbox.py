"""LocalSandbox confinement and the SandboxFusion client (against a loopback server that runs code)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from rmr1_plugin.verify import sandbox as sandbox_module
from rmr1_plugin.verify import to_scores
from rmr1_plugin.verify._child import exposed_paths
from rmr1_plugin.verify.code import run_code_tests, run_code_tests_batch
from rmr1_plugin.verify.sandbox import Limits, LocalSandbox, RunRequest, SandboxFusionSandbox

from .fusion_server import LoopbackServer, make_app
from .required import skip_unless


@pytest.fixture(scope="module", params=[True, False], ids=["forked-from-zygote", "fresh-interpreter"])
def local(request):
    with LocalSandbox(prefork=request.param) as sandbox:
        yield sandbox


@pytest.mark.timeout(60)
def test_a_program_reads_stdin_and_its_stdout_comes_back(local):
    outcome = local.run(RunRequest(code="import sys\nprint(sum(map(int, sys.stdin.read().split())))", stdin="1 2 3"))
    assert (outcome.status, outcome.exit_code, outcome.stdout) == ("finished", 0, "6\n")


@pytest.mark.timeout(60)
def test_the_environment_is_scrubbed_and_the_workdir_is_fresh(local, monkeypatch):
    monkeypatch.setenv("RMR1_SANDBOX_SECRET", "hunter2")
    outcome = local.run(RunRequest(code="import os\nprint(sorted(os.environ))\nprint(os.getcwd())\n"
                                        "print(os.listdir('.'))\nprint(os.environ.get('RMR1_SANDBOX_SECRET'))"))
    names, cwd, listing, secret = outcome.stdout.splitlines()
    assert names == "['HOME', 'LANG', 'PATH', 'TMPDIR']"
    assert listing == "[]" and secret == "None"
    skip_unless(outcome.isolation.private_root, f"no private root here: {outcome.isolation.notes}")
    assert cwd == "/tmp"


@pytest.mark.timeout(60)
def test_the_run_sees_a_root_of_its_own_with_the_interpreter_read_only(local):
    folder = Path(tempfile.mkdtemp(prefix="rmr1-open-"))  # pytest's tmp_path is closed to other users
    folder.chmod(0o777)  # even a world-writable, world-readable folder
    (folder / "readable").write_text("host data")
    (folder / "readable").chmod(0o644)
    code = (f"import os, sys\nopen('scratch', 'w').write('ok')\nprint(open('scratch').read())\n"
            f"print(sorted(os.listdir('/')))\nprint(os.path.exists({str(folder)!r}))\n"
            f"print(sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
            f"try:\n    open(os.path.join(sys.prefix, 'written'), 'w')\n    print('wrote')\n"
            f"except OSError as exc:\n    print(exc.errno)")
    outcome = local.run(RunRequest(code=code))
    shutil.rmtree(folder)
    skip_unless(outcome.isolation.private_root, f"no private root here: {outcome.isolation.notes}")
    scratch, top, seen, pids, written = outcome.stdout.splitlines()
    allowed = {target.split("/")[1] for _, target in exposed_paths()} | {"dev", "proc", "tmp"}
    assert scratch == "ok" and set(eval(top)) <= allowed, top
    assert seen == "False"
    assert written == "30"  # EROFS
    assert outcome.isolation.proc and eval(pids) == ["2"]  # its own pid namespace: itself (pid 1 is hidden)
    assert not Path(sys.prefix, "written").exists()


@pytest.mark.timeout(60)
def test_network_is_isolated_and_the_result_says_so(local):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'x')\n"
            "    print('connected')\nexcept OSError as exc:\n    print('refused', exc.errno)")
    outcome = local.run(RunRequest(code=code))
    try:
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()
    if not outcome.isolation.network_isolated:
        assert any("network" in note for note in outcome.isolation.notes), "a missing namespace must be said"
    skip_unless(outcome.isolation.network_isolated, f"this machine allows no network namespace: "
                                                    f"{outcome.isolation.notes}")
    assert outcome.stdout.startswith("refused")
    assert all("network" not in note for note in outcome.isolation.notes)


@pytest.mark.timeout(60)
def test_wall_and_cpu_deadlines_kill_the_run(local):
    slept = local.run(RunRequest(code="import time\ntime.sleep(60)", timeout=1))
    spun = local.run(RunRequest(code="while True:\n    pass", timeout=30, limits=Limits(cpu_s=1)))
    assert slept.status == "timeout" and slept.exit_code is None
    assert spun.status == "timeout", spun


@pytest.mark.timeout(60)
def test_unsupported_languages_are_a_sandbox_error(local):
    outcome = local.run(RunRequest(code="int main() {}", language="cpp"))
    assert outcome.status == "sandbox_error" and "python only" in outcome.error


@pytest.mark.skipif(os.getuid() != 0, reason="the identity switch to 'nobody' happens only when started as root")
@pytest.mark.timeout(60)
def test_as_root_the_code_runs_as_nobody_and_cannot_see_roots_home(local):
    outcome = local.run(RunRequest(code="import os\nprint(os.getuid())\nprint(sorted(os.listdir('/root')))"))
    uid, listing = outcome.stdout.splitlines()
    assert int(uid) == outcome.isolation.uid != 0
    assert ".bashrc" not in listing  # only the interpreter's folder is mounted back under /root


# -- zygotes ---------------------------------------------------------------------------------------


def _zygote_pids() -> set[int]:
    out = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,args"], capture_output=True, text=True, check=False).stdout
    return {int(line.split()[0]) for line in out.splitlines()[1:]
            if int(line.split()[1]) == os.getpid() and "verify/_child.py zygote" in line}


@pytest.mark.timeout(60)
def test_a_run_forked_from_a_zygote_finds_nothing_of_earlier_runs_in_its_memory():
    marker = "expected-value-7f3a9c"
    with LocalSandbox() as sandbox:
        earlier = run_code_tests("def f():\n    return 1", tests=f"assert f() == 1, {marker!r}", sandbox=sandbox)
        # The marker is assembled at run time, so neither the probe's code nor its call holds it whole.
        probe = ("import gc\n"
                 "def leaked():\n"
                 "    marker = ''.join(['expected-value-', '7f3a9c'])\n"
                 "    seen = [o for o in gc.get_objects() if isinstance(o, (dict, list, tuple))]\n"
                 "    return any(isinstance(v, str) and marker in v for o in seen\n"
                 "               for v in (o.values() if isinstance(o, dict) else o))\n")
        later = run_code_tests(probe, tests="assert leaked() is False", sandbox=sandbox)
    assert earlier.passed
    assert later.passed, later.error


@pytest.mark.timeout(60)
def test_a_dead_zygote_is_replaced_and_close_stops_the_idle_ones():
    others = _zygote_pids()  # other sandboxes' (the default one's) in this process
    with LocalSandbox() as sandbox:
        assert sandbox.run(RunRequest(code="print(1)")).stdout == "1\n"
        (zygote,) = _zygote_pids() - others
        os.kill(zygote, signal.SIGKILL)
        assert sandbox.run(RunRequest(code="print(2)")).stdout == "2\n"
        (replacement,) = _zygote_pids() - others
        assert replacement != zygote
    assert _zygote_pids() - others == set()


@pytest.mark.timeout(60)
def test_a_zygote_dying_mid_run_fails_that_run_and_the_next_run_gets_a_new_one():
    others = _zygote_pids()
    with LocalSandbox() as sandbox:
        outcome: list = []
        slow = "import time\ntime.sleep(30)\ndef f():\n    return 1"
        worker = threading.Thread(target=lambda: outcome.append(
            run_code_tests(slow, tests="assert f() == 1", sandbox=sandbox, timeout=25)))
        worker.start()
        deadline = time.monotonic() + 20
        while len(_zygote_pids() - others) < 2 and time.monotonic() < deadline:  # candidate + tests
            time.sleep(0.05)
        time.sleep(0.5)
        for zygote in _zygote_pids() - others:
            os.kill(zygote, signal.SIGKILL)
        worker.join()
        assert not outcome[0].passed and outcome[0].status in {"failed", "sandbox_error"}, outcome[0]
        assert run_code_tests("def f():\n    return 1", tests="assert f() == 1", sandbox=sandbox).passed


@pytest.mark.timeout(60)
def test_idle_zygotes_are_capped(monkeypatch):
    monkeypatch.setattr(sandbox_module, "MAX_IDLE_ZYGOTES", 1)
    others = _zygote_pids()
    with LocalSandbox() as sandbox:
        rows = [{"code": "def f():\n    return 1", "tests": "assert f() == 1"}] * 4
        assert all(r.passed for r in run_code_tests_batch(rows, sandbox=sandbox, workers=2))
        assert len(_zygote_pids() - others) == 1


@pytest.mark.timeout(60)
def test_without_a_zygote_runs_start_a_fresh_interpreter(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OSError("no SCM_RIGHTS here")

    monkeypatch.setattr(sandbox_module._Zygote, "spawn", refuse)
    with LocalSandbox() as sandbox:
        assert sandbox.run(RunRequest(code="print(4)")).stdout == "4\n"
        assert sandbox.prefork is False
    assert "no sandbox zygote (no SCM_RIGHTS here)" in caplog.text


# -- SandboxFusion ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fusion():
    app = make_app()
    with LoopbackServer(app) as server:
        yield SandboxFusionSandbox(server.url), app


@pytest.mark.timeout(60)
def test_fusion_runs_a_program_and_translates_the_response(fusion):
    sandbox, app = fusion
    outcome = sandbox.run(RunRequest(code="print(input() * 2)", stdin="ab\n", timeout=5))
    assert (outcome.status, outcome.exit_code, outcome.stdout) == ("finished", 0, "abab\n")
    sent = app.state.requests[-1]
    assert (sent.language, sent.stdin, sent.run_timeout) == ("python", "ab\n", 5)
    assert outcome.isolation.sandbox == "sandbox-fusion" and outcome.isolation.network_isolated is None


@pytest.mark.timeout(60)
def test_fusion_failures_timeouts_and_sandbox_errors(fusion):
    sandbox, _ = fusion
    failed = sandbox.run(RunRequest(code="raise SystemExit(3)"))
    slow = sandbox.run(RunRequest(code="import time\ntime.sleep(30)", timeout=1))
    unsupported = sandbox.run(RunRequest(code="fn main() {}", language="rust"))
    assert (failed.status, failed.exit_code) == ("finished", 3)
    assert slow.status == "timeout"
    assert unsupported.status == "sandbox_error" and "unsupported language" in unsupported.error


@pytest.mark.timeout(60)
def test_an_unreachable_fusion_server_is_a_sandbox_error():
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    sandbox = SandboxFusionSandbox(f"http://127.0.0.1:{port}", client=httpx.Client(timeout=2))
    outcome = sandbox.run(RunRequest(code="print(1)"))
    assert outcome.status == "sandbox_error" and f"127.0.0.1:{port}" in outcome.error


@pytest.mark.timeout(60)
def test_code_tests_on_fusion_use_the_nonce_program_and_say_it_is_weaker(fusion):
    from rmr1_plugin.verify import run_code_tests_batch

    sandbox, _ = fusion
    rows = [
        {"code": "def f(x):\n    return 2 * x", "tests": "assert f(2) == 4"},
        {"code": "def f(x):\n    return 0", "tests": "assert f(2) == 4"},
        {"code": "import sys\nsys.exit(0)", "tests": "assert f(2) == 4"},
        {"code": "print('rmr1-pass:0')\ndef f(x):\n    return 0", "tests": "assert f(2) == 4"},
        {"code": "print(int(input()) + 1)", "inputs": ["1\n", "2\n"], "outputs": ["2", "3"]},
    ]
    forges = ("import os, sys\ndef f(x):\n    return 0\n"  # prints the nonce it finds in its own program
              "for c in sys._getframe().f_code.co_consts:\n"
              "    if isinstance(c, bytes) and b'rmr1-pass:' in c and len(c) > 20:\n"
              "        os.write(1, c); os._exit(0)\n")
    rows.append({"code": forges, "tests": "assert f(2) == 4"})
    results = run_code_tests_batch(rows, sandbox=sandbox, workers=2, timeout=10)
    assert [r.status for r in results] == ["unverified", "failed", "failed", "failed", "passed", "unverified"]
    assert "weaker" in results[0].isolation.pass_channel and not results[0].isolation.verified
    assert results[0].isolation.sandbox == "sandbox-fusion"
    assert "accept_weak_isolation" in results[0].error
    assert to_scores(results) == [None, 0.0, 0.0, 0.0, 1.0, None]
    accepting = SandboxFusionSandbox(sandbox.url, accept_weak_isolation=True)
    accepted = run_code_tests_batch(rows, sandbox=accepting, workers=2, timeout=10)
    assert [r.status for r in accepted] == ["passed", "failed", "failed", "failed", "passed", "passed"]
    assert accepted[0].isolation.weaker_accepted  # the forged pass counts too: that is what was accepted


@pytest.mark.timeout(60)
def test_a_run_without_full_isolation_is_not_a_pass_unless_accepted():
    task = {"code": "def f():\n    return 1", "tests": "assert f() == 1"}
    with LocalSandbox(isolate_network=False) as weaker, LocalSandbox(isolate_network=False,
                                                                     accept_weak_isolation=True) as accepting:
        refused = run_code_tests(**task, sandbox=weaker)
        accepted = run_code_tests(**task, sandbox=accepting)
    assert refused.status == "unverified" and not refused.passed and to_scores([refused]) == [None]
    assert "network isolation turned off by the caller" in refused.error
    assert accepted.status == "passed" and accepted.isolation.weaker_accepted
    assert not accepted.isolation.verified and not accepted.isolation.network_isolated


@pytest.mark.timeout(60)
def test_the_result_says_what_bounds_the_runs_memory_and_processes(local):
    isolation = local.run(RunRequest(code="print(1)", limits=Limits(memory_mb=300, nproc=12))).isolation
    assert "300 MiB" in isolation.memory_bound and "12 processes" in isolation.process_bound
    if isolation.memory_bound.startswith("no control group"):
        assert "12 x 300 MiB" in isolation.memory_bound
    skip_unless(isolation.verified, f"this machine refuses part of the isolation: {isolation.notes}")
    assert isolation.ipc_namespace and isolation.private_root and isolation.syscall_filter
