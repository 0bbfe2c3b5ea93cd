"""LocalSandbox confinement and the SandboxFusion client (against a loopback server that runs code)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from rmr1_plugin.verify import sandbox as sandbox_module
from rmr1_plugin.verify.code import run_code_tests, run_code_tests_batch
from rmr1_plugin.verify.sandbox import Limits, LocalSandbox, RunRequest, SandboxFusionSandbox

from .fusion_server import LoopbackServer, make_app


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
    assert "rmr1-sandbox-" in cwd and listing == "[]" and secret == "None"
    assert not os.path.exists(cwd), "the working directory is removed after the run"


@pytest.mark.timeout(60)
def test_host_files_are_read_only_and_the_workdir_is_a_private_scratch(local):
    folder = Path(tempfile.mkdtemp(prefix="rmr1-open-"))  # pytest's tmp_path is closed to other users
    folder.chmod(0o777)  # even a world-writable folder
    target = folder / "written-by-the-sandbox"
    code = (f"open('scratch', 'w').write('ok')\nprint(open('scratch').read())\n"
            f"try:\n    open({str(target)!r}, 'w')\n    print('wrote')\nexcept OSError as exc:\n    print(exc.errno)")
    outcome = local.run(RunRequest(code=code))
    if not outcome.isolation.read_only_host:
        pytest.skip(f"no private mount namespace here: {outcome.isolation.notes}")
    try:
        assert outcome.stdout.split() == ["ok", "30"]  # EROFS
        assert not target.exists()
    finally:
        shutil.rmtree(folder)


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
        pytest.skip(f"this machine allows no network namespace: {outcome.isolation.notes}")
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
    results = run_code_tests_batch(rows, sandbox=sandbox, workers=2, timeout=10)
    assert [r.status for r in results] == ["passed", "failed", "failed", "failed", "passed"]
    assert "weaker" in results[0].isolation.pass_channel
    assert results[0].isolation.sandbox == "sandbox-fusion"
