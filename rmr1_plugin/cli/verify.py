"""``rmr1 verify math|code``: check math answers or run code against tests, JSONL in, JSONL out."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

NAME = "verify"
HELP = "check math answers (math-verify) or run code against tests in a sandbox, JSONL in, JSONL out"
DESCRIPTION = """\
Verify responses without a judge model.

  rmr1 verify math --input answers.jsonl [--output results.jsonl]
      each line: {"id": ..., "response": "... \\\\boxed{7\\\\pi}", "gold": "7\\\\pi"}
      out: status (correct|incorrect|unparsable|timeout|error), correct, extracted, parsed_answer,
           parsed_gold, error, seconds. Each pair has a hard deadline (--deadline) enforced by killing
           a worker process; pairs run in parallel, one worker per core.
  rmr1 verify math --example      five answers shipped with the package (right, wrong, unparsable)

  rmr1 verify code --input programs.jsonl [--output results.jsonl]
      each line: {"id": ..., "code": "...", "tests": "assert f(1) == 2"}            (assertion code)
             or: {"id": ..., "code": "...", "inputs": ["1\\n"], "outputs": ["2\\n"]}  (stdin/stdout)
      optional "entry_point": after the tests, call check(<entry_point>) (HumanEval's convention);
      optional "helpers": the task's own code the tests call (HumanEval's prompt), run with the tests.
      out: status (passed|failed|timeout|error|sandbox_error|unverified), passed, tests (one per
           test), error, isolation (what confinement was applied, and what could not be), seconds.
      Every candidate runs in a fresh sandboxed process: no network, nothing of the host's files or
      processes, no inherited environment, CPU/memory/process/file-size limits, whole process tree
      killed at the deadline. --fusion-url runs on a SandboxFusion server instead. A pass from a
      run whose isolation is incomplete (or from assertion tests on SandboxFusion, where the
      candidate can forge it) is "unverified" unless --accept-weak-isolation.

Output: one JSON line per input line, in input order, with the input's "id" when present; to
stdout unless --output is given. A malformed line gets status "error" with a message naming the
line and field; the rest still run. A summary table goes to stderr.
"""

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    math = sub.add_parser("math", help="check final answers against gold answers (fields: response, gold)",
                          description="Check final answers against gold answers (fields: response, gold).")
    code = sub.add_parser("code", help="run programs against tests (fields: code, tests | inputs+outputs)",
                          description="Run programs against tests (fields: code, and tests or inputs+outputs).")
    source = math.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="JSONL file to read ('-' for stdin)")
    source.add_argument("--example", action="store_true",
                        help="read the example file shipped with rmr1-plugin (math_answers.jsonl)")
    code.add_argument("--input", required=True, help="JSONL file to read ('-' for stdin)")
    for command in (math, code):
        command.add_argument("--output", help="JSONL file to write (default: stdout)")
        command.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per core)")
    math.add_argument("--deadline", type=float, default=5.0, help="seconds per pair, hard (default 5)")
    math.add_argument("--require-marker", action="store_true",
                      help="only accept answers marked by <answer>, \\boxed or 'the answer is' (no last-number guess)")
    code.add_argument("--timeout", type=float, default=30.0, help="seconds for all tests of one program (default 30)")
    code.add_argument("--test-timeout", type=float, default=5.0, help="seconds per test (default 5)")
    code.add_argument("--memory-mb", type=int, default=1024, help="address-space limit per process, MiB (default 1024)")
    code.add_argument("--extract-code", action="store_true",
                      help="run the last ```python fenced block of 'code' instead of the whole field")
    code.add_argument("--fusion-url", help="run on this SandboxFusion server (POST /run_code) instead of locally")
    code.add_argument("--accept-weak-isolation", action="store_true",
                      help="count passes from runs without full isolation (this OS refused part of it, or "
                           "assertion tests on SandboxFusion) instead of reporting them as 'unverified'")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "example", False):
        from rmr1_plugin.data.io import example_file

        args.input = example_file("math_answers.jsonl")
    try:
        rows = list(_read_rows(args.input))
    except OSError as exc:
        print(f"rmr1 verify: cannot read {args.input}: {exc}", file=sys.stderr)
        return 1
    start = time.monotonic()
    records = _verify_math(rows, args) if args.kind == "math" else _verify_code(rows, args)
    elapsed = time.monotonic() - start
    try:
        with (open(args.output, "w", encoding="utf-8") if args.output else nullcontext(sys.stdout)) as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        print(f"rmr1 verify: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    _summary(args.kind, records, elapsed)
    return 0


def _read_rows(path: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON or an error string) for each non-blank line."""
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"line {number}: invalid JSON: {exc}"


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="row", file=sys.stderr, disable=None)


def _verify_math(rows: list[tuple[int, Any]], args: argparse.Namespace) -> list[dict]:
    from rmr1_plugin.verify.math import default_pool, verify_math_batch
    from rmr1_plugin.verify.pool import DeadlinePool

    records: list[dict | None] = [None] * len(rows)
    todo = []
    for slot, (number, row) in enumerate(rows):
        problem = _row_problem(number, row, ("response", "gold"))
        if problem:
            records[slot] = _with_id(row, {"status": "error", "correct": False, "error": problem})
        else:
            todo.append(slot)
    pool = DeadlinePool("rmr1_plugin.verify.math:check_pair", workers=args.workers) if args.workers else default_pool()
    log.info("checking %d pairs (%d malformed) on %d worker processes, %g s deadline per pair",
             len(todo), len(rows) - len(todo), pool.workers, args.deadline)
    chunk = 4 * pool.workers
    with _progress(len(rows), "math") as bar:
        bar.update(len(rows) - len(todo))
        for at in range(0, len(todo), chunk):
            slots = todo[at:at + chunk]
            results = verify_math_batch([rows[s][1]["response"] for s in slots], [rows[s][1]["gold"] for s in slots],
                                        deadline=args.deadline, require_marker=args.require_marker, pool=pool)
            for slot, result in zip(slots, results, strict=True):
                number = rows[slot][0]
                record = result.model_dump(exclude={"kind"})
                if result.status == "error" and record.get("error"):
                    record["error"] = f"line {number}: {record['error']}"
                records[slot] = _with_id(rows[slot][1], record)
            bar.update(len(slots))
    if args.workers:
        pool.close()
    return records  # type: ignore[return-value]


def _verify_code(rows: list[tuple[int, Any]], args: argparse.Namespace) -> list[dict]:
    from rmr1_plugin.verify.code import TaskError, make_task, run_code_tests_batch
    from rmr1_plugin.verify.rewards import extract_code
    from rmr1_plugin.verify.sandbox import Limits, LocalSandbox, SandboxFusionSandbox

    accept = args.accept_weak_isolation
    sandbox = (SandboxFusionSandbox(args.fusion_url, accept_weak_isolation=accept) if args.fusion_url
               else LocalSandbox(accept_weak_isolation=accept))
    records: list[dict | None] = [None] * len(rows)
    tasks, slots = [], []
    for slot, (number, row) in enumerate(rows):
        problem = _row_problem(number, row, ("code",))
        if not problem:
            try:
                if args.extract_code and isinstance(row.get("code"), str):
                    row = {**row, "code": extract_code(row["code"])}
                tasks.append(make_task(row))
                slots.append(slot)
                continue
            except TaskError as exc:
                problem = f"line {number}: {exc}"
        records[slot] = _with_id(row, {"status": "error", "passed": False, "error": problem})
    limits = Limits(cpu_s=max(1, int(args.timeout) + 1), memory_mb=args.memory_mb)
    log.info("running %d programs (%d malformed) in the %s sandbox, %g s per test, %g s per program",
             len(tasks), len(rows) - len(tasks), sandbox.name, args.test_timeout, args.timeout)
    with _progress(len(rows), "code") as bar:
        bar.update(len(rows) - len(tasks))
        results = run_code_tests_batch(tasks, sandbox=sandbox, workers=args.workers, timeout=args.timeout,
                                       test_timeout=args.test_timeout, limits=limits, progress=lambda: bar.update(1))
    for slot, result in zip(slots, results, strict=True):
        records[slot] = _with_id(rows[slot][1], result.model_dump(exclude={"kind"}))
    return records  # type: ignore[return-value]


def _row_problem(number: int, row: Any, required: tuple[str, ...]) -> str | None:
    if isinstance(row, str):
        return row
    if not isinstance(row, dict):
        return f"line {number}: expected a JSON object, got {type(row).__name__}"
    missing = [name for name in required if name not in row]
    if missing:
        return f"line {number}: missing field {missing[0]!r}"
    return None


def _with_id(row: Any, record: dict) -> dict:
    return {"id": row["id"], **record} if isinstance(row, dict) and "id" in row else record


def _summary(kind: str, records: list[dict], elapsed: float) -> None:
    from rich.console import Console
    from rich.table import Table

    counts = Counter(record["status"] for record in records)
    console = Console(file=sys.stderr)
    console.print(f"rmr1 verify {kind}: {len(records)} rows in {elapsed:.1f} s")
    table = Table()
    table.add_column("status")
    table.add_column("rows", justify="right")
    table.add_column("share", justify="right")
    for status, count in counts.most_common():
        table.add_row(status, str(count), f"{count / max(1, len(records)):.1%}")
    console.print(table)
    if kind == "code":
        notes = {note for r in records for note in ((r.get("isolation") or {}).get("notes") or [])}
        for note in sorted(notes):
            console.print(f"[yellow]isolation note:[/] {note}")
