"""``rmr1 distill`` on the command line: a killed run resumes without judging anything twice;
``--dry-run`` sends nothing; ``--batch`` says what to run next."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from rmr1_plugin.cli import main
from rmr1_plugin.quickstart.teacher import ProgrammaticServer

from .conftest import oracle_teacher, plain_pairs, write_jsonl

_QUESTION = re.compile(r"\[Client Question\]\nWhat is (\d+) \+")


def asked(messages) -> tuple[int, str]:
    """(pass, pair id) of a request the teacher received."""
    text = messages[-1]["content"]
    return (2 if "[Reference Verdict]" in text else 1), f"p{_QUESTION.search(text).group(1)}"


def journal(folder) -> list[dict]:
    path = folder / "judgments.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().endswith("}")]


@pytest.mark.slow
def test_a_killed_run_resumes_and_judges_nothing_twice(tmp_path):
    rows = plain_pairs(30)
    pairs = write_jsonl(tmp_path / "pairs.jsonl", rows)
    out = tmp_path / "out"
    teacher = oracle_teacher({r["prompt"]: r["chosen"] for r in rows}, {"What is 20 + 21?": "wrong"})
    with ProgrammaticServer(teacher, delay=0.1) as server:
        command = ["distill", str(pairs), "--teacher", server.model, "--base-url", server.base_url, "--out", str(out),
                   "--concurrency", "2", "--no-progress"]
        process = subprocess.Popen([sys.executable, "-m", "rmr1_plugin", *command], env=dict(os.environ),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 120
        while not (out / "judgments.jsonl").exists() or len(journal(out)) < 6:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the distill subprocess recorded nothing"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()
        recorded = {(r["pass"], r["id"]) for r in journal(out)}
        first_run = len(server.requests)
        assert 6 <= len(recorded) < 30 and first_run - len(recorded) <= 2  # at most the 2 in flight were lost

        assert main(command) == 0
        second_run = [asked(m) for m in server.requests[first_run:]]
    assert not set(second_run) & recorded, "a recorded judgement was asked for again"
    assert len(second_run) == len(set(second_run)) == 31 - len(recorded)  # 30 pairs + 1 pass-2 correction
    final = journal(out)
    assert {(r["pass"], r["id"]) for r in final} == {(1, f"p{i}") for i in range(30)} | {(2, "p20")}
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] == 30 and report["pass1"]["resumed"] == len({k for k in recorded if k[0] == 1})
    assert len((out / "chains.jsonl").read_text().splitlines()) == 30


def test_dry_run_prints_the_prompt_and_counts_and_sends_nothing(tmp_path, capsys):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", plain_pairs(10))
    assert main(["distill", str(pairs), "--teacher", "t", "--base-url", "http://127.0.0.1:9/v1",
                 "--out", str(tmp_path / "out"), "--dry-run", "--limit", "4"]) == 0
    printed = capsys.readouterr().out
    assert "[Client Question]" in printed and "pass-1 requests: 4 (0 already answered" in printed
    assert "prompt tokens: ~" in printed and not (tmp_path / "out" / "judgments.jsonl").exists()


def test_batch_mode_writes_the_input_file_and_says_what_to_run(tmp_path, capsys):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", plain_pairs(3))
    assert main(["distill", str(pairs), "--teacher", "Qwen/QwQ-32B", "--out", str(tmp_path / "out"), "--batch",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    batch_input = tmp_path / "out" / "batch" / "pass1_input.jsonl"
    assert len(batch_input.read_text().splitlines()) == 3
    assert f"vllm run-batch -i {batch_input}" in printed and "waiting for batch results of pass 1" in printed


def test_help_explains_the_passes_and_the_outputs(capsys):
    try:
        main(["distill", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    text = capsys.readouterr().out
    for needle in ("pass 1", "pass 2", "chains.jsonl", "--batch", "--dry-run", "--limit", "rmr1 prepare"):
        assert needle in text
