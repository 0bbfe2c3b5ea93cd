"""Check the quickstart's targets: run ``rmr1 quickstart`` (or read its results.json) and print
each target with its measured value and ratio to the target.

Targets (default preset, 2 CPU cores): judge verdict accuracy on held-out pairs >= 0.9 after RLVR,
RLVR does not lower it, the policy's verified correctness rises under GRPO with the judge as the
only reward, and the run takes under 5 minutes.

    python benchmarks/quickstart_targets.py                      # runs the default preset
    python benchmarks/quickstart_targets.py --results outputs/quickstart/results.json
    python benchmarks/quickstart_targets.py --full

Exit status 0 when every target is met, 1 otherwise. Timings are of this machine: on a shared
machine they are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rmr1_plugin.quickstart.pipeline import QuickstartConfig, QuickstartResult, run_quickstart
from rmr1_plugin.quickstart.report import JUDGE_ACCURACY_TARGET, render, target_checks

TIME_TARGET_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", help="read this results.json instead of running")
    parser.add_argument("--out", default="outputs/quickstart-bench")
    parser.add_argument("--full", action="store_true", help="run the --full preset (no time target)")
    args = parser.parse_args()
    if args.results:
        result = QuickstartResult.model_validate(json.loads(Path(args.results).read_text()))
    else:
        config = QuickstartConfig.preset("full" if args.full else "default", Path(args.out))
        result = run_quickstart(config, progress=lambda line: print(line, file=sys.stderr, flush=True))
        (Path(args.out) / "results.json").write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    print(render(result))
    sft = result.metric("judge_sft", "accuracy") or 0.0
    rlvr = result.metric("judge_rlvr", "accuracy") or 0.0
    before = result.metric("policy_warmup", "correct") or 0.0
    after = result.metric("policy_grpo", "correct") or 0.0
    print(f"judge accuracy after RLVR / target : {rlvr:.3f} / {JUDGE_ACCURACY_TARGET} = {rlvr / JUDGE_ACCURACY_TARGET:.2f}")
    print(f"judge accuracy RLVR / SFT          : {rlvr:.3f} / {sft:.3f} = {rlvr / sft if sft else float('nan'):.2f}")
    print(f"policy correctness after / before  : {after:.3f} / {before:.3f} = "
          f"{after / before if before else float('inf'):.2f}")
    checks = dict(target_checks(result))
    if not args.full and not args.results or (args.results and result.config.sft_steps == QuickstartConfig(
            out=Path(".")).sft_steps):
        seconds = result.total_seconds
        print(f"time / target                      : {seconds:.0f} s / {TIME_TARGET_S:.0f} s = {seconds / TIME_TARGET_S:.2f}")
        checks[f"default run under {TIME_TARGET_S:.0f} s"] = seconds <= TIME_TARGET_S
    failed = [name for name, ok in checks.items() if not ok]
    print("all targets met" if not failed else "missed: " + "; ".join(failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
