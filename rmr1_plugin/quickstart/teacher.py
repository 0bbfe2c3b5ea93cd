"""The quickstart's distillation teacher: a programmatic judge behind a real OpenAI-compatible server.

RM-R1 distils its judge's SFT chains from a strong teacher in two passes (``rmr1 distill``). The
quickstart does the same, on loopback: :func:`sum_teacher` solves the one-digit sums of
:mod:`rmr1_plugin.quickstart.task` and writes the reference chain, except on a fixed share of pairs
(``TEACHER_WRONG_SHARE``) where it miscalculates and backs the wrong answer -- so pass 1 is right about
75% of the time, as RM-R1 found for zero-shot teachers, and pass 2 (the prompt plus the correct verdict
and the flawed chain) has work. Its pass-2 chains are the reference chains, so the distilled SFT rows
are exactly :func:`rmr1_plugin.quickstart.pipeline.judge_sft_rows`'s.

:class:`ProgrammaticServer` (FastAPI + uvicorn on 127.0.0.1, a free port) serves any such function;
the tests use it for teachers that time out, never give a verdict or answer garbage.

>>> with ProgrammaticServer(sum_teacher()) as server:                             # doctest: +SKIP
...     backend = OpenAIBackend(server.base_url, model=server.model)
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rmr1_plugin.backends.local_server import LocalServer, free_port
from rmr1_plugin.quickstart import task

#: Share of pass-1 pairs the quickstart teacher gets wrong (RM-R1: zero-shot teachers ~75% right).
TEACHER_WRONG_SHARE = 0.25
#: The served model name of the quickstart teacher.
TEACHER_MODEL = "sum-teacher"

#: A function from chat messages to the assistant's text, or ``(text, finish_reason)``.
Respond = Callable[[list[dict[str, str]]], "str | tuple[str, str]"]

_PAIR = re.compile(
    r"\[Client Question\]\nWhat is (\d+) \+ (\d+)\?\n\n"
    r"\[The Start of Chatbot A's Response\]\n(.*?)\n\[The End of Chatbot A's Response\]\n\n"
    r"\[The Start of Chatbot B's Response\]\n(.*?)\n\[The End of Chatbot B's Response\]",
    re.DOTALL,
)


class ProgrammaticServer:
    """``POST /v1/chat/completions`` answered by ``respond`` (in a uvicorn thread on 127.0.0.1).

    ``delay`` seconds pass before each answer (a slow teacher). ``requests`` lists the messages of
    every request received, in order. Usage is reported in characters / 4, as a stand-in for tokens.
    """

    def __init__(self, respond: Respond, *, model: str = TEACHER_MODEL, delay: float = 0.0,
                 port: int | None = None):
        self.respond, self.model, self.delay = respond, model, delay
        self.port = port or free_port()
        self.requests: list[list[dict[str, str]]] = []
        app = FastAPI()

        @app.get("/health")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            messages = body.get("messages")
            if not isinstance(messages, list):
                return JSONResponse({"error": {"message": "messages must be a list"}}, status_code=400)
            self.requests.append(messages)
            if self.delay:
                await asyncio.sleep(self.delay)
            reply = self.respond(messages)
            text, finish = (reply, "stop") if isinstance(reply, str) else reply
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
            return JSONResponse({
                "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", self.model),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4,
                          "total_tokens": prompt_tokens + len(text) // 4},
            })

        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     access_log=False))
        self._thread = threading.Thread(target=self._server.run, name="rmr1-teacher", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"teacher server did not start on 127.0.0.1:{self.port}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class SumTeacherProcess(LocalServer):
    """The sum teacher's server in a subprocess (``python -m rmr1_plugin.quickstart.teacher PORT``), so
    that the server and the distilling client do not share one interpreter lock. Started and stopped
    like :class:`~rmr1_plugin.backends.local_server.LocalServer` (``with SumTeacherProcess() as s:``)."""

    def __init__(self, *, startup_timeout: float = 120.0):
        super().__init__(TEACHER_MODEL, startup_timeout=startup_timeout)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "rmr1_plugin.quickstart.teacher", str(self.port)]


def read_sum_pair(messages: list[dict[str, str]]) -> task.SumPair:
    """The sum pair a quickstart judge prompt shows (from its last user message)."""
    match = _PAIR.search(messages[-1]["content"])
    if match is None:
        raise ValueError("not a quickstart judge prompt")
    a, b, answer_a, answer_b = int(match[1]), int(match[2]), match[3], match[4]
    label = "model_a" if answer_a == str(a + b) else "model_b"
    return task.SumPair(a, b, answer_a, answer_b, label)


def teacher_errs(pair: task.SumPair, share: float = TEACHER_WRONG_SHARE) -> bool:
    """Whether the teacher gets ``pair`` wrong in pass 1: a fixed, seed-free share of pairs.

    >>> teacher_errs(task.make_pair(3, 4, wrong=9, chosen_position="A")) in (True, False)
    True
    """
    digest = zlib.crc32(f"{pair.a}+{pair.b}|{pair.answer_a}|{pair.answer_b}".encode())
    return digest % 10_000 < share * 10_000


def flawed_chain(pair: task.SumPair) -> str:
    """A chain that miscalculates the sum and so backs the wrong answer."""
    loser = pair.answer_b if pair.label == "model_a" else pair.answer_a
    misread = task.SumPair(pair.a, pair.b, pair.answer_a, pair.answer_b,
                           "model_b" if pair.label == "model_a" else "model_a")
    return task.reference_chain(misread).replace(f"={pair.gold}</solution>", f"={loser}</solution>")


def sum_teacher(wrong_share: float = TEACHER_WRONG_SHARE) -> Respond:
    """The quickstart teacher: the reference chain, except a wrong one on ``wrong_share`` of pairs in
    pass 1; given the correct verdict (pass 2), the reference chain."""
    def respond(messages: list[dict[str, str]]) -> str:
        pair = read_sum_pair(messages)
        if "[Reference Verdict]" not in messages[-1]["content"] and teacher_errs(pair, wrong_share):
            return flawed_chain(pair)
        return task.reference_chain(pair)
    return respond


def distilled_sft_rows(triples: list[tuple[int, int, int]], n: int | None = None, *, seed: int, out: Path,
                       progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The judge's SFT rows, distilled: the pairs :func:`judge_sft_rows` uses (``n``: see
    :func:`task.sft_pairs`), with chains from ``rmr1 distill`` against the local teacher. Each
    distinct pair (question, right and wrong answer) is distilled once; rows that show it the other
    way round get the chain re-labelled (answers and verdict swapped), as distill's position
    balancing does. Returns the rows and the distillation's metrics.
    """
    from rmr1_plugin.backends import GenerationSettings
    from rmr1_plugin.backends.openai import OpenAIBackend
    from rmr1_plugin.data.formats import PreferencePair
    from rmr1_plugin.data.prepare import load_chains
    from rmr1_plugin.distill.chains import swap_positions
    from rmr1_plugin.distill.run import DistillConfig, distill
    from rmr1_plugin.distill.teachers import OnlineTeacher

    sampled = task.sft_pairs(triples, n, seed=seed)
    pairs: dict[str, PreferencePair] = {}
    for p in sampled:
        wrong = p.answer_b if p.label == "model_a" else p.answer_a
        pid = f"{p.a}+{p.b}:{wrong}"
        if pid not in pairs:
            user = {"role": "user", "content": p.question}
            pairs[pid] = PreferencePair(id=pid, source="quickstart",
                                        chosen=[user, {"role": "assistant", "content": str(p.gold)}],
                                        rejected=[user, {"role": "assistant", "content": wrong}])
    settings = GenerationSettings(max_new_tokens=256, temperature=0.0)
    with SumTeacherProcess() as server:
        backend = OpenAIBackend(server.base_url, model=TEACHER_MODEL, max_concurrency=16, timeout=60)
        report = distill(list(pairs.values()), out, OnlineTeacher(backend, settings), settings=settings,
                         config=DistillConfig(seed=seed, progress=progress))
        backend.close()
    chains = load_chains(out / "chains.jsonl")
    rows = []
    for p in sampled:
        wrong = p.answer_b if p.label == "model_a" else p.answer_a
        chain = chains.get(f"{p.a}+{p.b}:{wrong}")
        if chain is None:
            continue  # dropped by distill; counted in its report
        text = chain["chain"] if chain["label"] == p.label else swap_positions(chain["chain"])
        if text is not None:
            rows.append({"prompt": p.judge_messages(), "completion": [{"role": "assistant", "content": text}]})
    metrics = {"teacher_pass1_accuracy": report.pass1_accuracy or 0.0, "pass2_recovery": report.pass2_recovery or 0.0,
               "chains_kept": float(report.kept), "chains_dropped": float(sum(report.dropped.values())),
               "sft_rows": float(len(rows))}
    return rows, metrics


def sum_pair_records(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` distinct quickstart pairs as ``plain`` preference records (what ``rmr1 distill`` reads).

    >>> sum_pair_records(1, seed=1)[0]["prompt"].startswith("What is ")
    True
    """
    triples = task.all_pairs()
    random.Random(seed).shuffle(triples)
    return [{"id": f"{a}+{b}:{w}", "prompt": task.question_text(a, b), "chosen": str(a + b), "rejected": str(w)}
            for a, b, w in triples[:n]]


if __name__ == "__main__":  # python -m rmr1_plugin.quickstart.teacher [PORT]: serve the sum teacher
    with ProgrammaticServer(sum_teacher(), port=int(sys.argv[1]) if len(sys.argv) > 1 else None) as server:
        print(f"serving {server.model} at {server.base_url} (Ctrl-C to stop)", flush=True)
        try:
            server._thread.join()
        except KeyboardInterrupt:
            pass
