"""The quickstart pipeline end to end with a few steps per stage (real TRL trainers)."""

from __future__ import annotations

import json
import math

import pytest

from rmr1_plugin.cli import main
from rmr1_plugin.quickstart.pipeline import (
    QuickstartConfig,
    make_splits,
    noisy_answer_rows,
    run_quickstart,
    split_questions,
)
from rmr1_plugin.quickstart.report import render, target_checks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_policy_questions_split_and_noisy_answers_are_as_noisy_as_asked():
    warm, held = split_questions(0.34, seed=0)
    assert not set(warm) & set(held)
    rows = noisy_answer_rows(warm, 2000, correct=0.3, seed=0)
    right = sum(int(r["completion"][0]["content"]) == sum(map(int, r["prompt"][0]["content"][8:-1].split(" + ")))
                for r in rows)
    assert 0.25 < right / len(rows) < 0.35


def test_every_stage_runs_and_reports(tmp_path):
    config = QuickstartConfig(out=tmp_path / "qs", pretrain_steps=2, sft_steps=3, sft_batch=4, rlvr_steps=1,
                              rlvr_prompts=2, warmup_steps=2, warmup_batch=4, grpo_steps=1, grpo_prompts=2,
                              grpo_generations=4,
                              eval_samples=2, held_out_pairs=10, judge_max_new_tokens=8, device="cpu",
                              judge_no_verdict="skip")  # a judge trained for 3 steps names no winner
    result = run_quickstart(config, progress=lambda line: None)
    assert [s.name for s in result.stages] == [
        "build", "judge_pretrain", "judge_distill", "judge_sft", "judge_rlvr", "policy_warmup", "policy_grpo"]
    # every training pair in both orders, distilled (the kept chains are judge_sft_rows's)
    assert result.metric("judge_distill", "sft_rows") == 2 * len(make_splits(config).judge["train"])
    for name in ("build", "judge_sft", "judge_rlvr"):
        assert 0.0 <= result.metric(name, "accuracy") <= 1.0
        assert 0.0 <= result.metric(name, "format_error_rate") <= 1.0
    for name in ("policy_warmup", "policy_grpo"):
        assert 0.0 <= result.metric(name, "correct") <= 1.0
    assert math.isfinite(result.metric("judge_rlvr", "train_reward"))
    assert result.metric("policy_grpo", "judge_calls_per_group") == 12.0  # round robin over 4, both orders
    assert all((tmp_path / "qs" / d).is_dir() for d in ("judge-sft", "judge-rlvr", "policy-grpo", "data/policy"))
    table = render(result)
    assert "judge_rlvr" in table and "policy_grpo" in table and "total:" in table
    assert set(target_checks(result)) and all(name in table for name in target_checks(result))


def test_prepare_only_writes_models_and_datasets(tmp_path, capsys):
    assert main(["quickstart", "--smoke", "--prepare-only", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "judge:" in printed and "policy:" in printed
    row = json.loads((tmp_path / "data" / "judge_rlvr" / "train.jsonl").read_text().splitlines()[0])
    assert row["ground_truth"] in ("model_a", "model_b") and row["prompt"][0]["role"] == "system"
