"""rmr1 prepare: preference files -> verl parquet, TRL JSONL and SFT rows; nothing lost silently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from rmr1_plugin import build_judge_messages, parse_verdict
from rmr1_plugin.cli import main
from rmr1_plugin.cli.prepare import example_path
from rmr1_plugin.data import RecordError, load_pairs, prepare, read_records

RM_BENCH_FILES = ["chat_filtered.json", "code_filtered.json", "safety-refuse_filtered.json", "safety-response_filtered.json"]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def check_round_trip(source: Path, out: Path, report) -> None:
    """Every usable pair became exactly one row whose prompt shows chosen at the labelled position."""
    pairs = load_pairs(source, progress=False)
    usable = [p for p in pairs if p.chosen != p.rejected and p.chosen[-1]["content"].strip() and p.rejected[-1]["content"].strip()]
    verl = datasets.Dataset.from_parquet(str(out / "verl_train.parquet"))
    trl = [r for _, r in read_records(out / "trl_train.jsonl")]
    assert len(verl) == len(trl) == len(usable) == report.rows
    assert report.pairs == len(pairs) and sum(report.skipped.values()) == len(pairs) - len(usable)
    assert set(verl.column_names) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
    for pair, row, trl_row in zip(usable, verl, trl, strict=True):
        label = row["reward_model"]["ground_truth"]
        assert label == trl_row["ground_truth"] and row["reward_model"]["style"] == "rule"
        assert row["extra_info"]["id"] == pair.id == trl_row["id"]
        a, b = (pair.chosen, pair.rejected) if label == "model_a" else (pair.rejected, pair.chosen)
        assert row["prompt"] == trl_row["prompt"] == build_judge_messages(conversation_a=a, conversation_b=b)
    labels = [r["ground_truth"] for r in trl]
    assert abs(labels.count("model_a") - labels.count("model_b")) <= 1


def test_shipped_example_round_trips(tmp_path):
    report = prepare([example_path()], tmp_path, progress=False)
    assert report.records == report.rows == 8
    check_round_trip(Path(example_path()), tmp_path, report)


@pytest.mark.parametrize("name", RM_BENCH_FILES)
def test_rm_bench_samples_round_trip(shared_dir, tmp_path, name):
    source = shared_dir / "data" / "rm-bench" / name
    report = prepare([source], tmp_path, progress=False)
    assert report.records == len(json.loads(source.read_text()))
    check_round_trip(source, tmp_path, report)


def test_rmb_samples_round_trip(shared_dir, tmp_path):
    sources = sorted((shared_dir / "data" / "rmb").rglob("*.json"))
    assert any("BoN_set" in str(s) for s in sources) and any("Pairwise_set" in str(s) for s in sources)
    for i, source in enumerate(sources):
        out = tmp_path / str(i)
        report = prepare([source], out, progress=False)
        check_round_trip(source, out, report)


def test_same_seed_same_rows_other_seed_other_placement(tmp_path):
    first = prepare([example_path()], tmp_path / "a", seed=3, progress=False)
    again = prepare([example_path()], tmp_path / "b", seed=3, progress=False)
    prepare([example_path()], tmp_path / "c", seed=4, progress=False)

    def read(folder):
        return (folder / "trl_train.jsonl").read_text()

    assert read(tmp_path / "a") == read(tmp_path / "b") != read(tmp_path / "c")
    assert first.label_counts == again.label_counts


def test_unusable_pairs_are_counted_by_reason(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [
        {"prompt": "Q", "chosen": "same", "rejected": "same"},
        {"prompt": "Q", "chosen": "  ", "rejected": "b"},
        {"prompt": "Q", "chosen": "a", "rejected": "b"},
    ])
    report = prepare([source], tmp_path / "out", progress=False)
    assert report.rows == 1
    assert report.skipped == {"identical chosen and rejected": 1, "empty answer": 1}
    assert "skipped (empty answer): 1" in report.summary()


def test_malformed_row_stops_with_file_row_and_field(tmp_path):
    source = write_jsonl(tmp_path / "bad.jsonl", [
        {"prompt": "Q", "chosen": "a", "rejected": "b"},
        {"prompt": [{"role": "user", "content": "Q"}], "chosen": [{"role": "assistant", "content": None}],
         "rejected": [{"role": "assistant", "content": "b"}]},
    ])
    with pytest.raises(RecordError, match=r"bad.jsonl, line 2, field 'chosen\[0\].content': expected a string, got None"):
        prepare([source], tmp_path / "out", progress=False)
    report = prepare([source], tmp_path / "out", skip_invalid=True, progress=False)
    assert report.rows == 1 and report.skipped == {"invalid record (expected a string, got None)": 1}


def test_invalid_json_line_is_named(tmp_path):
    source = tmp_path / "broken.jsonl"
    source.write_text('{"prompt": "Q", "chosen": "a", "rejected": "b"}\n{"prompt": \n')
    with pytest.raises(RecordError, match="broken.jsonl, line 2: invalid JSON"):
        prepare([source], tmp_path / "out", progress=False)


def test_missing_local_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        prepare([tmp_path / "nope.jsonl"], tmp_path / "out", progress=False)


def test_no_usable_pairs_is_an_error(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"prompt": "Q", "chosen": "x", "rejected": "x"}])
    with pytest.raises(ValueError, match="no usable pairs"):
        prepare([source], tmp_path / "out", progress=False)


def test_parquet_input(tmp_path):
    source = tmp_path / "in.parquet"
    datasets.Dataset.from_list([{"prompt": "Q", "chosen": "a", "rejected": "b"}] * 3).to_parquet(str(source))
    assert prepare([source], tmp_path / "out", progress=False).rows == 3


def test_validation_split(tmp_path):
    report = prepare([example_path()], tmp_path, val_fraction=0.25, progress=False)
    train = read_records(tmp_path / "trl_train.jsonl")
    val = read_records(tmp_path / "trl_val.jsonl")
    assert len(train) + len(val) == 8 and len(val) == 2
    assert {r["id"] for _, r in train}.isdisjoint({r["id"] for _, r in val})
    assert (tmp_path / "verl_val.parquet").exists() and "verl val" in report.outputs


class TestDistillationRows:
    def test_only_chains_with_the_right_verdict_become_sft_rows(self, tmp_path):
        source = write_jsonl(tmp_path / "pairs.jsonl", [
            {"id": "p1", "prompt": "2+2?", "chosen": "4", "rejected": "5"},
            {"id": "p2", "prompt": "3+3?", "chosen": "6", "rejected": "7"},
            {"id": "p3", "prompt": "1+1?", "chosen": "2", "rejected": "3"},
        ])
        chains = write_jsonl(tmp_path / "chains.jsonl", [
            {"id": "p1", "label": "model_b", "chain": "<type>Reasoning</type><solution>4</solution><eval>B</eval><answer>[[B]]</answer>"},
            {"id": "p2", "label": "model_a", "chain": "<type>Reasoning</type><eval>B</eval><answer>[[B]]</answer>"},
            {"id": "p3", "label": "model_a", "chain": "<type>Reasoning</type><eval>cut off"},
        ])
        report = prepare([source], tmp_path / "out", chains=chains, progress=False)
        assert report.rows == 3 and report.sft_rows == 1
        assert report.skipped == {"chain verdict disagrees with label": 1, "chain without a verdict (truncated)": 1}
        (sft,) = [r for _, r in read_records(tmp_path / "out" / "sft_train.jsonl")]
        assert sft["id"] == "p1" and sft["ground_truth"] == "model_b"
        # The chain was written with the chosen answer ("4") as B: the prompt must show it there.
        assert "[The Start of Chatbot B's Response]\n4\n" in sft["prompt"][1]["content"]
        assert parse_verdict(sft["completion"][0]["content"]).label == "model_b"
        assert sft["completion"][0]["role"] == "assistant"

    def test_labels_stay_balanced_when_every_chain_was_written_with_the_chosen_answer_at_a(self, tmp_path):
        """The RM-R1 recipe wants A/B balance in SFT data: chains follow the drawn placement, swapped."""
        pairs = [{"id": f"p{i}", "prompt": f"{i}+{i}?", "chosen": str(2 * i), "rejected": str(2 * i + 1)}
                 for i in range(8)]
        written_at_a = "<eval><quote_A>{}</quote_A> is right; Chatbot B is not.</eval><answer>[[A]]</answer>"
        chains = [{"id": f"p{i}", "label": "model_a", "chain": written_at_a.format(2 * i)} for i in range(8)]
        chains[7]["chain"] = "A is right. <answer>[[A]]</answer>"   # a bare letter: unsafe to swap, kept at A
        source, chain_file = write_jsonl(tmp_path / "pairs.jsonl", pairs), write_jsonl(tmp_path / "c.jsonl", chains)
        report = prepare([source], tmp_path / "out", chains=chain_file, progress=False)
        assert report.sft_rows == 8 and not report.skipped
        assert abs(report.label_counts["model_a"] - report.label_counts["model_b"]) <= 2   # one unswappable chain
        assert report.chains_swapped >= 3 and report.chains_unswapped <= 1
        assert "chains swapped to the balanced placement" in report.summary()
        for _, row in read_records(tmp_path / "out" / "sft_train.jsonl"):
            chosen = str(2 * int(row["id"][1:]))
            position = "A" if row["ground_truth"] == "model_a" else "B"
            text = row["completion"][0]["content"]
            assert f"[The Start of Chatbot {position}'s Response]\n{chosen}\n" in row["prompt"][1]["content"]
            assert parse_verdict(text).label == row["ground_truth"]
            if row["id"] != "p7":
                assert f"<quote_{position}>{chosen}</quote_{position}>" in text   # the chain's quote moved too

    def test_chains_inside_the_records(self, tmp_path):
        source = write_jsonl(tmp_path / "pairs.jsonl", [
            {"id": "p1", "prompt": "2+2?", "chosen": "4", "rejected": "5", "label": "model_a",
             "chain": "<type>Reasoning</type><eval>A</eval><answer>[[A]]</answer>"},
        ])
        assert prepare([source], tmp_path / "out", progress=False).sft_rows == 1

    def test_chain_with_bad_label(self, tmp_path):
        source = write_jsonl(tmp_path / "pairs.jsonl", [{"id": "p1", "prompt": "Q", "chosen": "a", "rejected": "b"}])
        chains = write_jsonl(tmp_path / "chains.jsonl", [{"id": "p1", "label": "A", "chain": "<answer>[[A]]</answer>"}])
        with pytest.raises(RecordError, match="chain for pair 'p1', field 'label'"):
            prepare([source], tmp_path / "out", chains=chains, progress=False)


class TestCommandLine:
    def test_example_with_prompt(self, tmp_path, capsys):
        assert main(["prepare", "--example", "--out", str(tmp_path), "--show-prompt", "--style", "reasoning"]) == 0
        out, err = capsys.readouterr()
        assert "First judge prompt" in out and "----- user -----" in out and "----- system -----" not in out
        assert "RLVR rows: 8" in err

    def test_errors_exit_nonzero_with_message(self, tmp_path, capsys):
        bad = write_jsonl(tmp_path / "bad.jsonl", [{"foo": 1}])
        assert main(["prepare", str(bad), "--out", str(tmp_path / "o")]) == 1
        assert "bad.jsonl, line 1: unrecognised record shape" in capsys.readouterr().err

    def test_console_script(self, tmp_path):
        result = subprocess.run([sys.executable, "-m", "rmr1_plugin", "prepare", "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "verl_train.parquet" in result.stdout
