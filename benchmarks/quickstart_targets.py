"""Check the quickstart's targets over seeds: run ``rmr1 quickstart`` per seed (or read finished
runs' results.json, never retraining) and print a table per seed plus the mean and 95% CI.

Targets (default preset, 2 CPU cores), from issue 12:

* on EACH seed: judge verdict accuracy on held-out pairs >= 0.9 after RLVR, and RLVR does not
  lower it; the default run takes under 5 minutes (on a quiet machine);
* the policy's verified correctness on held-out questions rises on at least 4 of 5 seeds (80%),
  and the 95% confidence interval of the mean gain over the seeds excludes 0.

    python benchmarks/quickstart_targets.py --seeds 0-4                  # runs seeds 0..4
    python benchmarks/quickstart_targets.py --seeds 0-4 --out outputs/sweep   # reuses finished seeds there
    python benchmarks/quickstart_targets.py --results outputs/sweep       # only reads (seed-*/results.json)
    python benchmarks/quickstart_targets.py --results outputs/quickstart/results.json

Runs land in ``OUT/seed-S`` (``benchmarks/efficacy.py --out OUT`` reuses them). Exit status 0 when
every target is met, 1 otherwise. Timings are of this machine: on a shared machine they are
pessimistic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rmr1_plugin.quickstart.efficacy import mean_ci, parse_seeds
from rmr1_plugin.quickstart.pipeline import QuickstartConfig, QuickstartResult, run_or_reuse
from rmr1_plugin.quickstart.report import JUDGE_ACCURACY_TARGET, render

TIME_TARGET_S = 300.0
RISE_SHARE = 0.8


def load_results(path: Path) -> list[QuickstartResult]:
    """A results.json, or every ``seed-*/results.json`` under a folder (sorted by seed)."""
    files = [path] if path.is_file() else sorted(path.glob("seed-*/results.json"),
                                                 key=lambda f: int(f.parent.name.split("-")[1]))
    if not files:
        raise SystemExit(f"no results.json at {path} (expected a file or seed-*/results.json under it)")
    return [QuickstartResult.model_validate(json.loads(f.read_text())) for f in files]


def seed_row(result: QuickstartResult) -> dict[str, float]:
    def m(stage: str, name: str) -> float:
        value = result.metric(stage, name)
        return float("nan") if value is None else value

    return {
        "sft": m("judge_sft", "accuracy"), "rlvr": m("judge_rlvr", "accuracy"),
        "unseen": m("judge_rlvr", "unseen_accuracy"),
        "gain": m("policy_grpo", "held_out_correct") - m("policy_warmup", "held_out_correct"),
        "trained_gain": m("policy_grpo", "correct") - m("policy_warmup", "correct"),
        "unseen_gain": m("policy_grpo", "unseen_correct") - m("policy_warmup", "unseen_correct"),
        "seconds": result.total_seconds,
    }


def sweep_report(results: list[QuickstartResult], timed: bool) -> tuple[str, dict[str, bool]]:
    """The per-seed table, the mean/CI lines, and each target with whether it is met."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    rows = {r.config.seed: seed_row(r) for r in results}
    table = Table(title="rmr1 quickstart, per seed")
    for column in ("seed", "judge SFT", "judge RLVR", "judge unseen-q", "held-out gain", "trained gain",
                   "judge-unseen-q gain", "seconds"):
        table.add_column(column)
    for seed, row in rows.items():
        table.add_row(str(seed), *(f"{row[k]:.1%}" for k in ("sft", "rlvr", "unseen")),
                      *(f"{row[k]:+.1%}" for k in ("gain", "trained_gain", "unseen_gain")), f"{row['seconds']:.0f}")
    buffer = StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    console.print(table)
    for key, label in (("rlvr", "judge accuracy after RLVR"), ("unseen", "judge accuracy on judge-unseen questions"),
                       ("gain", "held-out policy gain"), ("trained_gain", "trained-question policy gain"),
                       ("unseen_gain", "judge-unseen-question policy gain")):
        mean, half = mean_ci([row[key] for row in rows.values()])
        console.print(f"{label}: mean {mean:+.2%}, 95% CI [{mean - half:+.2%}, {mean + half:+.2%}] over "
                      f"{len(rows)} seed(s)")
    gains = [row["gain"] for row in rows.values()]
    mean, half = mean_ci(gains)
    checks = {
        f"judge accuracy after RLVR >= {JUDGE_ACCURACY_TARGET} on every seed":
            all(row["rlvr"] >= JUDGE_ACCURACY_TARGET for row in rows.values()),
        "RLVR does not lower judge accuracy on any seed": all(row["rlvr"] >= row["sft"] for row in rows.values()),
        f"held-out policy correctness rises on >= {RISE_SHARE:.0%} of seeds":
            sum(g > 0 for g in gains) >= RISE_SHARE * len(gains),
        "95% CI of the mean held-out gain excludes 0": len(gains) > 1 and mean - half > 0,
    }
    if timed:
        checks[f"every run under {TIME_TARGET_S:.0f} s"] = all(r["seconds"] <= TIME_TARGET_S for r in rows.values())
    for name, ok in checks.items():
        console.print(f"  [{'x' if ok else ' '}] {name}", markup=False)
    return buffer.getvalue(), checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0", help="seeds to run, e.g. 0-4 or 0,2 (default %(default)s)")
    parser.add_argument("--results", type=Path,
                        help="read this results.json, or OUT/seed-*/results.json under this folder; never trains")
    parser.add_argument("--out", default="outputs/quickstart-sweep", type=Path,
                        help="runs go to OUT/seed-S; finished ones are reused (default %(default)s)")
    parser.add_argument("--full", action="store_true", help="run the --full preset (no time target)")
    args = parser.parse_args()
    if args.results:
        results = load_results(args.results)
    else:
        results = []
        for seed in parse_seeds(args.seeds):
            config = QuickstartConfig.preset("full" if args.full else "default", args.out / f"seed-{seed}",
                                             seed=seed, progress_bars=False)
            results.append(run_or_reuse(config, progress=lambda line: print(line, file=sys.stderr, flush=True)))
    for result in results:
        print(f"seed {result.config.seed}:")
        print(render(result))
    default_steps = QuickstartConfig(out=Path(".")).sft_steps
    text, checks = sweep_report(results, timed=all(r.config.sft_steps == default_steps for r in results))
    print(text)
    failed = [name for name, ok in checks.items() if not ok]
    print("all targets met" if not failed else "missed: " + "; ".join(failed))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
