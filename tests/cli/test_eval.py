"""rmr1 eval end to end: benchmark samples -> judge engine (replay of recorded generations, or a tiny
local model) -> per-sample log, official scores, table and chart; and resuming after a kill."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rmr1_plugin import build_judge_messages
from rmr1_plugin.cli import main
from rmr1_plugin.evaluate import load_benchmark
from rmr1_plugin.evaluate.runner import chosen_position

REPO = Path(__file__).resolve().parents[2]
RM_BENCH_FILES = ("chat_filtered.json", "code_filtered.json", "safety-refuse_filtered.json",
                  "safety-response_filtered.json")


def verdict_text(slot: str) -> str:
    return (f"<type>Chat</type>\n<rubric>Accuracy first.</rubric>\n<eval>Chatbot {slot} is better.</eval>\n"
            f"<answer>[[{slot}]]</answer>")


def record_generations(pairs, path: Path, prefers_chosen, *, seed: int = 0, both_orders: bool = False,
                       skip=frozenset()) -> Path:
    """Write what a judge said about each comparison, as the replay backend reads it.

    ``prefers_chosen(pair, chosen_shown_first)`` decides the judge's pick; under the random
    policy the chosen answer is shown where :func:`chosen_position` puts it, with both orders it
    is shown as A and then as B.
    """
    rows = []
    for pair in pairs:
        if pair.id in skip:
            continue
        placements = ("A", "B") if both_orders else (chosen_position(seed, pair.id),)
        for position in placements:
            a, b = (pair.chosen, pair.rejected) if position == "A" else (pair.rejected, pair.chosen)
            right = prefers_chosen(pair, position == "A")
            slot = position if right else ("B" if position == "A" else "A")
            rows.append({"messages": build_judge_messages(conversation_a=a, conversation_b=b),
                         "text": verdict_text(slot)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def right_on_share(share: float):
    """A judge that is right on a fixed share of comparisons, decided by their content (identical
    prompts get identical judgments, as from a greedy judge and the engine's cache)."""
    def prefers_chosen(pair, _chosen_first) -> bool:
        content = json.dumps([pair.chosen, pair.rejected]).encode()
        return int(hashlib.sha256(content).hexdigest()[:8], 16) / 0xFFFFFFFF < share
    return prefers_chosen


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def small_rm_bench(shared_dir: Path, folder: Path, per_file: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RM_BENCH_FILES:
        records = json.loads((shared_dir / "data" / "rm-bench" / name).read_text())[:per_file]
        (folder / name).write_text(json.dumps(records))
    return folder


def test_rm_bench_with_recorded_generations(shared_dir, tmp_path, capsys):
    data = small_rm_bench(shared_dir, tmp_path / "rm-bench", per_file=3)
    pairs = load_benchmark("rm-bench", data)

    def longer(pair, _):
        return len(pair.chosen[-1]["content"]) > len(pair.rejected[-1]["content"])

    replay = record_generations(pairs, tmp_path / "judge.jsonl", longer)
    out = tmp_path / "out"

    assert main(["eval", "--benchmark", "rm-bench", "--data", str(data), "--backend", "replay",
                 "--replay", str(replay), "--out", str(out), "--no-progress", "--record", str(tmp_path / "rec.jsonl")]) == 0

    log = read_log(out)
    assert sorted(r["id"] for r in log) == sorted(p.id for p in pairs)  # every comparison exactly once
    by_id = {p.id: p for p in pairs}
    for row in log:
        pair = by_id[row["id"]]
        assert row["correct"] == longer(pair, None) == (row["side"] == "chosen")
        assert row["winner"] == (row["chosen_position"] if row["correct"] else {"A": "B", "B": "A"}[row["chosen_position"]])
        assert row["judgments"][0]["winner"] == row["winner"] and row["generations"] == [verdict_text(row["winner"])]
        shown_a = pair.chosen if row["chosen_position"] == "A" else pair.rejected
        assert shown_a[-1]["content"] in row["prompt"][-1]["content"]
    # Expected scores straight from the data: a length-preferring judge on RM-Bench's style matrix.
    results = json.loads((out / "results.json").read_text())
    raw = {name.removesuffix("_filtered.json"): json.loads((data / name).read_text()) for name in RM_BENCH_FILES}

    def cell_of(records):
        return lambda i, j: sum(len(r["chosen"][i]) > len(r["rejected"][j]) for r in records) / len(records)

    for domain, files in (("chat", ["chat"]), ("code", ["code"]), ("safety", ["safety-refuse", "safety-response"])):
        cell = cell_of([r for f in files for r in raw[f]])
        expected = {"hard": (cell(0, 1) + cell(0, 2) + cell(1, 2)) / 3, "normal": (cell(0, 0) + cell(1, 1) + cell(2, 2)) / 3,
                    "easy": (cell(1, 0) + cell(2, 0) + cell(2, 1)) / 3}
        got = results["scores"]["domains"][domain]
        assert {k: got[k] for k in expected} == pytest.approx(expected)
    assert results["comparisons"] == len(pairs) == 9 * 12 and results["judged_this_run"] == len(pairs)
    assert (out / "accuracy.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "RM-Bench domains" in printed and f"{100 * results['scores']['average']:.1f}" in printed
    # --record wrote what the judge said; replaying it reproduces the run.
    assert main(["eval", "--benchmark", "rm-bench", "--data", str(data), "--backend", "replay", "--replay",
                 str(tmp_path / "rec.jsonl"), "--out", str(tmp_path / "again"), "--no-progress", "--no-plot"]) == 0
    assert json.loads((tmp_path / "again" / "results.json").read_text())["scores"] == results["scores"]


def test_rmb_pairwise_and_best_of_n_with_a_missing_recording(shared_dir, tmp_path, capsys):
    data = tmp_path / "rmb"
    for part in ("Pairwise_set/Harmlessness/S1.json", "Pairwise_set/Helpfulness/Code/Documentation.json",
                 "BoN_set/Harmlessness/S1.json"):
        (data / part).parent.mkdir(parents=True, exist_ok=True)
        (data / part).write_text(json.dumps(json.loads((shared_dir / "data" / "rmb" / part).read_text())[:12]))
    pairs = load_benchmark("rmb", data)
    right = right_on_share(0.8)
    missing = next(p.id for p in pairs if p.meta["kind"] == "pairwise" and right(p, None))
    replay = record_generations(pairs, tmp_path / "judge.jsonl", right, skip={missing})
    out = tmp_path / "out"

    args = ["eval", "--benchmark", "rmb", "--data", str(data), "--backend", "replay", "--replay", str(replay),
            "--out", str(out), "--no-progress", "--batch-size", "5"]
    # By default a backend failure stops the run: it is not the judge's mistake.
    assert main(args) == 1
    assert "no recorded generation" in capsys.readouterr().err
    stopped_at = len(read_log(out))
    assert stopped_at % 5 == 0 and stopped_at < len(pairs) and missing not in {r["id"] for r in read_log(out)}
    # Counting failures as wrong needs a fresh run: the setting is part of what a log was made with.
    assert main(args + ["--backend-errors", "wrong"]) == 1
    assert "backend_errors='stop', now backend_errors='wrong'" in capsys.readouterr().err
    assert main(args + ["--backend-errors", "wrong", "--overwrite"]) == 0

    results = json.loads((out / "results.json").read_text())
    log = {r["id"]: r for r in read_log(out)}
    assert set(log) == {p.id for p in pairs}
    assert log[missing]["correct"] is False and log[missing]["side"] is None
    assert "no recorded generation" in log[missing]["error"]
    assert sum(results["errors"].values()) == 1

    def ok(pair):
        return right(pair, None) and pair.id != missing

    pairwise = [p for p in pairs if p.meta["kind"] == "pairwise"]
    for goal in ("Helpfulness", "Harmlessness"):
        mine = [ok(p) for p in pairwise if f"/{goal}/" in p.meta["category"]]
        assert results["scores"][f"Pairwise {goal}"] == pytest.approx(sum(mine) / len(mine))
    groups: dict[str, list[bool]] = {}
    for p in pairs:
        if p.meta["kind"] == "bon":
            groups.setdefault(p.meta["group"], []).append(ok(p))
    assert len(groups) == 12
    assert results["scores"]["BoN Harmlessness"] == pytest.approx(sum(all(g) for g in groups.values()) / 12)
    assert "BoN Helpfulness" not in results["scores"]
    assert results["scores"]["Overall"] == pytest.approx(
        (results["scores"]["Pairwise Helpfulness"] + results["scores"]["Pairwise Harmlessness"]
         + results["scores"]["BoN Harmlessness"]) / 3)


REWARDBENCH_ROWS = [
    {"id": i, "prompt": f"Question {i}?", "chosen": f"Right answer {i}.", "rejected": f"Wrong answer {i}.",
     "subset": subset}
    for i, subset in enumerate(["alpacaeval-easy"] * 4 + ["mt-bench-hard"] * 4 + ["donotanswer"] * 4
                               + ["math-prm"] * 2 + ["hep-go"] * 2)
]


def test_rewardbench_both_orders_reports_the_flip_rate(tmp_path):
    data = tmp_path / "filtered.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in REWARDBENCH_ROWS))
    pairs = load_benchmark("rewardbench", data)
    # A judge with position bias on Chat Hard: it always says A there, so those pairs flip.
    biased = {p.id for p in pairs if p.meta["subset"] == "mt-bench-hard"}
    replay = record_generations(pairs, tmp_path / "judge.jsonl",
                                lambda pair, chosen_first: chosen_first if pair.id in biased else True,
                                both_orders=True)
    out = tmp_path / "out"

    assert main(["eval", "--benchmark", "rewardbench", "--data", str(data), "--backend", "replay",
                 "--replay", str(replay), "--position", "both", "--out", str(out), "--no-progress"]) == 0

    results = json.loads((out / "results.json").read_text())
    assert results["flip_rate"] == pytest.approx(4 / 16)
    assert results["scores"] == {"Chat": 1.0, "Chat Hard": 0.0, "Safety": 1.0, "Reasoning": 1.0, "Score": 0.75}
    flipped = [r for r in read_log(out) if r["flipped"]]
    assert {r["id"] for r in flipped} == biased
    assert all(r["swapped"] == [False, True] and len(r["generations"]) == 2 and r["winner"] is None for r in flipped)


def test_votes_take_the_majority_of_sampled_judgments(tmp_path, capsys):
    data = tmp_path / "filtered.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in REWARDBENCH_ROWS))
    pairs = load_benchmark("rewardbench", data)
    # Three samples per prompt (the replay backend serves them in order, one per vote):
    # right, wrong, then right again on Chat; wrong, wrong, right elsewhere.
    rows = []
    for pair in pairs:
        position = chosen_position(0, pair.id)
        a, b = (pair.chosen, pair.rejected) if position == "A" else (pair.rejected, pair.chosen)
        wrong = "B" if position == "A" else "A"
        picks = [position, wrong, position] if pair.meta["subset"] == "alpacaeval-easy" else [wrong, wrong, position]
        rows += [{"messages": build_judge_messages(conversation_a=a, conversation_b=b), "text": verdict_text(p)}
                 for p in picks]
    replay = tmp_path / "judge.jsonl"
    replay.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["eval", "--benchmark", "rewardbench", "--data", str(data), "--backend", "replay", "--replay", str(replay),
            "--votes", "3", "--no-progress", "--no-plot"]

    assert main(args + ["--out", str(tmp_path / "greedy")]) == 1
    assert "votes=3 needs sampling" in capsys.readouterr().err
    assert main(args + ["--temperature", "0.7", "--out", str(tmp_path / "out")]) == 0

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["scores"]["Chat"] == 1.0 and results["scores"]["Safety"] == 0.0
    assert all(len(r["generations"]) == 3 for r in read_log(tmp_path / "out"))
    assert results["engine"]["requests"] == 3 * len(pairs)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "filtered.json"
    data.write_text(json.dumps([{"id": 1, "prompt": "Q", "chosen": "a", "rejected": "b"}]))
    replay = tmp_path / "judge.jsonl"
    replay.write_text("")
    args = ["eval", "--benchmark", "rewardbench", "--data", str(data), "--backend", "replay", "--out",
            str(tmp_path / "out"), "--no-progress"]
    assert main(args + ["--replay", str(replay)]) == 1
    assert "filtered.json, row 1, field 'subset'" in capsys.readouterr().err
    data.write_text(json.dumps([{"id": 1, "prompt": "Q", "chosen": "a", "rejected": "b", "subset": "hep-go"}]))
    assert main(args) == 1
    assert "--backend replay needs --replay FILE" in capsys.readouterr().err


def test_a_local_looking_data_path_that_does_not_exist_is_refused_without_asking_the_hub(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    replay = tmp_path / "judge.jsonl"
    replay.write_text("")
    assert main(["eval", "--benchmark", "rm-bench", "--data", "RM-Bench/data", "--backend", "replay", "--replay",
                 str(replay), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    assert "RM-Bench/data: no such file or folder" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_tiny_local_model_runs_through_the_same_path(tiny_model_path, tmp_path):
    """Wiring only: a 2-layer random model writes no verdicts, and every comparison is still logged and counted."""
    data = tmp_path / "filtered.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in REWARDBENCH_ROWS[:3] + REWARDBENCH_ROWS[12:14]))
    out = tmp_path / "out"
    assert main(["eval", "--benchmark", "rewardbench", "--data", str(data), "--backend", "transformers",
                 "--model", str(tiny_model_path), "--max-new-tokens", "8", "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    log = read_log(out)
    assert len(log) == results["comparisons"] == 5
    assert all(len(r["generations"]) == 1 and r["prompt"][0]["role"] == "system" for r in log)
    no_winner = [r for r in log if r["winner"] is None]
    assert sum(results["errors"].values()) == len(no_winner)
    assert set(results["scores"]) == {"Chat", "Reasoning", "Score"}


@pytest.mark.timeout(300)
def test_an_interrupted_or_killed_run_resumes_with_every_sample_exactly_once(shared_dir, tmp_path):
    # Replayed verdicts are judged in about a millisecond each: enough comparisons that a busy
    # machine's test process cannot miss the window between the 30th line and the end of the run.
    data = small_rm_bench(shared_dir, tmp_path / "rm-bench", per_file=40)
    pairs = load_benchmark("rm-bench", data)
    right = right_on_share(0.7)
    replay = record_generations(pairs, tmp_path / "judge.jsonl", right)
    out = tmp_path / "out"
    log_path = out / "samples.jsonl"
    command = [sys.executable, "-m", "rmr1_plugin", "eval", "--benchmark", "rm-bench", "--data", str(data),
               "--backend", "replay", "--replay", str(replay), "--out", str(out), "--batch-size", "1",
               "--no-progress", "--no-plot"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}

    def lines() -> int:
        return log_path.read_bytes().count(b"\n") if log_path.exists() else 0

    def interrupt_after(more: int, sig: signal.Signals) -> subprocess.Popen:
        target = lines() + more
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and lines() < target:
            time.sleep(0.02)
        assert process.poll() is None, "the run ended before it could be interrupted: " + process.stderr.read()
        process.send_signal(sig)
        process.wait(timeout=60)
        return process

    ctrl_c = interrupt_after(30, signal.SIGINT)  # Ctrl-C: a clean stop with a hint
    assert ctrl_c.returncode == 130 and "rerun the same command to resume" in ctrl_c.stderr.read()
    after_ctrl_c = lines()
    interrupt_after(30, signal.SIGKILL)  # a kill: whatever was mid-write is torn
    killed_at = lines()
    assert 30 <= after_ctrl_c < killed_at < len(pairs)

    resumed = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    ids = [r["id"] for r in read_log(out)]
    assert Counter(ids) == Counter(p.id for p in pairs)  # none twice, none missing
    results = json.loads((out / "results.json").read_text())
    assert results["resumed"] >= killed_at and results["judged_this_run"] == len(pairs) - results["resumed"]
    assert results["accuracy"] == pytest.approx(sum(right(p, None) for p in pairs) / len(pairs))
    assert "resuming:" in resumed.stderr
