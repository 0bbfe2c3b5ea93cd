"""Helpers of ``benchmarks/gpu_acceptance.sh``: build its models and data, check its verl runs, record results.

The shell script runs each GPU step under a timeout; this module does the parts that need no GPU,
each in one process (importing torch, transformers and verl once costs more than the work):

    python benchmarks/gpu_acceptance.py build OUT [--judge-layers 2]   # tiny model, 0.5B-shape judge, data
    python benchmarks/gpu_acceptance.py check recipes/verl --recipe NAME KEY=VALUE ... --recipe NAME ...
    python benchmarks/gpu_acceptance.py record RESULTS.json STEP --kind verl --rc 0 --seconds 93 --log LOG
    python benchmarks/gpu_acceptance.py summary RESULTS.json   # prints the table; exit 1 if a step failed

``RESULTS.json`` holds one entry per step: ``passed`` (true / false / null for not run), ``status``,
``seconds``, ``timed_out``, the exact ``command`` and the step's ``figures``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

#: Targets of the judge-throughput step (docs/judge.md): async batch vs one request at a time, and
#: the async batch's share of the server's own saturated throughput.
THROUGHPUT_TARGETS = {"batch_vs_sequential": 4.0, "batch_vs_saturated": 0.8}

_STEP_LINE = re.compile(r"\bstep:(\d+) - (.*)$")


def build(out: Path, judge_layers: int | None = None) -> dict[str, str]:
    """Build the models (no download) and the data of every step under ``out``; return their paths.

    - ``tiny``: a 2-layer Qwen2 with head_dim 64 (a size every vLLM attention backend supports), the
      judge and the policy of the verl runs;
    - ``judge-0.5b``: random weights of Qwen2.5-0.5B's shape, the judge behind ``vllm serve`` (its
      batching is what the throughput step measures, so the model must cost real GPU time);
    - ``data``: ``rmr1 prepare --example`` (judge-training pairs and policy prompts).

    ``judge_layers`` builds the served judge with fewer layers (the dry run: the full one costs
    ~25 s of CPU time and 1.4 GB, and proves nothing more about the script).
    """
    from rmr1_plugin.cli import main as rmr1
    from rmr1_plugin.tiny import QWEN2_0_5B_SHAPE, build_tiny_model

    paths = {"tiny": out / "tiny", "judge-0.5b": out / "judge-0.5b", "data": out / "data"}
    build_tiny_model(paths["tiny"], hidden_size=256, num_heads=4)
    judge_shape = {**QWEN2_0_5B_SHAPE, "num_layers": judge_layers or QWEN2_0_5B_SHAPE["num_layers"]}
    build_tiny_model(paths["judge-0.5b"], **judge_shape)
    if rmr1(["prepare", "--example", "--out", str(paths["data"])]) != 0:
        raise SystemExit("rmr1 prepare --example failed")
    return {name: str(path) for name, path in paths.items()}


def environment() -> dict[str, Any]:
    """Versions of the stack and the GPU the run sees (recorded with the results)."""
    from importlib.metadata import PackageNotFoundError, version

    import torch

    versions = {}
    for package in ("torch", "transformers", "trl", "verl", "vllm", "ray", "rmr1-plugin"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"versions": versions, "gpus": gpus}


def split_recipes(argv: list[str]) -> list[tuple[str, list[str]]]:
    """``--recipe A x=1 --recipe B y=2`` -> ``[("A", ["x=1"]), ("B", ["y=2"])]``.

    >>> split_recipes(["--recipe", "rlvr", "a=1", "b=2", "--recipe", "policy"])
    [('rlvr', ['a=1', 'b=2']), ('policy', [])]
    """
    runs: list[tuple[str, list[str]]] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--recipe":
            runs.append((next(tokens), []))
        elif not runs:
            raise ValueError(f"expected --recipe NAME before {token!r}")
        else:
            runs[-1][1].append(token)
    return runs


def check(config_dir: str, runs: list[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """Problems of each recipe with its exact overrides (rmr1_verl.recipes.check_recipe); empty lists if none."""
    from rmr1_verl.recipes import check_recipe

    return {name: check_recipe(config_dir, name, overrides) for name, overrides in runs}


def verl_metrics(log: str) -> dict[int, dict[str, float]]:
    """The metrics verl's console logger printed, per training step.

    >>> verl_metrics("(TaskRunner pid=7) step:1 - critic/score/mean:0.25 - timing_s/step:3.5\\nother")
    {1: {'critic/score/mean': 0.25, 'timing_s/step': 3.5}}
    """
    steps: dict[int, dict[str, float]] = {}
    for line in log.splitlines():
        match = _STEP_LINE.search(line)
        if not match:
            continue
        metrics = {}
        for item in match.group(2).split(" - "):
            key, _, value = item.rpartition(":")
            try:
                metrics[key.strip()] = float(value)
            except ValueError:
                continue
        steps[int(match.group(1))] = metrics
    return steps


def verl_figures(log: str, steps: int) -> tuple[bool, dict[str, Any]]:
    """Whether a verl run finished ``steps`` steps with reward metrics, and its figures."""
    per_step = verl_metrics(log)
    keep = ("critic/score/mean", "critic/rewards/mean", "timing_s/step", "timing_s/gen", "timing_s/reward",
            "response_length/mean", "actor/pg_loss")
    figures = {"steps_finished": max(per_step, default=0),
               "per_step": {step: {k: m[k] for k in keep if k in m} for step, m in sorted(per_step.items())}}
    passed = figures["steps_finished"] >= steps and all("critic/score/mean" in m for m in per_step.values())
    return passed, figures


def throughput_figures(report: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Figures of benchmarks/judge_throughput.py --json, and whether both targets are met.

    >>> throughput_figures({"sequential_rps": 2.0, "batch_rps": 10.0, "saturated_rps": 11.0, "same_outputs": True})[0]
    True
    """
    figures = dict(report)
    figures["batch_vs_sequential"] = report["batch_rps"] / report["sequential_rps"]
    figures["batch_vs_saturated"] = report["batch_rps"] / report["saturated_rps"]
    figures["targets"] = THROUGHPUT_TARGETS
    passed = bool(report.get("same_outputs")) and all(figures[k] >= v for k, v in THROUGHPUT_TARGETS.items())
    return passed, figures


def quickstart_figures(results: dict[str, Any]) -> dict[str, Any]:
    """Seconds and metrics per stage from ``rmr1 quickstart``'s results.json."""
    return {"seconds_per_stage": {s["name"]: s["seconds"] for s in results.get("stages", [])},
            "metrics_per_stage": {s["name"]: s.get("metrics", {}) for s in results.get("stages", [])},
            "total_seconds": results.get("total_seconds")}


def step_result(kind: str, rc: int | None, log: str, figures_file: Path | None, steps: int) -> tuple[bool, dict]:
    """Pass/fail and figures of one finished step (``kind``: verl, vllm_smoke, throughput, quickstart)."""
    report = json.loads(figures_file.read_text()) if figures_file and figures_file.is_file() else None
    if kind == "verl":
        passed, figures = verl_figures(log, steps)
        return passed and rc == 0, figures
    if report is None:
        return False, {"error": f"no figures file {figures_file}"}
    if kind == "throughput":
        return throughput_figures(report)
    if kind == "quickstart":
        return rc == 0, quickstart_figures(report)
    return rc == 0, report


def record(results_path: Path, step: str, args: argparse.Namespace) -> dict[str, Any]:
    """Add (or replace) ``step`` in the results file; return its entry."""
    results = json.loads(results_path.read_text()) if results_path.is_file() else {"steps": {}}
    entry: dict[str, Any] = {"command": args.command, "seconds": args.seconds, "log": args.log}
    if args.status != "ran":  # dry-run / skipped: nothing ran, nothing passed or failed
        entry.update(passed=None, status=args.status, reason=args.reason)
    else:
        log = Path(args.log).read_text(errors="replace") if args.log and Path(args.log).is_file() else ""
        passed, figures = step_result(args.kind, args.rc, log, Path(args.figures) if args.figures else None,
                                      args.steps)
        timed_out = args.rc in (124, 137)
        entry.update(passed=passed, status="passed" if passed else ("timed out" if timed_out else "failed"),
                     rc=args.rc, timed_out=timed_out, figures=figures)
        if not passed:
            entry["log_tail"] = log[-3000:]
    results["steps"][step] = entry
    results_path.write_text(json.dumps(results, indent=2))
    return entry


def summary(results_path: Path) -> int:
    """Print one line per step and the verdict; 0 when no step that ran failed."""
    results = json.loads(results_path.read_text())
    ran = [e["passed"] for e in results["steps"].values() if e["passed"] is not None]
    results["passed"] = all(ran) if ran else None
    results_path.write_text(json.dumps(results, indent=2))
    for name, entry in results["steps"].items():
        seconds = f"{entry['seconds']:.0f} s" if entry.get("seconds") is not None else "-"
        print(f"{entry['status']:>10}  {name:<24} {seconds:>7}")
    print(f"results: {results_path}")
    return 1 if ran and not all(ran) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    builder = sub.add_parser("build", help="build the models and the data")
    builder.add_argument("out", type=Path)
    builder.add_argument("--results", type=Path, help="start this results file with the environment")
    builder.add_argument("--judge-layers", type=int, help="layers of the served judge (default: 24, as Qwen2.5-0.5B)")
    checker = sub.add_parser("check", help="compose and validate verl runs: DIR --recipe NAME OVERRIDES ...")
    checker.add_argument("config_dir")
    checker.add_argument("runs", nargs=argparse.REMAINDER)
    recorder = sub.add_parser("record", help="record one step's result in the results file")
    recorder.add_argument("results", type=Path)
    recorder.add_argument("step")
    recorder.add_argument("--kind", choices=("verl", "vllm_smoke", "throughput", "quickstart"), required=True)
    recorder.add_argument("--status", choices=("ran", "dry-run", "skipped"), default="ran")
    recorder.add_argument("--reason", help="why the step did not run")
    recorder.add_argument("--rc", type=int, help="exit status of the step's command")
    recorder.add_argument("--seconds", type=float)
    recorder.add_argument("--log", help="the step's log file")
    recorder.add_argument("--figures", help="JSON file the step wrote its figures to")
    recorder.add_argument("--steps", type=int, default=2, help="training steps a verl run must finish")
    recorder.add_argument("--command", help="the command line of the step, as run")
    sub.add_parser("summary", help="print the results and exit 1 if a step failed").add_argument("results", type=Path)
    args = parser.parse_args(argv)

    if args.action == "build":
        for name, path in build(args.out, args.judge_layers).items():
            print(f"{name}: {path}")
        if args.results:
            args.results.write_text(json.dumps({"environment": environment(), "steps": {}}, indent=2))
        return 0
    if args.action == "check":
        problems = check(args.config_dir, split_recipes(args.runs))
        for name, found in problems.items():
            print("\n".join(f"{name}: {p}" for p in found) if found else f"{name}: OK")
        return 1 if any(problems.values()) else 0
    if args.action == "record":
        entry = record(args.results, args.step, args)
        print(f"{args.step}: {entry['status']}")
        return 0
    return summary(args.results)


if __name__ == "__main__":
    sys.exit(main())
