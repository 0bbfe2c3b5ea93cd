"""What the reward server costs: the same judge load sent straight to the backend and through
``rmr1 serve``, from this process, on loopback.

The judge backend is an OpenAI-compatible server: by default ``transformers serve`` with a tiny
local model started here (``--backend-url``/``--model`` point at a running one instead, e.g.
vLLM with a real RM-R1 checkpoint). Each run sends distinct one-pair ``/judge`` requests (no cache
hits) at a fixed concurrency and stops at ``--requests`` or ``--duration``, whichever comes first.
Direct and server runs alternate for ``--rounds`` rounds, so drifting machine load hits both.

Printed: throughput and p50/p99 latency per run, the median throughput of each mode and the
share the server loses (target: under 15%). A second table drives the server with the replay
backend (no model at all), which isolates the server's own cost per request.

    python benchmarks/server_load.py --requests 200 --duration 120 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Self

from rich.console import Console
from rich.table import Table
from rmr1_plugin.backends.local_server import LocalServer, free_port, wait_until_healthy

from rmr1_plugin import build_judge_messages
from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.client import AsyncRewardClient
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair

HOST = "127.0.0.1"
TARGET_OVERHEAD = 0.15
Run = dict[str, float | str]


def pair(i: int) -> dict[str, str]:
    """A distinct comparison per request, so no run is helped by a cache."""
    return {"question": f"What is {i} + {i}?", "answer_a": str(2 * i), "answer_b": str(2 * i + 1)}


async def drive(
    call: Callable[[int], Awaitable[object]],
    first: int,
    count: int,
    duration: float,
    concurrency: int,
) -> tuple[list[float], float, int]:
    """Run ``call(i)`` for i in [first, first + count) with ``concurrency`` workers until done or
    ``duration`` passes; return per-request latencies, the wall time and the failures."""
    next_index, latencies, failures = first, [], 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal next_index, failures
        while next_index < first + count and time.monotonic() < stop_at:
            i, next_index = next_index, next_index + 1
            started = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:  # noqa: BLE001 - a benchmark reports failures instead of stopping
                failures += 1
                print(f"request {i} failed: {exc}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, failures


def summary(name: str, latencies: list[float], wall: float, failures: int) -> Run:
    ordered = sorted(latencies) or [float("nan")]
    return {
        "run": name,
        "requests": len(latencies),
        "failed": failures,
        "seconds": wall,
        "throughput": len(latencies) / wall if wall else 0.0,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


class RewardServerProcess:
    """``rmr1 serve`` as a separate process on a free loopback port."""

    def __init__(self, *args: str):
        self.url = f"http://{HOST}:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rmr1_plugin", "serve", "--host", HOST, "--port", port, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "RMR1_SERVER_TOKEN": ""},
        )

    def __enter__(self) -> Self:
        wait_until_healthy(self.process, f"{self.url}/health", timeout=120, name="rmr1 serve", poll=0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def through_server(url: str, first: int, args: argparse.Namespace) -> Run:
    async def run() -> tuple[list[float], float, int]:
        async with AsyncRewardClient(url, retries=0) as client:

            async def one(i: int) -> object:
                return await client.judge([pair(i)])

            await drive(one, 10**7 + first, args.warmup, args.duration, args.concurrency)
            return await drive(one, first, args.requests, args.duration, args.concurrency)

    return summary("through rmr1 serve", *asyncio.run(run()))


def direct(judge: Judge, first: int, args: argparse.Namespace, name: str) -> Run:
    async def one(i: int) -> object:
        (verdict,) = await judge.ajudge([JudgePair(**pair(i))])
        if verdict.error and verdict.error.startswith("no verdict: backend error"):
            raise RuntimeError(verdict.error)
        return verdict

    asyncio.run(drive(one, 2 * 10**7 + first, args.warmup, args.duration, args.concurrency))
    return summary(
        name, *asyncio.run(drive(one, first, args.requests, args.duration, args.concurrency))
    )


def table(title: str, runs: list[Run]) -> Table:
    out = Table(title=title)
    for column in ("run", "requests", "failed", "seconds", "pairs/s", "p50 s", "p99 s"):
        out.add_column(column, justify="left" if column == "run" else "right")
    for run in runs:
        out.add_row(
            str(run["run"]),
            str(run["requests"]),
            str(run["failed"]),
            f"{run['seconds']:.1f}",
            f"{run['throughput']:.2f}",
            f"{run['p50']:.4f}",
            f"{run['p99']:.4f}",
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend-url", help="running OpenAI-compatible judge (default: start a tiny one here)"
    )
    parser.add_argument("--model", help="model name at --backend-url")
    parser.add_argument("--requests", type=int, default=200, help="requests per run (default 200)")
    parser.add_argument(
        "--duration", type=float, default=120.0, help="seconds per run at most (default 120)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="direct/server run pairs, alternated (default 2)"
    )
    parser.add_argument(
        "--max-new-tokens", type=int, default=32, help="judge output length (default 32)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help="requests sent before each run, not measured (default: twice --concurrency)",
    )
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = 2 * args.concurrency
    if args.backend_url and not args.model:
        parser.error("--model is required with --backend-url")
    console = Console()
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    server_flags = [
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--max-active",
        str(args.concurrency),
        "--max-queued",
        str(4 * args.concurrency),
    ]

    with tempfile.TemporaryDirectory() as tmp:
        local = None
        if args.backend_url is None:
            from rmr1_plugin.tiny import build_tiny_model

            local = LocalServer(build_tiny_model(Path(tmp) / "tiny"))
            console.print(f"starting transformers serve (tiny model) at {local.base_url}")
            local.start()
        base_url, model = (local.base_url, local.model) if local else (args.backend_url, args.model)
        try:
            judge = Judge(
                make_backend("openai", base_urls=[base_url], model=model),
                JudgeConfig(generation=settings),
                cache=False,
            )
            runs: list[Run] = []
            with RewardServerProcess(
                "--backend", "openai", "--model", model, "--base-url", base_url, *server_flags
            ) as server:
                for r in range(args.rounds):
                    first = r * 2 * args.requests
                    console.print(f"round {r + 1}/{args.rounds}: direct, then through the server")
                    runs.append(direct(judge, first, args, "direct (engine -> backend)"))
                    runs.append(through_server(server.url, first + args.requests, args))
        finally:
            if local is not None:
                local.stop()

        # The server's own cost: the same load with recorded judge outputs and no model at all.
        replay = Path(tmp) / "replay.jsonl"
        count = 2 * args.rounds * args.requests
        with replay.open("w") as handle:
            for i in (
                list(range(count))
                + [10**7 + i for i in range(count)]
                + [2 * 10**7 + i for i in range(count)]
            ):
                p = pair(i)
                row = {
                    "messages": build_judge_messages(p["question"], p["answer_a"], p["answer_b"]),
                    "text": "<type>Reasoning</type><solution>x</solution><eval>y</eval><answer>[[A]]</answer>",
                }
                handle.write(json.dumps(row) + "\n")
        replay_judge = Judge(
            make_backend("replay", path=str(replay)), JudgeConfig(generation=settings), cache=False
        )
        with RewardServerProcess(
            "--backend", "replay", "--backend-option", f"path={replay}", *server_flags
        ) as server:
            replay_runs = [
                direct(replay_judge, 0, args, "direct (engine, replay)"),
                through_server(server.url, args.requests, args),
            ]

    title = (
        f"judge load: {args.concurrency} in flight, one pair per request, {args.max_new_tokens} new tokens, "
        f"{args.rounds} rounds"
    )
    console.print(table(title, runs))
    direct_tput = statistics.median(
        float(r["throughput"]) for r in runs if str(r["run"]).startswith("direct")
    )
    server_tput = statistics.median(
        float(r["throughput"]) for r in runs if str(r["run"]).startswith("through")
    )
    overhead = 1 - server_tput / direct_tput if direct_tput else float("nan")
    verdict = "meets" if overhead < TARGET_OVERHEAD else "misses"
    console.print(
        f"median throughput: direct {direct_tput:.2f} pairs/s, through the server {server_tput:.2f} "
        f"pairs/s; server overhead {overhead:.1%} (ratio {server_tput / direct_tput:.3f}; "
        f"{verdict} the < {TARGET_OVERHEAD:.0%} target)"
    )
    console.print(table("the server's own cost (replay backend: no model)", replay_runs))
    per_request = (float(replay_runs[1]["p50"]) - float(replay_runs[0]["p50"])) * 1000
    console.print(
        f"server cost per request at p50: {per_request:.1f} ms "
        f"(HTTP, validation, admission, idempotency, metrics)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
