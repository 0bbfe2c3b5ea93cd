"""``rmr1 quickstart``: train a judge, then a policy with it as the reward, and measure both."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rmr1_plugin.types import STRATEGIES

NAME = "quickstart"
HELP = "train a tiny RM-R1 judge (SFT + RLVR) and a policy with it as the only reward, on CPU; print the results"
DESCRIPTION = """\
Run the whole mission in miniature, with TRL's trainers and no downloads:

  1. build a tiny judge and policy (Qwen2 architecture, tokenizer trained here), and a synthetic
     judging task: two answers to a one-digit sum, one right and one wrong, A/B balanced;
  2. SFT-distil the judge on chain-of-rubrics outputs (<type>Reasoning</type>, <solution>,
     <eval>, <answer>[[A]]</answer>), every training pair in both A/B orders; every 50 steps
     the judge's verdict accuracy on a validation split (never trained on, disjoint from the
     test pairs) picks the best checkpoint, and training stops once it reaches 99%;
  3. GRPO (RLVR) of the judge with the verdict reward, kept only if it beats the SFT judge on
     validation;
  4. warm the policy up on noisy answers (half wrong) to two thirds of the questions, then GRPO
     it on them (8 samples per question) with the trained judge as the only reward (the math
     verifier only measures, on those questions and on held-out ones).

It prints judge verdict accuracy on held-out pairs and on questions the judge never saw in any
form (a few operand pairs, both orders, left out of all judge data; the policy trains on them)
before SFT / after SFT / after RLVR, the format-error rate, the policy's verified correctness
before/after GRPO (trained, held-out and judge-unseen questions), the share of groups whose
top-rewarded answer is wrong, time per stage, and where the models are (docs/trl.md has the
measurements). benchmarks/quickstart_targets.py --seeds 0-4 checks the targets over seeds;
benchmarks/efficacy.py compares the judge with other rewards.

Presets: --smoke (every stage, a few steps: checks the plumbing, not the targets),
default (the targets, a few minutes on 2 CPU cores), --full (longer, clearer policy gain).

Real checkpoints (GPU): --judge-model and --model replace the tiny models, e.g.
  rmr1 quickstart --judge-model Qwen/Qwen2.5-0.5B-Instruct --model Qwen/Qwen2.5-0.5B-Instruct --device cuda
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="outputs/quickstart", help="folder for models and results (default %(default)s)")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--smoke", action="store_true", help="few steps per stage (CI)")
    preset.add_argument("--full", action="store_true", help="more steps: a clearer policy gain, longer run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for CI logs)")
    parser.add_argument("--prepare-only", action="store_true",
                        help="only build the tiny models and write the datasets (what recipes/trl/tiny train on)")
    parser.add_argument("--judge-model", help="judge checkpoint (folder or hub id) instead of the tiny one")
    parser.add_argument("--model", help="policy checkpoint (folder or hub id) instead of the tiny one")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, models and training (default 0)")
    parser.add_argument("--sft-steps", type=int, help="judge SFT steps (overrides the preset)")
    parser.add_argument("--grpo-steps", type=int, help="policy GRPO steps (overrides the preset)")
    parser.add_argument("--strategy", choices=STRATEGIES,
                        help="how the judge ranks each group of policy completions (default round_robin)")


def run(args: argparse.Namespace) -> int:
    from rmr1_plugin.quickstart.pipeline import QuickstartConfig, run_quickstart
    from rmr1_plugin.quickstart.report import render, target_checks

    for noisy in ("transformers", "datasets", "httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.device and args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(f"rmr1 quickstart: --device {args.device}, but this torch build or machine has no CUDA "
                  f"(torch {torch.__version__}); use --device cpu, or install a CUDA build of torch on a GPU machine",
                  file=sys.stderr)
            return 2
    if args.no_progress:  # the trainers' bars follow disable_tqdm; these libraries draw their own
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
    preset = "smoke" if args.smoke else "full" if args.full else "default"
    out = Path(args.out)
    config = QuickstartConfig.preset(
        preset, out, judge_model=args.judge_model, model=args.model, device=args.device, seed=args.seed,
        sft_steps=args.sft_steps, grpo_steps=args.grpo_steps, strategy=args.strategy,
        progress_bars=False if args.no_progress else None,
    )
    logging.getLogger(__name__).info("rmr1 quickstart (%s preset) writing to %s", preset, out)
    if args.prepare_only:
        from rmr1_plugin.quickstart.pipeline import build_models, write_datasets

        judge, policy = build_models(config)
        for name, folder in {"judge": judge, "policy": policy, **write_datasets(config)}.items():
            print(f"{name}: {folder}")
        return 0
    result = run_quickstart(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
    (out / "results.json").write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    print(render(result))
    print(f"results: {out / 'results.json'}")
    if preset != "smoke" and not all(target_checks(result).values()):
        print("note: some targets were not reached on this run (see the boxes above)", file=sys.stderr)
    return 0
