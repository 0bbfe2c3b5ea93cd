"""Real processes on loopback for the server tests: ``rmr1 serve`` and an OpenAI-compatible judge
backend (``transformers serve`` with the tiny local model), started and stopped by the tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from rmr1_plugin import build_judge_messages
from rmr1_plugin.backends.local_server import LocalServer, free_port

HOST = "127.0.0.1"


class Process:
    """A child process with its output in a log file; ``stop()`` sends SIGTERM, then SIGKILL."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None):
        self.argv, self.log_path = list(argv), log
        self._log = open(log, "ab")  # held open for the life of the process
        self.proc = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_http(self, url: str, timeout: float, ok=lambda r: True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.argv[:4]} exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
                )
            try:
                if ok(httpx.get(url, timeout=2.0)):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{url} not up after {timeout} s:\n{self.log()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.proc.kill()
        self.proc.wait(10)


class JudgeBackendServer(LocalServer):
    """``transformers serve`` of a local model: a real OpenAI-compatible judge backend that a
    test can crash (SIGKILL) and start again on the same port."""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


class RewardServer:
    """``rmr1 serve`` as a child process."""

    def __init__(
        self, args: Sequence[str], logs: Path, token: str | None = None, port: int | None = None
    ):
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        env = {"RMR1_SERVER_TOKEN": token} if token else {"RMR1_SERVER_TOKEN": ""}
        self.process = Process(
            [
                sys.executable,
                "-m",
                "rmr1_plugin",
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                *args,
            ],
            logs / f"server-{self.port}.log",
            env,
        )

    def wait_listening(self, timeout: float = 60.0) -> RewardServer:
        # /health answers (200 or 503) as soon as the app is up, whatever the backend's state.
        self.process.wait_http(f"{self.url}/health", timeout)
        return self

    def stop(self, timeout: float = 30.0) -> int:
        return self.process.stop(timeout=timeout)


@pytest.fixture
def loopback_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return free_port()


@pytest.fixture(scope="module")
def spawn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """``spawn_server(*args, token=None, port=None)`` starts ``rmr1 serve`` (stopped at the module's end)."""
    logs = tmp_path_factory.mktemp("server-logs")
    servers: list[RewardServer] = []

    def spawn(*args: str, token: str | None = None, port: int | None = None) -> RewardServer:
        server = RewardServer(args, logs, token, port)
        servers.append(server)
        return server.wait_listening()

    yield spawn
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def replay_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recorded judge outputs for "What is 2+2?" with answers "4" and "5", in both orders:
    the judge always prefers "4" (a Reasoning judgment)."""
    path = tmp_path_factory.mktemp("replay") / "judge.jsonl"
    rows = []
    for a, b in (("4", "5"), ("5", "4")):
        text = (
            f"<type>Reasoning</type>\n<solution>2+2=4</solution>\n<eval>{a} vs {b}</eval>\n"
            f"<answer>[[{'A' if a == '4' else 'B'}]]</answer>"
        )
        rows.append({"messages": build_judge_messages("What is 2+2?", a, b), "text": text})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def spawn_replay(spawn_server, replay_file: Path):
    """``spawn_replay(*args, token=None, port=None)``: ``rmr1 serve`` over :func:`replay_file`."""

    def spawn(*args: str, token: str | None = None, port: int | None = None) -> RewardServer:
        return spawn_server(
            "--backend",
            "replay",
            "--backend-option",
            f"path={replay_file}",
            *args,
            token=token,
            port=port,
        )

    return spawn


@pytest.fixture(scope="module")
def _judge_backend_server(tiny_model_path: Path) -> Iterator[JudgeBackendServer]:
    backend = JudgeBackendServer(tiny_model_path).start()
    yield backend
    backend.stop()


@pytest.fixture
def judge_backend(_judge_backend_server: JudgeBackendServer) -> JudgeBackendServer:
    """A running OpenAI-compatible judge backend serving the tiny model (shared by a module's
    tests; restarted on the same port when an earlier test killed it)."""
    if not _judge_backend_server.alive():
        _judge_backend_server.start()
    return _judge_backend_server
