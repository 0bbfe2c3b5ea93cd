"""The reward comparison of issue 12: does the RM-R1 judge beat what a user would pick instead?

Same synthetic task, same warm-up policy checkpoint, same policy GRPO budget (steps, questions,
samples per question) for every reward, over several seeds:

  rmr1_round_robin  the quickstart's judge (SFT + RLVR, chain-of-rubrics), G(G-1) calls per group
  rmr1_adaptive     the same judge, adaptive ranking within 2G calls
  direct            same backbone and SFT budget, distilled to answer <answer>[[A]]</answer> only
  scalar_rm         same backbone, Bradley-Terry sequence classifier (TRL RewardTrainer), same pairs
  verifier          rmr1_plugin.verify's math reward (the upper bound)
  none              the warm-up policy, untrained

Per row: pairwise accuracy on held-out pairs and on questions the judge never saw, the policy's
verified correctness on trained / held-out / judge-unseen questions (mean and 95% CI over seeds),
reward calls per group, seconds (reward training, policy GRPO) and the reward-hacking indicator
(share of each group's top-rewarded completions the verifier rejects). Writes OUT/efficacy.json
and OUT/efficacy.png and prints a table; docs/efficacy.md reads the measured numbers.

    python benchmarks/efficacy.py --seeds 0-2                 # default sizes (~10 min per seed, quiet 2 cores)
    python benchmarks/efficacy.py --seeds 0-2 --steps 15      # a smaller policy GRPO budget
    python benchmarks/efficacy.py --smoke --seeds 0           # plumbing only (CI-sized)
    python benchmarks/efficacy.py --results OUT/efficacy.json # re-render, no training

Each seed's quickstart run lives in OUT/seed-S; a finished run there with the same config
(e.g. from benchmarks/quickstart_targets.py --out OUT) is reused, not retrained.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rmr1_plugin.quickstart.efficacy import parse_seeds, plot, render_table, run_comparison


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-2", help="seeds, e.g. 0-2 or 0,3 (default %(default)s)")
    parser.add_argument("--steps", type=int, help="policy GRPO steps for every row (default: the preset's)")
    parser.add_argument("--sft-steps", type=int, help="cap on judge SFT / reward-model steps (default: the preset's)")
    parser.add_argument("--smoke", action="store_true", help="the quickstart's smoke sizes: checks the plumbing")
    parser.add_argument("--out", type=Path, default=Path("outputs/efficacy"), help="default %(default)s")
    parser.add_argument("--results", type=Path, help="re-render this efficacy.json; trains nothing")
    args = parser.parse_args(argv)
    if args.results:
        report = json.loads(args.results.read_text())
        out = args.results.parent
    else:
        overrides = {k: v for k, v in {"grpo_steps": args.steps, "sft_steps": args.sft_steps}.items() if v}
        report = run_comparison(parse_seeds(args.seeds), args.out, lambda line: print(line, file=sys.stderr,
                                                                                       flush=True),
                                smoke=args.smoke, **overrides)
        out = args.out
    print(render_table(report["summary"], len(report["seeds"])))
    print(f"results: {out / 'efficacy.json'}; chart: {plot(report['summary'], out / 'efficacy.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
