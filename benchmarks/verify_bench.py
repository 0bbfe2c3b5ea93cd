"""Throughput of the verify batch APIs against a naive sequential loop, on the same inputs.

    python benchmarks/verify_bench.py            # all cases (a couple of minutes on 2 cores)
    python benchmarks/verify_bench.py --quick    # a smaller slice

Math: math-verify's own labelled cases (tests/verify/data) through ``verify_math_batch`` versus
``verify_math`` called once per pair, and versus plain ``math_verify.parse``/``verify`` in this
process. Code: HumanEval canonical solutions and mutants through ``run_code_tests_batch`` versus
the naive loop, one freshly started sandboxed interpreter per candidate, one at a time (the same
confinement, ``LocalSandbox(prefork=False)``), and versus ``run_code_tests`` called once per
candidate (which forks from the same warm zygote as the batch: that line isolates what parallel
workers add). Each line says whether the labels were identical; the target is a batch/naive
ratio of at least 1.7x on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rmr1_plugin.verify import run_code_tests, run_code_tests_batch, verify_math, verify_math_batch
from rmr1_plugin.verify.humaneval import humaneval_rows
from rmr1_plugin.verify.math import WORKER_MEMORY_MB, as_latex
from rmr1_plugin.verify.pool import DeadlinePool
from rmr1_plugin.verify.sandbox import LocalSandbox

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def math_rows(quick: bool) -> tuple[list[str], list[str]]:
    cases = [json.loads(line) for line in (ROOT / "tests/verify/data/math_verify_cases.jsonl").open()]
    cases = cases[:40] if quick else cases
    return [c["pred"] for c in cases], [c["gold"] for c in cases]


def fresh_math_pool() -> DeadlinePool:
    pool = DeadlinePool("rmr1_plugin.verify.math:check_pair", memory_mb=WORKER_MEMORY_MB)
    pool.map([{"response": "1", "gold": "1"}] * pool.workers, deadline=120)
    return pool


def plain_math_verify(responses: list[str], golds: list[str]) -> list[bool]:
    """The naive in-process loop: math-verify's own signal timeouts, main thread only."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    targets = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    return [bool(verify(parse(as_latex(g), targets), parse(r, targets))) for r, g in zip(responses, golds, strict=True)]


def code_rows(quick: bool) -> list[dict]:
    every = 4 if quick else 1
    rows = [r for pair in zip(humaneval_rows(every=every), humaneval_rows(mutate=True, every=every), strict=True) for r in pair]
    return [{k: r[k] for k in ("code", "tests", "entry_point", "helpers")} for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller slice of each suite")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 110))
    table = Table(title=f"verify throughput on {os.cpu_count()} cores: batch vs sequential")
    for column in ("suite", "items", "sequential s", "batch s", "ratio", "labels identical"):
        table.add_column(column, justify="right" if column not in ("suite",) else "left")

    responses, golds = math_rows(args.quick)
    # Fresh, started pools for each run: math-verify caches parses, a warm worker would flatter the second run.
    sequential_pool, batch_pool = fresh_math_pool(), fresh_math_pool()
    sequential, seq_s = timed(lambda: [verify_math(r, g, pool=sequential_pool) for r, g in zip(responses, golds, strict=True)])
    batch, batch_s = timed(lambda: verify_math_batch(responses, golds, pool=batch_pool))
    plain_math_verify(["1"], ["1"])  # import math-verify before timing, as the workers did
    plain, plain_s = timed(lambda: plain_math_verify(responses, golds))
    same = [r.status for r in sequential] == [r.status for r in batch]
    table.add_row("math: verify_math loop", str(len(golds)), f"{seq_s:.2f}", f"{batch_s:.2f}",
                  f"{seq_s / batch_s:.2f}x", str(same))
    table.add_row("math: plain math-verify loop", str(len(golds)), f"{plain_s:.2f}", f"{batch_s:.2f}",
                  f"{plain_s / batch_s:.2f}x", str(plain == [r.correct for r in batch]))

    rows = code_rows(args.quick)
    with LocalSandbox(prefork=False) as fresh, LocalSandbox() as warm:
        run_code_tests_batch(rows[:2], sandbox=fresh)  # warm the page cache for the interpreter
        run_code_tests_batch(rows[:4], sandbox=warm)  # start the zygotes, as a trainer's first batch would
        naive_code, naive_c = timed(lambda: [run_code_tests(**r, sandbox=fresh) for r in rows])
        sequential_code, seq_c = timed(lambda: [run_code_tests(**r, sandbox=warm) for r in rows])
        batch_code, batch_c = timed(lambda: run_code_tests_batch(rows, sandbox=warm))
    labels = [r.status for r in batch_code]
    same_code = [r.status for r in naive_code] == labels == [r.status for r in sequential_code]
    table.add_row("code: naive loop (fresh interpreter each)", str(len(rows)),
                  f"{naive_c:.2f}", f"{batch_c:.2f}", f"{naive_c / batch_c:.2f}x",
                  str([r.status for r in naive_code] == labels))
    table.add_row("code: run_code_tests loop (warm zygote)", str(len(rows)),
                  f"{seq_c:.2f}", f"{batch_c:.2f}", f"{seq_c / batch_c:.2f}x",
                  str([r.status for r in sequential_code] == labels))
    console.print(table)
    load = os.getloadavg()[0]
    console.print(f"1-minute load average {load:.1f} on {os.cpu_count()} cores"
                  + (" (other work competes for the cores: ratios shrink)" if load > (os.cpu_count() or 1) else ""))
    console.print(f"code: {len(rows) / batch_c:.0f} candidates/s in batch; targets (>= 1.7x on 2 cores): "
                  f"math batch vs verify_math loop {seq_s / batch_s:.2f}x, code batch vs naive loop {naive_c / batch_c:.2f}x")
    passed = sum(r.passed for r in batch_code)
    console.print(f"code: {passed} of {len(rows)} passed (expected {len(rows) // 2}: canonical pass, mutants fail)")
    return 0 if same and same_code else 1


if __name__ == "__main__":
    sys.exit(main())
