"""A group in which no comparison produced a verdict has no reward: the judge raises, never scores a tie.

Against real servers on loopback: one that is not running, one that only answers without verdicts,
and one that starts while the caller waits for it.
"""

from __future__ import annotations

import threading

import pytest

from rmr1_plugin import Judge, JudgeConfig, JudgePair, NoVerdictError
from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.backends.local_server import LocalServer, free_port
from rmr1_plugin.backends.replay import ReplayBackend
from rmr1_plugin.judge import ascore_until_judged, run_sync


def dead_judge() -> Judge:
    """An openai-backend judge whose server is not running (a free loopback port)."""
    backend = make_backend("openai", base_urls=[f"http://127.0.0.1:{free_port()}/v1"], model="judge",
                           max_retries=0, timeout=5.0)
    return Judge(backend, JudgeConfig(), verifier=False)


def test_a_group_judged_by_a_dead_server_raises_with_the_backends_error():
    with pytest.raises(NoVerdictError) as caught:
        dead_judge().score_group("What is 2+2?", ["4", "5", "four", "22"], strategy="round_robin")
    error = caught.value
    assert error.cause == "backend_error" and error.comparisons == 12  # 6 pairs x 2 orders
    assert "backend failed for every comparison" in str(error) and "server reachable" in error.first_error
    assert error.scores is not None and error.scores.rewards == [0.0] * 4  # what used to be returned


def test_a_judge_that_never_names_a_winner_raises_no_verdict_at_once():
    question, answers = "What is 2+2?", ["4", "5"]
    pair = JudgePair(question=question, answer_a=answers[0], answer_b=answers[1])
    records = [{"messages": pair.messages("instruct", True, swapped), "text": "I cannot decide."}
               for swapped in (False, True)]
    judge = Judge(ReplayBackend.from_records(records), JudgeConfig(swap="both"), verifier=False)
    with pytest.raises(NoVerdictError) as caught:
        run_sync(ascore_until_judged(lambda: judge.ascore_group(question, answers, strategy="round_robin"),
                                     wait_s=60))  # no waiting: a judgment does not change on retry
    assert caught.value.cause == "no_verdict" and "no_verdict" in caught.value.first_error


def test_a_single_completion_needs_no_comparison_and_does_not_raise():
    assert dead_judge().score_group("q", ["only one"], strategy="round_robin").rewards == [0.0]


def test_waiting_gives_up_after_the_bounded_time_with_the_backends_error():
    judge = dead_judge()
    with pytest.raises(NoVerdictError, match="no OpenAI-compatible server reachable"):
        run_sync(ascore_until_judged(lambda: judge.ascore_group("q", ["a", "b"], strategy="round_robin"),
                                     wait_s=1.5, first_delay_s=0.2))
    assert judge.stats.backend_errors >= 2  # it did retry


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_judge_server_that_comes_back_is_waited_for(tiny_model_path):
    port = free_port()
    judge = Judge(make_backend("openai", base_urls=[f"http://127.0.0.1:{port}/v1"], model=str(tiny_model_path),
                               max_retries=0, timeout=120.0),
                  JudgeConfig(generation=GenerationSettings(max_new_tokens=4)), verifier=False)
    server = LocalServer(tiny_model_path, port=port, startup_timeout=240)
    starter = threading.Timer(1.0, server.start)
    starter.start()
    try:
        # The untrained tiny judge answers without verdicts: once it is up, the error changes cause.
        with pytest.raises(NoVerdictError) as caught:
            run_sync(ascore_until_judged(lambda: judge.ascore_group("q", ["a", "b"], strategy="round_robin"),
                                         wait_s=240, first_delay_s=0.5, max_delay_s=2.0))
        assert caught.value.cause == "no_verdict"
        assert judge.stats.backend_errors >= 1  # it was down when first asked
    finally:
        starter.join()
        server.stop()
