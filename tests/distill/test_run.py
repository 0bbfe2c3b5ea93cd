"""Two-pass distillation against real loopback teachers: what is kept, what is dropped and why, and
that kept chains become SFT rows TRL's SFTTrainer trains on."""

from __future__ import annotations

import json

import pytest

from rmr1_plugin.backends import GenerationSettings
from rmr1_plugin.backends.openai import OpenAIBackend
from rmr1_plugin.data import load_pairs, prepare, read_records
from rmr1_plugin.distill.chains import hint_leaks, other_label, swap_positions
from rmr1_plugin.distill.run import DistillConfig, distill
from rmr1_plugin.distill.teachers import BatchTeacher, OnlineTeacher
from rmr1_plugin.quickstart.teacher import ProgrammaticServer
from rmr1_plugin.verdict import parse_verdict

from .conftest import oracle_teacher, plain_pairs, run_batch_file

SETTINGS = GenerationSettings(max_new_tokens=512)
BEHAVIOUR = {"What is 0 + 1?": "wrong", "What is 1 + 2?": "stubborn", "What is 2 + 3?": "leak",
             "What is 3 + 4?": "leak-tag", "What is 4 + 5?": "no-structure"}


def oracle(n: int = 12):
    return oracle_teacher({r["prompt"]: r["chosen"] for r in plain_pairs(n)}, BEHAVIOUR)


def online(server: ProgrammaticServer, **options) -> OnlineTeacher:
    return OnlineTeacher(OpenAIBackend(server.base_url, model=server.model, max_concurrency=8, **options), SETTINGS)


def chains(folder) -> list[dict]:
    return [row for _, row in read_records(folder / "chains.jsonl")] if (folder / "chains.jsonl").stat().st_size else []


@pytest.mark.slow
def test_pass1_filter_pass2_then_prepare_rows_that_sft_trainer_accepts(tmp_path, pairs_file, tiny_model_path):
    pairs = load_pairs(pairs_file, progress=False)
    with ProgrammaticServer(oracle()) as server:
        report = distill(pairs, tmp_path / "d", online(server), settings=SETTINGS, config=DistillConfig(progress=False))

    assert report.pass1.requests == 12 and report.pass1.right_verdict == 8  # 7 right + 1 right without a rubric
    assert report.pass1_accuracy == pytest.approx(8 / 12) and report.pass1.kept == 7
    assert report.pass1.failures == {"wrong verdict": 4, "format error": 1}
    assert report.pass2.requests == 5 and report.pass2.kept == 3 and report.pass2_recovery == pytest.approx(0.6)
    assert report.hint_cleaned == 1
    assert report.dropped == {"wrong verdict after pass 2": 1, "hint leak": 1}
    assert report.kept == 10 and report.pass1.prompt_tokens > 0 and not report.pass1.tokens_estimated
    kept = chains(tmp_path / "d")
    assert len(kept) == 10 and {r["pass"] for r in kept} == {1, 2}
    labels = [r["label"] for r in kept]
    assert abs(labels.count("model_a") - labels.count("model_b")) <= 1  # the data is 6/6
    for row in kept:
        judgment = parse_verdict(row["chain"])
        assert judgment.label == row["label"] and judgment.rubric and judgment.evaluation
        assert not hint_leaks(row["chain"])
    dropped = {r["id"]: r["reason"] for _, r in read_records(tmp_path / "d" / "dropped.jsonl")}
    assert dropped == {"p1": "wrong verdict after pass 2", "p3": "hint leak"}
    saved = json.loads((tmp_path / "d" / "report.json").read_text())
    assert saved["pass1_accuracy"] == pytest.approx(8 / 12) and saved["kept"] == 10

    prepared = prepare([pairs_file], tmp_path / "data", chains=tmp_path / "d" / "chains.jsonl", progress=False)
    assert prepared.sft_rows == 10 and not prepared.skipped
    rows = [row for _, row in read_records(tmp_path / "data" / "sft_train.jsonl")]
    by_id = {r["id"]: r for r in kept}
    swapped = 0
    for row in rows:
        chain, label = by_id[row["id"]]["chain"], by_id[row["id"]]["label"]
        if row["ground_truth"] != label:  # a chain distill re-labelled goes back to prepare's balanced draw
            chain, label, swapped = swap_positions(chain), other_label(label), swapped + 1
        assert (row["completion"][0]["content"], row["ground_truth"]) == (chain, label)
    assert swapped == prepared.chains_swapped and prepared.chains_unswapped == 0
    assert abs(prepared.label_counts["model_a"] - prepared.label_counts["model_b"]) <= 1

    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=1, per_device_train_batch_size=4, report_to=[],
                     save_strategy="no", use_cpu=True, max_length=2048, disable_tqdm=True)
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    trainer = SFTTrainer(model=str(tiny_model_path), args=args, train_dataset=dataset,
                         processing_class=AutoTokenizer.from_pretrained(tiny_model_path))
    trainer.train()
    assert trainer.state.global_step == 1 and trainer.state.log_history


@pytest.mark.parametrize("kind, reason", [
    ("no-verdict", "no verdict after pass 2"),
    ("garbage", "no verdict after pass 2"),
    ("conflicting", "format error after pass 2"),
    ("truncated", "truncated after pass 2"),
    ("timeout", "teacher error (pass 1)"),
])
def test_a_bad_teacher_yields_dropped_rows_with_reasons_never_a_chain(tmp_path, pairs_file, kind, reason):
    replies = {
        "no-verdict": lambda m: "<type>Chat</type><rubric>r</rubric><eval>Both are fine.</eval>",
        "garbage": lambda m: "\x00\ufffd}{<<answer>]]A[[ \u202e" * 3,
        "conflicting": lambda m: ("<type>Chat</type><rubric>r</rubric><eval>e</eval>"
                                  "<answer>[[A]]</answer><answer>[[B]]</answer>"),
        "truncated": lambda m: ("<type>Chat</type><rubric>Correctness and", "length"),
        "timeout": lambda m: "<answer>[[A]]</answer>",
    }
    with ProgrammaticServer(replies[kind], delay=3.0 if kind == "timeout" else 0.0) as server:
        teacher = online(server, timeout=0.5, max_retries=0) if kind == "timeout" else online(server)
        report = distill(load_pairs(pairs_file, progress=False), tmp_path, teacher, settings=SETTINGS,
                         config=DistillConfig(progress=False))
    assert report.kept == 0 and chains(tmp_path) == []
    assert report.dropped == {reason: 12}
    assert report.pass2.requests == (0 if kind == "timeout" else 12)
    assert {r["reason"] for _, r in read_records(tmp_path / "dropped.jsonl")} == {reason}


def test_batch_files_round_trip_to_the_same_chains_as_online(tmp_path, pairs_file):
    pairs = load_pairs(pairs_file, progress=False)
    config = DistillConfig(progress=False)
    with ProgrammaticServer(oracle()) as server:
        online_report = distill(pairs, tmp_path / "online", online(server), settings=SETTINGS, config=config)
        batch = BatchTeacher(server.model, SETTINGS, tmp_path / "batch" / "batch")
        waiting = distill(pairs, tmp_path / "batch", batch, settings=SETTINGS, config=config)
        assert waiting.waiting["pass"] == 1 and waiting.waiting["pending"] == 12
        lines = [json.loads(line) for line in batch.input_path(1).read_text().splitlines()]
        assert len(lines) == 12 and all(line["url"] == "/v1/chat/completions" for line in lines)
        assert lines[0]["body"]["model"] == server.model and lines[0]["body"]["max_tokens"] == 512
        run_batch_file(batch.input_path(1), batch.output_path(1), server)
        waiting = distill(pairs, tmp_path / "batch", batch, settings=SETTINGS, config=config)
        assert waiting.waiting["pass"] == 2 and waiting.waiting["pending"] == 5
        run_batch_file(batch.input_path(2), batch.output_path(2), server)
        done = distill(pairs, tmp_path / "batch", batch, settings=SETTINGS, config=config)
    assert done.waiting is None and done.pass1.resumed == 12 and done.pass1.sent == 0
    assert chains(tmp_path / "batch") == chains(tmp_path / "online")
    assert done.dropped == online_report.dropped and done.kept == online_report.kept == 10


def test_failed_lines_of_a_results_file_are_teacher_errors(tmp_path, pairs_file):
    pairs = load_pairs(pairs_file, progress=False)[:2]
    batch = BatchTeacher("teacher", SETTINGS, tmp_path / "batch")
    distill(pairs, tmp_path, batch, settings=SETTINGS, config=DistillConfig(progress=False))
    ids = [json.loads(line)["custom_id"] for line in batch.input_path(1).read_text().splitlines()]
    batch.output_path(1).write_text(
        json.dumps({"custom_id": ids[0], "response": {"status_code": 500, "body": {"error": "overloaded"}}}) + "\n"
        + json.dumps({"custom_id": ids[1], "response": {"status_code": 200, "body": {"not": "a completion"}}}) + "\n"
        + "{not json\n")
    report = distill(pairs, tmp_path, batch, settings=SETTINGS, config=DistillConfig(progress=False))
    assert report.waiting is None and report.kept == 0 and report.dropped == {"teacher error (pass 1)": 2}
