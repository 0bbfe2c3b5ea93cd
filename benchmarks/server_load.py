"""What the reward server itself costs and whether it stays fast with use: ``rmr1 serve`` in front
of a stub judge (``rmr1_plugin.server.stub``: an OpenAI-compatible endpoint that answers at once),
both on loopback, driven from this process.

1. Throughput (requests/s) and p50/p99 latency of keyed one-pair ``/judge`` requests (every call
   carries an ``Idempotency-Key``, as the client sends) at concurrency 8 and 64, ``--runs`` runs
   each, before and after ``--fill`` more keyed requests have filled the idempotency store
   (target: throughput after >= 0.9 x before).
2. Event-loop responsiveness: ``/health`` latency (p50/p99) while the largest request the server
   allows runs (adaptive ranking of 64-completion groups up to ``--max-request-calls``).

Medians over the runs are printed as a Markdown table (docs/server.md has one).

    nice -n 10 python benchmarks/server_load.py --runs 3 --requests 1000 --fill 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Self

import httpx

from rmr1_plugin.backends.local_server import free_port, wait_until_healthy
from rmr1_plugin.client import AsyncRewardClient

HOST = "127.0.0.1"
TARGET_RATIO = 0.9


def pair(i: int) -> dict[str, str]:
    """A distinct comparison per request, so every measured request reaches the judge."""
    return {"question": f"What is {i} + {i}?", "answer_a": str(2 * i), "answer_b": str(2 * i + 1)}


class Child:
    """A process on a free loopback port, stopped with SIGTERM."""

    def __init__(self, argv: list[str], health: str):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.health = health
        self.process = subprocess.Popen(
            [a.replace("{port}", str(self.port)) for a in argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "RMR1_SERVER_TOKEN": ""},
        )

    def __enter__(self) -> Self:
        wait_until_healthy(self.process, self.url + self.health, timeout=120, name=self.process.args[2], poll=0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


async def drive(call: Callable[[int], Awaitable[object]], first: int, count: int, concurrency: int) -> dict:
    """``call(i)`` for i in [first, first + count) with ``concurrency`` workers."""
    next_index, latencies, failures = first, [], 0

    async def worker() -> None:
        nonlocal next_index, failures
        while next_index < first + count:
            i, next_index = next_index, next_index + 1
            started = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:  # a benchmark counts failures instead of stopping
                failures += 1
                if failures <= 3:
                    print(f"request {i} failed: {exc}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]
    return {
        "rps": len(latencies) / wall,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "failed": failures,
    }


async def load(url: str, args: argparse.Namespace, phase: str, first: int) -> list[dict]:
    rows = []
    async with AsyncRewardClient(url, retries=0, timeout=120) as client:

        async def one(i: int) -> object:
            return await client.judge([pair(i)])

        for concurrency in (8, 64):
            runs = []
            for r in range(args.runs):
                start = first + (concurrency * 1000 + r) * args.requests
                runs.append(await drive(one, start, args.requests, concurrency))
            rows.append({"phase": phase, "concurrency": concurrency,
                         **{k: statistics.median(run[k] for run in runs) for k in ("rps", "p50", "p99")},
                         "failed": sum(run["failed"] for run in runs)})
            print(f"{phase}, {concurrency} in flight: {rows[-1]}", file=sys.stderr)
    return rows


async def fill(url: str, count: int) -> float:
    """``count`` keyed requests (one cached comparison each): the idempotency store fills up."""
    async with AsyncRewardClient(url, retries=3, timeout=120) as client:

        async def one(_: int) -> object:
            return await client.judge([pair(-1)])

        started = time.perf_counter()
        result = await drive(one, 0, count, 64)
        print(f"filled {count} keys in {time.perf_counter() - started:.0f} s ({result['failed']} failed)",
              file=sys.stderr)
        return result["rps"]


async def health_under_load(url: str, args: argparse.Namespace) -> dict:
    """/health latencies while the largest allowed request is ranked."""
    groups = args.max_request_calls // 4032
    body = {
        "groups": [{"prompt": f"Question {g}?", "completions": [f"answer {g}.{k}" for k in range(64)]}
                   for g in range(groups)],
        "strategy": "adaptive",
        "max_calls": 4032,
    }
    async with httpx.AsyncClient(timeout=120) as client:
        big = asyncio.create_task(client.post(f"{url}/score", json=body,
                                              headers={"X-Request-Timeout": str(args.big_seconds)}))
        await asyncio.sleep(0.5)
        latencies = []
        while not big.done():
            started = time.perf_counter()
            await client.get(f"{url}/health")
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
        answer = await big
    ordered = sorted(latencies) or [float("nan")]
    return {"probes": len(latencies), "p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], "status": answer.status_code,
            "groups": groups}


def store_lookup_us(entries: int, lookups: int = 2000) -> float:
    """Microseconds per keyed lookup in an idempotency store holding ``entries`` answers (in this
    process: what each keyed request pays, without HTTP around it)."""
    from rmr1_plugin.server.idempotency import IdempotencyStore

    async def run() -> float:
        store = IdempotencyStore(ttl_s=3600, max_entries=entries)

        async def work() -> int:
            return 1

        for k in range(entries):
            store.start(f"k{k}", "fp", work)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        started = time.perf_counter()
        for k in range(lookups):
            store.lookup(f"new{k}", "fp")
        return (time.perf_counter() - started) / lookups * 1e6

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="requests per run (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per setting; medians are reported (default 3)")
    parser.add_argument("--fill", type=int, default=100_000, help="keyed requests between before and after")
    parser.add_argument("--max-request-calls", type=int, default=32_768, help="the server's budget (default 32768)")
    parser.add_argument("--big-seconds", type=float, default=20.0,
                        help="deadline of the largest request while /health is probed (default 20)")
    parser.add_argument("--health-only", action="store_true", help="measure only /health under the largest request")
    args = parser.parse_args(argv)

    store = {n: statistics.median(store_lookup_us(n) for _ in range(3)) for n in (1_000, 100_000)}
    print(f"idempotency store lookup: {store[1_000]:.1f} us at 1k answers, {store[100_000]:.1f} us at "
          f"100k (ratio {store[100_000] / store[1_000]:.2f})", file=sys.stderr)

    stub = Child([sys.executable, "-m", "rmr1_plugin.server.stub", "{port}"], "/v1/models")
    with stub:
        server = Child(
            [sys.executable, "-m", "rmr1_plugin", "serve", "--host", HOST, "--port", "{port}",
             "--backend", "openai", "--model", "stub-judge", "--base-url", f"{stub.url}/v1",
             "--max-active", "64", "--max-queued", "256",
             "--max-request-calls", str(args.max_request_calls)],
            "/health",
        )
        with server:
            before = after = []
            if not args.health_only:
                before = asyncio.run(load(server.url, args, "before", 0))
                asyncio.run(fill(server.url, args.fill))
                after = asyncio.run(load(server.url, args, "after", 10**8))
            health = asyncio.run(health_under_load(server.url, args))

    print("\n| keyed requests stored | in flight | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for row in before + after:
        stored = "0" if row["phase"] == "before" else f"{args.fill:,}+"
        print(f"| {stored} | {row['concurrency']} | {row['rps']:.0f} | {row['p50'] * 1000:.1f} | "
              f"{row['p99'] * 1000:.1f} |")
    for b, a in zip(before, after, strict=True):
        ratio = a["rps"] / b["rps"]
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        print(f"\nthroughput after/before at {b['concurrency']} in flight: {ratio:.2f} "
              f"({verdict} the >= {TARGET_RATIO} target)")
    print(f"\nidempotency store lookup (in process): {store[1_000]:.1f} us at 1k answers, "
          f"{store[100_000]:.1f} us at 100k")
    print(f"\n/health while the largest allowed request runs ({health['groups']} groups x 64, adaptive, "
          f"{args.max_request_calls} calls budget; it answered {health['status']}): "
          f"{health['probes']} probes, p50 {health['p50'] * 1000:.1f} ms, p99 {health['p99'] * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
