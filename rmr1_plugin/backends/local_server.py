"""Start and stop a local OpenAI-compatible server (``transformers serve``) for a model folder.

Used by the tests and benchmarks, and handy for trying the ``openai`` backend without a GPU:

>>> with LocalServer("/tmp/tiny-judge") as server:                 # doctest: +SKIP
...     backend = OpenAIBackend(server.base_url, model=server.model)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(process: subprocess.Popen, url: str, *, timeout: float, name: str,
                       poll: float = 0.25) -> None:
    """Return once ``GET url`` answers 200; raise ``RuntimeError`` if ``process`` exits first or
    ``timeout`` seconds pass. Shared by every helper here that starts a server subprocess."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=min(2.0, timeout)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"{name} not healthy after {timeout:g} s")


class LocalServer:
    """``transformers serve MODEL`` on 127.0.0.1 in a subprocess (its own process group).

    ``continuous_batching=True`` lets concurrent requests share forward passes, as vLLM does.
    ``start()`` waits until ``/health`` answers (up to ``startup_timeout`` seconds) and raises
    ``RuntimeError`` with the server's log tail if it exits or never becomes healthy.
    """

    def __init__(self, model: str | Path, *, port: int | None = None, device: str = "cpu",
                 continuous_batching: bool = True, startup_timeout: float = 120.0):
        self.model = str(model)
        self.port = port or free_port()
        self.device = device
        self.continuous_batching = continuous_batching
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        handle, name = tempfile.mkstemp(prefix="rmr1-serve-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        executable = shutil.which("transformers")
        if executable is None:
            raise RuntimeError("`transformers` CLI not found; install it with `pip install 'transformers[serving]'`")
        command = [executable, "serve", self.model, "--host", "127.0.0.1", "--port", str(self.port),
                   "--device", self.device]
        if self.continuous_batching:
            command.append("--continuous-batching")
        return command

    def start(self) -> LocalServer:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_NO_ADVISORY_WARNINGS="1")
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=env, start_new_session=True)
        try:
            wait_until_healthy(self.process, f"http://127.0.0.1:{self.port}/health",
                               timeout=self.startup_timeout, name="transformers serve")
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from None
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


if __name__ == "__main__":  # python -m rmr1_plugin.backends.local_server MODEL_DIR
    with LocalServer(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) > 2 else None) as server:
        print(f"serving {server.model} at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            server.process.wait()  # type: ignore[union-attr]
        except KeyboardInterrupt:
            pass
