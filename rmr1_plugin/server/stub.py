"""A stub judge for the server's tests and load benchmark: no model, answers at once (or as told).

:class:`StubJudge` is a judge backend in this process; :func:`stub_openai_app` serves the same
judge as an OpenAI-compatible HTTP endpoint (``/v1/chat/completions``), so ``rmr1 serve --backend
openai`` can be measured against it on loopback without the cost of a model.

Modes: ``"verdict"`` (always ``[[A]]``, a Reasoning judgment), ``"silent"`` (a judgment without a
verdict, as a wrong chat template or too small ``max_new_tokens`` gives), ``"hang"`` (never
answers), ``"fail"`` (every generation fails).

>>> import asyncio
>>> stub = StubJudge()
>>> asyncio.run(stub.agenerate([[{"role": "user", "content": "?"}]], None))[0].text.endswith("[[A]]</answer>")
True
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rmr1_plugin.backends.base import Generation

Mode = Literal["verdict", "silent", "hang", "fail"]

VERDICT_TEXT = "<type>Reasoning</type>\n<solution>x</solution>\n<eval>y</eval>\n<answer>[[A]]</answer>"
SILENT_TEXT = "<type>Reasoning</type>\n<eval>I cannot decide.</eval>"


class StubJudge:
    """An in-process judge backend; ``conversations`` records every prompt it was sent."""

    def __init__(self, mode: Mode = "verdict", *, delay_s: float = 0.0, model_id: str = "stub-judge"):
        self.mode, self.delay_s, self.model_id = mode, delay_s, model_id
        self.conversations: list[list[dict]] = []
        self.calls = 0

    async def agenerate(self, conversations: list[list[dict]], settings: Any) -> list[Generation]:
        self.calls += 1
        self.conversations.extend(conversations)
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return [self.answer() for _ in conversations]

    def generate(self, conversations: list[list[dict]], settings: Any) -> list[Generation]:
        from rmr1_plugin.backends.base import run_sync

        return run_sync(self.agenerate(conversations, settings))

    def answer(self) -> Generation:
        if self.mode == "fail":
            return Generation.failed("stub judge told to fail")
        return Generation(text=VERDICT_TEXT if self.mode == "verdict" else SILENT_TEXT)


def stub_openai_app(mode: Mode = "verdict", delay_s: float = 0.0, model_id: str = "stub-judge") -> Any:
    """The stub as an OpenAI-compatible server app (chat completions and model list)."""
    stub = StubJudge(mode, delay_s=delay_s, model_id=model_id)
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict:
        return {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "stub"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        (generation,) = await stub.agenerate([body.get("messages", [])], None)
        if generation.finish_reason == "error":
            return JSONResponse({"error": {"message": generation.error}}, status_code=500)
        return {
            "id": "stub",
            "object": "chat.completion",
            "created": 0,
            "model": model_id,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": generation.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    return app


if __name__ == "__main__":  # python -m rmr1_plugin.server.stub PORT [MODE]: the benchmark's judge
    import sys

    import uvicorn

    uvicorn.run(
        stub_openai_app(sys.argv[2] if len(sys.argv) > 2 else "verdict"),  # type: ignore[arg-type]
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
    )
