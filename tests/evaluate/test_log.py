"""The per-sample log: whole lines, torn tails repaired, damage and mixed settings refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmr1_plugin.evaluate.log import LogError, SampleLog, check_resumable


def test_appended_records_read_back_by_id(tmp_path):
    log = SampleLog(tmp_path / "sub" / "samples.jsonl")
    assert log.read() == {}
    log.append([{"id": "a", "correct": True}, {"id": "b", "correct": False}])
    log.append([])
    log.append([{"id": "c", "correct": True, "text": "ünïcode\nwith newline"}])
    records = log.read()
    assert list(records) == ["a", "b", "c"] and records["c"]["text"] == "ünïcode\nwith newline"
    assert log.path.read_text().count("\n") == 3


def test_a_line_torn_by_a_kill_is_cut_off_and_the_rest_kept(tmp_path, caplog):
    log = SampleLog(tmp_path / "samples.jsonl")
    log.append([{"id": "a"}, {"id": "b"}])
    with log.path.open("a") as handle:
        handle.write('{"id": "c", "gener')  # the process died here
    assert list(log.read()) == ["a", "b"]
    assert "partly written last line" in caplog.text
    assert log.path.read_text().endswith('"b"}\n')
    log.append([{"id": "c"}])  # appending after the repair gives whole lines again
    assert list(log.read()) == ["a", "b", "c"]


def test_damage_inside_the_log_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(LogError, match=r"samples.jsonl, line 2: not valid JSON"):
        SampleLog(path).read()
    path.write_text('{"id": "a"}\n{"no_id": 1}\n')
    with pytest.raises(LogError, match="line 2: expected an object with a string 'id'"):
        SampleLog(path).read()


def test_a_sample_logged_twice_is_an_error(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps({"id": i}) + "\n" for i in ("a", "b", "a")))
    with pytest.raises(LogError, match="line 3: sample 'a' is logged twice"):
        SampleLog(path).read()


def test_resuming_with_other_settings_is_refused():
    saved = {"benchmark": "rmb", "model": "m", "votes": 1, "batch_size": 8}
    check_resumable(saved, {**saved, "batch_size": 32}, Path("run.json"))  # batch size may change
    with pytest.raises(LogError, match=r"votes=1, now votes=3"):
        check_resumable(saved, {**saved, "votes": 3}, Path("run.json"))
