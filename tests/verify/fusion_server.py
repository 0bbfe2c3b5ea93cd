"""A SandboxFusion-compatible ``POST /run_code`` server on loopback, for testing the remote sandbox.

It implements the documented request and response shapes (code, language, stdin, run_timeout ->
status, message, compile_result, run_result{status, execution_time, return_code, stdout, stderr})
and really runs the Python it is sent, in a subprocess; it is a test double of the server, not of
our client.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class RunCodeRequest(BaseModel):
    code: str
    language: str
    stdin: str | None = None
    run_timeout: float = 10
    compile_timeout: float = 10


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.requests = []

    @app.post("/run_code")
    def run_code(request: RunCodeRequest) -> dict:
        app.state.requests.append(request)
        if request.language != "python":
            return {"status": "SandboxError", "message": f"unsupported language {request.language}",
                    "compile_result": None, "run_result": None}
        start = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-I", "-c", request.code], input=request.stdin or "",
                                  capture_output=True, text=True, timeout=request.run_timeout, check=False)
            run = {"status": "Finished", "return_code": done.returncode, "stdout": done.stdout,
                   "stderr": done.stderr}
        except subprocess.TimeoutExpired:
            run = {"status": "TimeLimitExceeded", "return_code": None, "stdout": "", "stderr": ""}
        run["execution_time"] = time.monotonic() - start
        ok = run["status"] == "Finished" and run["return_code"] == 0
        return {"status": "Success" if ok else "Failed", "message": "", "compile_result": None, "run_result": run}

    return app


class LoopbackServer:
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread; ``url`` once started."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
