"""The replay backend serves recorded judge generations from JSONL, and the recorder writes them."""

from __future__ import annotations

import json

import pytest

from rmr1_plugin.backends import (
    BackendError,
    GenerationSettings,
    RecordingBackend,
    ReplayBackend,
    make_backend,
)
from rmr1_plugin.backends.replay import conversation_key

HELLO = [{"role": "user", "content": "hello"}]
OTHER = [{"role": "user", "content": "other"}]


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_recorded_texts_come_back_in_request_order(tmp_path):
    path = write(tmp_path / "log.jsonl", [{"messages": HELLO, "text": "one"},
                                         {"key": conversation_key(OTHER), "text": "two", "finish_reason": "length"}])
    backend = make_backend("replay", path=path)
    first, second = backend.generate([OTHER, HELLO], GenerationSettings())
    assert (first.text, first.finish_reason) == ("two", "length")
    assert (second.text, second.finish_reason) == ("one", "stop")
    assert backend.model_id == "replay:log.jsonl" and len(backend) == 2


def test_several_recordings_of_one_prompt_replay_by_seed_or_in_turn():
    backend = ReplayBackend.from_records([{"messages": HELLO, "text": "x", "seed": 7},
                                          {"messages": HELLO, "text": "y"}])
    assert backend.generate([HELLO], GenerationSettings(seed=7))[0].text == "x"
    assert [backend.generate([HELLO], GenerationSettings())[0].text for _ in range(3)] == ["x", "y", "x"]


def test_a_missing_prompt_is_an_error_generation_or_raises():
    backend = ReplayBackend.from_records([{"messages": HELLO, "text": "x"}])
    [missing] = backend.generate([OTHER], GenerationSettings())
    assert missing.finish_reason == "error" and "no recorded generation" in missing.error
    with pytest.raises(BackendError, match="no recorded generation"):
        ReplayBackend.from_records([], missing="raise").generate([OTHER], GenerationSettings())


@pytest.mark.parametrize("row,message", [
    ("{not json", r"log.jsonl:2: not valid JSON"),
    ({"text": "x"}, r"log.jsonl:2: needs 'messages'"),
    ({"messages": "hi", "text": "x"}, r"log.jsonl:2: field 'messages'"),
    ({"messages": HELLO, "text": 3}, r"log.jsonl:2: field 'text' must be a string"),
    ({"messages": HELLO, "text": "x", "finish_reason": "error"}, r"log.jsonl:2: field 'finish_reason'"),
    ({"messages": HELLO, "text": "x", "seed": "1"}, r"log.jsonl:2: field 'seed'"),
])
def test_bad_rows_are_named_with_file_and_line(tmp_path, row, message):
    path = write(tmp_path / "log.jsonl", [{"messages": HELLO, "text": "ok"}, row])
    with pytest.raises(ValueError, match=message):
        ReplayBackend(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.jsonl"):
        ReplayBackend(tmp_path / "nothing.jsonl")


def test_recording_then_replaying_gives_the_same_generations(tmp_path):
    source = ReplayBackend.from_records([{"messages": HELLO, "text": "one"}, {"messages": OTHER, "text": "two"}])
    log = tmp_path / "recorded.jsonl"
    recorder = RecordingBackend(source, log)
    original = recorder.generate([HELLO, OTHER, [{"role": "user", "content": "unknown"}]], GenerationSettings(seed=3))
    assert len(log.read_text().splitlines()) == 2  # the error generation is not recorded
    replayed = ReplayBackend(log).generate([HELLO, OTHER], GenerationSettings(seed=3))
    assert replayed == original[:2]


def test_unknown_backend_kind_is_named():
    with pytest.raises(ValueError, match="unknown backend kind 'tgi'"):
        make_backend("tgi")
