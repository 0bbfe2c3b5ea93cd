"""The evaluation loop's own rules: stable balanced placement, complete RM-Bench records, resumable output folders."""

from __future__ import annotations

import pytest

from rmr1_plugin.evaluate import LogError
from rmr1_plugin.evaluate.runner import EvalSettings, chosen_position, prepare_out, summarize


def test_random_placement_is_stable_per_comparison_and_balanced():
    ids = [f"chat/{n}:{i}:{j}" for n in range(400) for i in range(3) for j in range(3)]
    first = [chosen_position(0, i) for i in ids]
    assert first == [chosen_position(0, i) for i in reversed(ids)][::-1]  # order of judging does not matter
    assert 0.47 < first.count("A") / len(first) < 0.53
    assert first != [chosen_position(1, i) for i in ids]  # the seed changes the placement


def test_an_rm_bench_record_missing_a_pairing_is_reported():
    rows = [{"id": f"chat/1:{i}:{j}", "category": "chat", "group": "chat/1", "chosen_style": i, "rejected_style": j,
             "correct": True, "error": None, "flipped": None} for i in range(3) for j in range(3) if (i, j) != (2, 0)]
    with pytest.raises(ValueError, match=r"RM-Bench record chat/1: comparisons \[\(2, 0\)\]"):
        summarize("rm-bench", rows)


def test_summary_counts_errors_flips_and_placement():
    rows = [
        {"id": "1", "category": "hep-go", "correct": True, "error": None, "flipped": False, "chosen_position": "A"},
        {"id": "2", "category": "hep-go", "correct": False, "error": "truncated", "flipped": True, "chosen_position": "A"},
        {"id": "3", "category": "alpacaeval-easy", "correct": True, "error": None, "flipped": False,
         "chosen_position": "B"},
        {"id": "4", "category": "alpacaeval-easy", "correct": False, "error": None, "flipped": False,
         "chosen_position": "B"},
    ]
    s = summarize("rewardbench", rows)
    assert s["scores"] == {"Chat": 0.5, "Reasoning": 0.5, "Score": 0.5}
    assert s["categories"]["hep-go"] == {"accuracy": 0.5, "n": 2}
    assert s["errors"] == {"truncated": 1} and s["flip_rate"] == 0.25 and s["chosen_shown_as_a"] == 0.5


def test_an_output_folder_resumes_only_with_the_same_settings(tmp_path):
    settings = EvalSettings(benchmark="rmb", data="x", backend="replay", model="m")
    log = prepare_out(tmp_path, settings)
    log.append([{"id": "pairwise/1"}])
    assert list(prepare_out(tmp_path, settings.model_copy(update={"batch_size": 4})).read()) == ["pairwise/1"]
    with pytest.raises(LogError, match="position='random', now position='both'"):
        prepare_out(tmp_path, settings.model_copy(update={"position": "both"}))
    fresh = prepare_out(tmp_path, settings.model_copy(update={"position": "both"}), overwrite=True)
    assert fresh.read() == {}
