"""``rmr1 prepare``: preference pairs -> RM-R1 RLVR rows (verl, TRL) and SFT rows."""

from __future__ import annotations

import argparse
import json
import sys

from rmr1_plugin.data.formats import FORMATS, RecordError

NAME = "prepare"
HELP = "turn preference pairs into RM-R1 judge-training data (verl parquet, TRL JSONL, SFT JSONL)"
DESCRIPTION = """\
Read preference pairs and write RM-R1 judge-training data.

Inputs: local .json / .jsonl / .parquet files or Hugging Face dataset ids, in any of these shapes
(detected per record): skywork (chosen/rejected conversations), trl (prompt messages +
chosen/rejected assistant messages), plain (prompt + chosen + rejected strings), rm-bench,
rmb-pairwise, rmb-bon.

Outputs in --out:
  verl_train.parquet  data_source, prompt (judge messages), ability, reward_model{style,ground_truth}, extra_info
  trl_train.jsonl     prompt (judge messages), ground_truth (model_a|model_b), id, data_source
  sft_train.jsonl     prompt/completion conversations, when distilled chains are given (--chains
                      or chain+label fields in the records); only chains whose verdict is right
  *_val.*             with --val-fraction

The winner is placed in A or B by a seeded coin, so labels are balanced and reproducible.

Example (the file ships with the package):
  rmr1 prepare --example --out /tmp/rmr1-data --show-prompt
"""


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that say which pairs to read and how to show them to the judge (shared with
    ``rmr1 distill``, whose chains must be written for the prompts prepare builds)."""
    parser.add_argument("inputs", nargs="*", help="files or dataset ids to read")
    parser.add_argument("--example", action="store_true",
                        help="also read the small example file shipped with rmr1-plugin")
    parser.add_argument("--format", choices=FORMATS, help="force a record shape instead of detecting it")
    parser.add_argument("--style", choices=("instruct", "reasoning"), default="instruct",
                        help="judge prompt style: instruct (Qwen2.5-Instruct judges, system+user) or "
                             "reasoning (DeepSeek-R1-distilled judges, one user message); default instruct")
    parser.add_argument("--seed", type=int, default=0, help="seed of the A/B coin (default 0)")
    parser.add_argument("--split", default="train", help="split to read from a Hugging Face dataset id")
    parser.add_argument("--all-rm-bench-pairs", action="store_true",
                        help="RM-Bench: all 3x3 style combinations instead of the 3 same-style pairs")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="count malformed records and go on, instead of stopping at the first")
    parser.add_argument("--no-neutralize", action="store_true",
                        help="keep candidate text byte-exact (turns off the verdict-injection defence)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--chains",
                        help="JSON/JSONL of distilled judge outputs: id, chain, label (rmr1 distill writes it)")
    parser.add_argument("--val-fraction", type=float, default=0.0, help="share of rows held out for validation")
    parser.add_argument("--show-prompt", action="store_true", help="print the first judge prompt")


def example_path() -> str:
    """Path of the small example file shipped with the package."""
    from rmr1_plugin.data.io import example_file

    return example_file("pairs.jsonl")


def input_paths(args: argparse.Namespace) -> list[str]:
    """The inputs named on the command line, plus the shipped example with ``--example``."""
    return list(args.inputs) + ([example_path()] if args.example else [])


def run(args: argparse.Namespace) -> int:
    from rmr1_plugin.data.io import read_records
    from rmr1_plugin.data.prepare import prepare

    inputs = input_paths(args)
    if not inputs:
        print("rmr1 prepare: give at least one input file or --example", file=sys.stderr)
        return 2
    try:
        report = prepare(
            inputs, args.out, fmt=args.format, style=args.style, seed=args.seed, neutralize=not args.no_neutralize,
            chains=args.chains, val_fraction=args.val_fraction, split=args.split,
            all_rm_bench_pairs=args.all_rm_bench_pairs, skip_invalid=args.skip_invalid,
        )
    except (RecordError, ValueError, FileNotFoundError) as exc:
        print(f"rmr1 prepare: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary(), file=sys.stderr)
    if args.show_prompt:
        first = read_records(report.outputs["trl train"])[0][1]
        print(f"\nFirst judge prompt (label {first['ground_truth']}):")
        for message in first["prompt"]:
            print(f"----- {message['role']} -----")
            print(message["content"])
        print(json.dumps({"ground_truth": first["ground_truth"]}))
    return 0
