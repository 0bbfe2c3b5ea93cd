"""Async batch judging vs one request at a time, against a real local OpenAI-compatible server.

Starts ``transformers serve`` (continuous batching, CPU) on a free 127.0.0.1 port with the tiny
local model (or ``--model DIR``), judges the same pairs twice — one request at a time, then as one
async batch — and prints both throughputs, their ratio (target: >= 4x) and the server-limited
ceiling: the throughput of raw requests when the server is flooded with more work than one batch.
The cache is off, so both runs generate every judgment.

    python benchmarks/judge_throughput.py                   # 32 pairs, both orders -> 64 requests
    python benchmarks/judge_throughput.py --pairs 16 --max-new-tokens 32
    # a server you started yourself, e.g. `vllm serve RM-R1-7B --port 8000` on a GPU machine:
    python benchmarks/judge_throughput.py --base-url http://127.0.0.1:8000/v1 --served-model RM-R1-7B
    python benchmarks/judge_throughput.py --json out.json   # also write the figures as JSON

On a CPU, ``transformers serve`` does not get faster per request when requests arrive together
(its batching saves little there), so the ratio stays near 1x; the 4x target needs a server that
batches, such as vLLM on a GPU.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rmr1_plugin.backends import GenerationSettings
from rmr1_plugin.backends.local_server import LocalServer
from rmr1_plugin.backends.openai import OpenAIBackend
from rmr1_plugin.data.io import example_file
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair
from rmr1_plugin.tiny import build_tiny_model


def example_pairs(n: int) -> list[JudgePair]:
    """``n`` pairs cycled from the packaged examples, each made unique so nothing is shared."""
    text = Path(example_file("pairs.jsonl")).read_text()
    rows = [row for row in map(json.loads, filter(str.strip, text.splitlines()))
            if all(isinstance(row.get(k), str) for k in ("prompt", "chosen", "rejected"))]
    return [JudgePair(question=f"{rows[k % len(rows)]['prompt']} (case {k})",
                      answer_a=rows[k % len(rows)]["chosen"], answer_b=rows[k % len(rows)]["rejected"])
            for k in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder to serve (default: build the tiny model)")
    parser.add_argument("--base-url", help="use this running OpenAI-compatible server instead of starting one")
    parser.add_argument("--served-model", help="the model name that server serves (with --base-url)")
    parser.add_argument("--pairs", type=int, default=32, help="pairs to judge (default 32)")
    parser.add_argument("--max-new-tokens", type=int, default=16, help="judge output limit (default 16)")
    parser.add_argument("--concurrency", type=int, default=64, help="async requests in flight (default 64)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    console = Console()

    if bool(args.base_url) != bool(args.served_model):
        parser.error("--base-url and --served-model go together")
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        if args.base_url:
            server = argparse.Namespace(base_url=args.base_url, model=args.served_model)
        else:
            model = args.model or str(build_tiny_model(Path(scratch) / "tiny"))
            console.log(f"starting transformers serve for {model}")
            server = stack.enter_context(LocalServer(model))
        backend = OpenAIBackend(server.base_url, model=server.model, max_concurrency=args.concurrency)
        config = JudgeConfig(swap="both", generation=GenerationSettings(max_new_tokens=args.max_new_tokens))
        pairs = example_pairs(args.pairs)
        requests = 2 * len(pairs)
        Judge(backend, config, cache=False).judge(pairs[:2])  # warm-up: load weights, first batch

        console.log(f"sequential: {len(pairs)} pairs x 2 orders, one request at a time")
        sequential_judge = Judge(backend, config.model_copy(update={"swap": "none"}), cache=False)
        start = time.perf_counter()
        sequential = []
        for pair in pairs:
            forward, = sequential_judge.judge([pair])
            backward, = sequential_judge.judge([pair.model_copy(update={"answer_a": pair.answer_b,
                                                                        "answer_b": pair.answer_a})])
            sequential.append((forward.texts, backward.texts))
        sequential_s = time.perf_counter() - start

        console.log("async batch: all pairs in one call")
        start = time.perf_counter()
        batched = Judge(backend, config, cache=False).judge(pairs)
        batch_s = time.perf_counter() - start

        console.log("ceiling: the server flooded with 4 batches of raw requests at once")
        flood = [p.messages("instruct", True, swapped) for p in pairs for swapped in (False, True)] * 4
        flooding = OpenAIBackend(server.base_url, model=server.model, max_concurrency=len(flood))
        start = time.perf_counter()
        flooding.generate(flood, config.generation)
        ceiling_rps = len(flood) / (time.perf_counter() - start)

    same = all(v.texts == s[0] + s[1] for v, s in zip(batched, sequential, strict=True))
    seq_rps, batch_rps = requests / sequential_s, requests / batch_s
    table = Table(title=f"judge throughput: {len(pairs)} pairs, both orders, max_new_tokens={args.max_new_tokens}")
    for column in ("mode", "requests", "seconds", "requests / s", "vs sequential"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    table.add_row("one request at a time", str(requests), f"{sequential_s:.2f}", f"{seq_rps:.2f}", "1.00x")
    table.add_row("async batch (Judge.judge)", str(requests), f"{batch_s:.2f}", f"{batch_rps:.2f}",
                  f"{batch_rps / seq_rps:.2f}x")
    table.add_row("server-limited ceiling (flooded)", str(len(flood)), f"{len(flood) / ceiling_rps:.2f}",
                  f"{ceiling_rps:.2f}", f"{ceiling_rps / seq_rps:.2f}x")
    console.print(table)
    ratio = batch_rps / seq_rps
    console.print(f"same judge outputs in both modes: {'yes' if same else 'NO'}")
    console.print(f"async batch / sequential = {ratio:.2f}x (target >= 4x): {'met' if ratio >= 4 else 'NOT met'}; "
                  f"async batch reaches {100 * batch_rps / ceiling_rps:.0f}% of the server-limited ceiling")
    if args.json:
        args.json.write_text(json.dumps({
            "pairs": len(pairs), "requests": requests, "max_new_tokens": args.max_new_tokens,
            "sequential_rps": seq_rps, "batch_rps": batch_rps, "saturated_rps": ceiling_rps, "same_outputs": same}))
    return 0 if ratio >= 4 and same else 1


if __name__ == "__main__":
    sys.exit(main())
