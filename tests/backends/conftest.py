"""Real servers on loopback for the backend tests: ``transformers serve`` with the tiny model,
and a fault-injecting proxy in front of it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Self

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from rmr1_plugin.backends.local_server import LocalServer, free_port


@pytest.fixture(scope="session")
def openai_server(tiny_model_path):
    """``transformers serve`` on a free 127.0.0.1 port (continuous batching, CPU), stopped after."""
    with LocalServer(tiny_model_path, startup_timeout=180) as server:
        yield server


class FlakyProxy:
    """Forwards to ``upstream`` but answers the first ``failures`` requests with ``status``,
    or stalls them for ``stall`` seconds — a server having a bad moment."""

    def __init__(self, upstream: str, *, failures: int, status: int = 503, stall: float = 0.0):
        self.upstream, self.failures, self.status, self.stall = upstream, failures, status, stall
        self.seen = 0
        self.client_ports: list[int] = []  # the TCP connection each request came on
        self.port = free_port()
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            self.seen += 1
            self.client_ports.append(request.client.port)
            body = await request.body()
            if self.seen <= self.failures:
                if self.stall:
                    await asyncio.sleep(self.stall)
                return JSONResponse({"error": {"message": "injected failure"}}, status_code=self.status)
            async with httpx.AsyncClient(timeout=60) as client:
                answer = await client.post(f"{self.upstream}/chat/completions", content=body,
                                           headers={"content-type": "application/json"})
            return Response(answer.content, status_code=answer.status_code, media_type="application/json")

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("proxy did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def flaky_proxy(openai_server):
    def make(**options) -> FlakyProxy:
        return FlakyProxy(openai_server.base_url, **options)
    return make
