"""The backend protocol and its helpers."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from rmr1_plugin.backends import (
    Backend,
    BackendError,
    Generation,
    GenerationSettings,
    RecordingBackend,
    ReplayBackend,
    run_sync,
)
from rmr1_plugin.backends.base import check_generations


def test_backends_satisfy_the_protocol(tmp_path):
    replay = ReplayBackend.from_records([])
    assert isinstance(replay, Backend) and isinstance(RecordingBackend(replay, tmp_path / "log.jsonl"), Backend)


def test_settings_validate_and_normalise():
    assert GenerationSettings(stop="</answer>").stop == ("</answer>",)
    assert GenerationSettings().greedy and not GenerationSettings(temperature=0.5).greedy
    for bad in ({"max_new_tokens": 0}, {"temperature": -1}, {"top_p": 0}, {"max_tokens": 5}):
        with pytest.raises(ValidationError):
            GenerationSettings(**bad)


def test_run_sync_works_inside_a_running_event_loop():
    async def inner():
        await asyncio.sleep(0)
        return 42

    async def outer():
        return run_sync(inner())  # e.g. a sync reward function called from an async trainer

    assert run_sync(inner()) == 42 and asyncio.run(outer()) == 42


def test_a_backend_losing_items_is_caught():
    with pytest.raises(BackendError, match="returned 1 generations for 2 conversations"):
        check_generations("x", [[], []], [Generation(text="a")])
