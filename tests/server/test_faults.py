"""The reward server in front of real judge backends, under load and faults: an OpenAI-compatible
backend process (``transformers serve`` with the tiny local model) that the tests kill and restart,
and the tiny model loaded in the server itself."""

from __future__ import annotations

import concurrent.futures
import signal
import time
import uuid

import httpx
import pytest

from rmr1_plugin.client import RewardClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}
#: The engine's OpenAI client gives up on a dead backend after one quick retry.
BACKEND_QUICK_FAIL = (
    "--backend-option",
    "max_retries=1",
    "--backend-option",
    "backoff=0.05",
    "--backend-option",
    "timeout=60",
)


def openai_server(spawn_server, backend, *extra: str):
    """``rmr1 serve`` judging through ``backend`` with short judge outputs and quick failure."""
    return spawn_server(
        "--backend",
        "openai",
        "--model",
        str(backend.model),
        "--base-url",
        backend.base_url,
        "--max-new-tokens",
        "16",
        *BACKEND_QUICK_FAIL,
        *extra,
    )


def metric_total(url: str, name: str) -> float:
    """Sum of a Prometheus sample over its labels (0 when absent)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines()
        if line.startswith((name + "{", name + " "))
    )


def health(url: str) -> int:
    # The server's probe may wait on a backend that is still loading: be patient.
    return httpx.get(f"{url}/health", timeout=90).status_code


def active_requests(url: str) -> float:
    return metric_total(url, "rmr1_requests_active")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError(f"gave up waiting for {what} after {timeout} s")


def test_the_tiny_local_model_in_process_judges_and_reports_its_verdict_errors(
    spawn_server, tiny_model_path
):
    # A random tiny model writes no verdict: the answer says so (never a made-up winner).
    server = spawn_server(
        "--backend", "transformers", "--model", str(tiny_model_path), "--max-new-tokens", "8"
    )
    assert health(server.url) == 200
    answer = httpx.post(
        f"{server.url}/judge", json={"pairs": [PAIR, {**PAIR, "answer_a": "3"}]}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    for result in answer.json()["results"]:
        assert result["winner"] is None and result["error"].startswith("no verdict")
    assert metric_total(server.url, "rmr1_verdicts_total") == 2
    assert metric_total(server.url, "rmr1_verdict_error_ratio") == 1.0


def test_a_burst_beyond_the_queue_gets_429_with_retry_after_and_the_rest_complete(
    spawn_server, judge_backend
):
    server = openai_server(spawn_server, judge_backend, "--max-active", "1", "--max-queued", "2")
    bodies = [
        {"pairs": [{**PAIR, "answer_b": f"{n}"}]} for n in range(12)
    ]  # distinct: no cache hits

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(
            pool.map(lambda b: httpx.post(f"{server.url}/judge", json=b, timeout=120), bodies)
        )

    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}, statuses
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "a burst of 12 against 1 active + 2 queued must be refused in part"
    assert 1 <= statuses.count(200) <= 12 - len(refused)
    for answer in refused:
        assert int(answer.headers["retry-after"]) >= 1
        assert "queue full" in answer.json()["error"]
    # Refused requests were not judged: only the admitted ones reached the backend.
    assert metric_total(server.url, "rmr1_judge_calls_total") == statuses.count(200)


def test_the_client_rides_out_429s_and_each_call_is_judged_once(spawn_server, judge_backend):
    server = openai_server(spawn_server, judge_backend, "--max-active", "1", "--max-queued", "0")
    with (
        RewardClient(server.url, retries=60, backoff=0.05, max_backoff=1.0) as client,
        concurrent.futures.ThreadPoolExecutor(6) as pool,
    ):
        answers = list(pool.map(lambda n: client.judge([{**PAIR, "answer_b": f"{n}"}]), range(6)))
    assert len(answers) == 6 and all(len(a.results) == 1 for a in answers)
    assert metric_total(server.url, "rmr1_rejected_total") >= 1  # the burst was refused at first
    assert metric_total(server.url, "rmr1_judge_calls_total") == 6  # and still judged once per call


def test_backend_killed_mid_run_and_restarted(spawn_server, judge_backend):
    """Every accepted request completes or fails with a clear 503; none is answered twice; the
    server stays up and recovers when the backend is back."""
    server = openai_server(spawn_server, judge_backend, "--max-active", "2", "--max-queued", "64")
    keys = [str(uuid.uuid4()) for _ in range(8)]
    bodies = {k: {"pairs": [{**PAIR, "answer_b": f"{i}"}]} for i, k in enumerate(keys)}

    def post(key: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/judge", json=bodies[key], headers={"Idempotency-Key": key}, timeout=120
        )

    with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
        futures = {key: pool.submit(post, key) for key in keys}
        # Kill the backend (SIGKILL, like a crash) while requests are being judged.
        wait_for(lambda: active_requests(server.url) >= 1, 60, "requests in flight")
        judge_backend.kill()
        first = {key: future.result() for key, future in futures.items()}

    statuses = {key: answer.status_code for key, answer in first.items()}
    assert set(statuses.values()) <= {200, 503}, statuses
    failed = [k for k, s in statuses.items() if s == 503]
    assert failed, "killing the backend mid-run must fail some requests"
    for key in failed:
        assert first[key].json()["error"].startswith("judge backend failed:")
        assert first[key].headers["retry-after"]
    # /health reuses a probe for 2 s, then sees the backend gone.
    wait_for(lambda: health(server.url) == 503, 30, "health to report the outage")
    assert "judge backend failed" in httpx.get(f"{server.url}/health", timeout=90).json()["error"]
    assert server.process.alive()

    judge_backend.start()
    wait_for(lambda: health(server.url) == 200, 60, "health to recover")

    # Retries with the same keys: failures are judged now, successes come back unchanged, unjudged.
    with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
        again = dict(zip(keys, pool.map(post, keys), strict=True))
    assert all(answer.status_code == 200 for answer in again.values()), {
        k: a.text for k, a in again.items()
    }
    for key in keys:
        replayed = again[key].headers.get("idempotent-replayed") == "true"
        assert replayed == (statuses[key] == 200)
        if replayed:
            assert again[key].json() == first[key].json()
    assert server.process.alive()


def test_a_request_past_its_deadline_gets_504_and_frees_its_place(spawn_server, judge_backend):
    server = openai_server(spawn_server, judge_backend, "--max-active", "1", "--max-queued", "0")
    late = httpx.post(
        f"{server.url}/judge", json={"pairs": [PAIR]}, headers={"X-Request-Timeout": "0.001"}
    )
    assert late.status_code == 504 and "deadline of 0.001 s" in late.json()["error"]
    # The cancelled work gave its slot back: the only place is free again.
    wait_for(lambda: active_requests(server.url) == 0, 30, "the slot to be released")
    assert httpx.post(f"{server.url}/judge", json={"pairs": [PAIR]}, timeout=120).status_code == 200
    bad = httpx.post(
        f"{server.url}/judge", json={"pairs": [PAIR]}, headers={"X-Request-Timeout": "soon"}
    )
    assert bad.status_code == 400 and "X-Request-Timeout" in bad.json()["error"]


def test_sigterm_finishes_accepted_requests_then_exits(spawn_server, judge_backend):
    server = openai_server(spawn_server, judge_backend, "--max-active", "1")
    bodies = [{"pairs": [{**PAIR, "answer_b": f"{n}"}]} for n in range(4)]
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        futures = [
            pool.submit(httpx.post, f"{server.url}/judge", json=b, timeout=120) for b in bodies
        ]
        wait_for(lambda: active_requests(server.url) >= 1, 60, "requests in flight")
        server.process.proc.send_signal(signal.SIGTERM)
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result().status_code)
            except httpx.TransportError:
                outcomes.append("not accepted")  # arrived after the listener closed
    assert 200 in outcomes
    assert set(outcomes) <= {200, "not accepted"}, outcomes
    # uvicorn re-raises the signal once it has drained, so process managers see a normal stop.
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.process.log()


def test_partial_results_name_the_backend_failure_instead_of_making_up_a_verdict(
    spawn_server, judge_backend
):
    server = openai_server(spawn_server, judge_backend)
    judge_backend.kill()
    answer = httpx.post(f"{server.url}/judge", json={"pairs": [PAIR], "partial": True}, timeout=120)
    assert answer.status_code == 200
    (result,) = answer.json()["results"]
    assert result["winner"] is None and result["error"]
    scored = httpx.post(
        f"{server.url}/score",
        json={
            "partial": True,
            "groups": [{"prompt": "What is 2+2?", "completions": ["4", "5", "6"]}],
        },
        timeout=120,
    )
    assert scored.status_code == 200
    (group,) = scored.json()["groups"]
    assert group["rewards"] == [None, None, None] and group["error"]
    strict = httpx.post(
        f"{server.url}/score",
        json={"groups": [{"prompt": "What is 2+2?", "completions": ["4", "5", "6"]}]},
        timeout=120,
    )
    assert strict.status_code == 503
