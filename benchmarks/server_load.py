"""What the reward server costs: the same judge load sent straight to the backend and through
``rmr1 serve``, from this process, on loopback.

The judge backend is an OpenAI-compatible server: by default ``transformers serve`` with a tiny
local model started here (``--backend-url`` points at a running one instead, e.g. vLLM with a real
RM-R1 checkpoint). Both runs send the same number of distinct one-pair ``/judge`` requests (no
cache hits) at the same concurrency, stopping at ``--requests`` or ``--duration``, whichever comes
first. Printed: throughput and p50/p99 latency of each run, and the throughput the server loses
(target: under 15%).

    python benchmarks/server_load.py --requests 200 --duration 120 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.client import AsyncRewardClient
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair

HOST = "127.0.0.1"
TARGET_OVERHEAD = 0.15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen, ok: Callable[[httpx.Response], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            if ok(httpx.get(url, timeout=2)):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def pair(i: int) -> dict[str, str]:
    """A distinct comparison per request, so neither run is helped by a cache."""
    return {"question": f"What is {i} + {i}?", "answer_a": str(2 * i), "answer_b": str(2 * i + 1)}


async def drive(call: Callable[[int], Awaitable[object]], first: int, count: int, duration: float,
                concurrency: int) -> tuple[list[float], float, int]:
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
            except Exception as exc:  # a benchmark reports failures instead of stopping
                failures += 1
                print(f"request {i} failed: {exc}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, failures


def summary(name: str, latencies: list[float], wall: float, failures: int) -> dict[str, float | str]:
    ordered = sorted(latencies) or [float("nan")]
    return {"run": name, "requests": len(latencies), "failed": failures, "seconds": wall,
            "throughput": len(latencies) / wall if wall else 0.0,
            "p50": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend-url", help="running OpenAI-compatible judge (default: start a tiny one here)")
    parser.add_argument("--model", help="model name at --backend-url")
    parser.add_argument("--requests", type=int, default=200, help="requests per run (default 200)")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds per run at most (default 120)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="judge output length (default 32)")
    parser.add_argument("--warmup", type=int, default=8, help="requests sent before each run, not measured")
    args = parser.parse_args(argv)
    console = Console()
    children: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base_url, model = args.backend_url, args.model
            if base_url is None:
                from rmr1_plugin.tiny import build_tiny_model

                model = str(build_tiny_model(Path(tmp) / "tiny"))
                port = free_port()
                console.print(f"starting transformers serve (tiny model) on {HOST}:{port}")
                backend_process = subprocess.Popen(
                    ["transformers", "serve", model, "--host", HOST, "--port", str(port), "--device", "cpu"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                children.append(backend_process)
                wait_http(f"http://{HOST}:{port}/health", 180, backend_process, lambda r: r.status_code == 200)
                base_url = f"http://{HOST}:{port}/v1"
            if model is None:
                parser.error("--model is required with --backend-url")
            settings = GenerationSettings(max_new_tokens=args.max_new_tokens)

            # 1. Straight to the backend, through the engine in this process.
            judge = Judge(make_backend("openai", base_urls=[base_url], model=model),
                          JudgeConfig(generation=settings), cache=None)

            async def direct(i: int) -> object:
                verdicts = await judge.ajudge([JudgePair(**pair(i))])
                if verdicts[0].error and not verdicts[0].judgments:
                    raise RuntimeError(verdicts[0].error)
                return verdicts

            asyncio.run(drive(direct, 10**6, args.warmup, args.duration, args.concurrency))
            direct_run = summary("direct (engine -> backend)",
                                 *asyncio.run(drive(direct, 0, args.requests, args.duration, args.concurrency)))

            # 2. Through the reward server, a separate process.
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "rmr1_plugin", "serve", "--backend", "openai", "--model", model,
                 "--base-url", base_url, "--max-new-tokens", str(args.max_new_tokens), "--host", HOST,
                 "--port", str(port), "--max-active", str(args.concurrency), "--max-queued", str(4 * args.concurrency)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, "RMR1_SERVER_TOKEN": ""})
            children.append(server)
            url = f"http://{HOST}:{port}"
            wait_http(f"{url}/health", 120, server, lambda r: r.status_code == 200)

            async def through_server() -> tuple[list[float], float, int]:
                async with AsyncRewardClient(url, retries=0) as client:
                    async def one(i: int) -> object:
                        return await client.judge([pair(i)])

                    await drive(one, 2 * 10**6, args.warmup, args.duration, args.concurrency)
                    return await drive(one, args.requests, args.requests, args.duration, args.concurrency)

            server_run = summary("through rmr1 serve", *asyncio.run(through_server()))
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()

    table = Table(title=f"judge load: {args.concurrency} in flight, one pair per request, "
                        f"{args.max_new_tokens} new tokens")
    for column in ("run", "requests", "failed", "seconds", "pairs/s", "p50 s", "p99 s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run in (direct_run, server_run):
        table.add_row(str(run["run"]), str(run["requests"]), str(run["failed"]), f"{run['seconds']:.1f}",
                      f"{run['throughput']:.2f}", f"{run['p50']:.3f}", f"{run['p99']:.3f}")
    console.print(table)
    overhead = 1 - server_run["throughput"] / direct_run["throughput"] if direct_run["throughput"] else float("nan")
    verdict = "meets" if overhead < TARGET_OVERHEAD else "misses"
    console.print(f"server overhead: {overhead:.1%} of direct throughput "
                  f"(ratio {server_run['throughput'] / direct_run['throughput']:.3f}; "
                  f"{verdict} the < {TARGET_OVERHEAD:.0%} target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
