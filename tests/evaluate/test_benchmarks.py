"""Benchmark loaders: public formats in, comparisons with stable unique ids and scoring metadata out."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rmr1_plugin.data import RecordError
from rmr1_plugin.evaluate import load_benchmark
from rmr1_plugin.evaluate.benchmarks import category_of


def rewardbench_rows() -> list[dict]:
    return [
        {"id": 30, "prompt": "Sum 2 and 2.", "chosen": "4", "rejected": "5", "subset": "math-prm",
         "chosen_model": "x", "rejected_model": "y"},
        {"id": 31, "prompt": "Say hi.", "chosen": "Hi!", "rejected": "Bye.", "subset": "alpacaeval-easy",
         "chosen_model": "x", "rejected_model": "y"},
    ]


def test_rewardbench_filtered_rows_keep_their_subset(tmp_path):
    path = tmp_path / "filtered.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rewardbench_rows()))
    pairs = load_benchmark("rewardbench", path)
    assert [p.id for p in pairs] == ["30", "31"]
    assert [category_of("rewardbench", p) for p in pairs] == ["math-prm", "alpacaeval-easy"]
    assert pairs[0].chosen[-1]["content"] == "4" and pairs[0].rejected[-1]["content"] == "5"


def test_rewardbench_row_without_subset_names_the_row(tmp_path):
    rows = rewardbench_rows()
    del rows[1]["subset"]
    path = tmp_path / "filtered.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(RecordError, match=r"filtered.json, row 2, field 'subset'"):
        load_benchmark("rewardbench", path)


def test_a_record_of_another_benchmark_is_refused_with_its_shape(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps([{"conversation_input": [{"role": "user", "content": "q"}],
                                 "chosen": {"llm_name": "a", "answer": "x"}, "reject": {"llm_name": "b", "answer": "y"},
                                 "category_path": "Pairwise_set/Harmlessness/S1", "pair_uid": "1"}]))
    with pytest.raises(RecordError, match="not a rm-bench record: its shape is rmb-pairwise"):
        load_benchmark("rm-bench", path)


def test_rm_bench_folder_gives_nine_comparisons_per_record(shared_dir):
    folder = shared_dir / "data" / "rm-bench"
    records = {f.stem.removesuffix("_filtered"): len(json.loads(f.read_text())) for f in folder.glob("*.json")}
    pairs = load_benchmark("rm-bench", folder)
    per_domain = Counter(p.meta["domain"] for p in pairs)
    assert per_domain == {d: 9 * n for d, n in records.items()}
    assert len({p.id for p in pairs}) == len(pairs)  # chat/8 and code/8 are different records
    groups = Counter(p.meta["group"] for p in pairs)
    assert set(groups.values()) == {9}
    first = [p for p in pairs if p.meta["group"] == pairs[0].meta["group"]]
    assert sorted((p.meta["chosen_style"], p.meta["rejected_style"]) for p in first) == [
        (i, j) for i in range(3) for j in range(3)]
    source = json.loads((folder / "chat_filtered.json").read_text())[0]
    cell = next(p for p in first if (p.meta["chosen_style"], p.meta["rejected_style"]) == (0, 2))
    assert cell.chosen[-1]["content"] == source["chosen"][0] and cell.rejected[-1]["content"] == source["rejected"][2]


def test_rm_bench_total_dataset_is_not_read_twice(shared_dir, tmp_path):
    chat = json.loads((shared_dir / "data" / "rm-bench" / "chat_filtered.json").read_text())[:3]
    (tmp_path / "chat_filtered.json").write_text(json.dumps(chat))
    (tmp_path / "total_dataset.json").write_text(json.dumps([{**r, "domain": "chat"} for r in chat]))
    assert len(load_benchmark("rm-bench", tmp_path)) == 27
    # The concatenated file alone carries the domain in each record.
    assert {p.meta["domain"] for p in load_benchmark("rm-bench", tmp_path / "total_dataset.json")} == {"chat"}


def test_rm_bench_limit_counts_records_not_comparisons(shared_dir):
    pairs = load_benchmark("rm-bench", shared_dir / "data" / "rm-bench", limit=2)
    assert len(pairs) == 18 and len({p.meta["group"] for p in pairs}) == 2


def test_rmb_folder_reads_pairwise_and_best_of_n(shared_dir):
    folder = shared_dir / "data" / "rmb"
    pairs = load_benchmark("rmb", folder)
    kinds = Counter(p.meta["kind"] for p in pairs)
    pairwise_records = sum(len(json.loads(f.read_text())) for f in (folder / "Pairwise_set").rglob("*.json"))
    bon_records = [r for f in (folder / "BoN_set").rglob("*.json") for r in json.loads(f.read_text())]
    assert kinds["pairwise"] == pairwise_records
    assert kinds["bon"] == sum(len(r["loser_list"]) for r in bon_records)
    assert len({p.meta["group"] for p in pairs if p.meta["kind"] == "bon"}) == len(bon_records)
    assert len({p.id for p in pairs}) == len(pairs)
    bon = next(p for p in pairs if p.meta["kind"] == "bon")
    assert bon.id.startswith("bon/") and bon.meta["category"].startswith("BoN_set/")
    assert category_of("rmb", bon) == bon.meta["category"]


def test_duplicate_ids_are_refused(tmp_path):
    rows = rewardbench_rows()
    rows[1]["id"] = 30
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="share the id '30'"):
        load_benchmark("rewardbench", path)


def test_missing_file_and_empty_folder_say_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_benchmark("rmb", tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="no .json, .jsonl, .parquet files"):
        load_benchmark("rmb", tmp_path)
    with pytest.raises(ValueError, match="unknown benchmark"):
        load_benchmark("helm", Path("x.json"))
