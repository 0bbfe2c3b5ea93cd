"""The reward server as a real process on loopback, with recorded judge outputs behind it (the
replay backend): validation, auth, idempotent retries, limits, health, metrics, shutdown."""

from __future__ import annotations

import concurrent.futures
import json
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}
CHATML_PROMPT = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def server(spawn_replay):
    """One server for the tests that share its limits (a few tests start their own)."""
    return spawn_replay("--strategy", "round_robin", "--max-items", "8", "--max-chars", "2000")


def metric(url: str, name: str, headers: dict | None = None) -> float:
    """Sum of a Prometheus sample over its labels (0 when absent)."""
    text = httpx.get(f"{url}/metrics", headers=headers or {}).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_judge_returns_the_recorded_verdicts_in_request_order(server):
    pairs = [PAIR, {**PAIR, "answer_a": "5", "answer_b": "4"}]
    response = httpx.post(f"{server.url}/judge", json={"pairs": pairs, "include_text": True})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["winner"] for r in results] == ["A", "B"]
    assert results[0]["task_type"] == "Reasoning" and results[0]["texts"][0].endswith(
        "<answer>[[A]]</answer>"
    )


def test_score_ranks_a_group_and_openrlhf_gets_rewards_and_scores(server):
    response = httpx.post(
        f"{server.url}/score",
        json={"groups": [{"prompt": "What is 2+2?", "completions": ["4", "5"]}]},
    )
    assert response.status_code == 200, response.text
    (group,) = response.json()["groups"]
    assert group["rewards"][0] > group["rewards"][1] and group["calls"] >= 1

    query = [CHATML_PROMPT + "4<|im_end|>", CHATML_PROMPT + "5<|im_end|>"]
    answer = httpx.post(
        f"{server.url}/get_reward",
        json={"query": query, "prompts": [CHATML_PROMPT] * 2, "labels": [None, None]},
    ).json()
    assert answer["rewards"] == group["rewards"]
    assert answer["scores"] == [(r + 1) / 2 for r in group["rewards"]]
    assert answer["extra_logs"]["judge_calls"] == group["calls"]


def test_math_groups_with_a_gold_answer_are_settled_by_the_verifier_without_judge_calls(server):
    calls = metric(server.url, "rmr1_judge_calls_total")
    response = httpx.post(
        f"{server.url}/score",
        json={
            "groups": [
                {
                    "prompt": "What is 2+2?",
                    "completions": ["So it is \\boxed{4}.", "So it is \\boxed{5}."],
                    "gold": "4",
                    "task": "math",
                }
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["groups"][0]["rewards"] == [1.0, -1.0]
    assert metric(server.url, "rmr1_judge_calls_total") == calls


def test_responses_from_separate_requests_are_ranked_together_with_group_size(spawn_replay, server):
    grouped = spawn_replay("--strategy", "round_robin", "--group-size", "2", "--group-wait", "60")
    together = httpx.post(
        f"{server.url}/get_reward", json={"query": [CHATML_PROMPT + "4", CHATML_PROMPT + "5"]}
    )

    def one(text):  # OpenRLHF's rollout: one request per response, as each finishes
        return httpx.post(
            f"{grouped.url}/get_reward",
            json={"query": [CHATML_PROMPT + text], "prompts": [CHATML_PROMPT], "labels": [None]},
            timeout=60,
        )

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        apart = list(pool.map(one, ["4", "5"]))
    assert [a.status_code for a in apart] == [200, 200]
    assert [a.json()["rewards"][0] for a in apart] == together.json()["rewards"]


def test_a_lone_response_is_compared_with_its_label_or_refused_after_the_group_wait(spawn_replay):
    grouped = spawn_replay("--group-size", "4", "--group-wait", "0.2")
    labelled = httpx.post(
        f"{grouped.url}/get_reward", json={"query": [CHATML_PROMPT + "5"], "labels": ["4"]}
    )
    assert labelled.status_code == 200 and labelled.json()["rewards"][0] < 0  # "4" beats "5"
    alone = httpx.post(f"{grouped.url}/get_reward", json={"query": [CHATML_PROMPT + "5"]})
    assert alone.status_code == 422
    assert "query[0]" in alone.json()["error"] and "--group-wait" in alone.json()["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pairs": [{"question": "q", "answer_a": "a"}]}, "answer_b"),
        ({"pairs": [{**PAIR, "answer_c": "x"}]}, "pairs[0].answer_c"),
        ({"pairs": []}, "pairs"),
        (
            {
                "pairs": [
                    {"conversation_a": [{"role": "robot", "content": "x"}], "conversation_b": []}
                ]
            },
            "pairs[0].conversation_a[0].role",
        ),
        ({"pairs": [{**PAIR, "answer_a": "x" * 2001}]}, "pairs[0].answer_a"),
        ({"pairs": [PAIR] * 9}, "pairs"),
    ],
)
def test_bad_judge_requests_get_422_naming_the_field(server, body, field):
    response = httpx.post(f"{server.url}/judge", json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]


def test_bad_score_and_reward_requests_name_the_field(server):
    cases = [
        ("/score", {"groups": [{"prompt": "q", "completions": ["only one"]}]}, "groups[0]"),
        (
            "/score",
            {"groups": [{"prompt": "q", "completions": ["a", "b"]}], "strategy": "coin_flip"},
            "strategy",
        ),
        (
            "/get_reward",
            {"query": [CHATML_PROMPT + "4"], "prompts": [CHATML_PROMPT, CHATML_PROMPT]},
            "prompts",
        ),
        ("/get_reward", {"query": ["no chat markers"], "labels": ["4"]}, "query[0]"),
        ("/get_reward", {"query": [CHATML_PROMPT + "4"]}, "query[0]"),
    ]
    for path, body, field in cases:
        response = httpx.post(f"{server.url}{path}", json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert field in response.json()["error"], (path, response.json())
    assert (
        httpx.post(
            f"{server.url}/judge",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )


def test_body_over_the_size_limit_is_refused_before_parsing(spawn_replay):
    server = spawn_replay("--max-body-mb", "0.01")
    response = httpx.post(
        f"{server.url}/judge", json={"pairs": [{**PAIR, "answer_a": "x" * 20_000}]}
    )
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_bearer_token_guards_every_route_but_health(spawn_replay):
    server = spawn_replay(token="s3cret-token")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
        response = httpx.post(f"{server.url}/judge", json={"pairs": [PAIR]}, headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{server.url}/metrics", headers=headers).status_code == 401
    # Auth comes first: a bad body without a token is still a 401, not a 422.
    assert httpx.post(f"{server.url}/judge", json={"pairs": []}).status_code == 401
    good = {"Authorization": "Bearer s3cret-token"}
    assert (
        httpx.post(f"{server.url}/judge", json={"pairs": [PAIR]}, headers=good).status_code == 200
    )
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_a_retried_request_is_answered_from_the_first_and_not_judged_again(server):
    key = str(uuid.uuid4())
    body = {"pairs": [PAIR, {**PAIR, "answer_a": "5", "answer_b": "4"}]}
    first = httpx.post(f"{server.url}/judge", json=body, headers={"Idempotency-Key": key})
    calls = metric(server.url, "rmr1_judge_calls_total")
    assert first.status_code == 200 and calls >= 2
    retry = httpx.post(f"{server.url}/judge", json=body, headers={"Idempotency-Key": key})
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert metric(server.url, "rmr1_judge_calls_total") == calls
    assert metric(server.url, "rmr1_idempotent_replays_total") >= 1

    reused = httpx.post(
        f"{server.url}/judge", json={"pairs": [PAIR]}, headers={"Idempotency-Key": key}
    )
    assert reused.status_code == 422 and "already used" in reused.json()["error"]
    too_long = httpx.post(f"{server.url}/judge", json=body, headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json()["error"]


def test_concurrent_duplicates_are_judged_once(server):
    key = str(uuid.uuid4())
    body = {"groups": [{"prompt": "What is 2+2?", "completions": ["4", "5"]}] * 4}

    def post(_):
        return httpx.post(
            f"{server.url}/score", json=body, headers={"Idempotency-Key": key}, timeout=60
        )

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    replayed = sum(a.headers.get("idempotent-replayed") == "true" for a in answers)
    assert replayed == 5


def test_metrics_count_requests_verdicts_and_latency(spawn_replay):
    server = spawn_replay()
    httpx.post(
        f"{server.url}/judge",
        json={"pairs": [PAIR, {**PAIR, "answer_b": "unrecorded"}], "partial": True},
    )
    text = httpx.get(f"{server.url}/metrics").text
    assert 'rmr1_requests_total{endpoint="/judge",status="200"} 1.0' in text
    assert 'rmr1_verdicts_total{outcome="A"} 1.0' in text
    assert 'rmr1_verdicts_total{outcome="error"} 1.0' in text
    assert "rmr1_verdict_error_ratio 0.5" in text
    assert 'rmr1_request_latency_seconds_count{endpoint="/judge"} 1.0' in text
    assert "rmr1_cache_hits_total" in text
