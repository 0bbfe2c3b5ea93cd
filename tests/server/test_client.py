"""``rmr1_plugin.client`` against a real ``rmr1 serve`` process: typed answers, retries with one
idempotency key, clear errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import random

import pytest

from rmr1_plugin.client import AsyncRewardClient, RewardClient, RewardServerError, backoff_delay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}


@pytest.fixture(scope="module")
def server(spawn_replay):
    return spawn_replay("--strategy", "round_robin", token="client-token")


def test_sync_client_gets_typed_answers(server):
    with RewardClient(server.url, token="client-token") as client:
        assert client.health()["status"] == "ready"
        assert [r.winner for r in client.judge([PAIR]).results] == ["A"]
        scores = client.score([{"prompt": "What is 2+2?", "completions": ["4", "5"]}])
        assert (
            scores.strategy == "round_robin"
            and scores.groups[0].rewards[0] > scores.groups[0].rewards[1]
        )
        prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        rewards = client.get_reward(
            [prompt + "4<|im_end|>", prompt + "5<|im_end|>"], [prompt, prompt]
        )
        assert rewards.rewards == scores.groups[0].rewards


def test_async_client_gets_the_same_answers(server):
    async def run():
        async with AsyncRewardClient(server.url, token="client-token") as client:
            return await asyncio.gather(*(client.judge([PAIR]) for _ in range(4)))

    answers = asyncio.run(run())
    assert [a.results[0].winner for a in answers] == ["A"] * 4


def test_client_errors_are_raised_at_once_with_the_servers_reason(server):
    with RewardClient(server.url, token="wrong", retries=3, backoff=0.01) as client:
        with pytest.raises(RewardServerError, match="401.*bearer token") as info:
            client.judge([PAIR])
        assert info.value.status == 401
    with RewardClient(server.url, token="client-token", retries=3, backoff=0.01) as client:
        with pytest.raises(RewardServerError, match=r"pairs\[0\]") as info:
            client.judge([{"question": "q", "answer_a": "a"}])
        assert info.value.status == 422


def test_client_retries_until_the_server_is_up(spawn_replay, loopback_port):
    url = f"http://127.0.0.1:{loopback_port}"
    with (
        concurrent.futures.ThreadPoolExecutor(1) as pool,
        RewardClient(url, retries=60, backoff=0.05, max_backoff=0.5) as client,
    ):
        pending = pool.submit(client.judge, [PAIR])  # nothing listens yet: connection refused
        spawn_replay(port=loopback_port)
        assert pending.result(timeout=60).results[0].winner == "A"


def test_unreachable_server_is_a_clear_error_after_the_retries():
    with RewardClient("http://127.0.0.1:9", retries=2, backoff=0.01) as client:
        with pytest.raises(RewardServerError, match="unreachable") as info:
            client.judge([PAIR])
        assert info.value.status is None


def test_backoff_honours_retry_after_and_stays_under_the_cap():
    rng = random.Random(0)
    assert backoff_delay(0, base=0.5, cap=30, retry_after="7") == 7.0
    assert backoff_delay(0, base=0.5, cap=30, retry_after="600") == 30.0
    assert all(0 <= backoff_delay(a, base=0.5, cap=4, rng=rng) <= 4 for a in range(20))
    assert backoff_delay(0, base=0.5, cap=30, retry_after="soon", rng=rng) <= 0.5
