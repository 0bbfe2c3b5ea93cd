"""``rmr1 eval``: evaluate a judge on RewardBench, RM-Bench or RMB."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

NAME = "eval"
HELP = "evaluate a judge on RewardBench, RM-Bench or RMB (official scores, per-sample log, table, chart)"
DESCRIPTION = """\
Evaluate a pairwise judge on a reward-model benchmark and score it the way the benchmark does.

Benchmarks and --data:
  rewardbench  allenai/reward-bench "filtered" split (prompt, chosen, rejected, subset): a local
               .json/.jsonl/.parquet file or the dataset id. Scores: Chat, Chat Hard, Safety,
               Reasoning (example-weighted; math-prm weighs as much as all hep-* code subsets) and
               their mean (prior sets at half weight when present).
  rm-bench     THU-KEG/RM-Bench: its data/ folder (chat/code/math/safety-*_filtered.json), one
               file, or the dataset id. All 9 style pairings per record are judged. Scores: easy,
               normal, hard (lower-left, diagonal, upper-right of the 3x3 style matrix) per domain
               and averaged over domains.
  rmb          RMB_dataset/ (Pairwise_set and/or BoN_set, or any subfolder or file). Scores:
               pairwise accuracy per category and goal, Best-of-N accuracy (the best answer must
               beat every loser), and the mean of the four goal numbers.

Outputs in --out (default outputs/eval/BENCHMARK):
  samples.jsonl  one line per comparison: id, category, the prompt shown, raw generations,
                 parsed judgments, winner, side chosen, correct, flip (--position both), error
  run.json       the settings; results.json the scores; accuracy.png per-category accuracy
Rerunning the same command resumes from samples.jsonl: judged comparisons are not judged again.

Examples:
  rmr1 eval --benchmark rm-bench --data RM-Bench/data --backend vllm --model gaotang/RM-R1-Qwen2.5-Instruct-7B
  rmr1 eval --benchmark rmb --data RMB_dataset --backend openai --model judge --base-url http://127.0.0.1:8000/v1
  rmr1 eval --benchmark rewardbench --data filtered.jsonl --backend replay --replay generations.jsonl
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rmr1_plugin.evaluate.benchmarks import BENCHMARKS

    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS, help="which benchmark --data holds")
    parser.add_argument("--data", required=True, help="file, folder or Hugging Face dataset id")
    parser.add_argument("--split", help="split of a dataset id (default: filtered for rewardbench, else train)")
    parser.add_argument("--limit", type=int, help="only the first N records (an RM-Bench record is 9 comparisons)")
    parser.add_argument("--out", help="output folder (default outputs/eval/BENCHMARK)")
    backend = parser.add_argument_group("judge backend")
    backend.add_argument("--backend", required=True, choices=("transformers", "vllm", "openai", "replay"),
                         help="transformers/vllm: a local checkpoint; openai: an OpenAI-compatible server; "
                              "replay: recorded generations")
    backend.add_argument("--model", help="checkpoint path or hub id (transformers, vllm), or served model name (openai)")
    backend.add_argument("--base-url", help="openai: server URL, e.g. http://127.0.0.1:8000/v1")
    backend.add_argument("--replay", help="replay: JSONL of recorded generations (lines of messages + text, as "
                                          "--record writes them)")
    backend.add_argument("--record", help="append every generation to this JSONL file, to replay the run later "
                                          "(e.g. with another parser or position policy) without a GPU")
    backend.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                         help="extra backend option (JSON values allowed), e.g. tensor_parallel_size=4; repeatable")
    judging = parser.add_argument_group("judging")
    judging.add_argument("--style", choices=("auto", "instruct", "reasoning"), default="auto",
                         help="prompt style: instruct (RM-R1 Qwen2.5-Instruct judges), reasoning (DeepSeek-distilled); "
                              "auto picks reasoning when the model name contains 'deepseek' (default)")
    judging.add_argument("--position", choices=("random", "both"), default="random",
                         help="random: chosen shown as A or B by a seeded coin (logged); both: judge both orders "
                              "and report the flip rate (twice the calls). Default random")
    judging.add_argument("--votes", type=int, default=1, help="judgments per order, majority wins (default 1)")
    judging.add_argument("--max-new-tokens", type=int,
                         help="generation budget per judgment (default: 8192 for the reasoning style, 4096 for instruct)")
    judging.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    judging.add_argument("--seed", type=int, default=0, help="seed of the A/B coin and of sampling (default 0)")
    judging.add_argument("--batch-size", type=int, default=16, help="comparisons per engine call and log write (default 16)")
    judging.add_argument("--cache", help="judgment cache file: identical prompts are not generated twice")
    judging.add_argument("--backend-errors", choices=("stop", "wrong"), default="stop",
                         help="when the backend fails for a prompt: stop (default; finished comparisons stay "
                              "logged, rerun to resume) or wrong (log it without a winner, count it as wrong)")
    judging.add_argument("--no-neutralize", action="store_true",
                         help="show candidate text byte-exact (turns off the verdict-injection defence)")
    parser.add_argument("--overwrite", action="store_true", help="discard an existing log in --out instead of resuming")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG chart")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rmr1_plugin.backends import BackendError, parse_backend_options
    from rmr1_plugin.data.formats import RecordError
    from rmr1_plugin.evaluate.engine import build_judge
    from rmr1_plugin.evaluate.log import LogError
    from rmr1_plugin.evaluate.report import plot_categories, print_results
    from rmr1_plugin.evaluate.runner import PLOT_NAME, EvalSettings, evaluate
    from rmr1_plugin.judge import JudgeError
    from rmr1_plugin.settings import DEFAULT_MAX_NEW_TOKENS, resolve_style

    log = logging.getLogger("rmr1.eval")
    out = Path(args.out or f"outputs/eval/{args.benchmark}")
    try:
        options = parse_backend_options(args.backend_option)
        style = resolve_style(args.style, args.model)
        settings = EvalSettings(
            benchmark=args.benchmark, data=str(args.data), split=args.split, limit=args.limit,
            backend=args.backend, model=args.model, position=args.position, votes=args.votes,
            style=style, neutralize=not args.no_neutralize, seed=args.seed,
            batch_size=args.batch_size, backend_errors=args.backend_errors,
            generation={"max_new_tokens": args.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[style], "temperature": args.temperature},
        )
        judge = build_judge(settings, base_url=args.base_url, replay=args.replay, cache=args.cache,
                            record=args.record, options=options)
        log.info("evaluating %s on %s (%s), writing to %s", args.model or args.backend, args.benchmark, args.data, out)
        results = evaluate(settings, out, judge, overwrite=args.overwrite, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"\nrmr1 eval: interrupted; rerun the same command to resume from {out / 'samples.jsonl'}",
              file=sys.stderr)
        return 130
    except (JudgeError, BackendError) as exc:
        print(f"rmr1 eval: the backend failed: {exc}\nFinished comparisons are in {out / 'samples.jsonl'}; "
              "rerun the same command to resume (or pass --backend-errors wrong to count failures as wrong).",
              file=sys.stderr)
        return 1
    except (RecordError, LogError, ValueError, FileNotFoundError) as exc:
        print(f"rmr1 eval: error: {exc}", file=sys.stderr)
        return 1
    print_results(results)
    if not args.no_plot:
        plot = plot_categories(results, out / PLOT_NAME)
        log.info("wrote %s", plot)
    log.info("wrote %s and %s", out / "results.json", out / "samples.jsonl")
    return 0
