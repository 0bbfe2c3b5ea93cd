"""The backend protocol and its helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os

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


def test_sync_calls_from_any_thread_share_one_long_lived_loop():
    async def which_loop(tag):
        await asyncio.sleep(0.01)
        return tag, asyncio.get_running_loop()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda tag: run_sync(which_loop(tag)), range(8)))
    assert [tag for tag, _ in results] == list(range(8))
    loops = {id(loop) for _, loop in results}
    assert len(loops) == 1 and not results[0][1].is_closed()  # clients kept per loop live on


def test_run_sync_failures_propagate():
    async def broken():
        raise LookupError("no such judge")

    with pytest.raises(LookupError, match="no such judge"):
        run_sync(broken())


@pytest.mark.timeout(30)
def test_run_sync_works_in_a_forked_child():
    async def answer():
        return 7

    assert run_sync(answer()) == 7  # the parent's loop thread exists now; a forked child has none
    pid = os.fork()
    if pid == 0:
        os._exit(run_sync(answer()))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_a_backend_losing_items_is_caught():
    with pytest.raises(BackendError, match="returned 1 generations for 2 conversations"):
        check_generations("x", [[], []], [Generation(text="a")])
