"""The OpenAI-compatible backend against a real ``transformers serve`` process on loopback."""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.backends import BackendUnavailableError, GenerationSettings, make_backend
from rmr1_plugin.backends.local_server import free_port
from rmr1_plugin.backends.openai import OpenAIBackend
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SHORT = GenerationSettings(max_new_tokens=6)


def conversations(n):
    return [[{"role": "user", "content": f"Question number {i}?"}] for i in range(n)]


def test_one_generation_per_conversation_in_order(openai_server):
    backend = make_backend("openai", base_urls=openai_server.base_url, model=openai_server.model)
    generations = backend.generate(conversations(5), SHORT)
    assert len(generations) == 5
    assert all(g.finish_reason in ("stop", "length") and g.error is None for g in generations)
    # Greedy decoding is deterministic: the same conversation alone gives the same text.
    assert backend.generate(conversations(5)[3:4], SHORT)[0].text == generations[3].text


def test_the_length_limit_is_reported_as_length(openai_server):
    backend = OpenAIBackend(openai_server.base_url, model=openai_server.model)
    [generation] = backend.generate(conversations(1), GenerationSettings(max_new_tokens=3))
    assert generation.finish_reason == "length"  # the random tiny model never says <|im_end|> this early


def test_async_requests_respect_the_concurrency_bound(openai_server):
    backend = OpenAIBackend(openai_server.base_url, model=openai_server.model, max_concurrency=2)
    peak = 0
    endpoint = backend.endpoints[0]

    async def watch(stop):
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, endpoint.outstanding)
            await asyncio.sleep(0.005)

    async def main():
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        generations = await backend.agenerate(conversations(6), SHORT)
        stop.set()
        await watcher
        return generations

    generations = asyncio.run(main())
    assert len(generations) == 6 and all(g.error is None for g in generations)
    assert peak == 2 and endpoint.served == 6


def test_a_dead_endpoint_is_routed_around(openai_server):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend([dead, openai_server.base_url], model=openai_server.model, backoff=0.01)
    generations = backend.generate(conversations(4), SHORT)
    assert all(g.error is None for g in generations)
    live = backend.endpoints[1]
    assert live.served == 4 and backend.endpoints[0].served == 0
    assert backend.endpoints[0].last_error  # the refusal is recorded


def test_least_outstanding_balancing_spreads_load(openai_server, flaky_proxy):
    with flaky_proxy(failures=0) as proxy:
        backend = OpenAIBackend([openai_server.base_url, proxy.base_url], model=openai_server.model)
        generations = backend.generate(conversations(8), SHORT)
    assert all(g.error is None for g in generations)
    assert [e.served for e in backend.endpoints] == [4, 4]  # all sent at once: evenly split


def test_sync_calls_reuse_the_client_and_its_connection(openai_server, flaky_proxy):
    with flaky_proxy(failures=0) as proxy:
        backend = OpenAIBackend(proxy.base_url, model=openai_server.model)
        for _ in range(3):  # e.g. a reward function judging one batch per training step
            assert backend.generate(conversations(1), SHORT)[0].error is None
        backend.close()
    assert len(proxy.client_ports) == 3 and len(set(proxy.client_ports)) == 1


def test_transient_errors_are_retried(flaky_proxy, openai_server):
    with flaky_proxy(failures=2, status=503) as proxy:
        backend = OpenAIBackend(proxy.base_url, model=openai_server.model, backoff=0.01, max_retries=3)
        [generation] = backend.generate(conversations(1), SHORT)
    assert generation.error is None and proxy.seen == 3


def test_retries_give_up_with_the_reason(flaky_proxy, openai_server):
    with flaky_proxy(failures=10, status=503) as proxy:
        backend = OpenAIBackend(proxy.base_url, model=openai_server.model, backoff=0.01, max_retries=2)
        [generation] = backend.generate(conversations(1), SHORT)
    assert generation.finish_reason == "error"
    assert "HTTP 503" in generation.error and "injected failure" in generation.error and "3 attempts" in generation.error


def test_client_errors_are_not_retried(flaky_proxy, openai_server):
    with flaky_proxy(failures=1, status=400) as proxy:
        backend = OpenAIBackend(proxy.base_url, model=openai_server.model, backoff=0.01)
        [generation] = backend.generate(conversations(1), SHORT)
    assert generation.finish_reason == "error" and "HTTP 400" in generation.error and proxy.seen == 1


def test_a_request_that_outlives_its_timeout_fails_clearly(flaky_proxy, openai_server):
    with flaky_proxy(failures=5, stall=2.0) as proxy:
        backend = OpenAIBackend(proxy.base_url, model=openai_server.model, timeout=0.3, max_retries=1, backoff=0.01)
        [generation] = backend.generate(conversations(1), SHORT)
    assert generation.finish_reason == "error" and "timed out after 0.3 s" in generation.error


def test_nothing_reachable_raises_naming_every_url():
    urls = [f"http://127.0.0.1:{free_port()}/v1", f"http://127.0.0.1:{free_port()}/v1"]
    backend = OpenAIBackend(urls, model="judge", backoff=0.01, max_retries=1)
    with pytest.raises(BackendUnavailableError) as error:
        backend.generate(conversations(3), SHORT)
    assert all(url in str(error.value) for url in urls)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="http"):
        OpenAIBackend("localhost:8000", model="judge")
    with pytest.raises(ValueError, match="model"):
        OpenAIBackend("http://127.0.0.1:8000/v1", model="")


def test_the_judge_runs_end_to_end_over_http(openai_server):
    backend = OpenAIBackend(openai_server.base_url, model=openai_server.model)
    judge = Judge(backend, JudgeConfig(swap="both", generation=GenerationSettings(max_new_tokens=8)))
    pairs = [JudgePair(question="2+2?", answer_a="4", answer_b="5"),
             JudgePair(question="Capital of France?", answer_a="Paris", answer_b="Lyon")]
    verdicts = judge.judge(pairs)
    # The untrained tiny model rambles until the length limit: no verdict, and it says so.
    assert [v.winner for v in verdicts] == [None, None]
    assert all(v.error.startswith("no verdict") and "truncated" in v.error for v in verdicts)
    assert all(len(v.judgments) == 2 and v.swapped == [False, True] for v in verdicts)
    assert judge.stats.generated == 4
    judge.judge(pairs)
    assert judge.stats.generated == 4 and judge.stats.cache_hits == 4
