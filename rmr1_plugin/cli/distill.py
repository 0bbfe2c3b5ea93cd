"""``rmr1 distill``: preference pairs -> chain-of-rubrics judge chains from a teacher, in two passes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

NAME = "distill"
HELP = "distil RM-R1 judge chains from a teacher model (two passes), for rmr1 prepare --chains"
DESCRIPTION = """\
Generate the reasoning chains a judge is SFT-distilled on, from your own preference pairs, the
RM-R1 way:

  pass 1  the teacher judges each pair with the chain-of-rubrics prompt (--style); chains whose
          verdict names the chosen answer, and that pass the filters, are kept;
  pass 2  the rest go to --teacher2 (default: the same teacher) with the same prompt plus the
          correct verdict and the flawed chain, asking for a corrected, complete chain; kept only
          if it parses, its verdict is right, it passes the filters and does not mention the hint
          (a sentence that does is removed when the chain stays whole without it, else dropped).

Filters: a verdict (<answer>[[A]]</answer>), not cut off, the chain-of-rubrics parts for the
chain's task type (<rubric>+<eval> for Chat, <solution>+<eval> for Reasoning; --structure), at
most --max-chain-chars characters; then position balance: the kept set holds the chosen answer
at A as often as the data does (chains re-labelled by swapping answers and verdict, or dropped).

Inputs: the formats of rmr1 prepare (local .json/.jsonl/.parquet or a Hugging Face dataset id).
Teachers: any OpenAI-compatible endpoint (--base-url, several for a pool; vLLM, SGLang, a hosted
API; key from $OPENAI_API_KEY or --api-key-env), or --batch: write OpenAI batch-format input
files for a hosted batch API or `vllm run-batch`, and read their results on the next run.

Outputs in --out:
  chains.jsonl     {"id", "chain", "label", "pass"}: what rmr1 prepare --chains reads
  report.json      pass-1 accuracy, pass-2 recovery, kept / dropped with reasons, tokens per pass
  dropped.jsonl    one row per pair without a chain: id, pass, reason, detail
  judgments.jsonl  every answer, appended as it arrives: rerun the same command to resume
  batch/           pass{N}_input.jsonl to run, pass{N}_output.jsonl for its results (--batch)

Then: rmr1 prepare PAIRS --chains OUT/chains.jsonl --style STYLE --out DATA (same --style,
--seed and --no-neutralize as here).

Example (docs/distill.md has more):
  rmr1 distill pairs.jsonl --teacher Qwen/QwQ-32B --base-url http://127.0.0.1:8000/v1 --out distill/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rmr1_plugin.cli.prepare import add_input_arguments

    add_input_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder (rerun with the same folder to resume)")
    parser.add_argument("--teacher", required=True, help="served model name of the pass-1 teacher")
    parser.add_argument("--teacher2", help="served model name of the pass-2 teacher (default: --teacher)")
    parser.add_argument("--base-url", action="append",
                        help="OpenAI-compatible endpoint(s) of the teacher, repeat for a pool "
                             "(default $OPENAI_BASE_URL or http://127.0.0.1:8000/v1)")
    parser.add_argument("--teacher2-base-url", action="append", help="endpoint(s) of --teacher2 (default: --base-url)")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY",
                        help="environment variable holding the API key (default %(default)s; none needed for vLLM)")
    parser.add_argument("--batch", action="store_true",
                        help="batch-file mode: write OUT/batch/pass{N}_input.jsonl, "
                             "read OUT/batch/pass{N}_output.jsonl")
    parser.add_argument("--batch-results", action="append", default=[], metavar="FILE",
                        help="a batch results file to read (besides OUT/batch/pass{N}_output.jsonl)")
    parser.add_argument("--max-tokens", type=int, default=4096,
                        help="teacher output limit in tokens (default %(default)s)")
    parser.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default %(default)s)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default %(default)s)")
    parser.add_argument("--extra-body", type=json.loads, default=None, metavar="JSON",
                        help='extra request fields, e.g. \'{"reasoning_effort": "high"}\' or \'{"top_k": 20}\'')
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default %(default)s)")
    parser.add_argument("--retries", type=int, default=3, help="retries of a failed request (default %(default)s)")
    parser.add_argument("--structure", choices=("auto", "require", "off"), default="auto",
                        help="require <rubric>/<solution> + <eval> for the task type (auto: with --style instruct)")
    parser.add_argument("--max-chain-chars", type=int, default=20_000,
                        help="drop longer chains (default %(default)s characters)")
    parser.add_argument("--no-pass2", action="store_true", help="keep only pass-1 chains")
    parser.add_argument("--no-balance", action="store_true", help="do not balance A/B in the kept set")
    parser.add_argument("--limit", type=int, help="only the first N pairs (a trial run; a later full run resumes it)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the first prompt, the request count and a token estimate; send nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    import logging

    from rmr1_plugin.backends import GenerationSettings
    from rmr1_plugin.backends.base import BackendUnavailableError
    from rmr1_plugin.cli.prepare import input_paths
    from rmr1_plugin.data.formats import RecordError
    from rmr1_plugin.data.prepare import PrepareReport, load_pairs
    from rmr1_plugin.distill.run import DistillConfig, distill, render

    for noisy in ("httpx", "httpx2"):  # one line per request otherwise (openai's client logs through either)
        logging.getLogger(noisy).setLevel(logging.WARNING)
    inputs = input_paths(args)
    if not inputs:
        print("rmr1 distill: give at least one input file or --example", file=sys.stderr)
        return 2
    try:
        settings = GenerationSettings(max_new_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p)
        config = DistillConfig(style=args.style, neutralize=not args.no_neutralize, seed=args.seed,
                               structure=args.structure, max_chain_chars=args.max_chain_chars,
                               pass2=not args.no_pass2, balance=not args.no_balance, progress=not args.no_progress)
        loaded = PrepareReport()
        pairs = []
        for source in inputs:
            pairs += load_pairs(source, fmt=args.format, split=args.split, all_rm_bench_pairs=args.all_rm_bench_pairs,
                                skip_invalid=args.skip_invalid, report=loaded, progress=not args.no_progress)
    except (RecordError, ValueError, FileNotFoundError) as exc:
        print(f"rmr1 distill: error: {exc}", file=sys.stderr)
        return 1
    if args.limit is not None:
        pairs = pairs[: args.limit]
    out = Path(args.out)
    if args.dry_run:
        return _dry_run(pairs, out, args, settings, config)
    teacher, teacher2 = _teachers(args, settings, out)
    try:
        report = distill(pairs, out, teacher, teacher2=teacher2, settings=settings, config=config)
    except BackendUnavailableError as exc:
        print(f"rmr1 distill: error: {exc}\n(answers so far are in {out / 'judgments.jsonl'}; rerun to resume)",
              file=sys.stderr)
        return 1
    for reason, count in sorted(loaded.skipped.items()):
        report.skipped[f"{reason} (reading)"] += count
    print(render(report))
    if report.waiting:
        w = report.waiting
        print(f"next: run the batch file, e.g.\n  vllm run-batch -i {w['input']} -o {w['output']} --model "
              f"{args.teacher2 if w['pass'] == 2 and args.teacher2 else args.teacher}\nthen run this command again.")
        return 0
    neutral = " --no-neutralize" if args.no_neutralize else ""
    print(f"chains: {report.outputs['chains']}\nreport: {report.outputs['report']}\nnext: rmr1 prepare "
          f"{' '.join(inputs)} --chains {report.outputs['chains']} --style {args.style} --seed {args.seed}{neutral} "
          f"--out DATA")
    return 0


def _teachers(args: argparse.Namespace, settings, out: Path) -> tuple:
    from rmr1_plugin.distill.teachers import BatchTeacher, OnlineTeacher

    if args.batch:
        def batch(model: str) -> BatchTeacher:
            return BatchTeacher(model, settings, out / "batch", results=args.batch_results, extra_body=args.extra_body)
        return batch(args.teacher), batch(args.teacher2) if args.teacher2 else None

    from rmr1_plugin.backends.openai import OpenAIBackend

    def online(model: str, urls: list[str] | None) -> OnlineTeacher:
        urls = urls or args.base_url or [os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")]
        backend = OpenAIBackend(urls, model=model, api_key=os.environ.get(args.api_key_env),
                                max_concurrency=args.concurrency, timeout=args.timeout, max_retries=args.retries,
                                extra_body=args.extra_body)
        return OnlineTeacher(backend, settings)

    teacher = online(args.teacher, None)
    needs_second = args.teacher2 or args.teacher2_base_url
    return teacher, online(args.teacher2 or args.teacher, args.teacher2_base_url) if needs_second else None


def _dry_run(pairs, out: Path, args: argparse.Namespace, settings, config) -> int:
    from rmr1_plugin.distill.run import plan

    p = plan(pairs, out, args.teacher, settings=settings, config=config)
    for messages in p.first_prompts:
        print("First pass-1 prompt:")
        for message in messages:
            print(f"----- {message['role']} -----\n{message['content']}")
    print(f"\npairs read: {p.pairs}\npass-1 requests: {p.requests} ({p.already_answered} already answered in "
          f"{out / 'judgments.jsonl'}, {p.requests - p.already_answered} to send)\n"
          f"pass-1 prompt tokens: ~{p.prompt_tokens:,} (estimate: characters / 4)\n"
          f"pass-1 completion tokens: at most {p.max_completion_tokens:,} (--max-tokens {settings.max_new_tokens})\n"
          f"pass-2 requests: about {p.pass2_requests_expected} (a quarter, RM-R1's zero-shot error rate), each "
          f"with a prompt about twice as long")
    return 0
