"""The reward comparison's plumbing at the smallest size: every row produces numbers (no accuracy or
timing is asserted: a few steps train nothing)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rmr1_plugin.quickstart.efficacy import ROWS, mean_ci, render_table, run_comparison
from rmr1_plugin.quickstart.probe import HackingProbe

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TINY = dict(sft_steps=3, sft_batch=4, sft_eval_every=3, rlvr_steps=1, rlvr_prompts=2, rlvr_eval_every=1,
            warmup_steps=2, warmup_batch=4, grpo_steps=1, grpo_prompts=2, grpo_generations=4, eval_samples=2,
            held_out_pairs=10, validation_pairs=10, unseen_questions=1, judge_max_new_tokens=8, device="cpu")


def test_every_row_of_the_comparison_produces_numbers(tmp_path):
    report = run_comparison([0], tmp_path, lambda line: None, smoke=True, **TINY)
    summary = report["summary"]
    assert list(summary) == list(ROWS)
    for row, metrics in summary.items():
        for metric in ("correct", "held_out_correct", "unseen_correct", "calls_per_group"):
            assert math.isfinite(metrics[metric][0]), (row, metric)
        if row != "none":
            assert math.isfinite(metrics["accuracy"][0]) and math.isfinite(metrics["unseen_accuracy"][0]), row
            assert math.isfinite(metrics["grpo_seconds"][0]), row
    assert summary["rmr1_round_robin"]["calls_per_group"][0] == 12.0   # G(G-1) for G=4
    assert summary["rmr1_adaptive"]["calls_per_group"][0] <= 8.0         # within 2G
    assert json.loads((tmp_path / "efficacy.json").read_text())["seeds"] == ["0"]
    table = render_table(summary, 1)
    assert all(row in table for row in ROWS)

    # --results re-renders what was measured and trains nothing
    done = subprocess.run([sys.executable, "benchmarks/efficacy.py", "--results", str(tmp_path / "efficacy.json")],
                          capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "scalar_rm" in done.stdout and (tmp_path / "efficacy.png").stat().st_size > 0


def test_the_hacking_probe_passes_rewards_through_and_counts_wrong_favourites():
    import asyncio

    prompts = [[{"role": "user", "content": "What is 3 + 4?"}]] * 4
    completions = [[{"role": "assistant", "content": c}] for c in ("7", "8", "9", "7")]
    probe = HackingProbe(lambda prompts, completions, **kw: [0.0, 1.0, 0.5, 0.0], 4, "probe")
    assert asyncio.run(probe(prompts, completions)) == [0.0, 1.0, 0.5, 0.0]
    assert probe.rate == 1.0                                   # its favourite, "8", is wrong


def test_the_confidence_interval_of_one_seed_is_unknown_and_shrinks_with_agreement():
    assert math.isnan(mean_ci([0.1])[1])
    assert mean_ci([0.1, 0.1, 0.1])[1] == pytest.approx(0.0, abs=1e-12)
    assert mean_ci([0.0, 0.2, 0.1])[1] > mean_ci([0.09, 0.11, 0.1])[1]
