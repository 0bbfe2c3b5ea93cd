"""The hostile corpus: none passes and none has its host side effect (all bounded, loopback only)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from rmr1_plugin.verify import run_code_tests_batch
from rmr1_plugin.verify.sandbox import LocalSandbox

from .hostile import CORPUS, TESTS, fill

SECRET_NAME, SECRET = "RMR1_HOSTILE_SECRET", "correct-horse-battery-staple"


def _sandbox_processes() -> list[str]:
    """Live processes of sandboxed runs (not the idle zygotes that fork them, not zombies waiting for
    init to reap them); ``-ww``: full command lines, however long the interpreter's path."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,stat,comm,args"], capture_output=True, text=True,
                         check=False).stdout
    return [line for line in out.splitlines()[1:] if not line.split()[1].startswith("Z")
            and (line.split()[2] == "rmr1-sandbox" or ("verify/_child.py" in line and " zygote " not in line))]


@pytest.fixture(scope="module", params=[True, False], ids=["forked-from-zygote", "fresh-interpreter"])
def attack(request, tmp_path_factory):
    """Run the whole corpus once per way of starting runs, as a batch, with a canary file, a secret
    and a listening port."""
    folder = tmp_path_factory.mktemp("canary")
    canary = folder / "canary.txt"
    canary.write_text("alive")
    os.environ[SECRET_NAME] = SECRET
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    try:
        rows = [{"code": fill(code, canary=str(canary), port=port, secret_name=SECRET_NAME), "tests": TESTS}
                for code in CORPUS.values()]
        with LocalSandbox(prefork=request.param) as sandbox:
            results = dict(zip(CORPUS, run_code_tests_batch(rows, sandbox=sandbox, timeout=20, test_timeout=3)))
        accepted = []
        try:
            while True:
                accepted.append(listener.accept())
        except (TimeoutError, OSError):
            pass
    finally:
        listener.close()
        del os.environ[SECRET_NAME]
    return {"results": results, "canary": canary, "accepted": accepted}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(CORPUS))
def test_no_hostile_candidate_passes(attack, name):
    result = attack["results"][name]
    assert result.status in {"failed", "timeout"}, (name, result)
    assert not result.passed


@pytest.mark.timeout(300)
def test_the_always_equal_object_never_reaches_a_comparison(attack):
    assert "only plain values" in attack["results"]["always-equal-object"].error
    assert "only plain values" in attack["results"]["int-subclass-always-equal"].error


@pytest.mark.timeout(300)
def test_slow_candidates_are_reported_as_timeouts(attack):
    assert attack["results"]["infinite-loop-in-call"].status == "timeout"
    assert attack["results"]["infinite-loop-at-import"].status == "timeout"


@pytest.mark.timeout(300)
def test_the_canary_file_survives(attack):
    isolation = attack["results"]["deletes-canary"].isolation
    if not (isolation.read_only_host or isolation.uid != os.getuid()):
        pytest.skip(f"no private mount namespace and no other uid here: {isolation.notes}")
    assert attack["canary"].read_text() == "alive"


@pytest.mark.timeout(300)
def test_the_secret_never_leaves_the_host_environment(attack):
    for name, result in attack["results"].items():
        assert SECRET not in result.model_dump_json(), name


@pytest.mark.timeout(300)
def test_nothing_connected_to_the_loopback_port(attack):
    isolation = attack["results"]["connects-to-loopback"].isolation
    if not isolation.network_isolated:
        pytest.skip(f"this machine allows no network namespace: {isolation.notes}")
    assert attack["accepted"] == []


@pytest.mark.timeout(300)
def test_no_sandbox_process_outlives_its_run(attack):
    isolation = attack["results"]["bounded-fork-loop"].isolation
    if not isolation.pid_namespace:
        pytest.skip(f"this machine allows no pid namespace: {isolation.notes}")
    assert _sandbox_processes() == []
