"""DeadlinePool: hard per-item deadlines from any thread, workers replaced, memory capped, order kept."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rmr1_plugin.verify.pool import DeadlinePool

HERE = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="module", autouse=True)
def pool_tasks_importable():
    """The workers import their task by name: put this folder (pool_tasks.py) on their path."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [HERE, before]))
    yield
    if before is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def sleepy():
    pool = DeadlinePool("pool_tasks:sleep_then_echo", workers=2)
    yield pool
    pool.close()


@pytest.mark.timeout(60)
def test_results_come_back_in_input_order(sleepy):
    items = [{"sleep": 0.05 * (5 - i), "value": i} for i in range(6)]
    assert [o.value for o in sleepy.map(items, deadline=10)] == list(range(6))


@pytest.mark.timeout(60)
def test_an_overrunning_item_times_out_and_the_others_still_answer(sleepy):
    outcomes = sleepy.map([{"sleep": 0, "value": "a"}, {"sleep": 30, "value": "b"}, {"sleep": 0, "value": "c"}],
                          deadline=1)
    assert [o.status for o in outcomes] == ["ok", "timeout", "ok"]
    assert "deadline" in outcomes[1].error
    # The killed worker was replaced: the pool keeps working at full size.
    assert [o.value for o in sleepy.map([{"sleep": 0, "value": i} for i in range(4)], deadline=30)] == [0, 1, 2, 3]


@pytest.mark.timeout(60)
def test_deadlines_hold_when_called_from_worker_threads(sleepy):
    results = {}

    def call(name):
        results[name] = [o.status for o in sleepy.map([{"sleep": 30}, {"sleep": 0, "value": 1}], deadline=1)]

    threads = [threading.Thread(target=call, args=(n,)) for n in ("t1", "t2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"t1": ["timeout", "ok"], "t2": ["timeout", "ok"]}


@pytest.mark.timeout(60)
def test_concurrent_callers_share_the_workers_without_mixing_answers(sleepy):
    with ThreadPoolExecutor(4) as executor:
        batches = list(executor.map(
            lambda k: [o.value for o in sleepy.map([{"sleep": 0.01, "value": f"{k}-{i}"} for i in range(5)],
                                                   deadline=30)], range(4)))
    assert batches == [[f"{k}-{i}" for i in range(5)] for k in range(4)]


@pytest.mark.timeout(60)
def test_memory_is_capped_per_worker_and_the_batch_goes_on():
    pool = DeadlinePool("pool_tasks:allocate", workers=1, memory_mb=512)
    try:
        outcomes = pool.map([8, 4096, 8], deadline=30)
    finally:
        pool.close()
    assert [o.status for o in outcomes] == ["ok", "error", "ok"]
    assert "memory" in outcomes[1].error


@pytest.mark.timeout(60)
def test_task_exceptions_are_errors_not_crashes():
    pool = DeadlinePool("pool_tasks:sleep_then_echo", workers=1)
    try:
        outcomes = pool.map([{"nosleep": 1}, {"sleep": 0, "value": 2}], deadline=30)
    finally:
        pool.close()
    assert outcomes[0].status == "error" and "KeyError" in outcomes[0].error
    assert outcomes[1].value == 2


def test_bad_task_names_and_closed_pools_are_refused():
    with pytest.raises(ValueError, match="module:function"):
        DeadlinePool("no_colon")
    pool = DeadlinePool("pool_tasks:echo", workers=1)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.map([1], deadline=1)
