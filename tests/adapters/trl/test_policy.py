"""JudgeReward (GRPO/RLOO groups) and PairwiseJudgeReward (OnlineDPO pairs) over a real Judge."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from rmr1_trl import GroupLayoutError, JudgeReward, JudgeSpec, PairwiseJudgeReward

from rmr1_plugin import NoVerdictError
from rmr1_plugin.backends.local_server import free_port
from rmr1_plugin.judge import Judge, JudgeConfig

from .judges import DigitJudgeBackend, digit_judge

PROMPTS = ["What is 6 * 7?"] * 3 + ["Name a prime."] * 3
COMPLETIONS = ["42", "4", "no idea", "7", "17", "??"]


def call(reward, prompts=PROMPTS, completions=COMPLETIONS, **columns):
    extra, metrics = {}, {}
    rewards = asyncio.run(reward(prompts=prompts, completions=completions, log_extra=extra.__setitem__,
                                 log_metric=metrics.__setitem__, trainer_state=None, **columns))
    return rewards, extra, metrics


def test_each_prompt_group_is_ranked_by_the_judge_and_the_rationale_is_logged():
    rewards, extra, metrics = call(JudgeReward(digit_judge(), strategy="round_robin", group_size=3))
    assert rewards[0] > rewards[1] > rewards[2]          # 2 digits > 1 digit > none
    assert rewards[4] > rewards[3]
    assert rewards[5] is None                            # '??': no verdict in any of its comparisons
    assert len(extra["rmr1_judge_rationale"]) == 6
    assert "vs #1 (shown as A): won" in extra["rmr1_judge_rationale"][0]
    assert "<eval>A has" in extra["rmr1_judge_rationale"][0]   # the judge's own words follow the record
    assert metrics["rmr1/judge_calls"] == 6.0            # round robin: 3 pairs x 2 orders per group
    assert metrics["rmr1/no_verdict_rate"] == pytest.approx(1 / 6)


def test_swapping_orders_reports_the_flip_rate():
    _, _, metrics = call(JudgeReward(digit_judge(swap="both"), strategy="knockout", group_size=3))
    assert 0.0 <= metrics["rmr1/flip_rate"] <= 1.0


def test_the_reference_strategy_reads_its_baseline_from_a_column():
    reward = JudgeReward(digit_judge(), strategy="reference", reference_column="baseline", group_size=3)
    rewards, _, metrics = call(reward, baseline=["4"] * 3 + ["5"] * 3)
    assert rewards[0] == 1.0 and rewards[2] == -1.0
    with pytest.raises(ValueError, match="'baseline' dataset column"):
        call(reward)


def test_conversational_prompts_and_completions_are_judged():
    prompt = [{"role": "user", "content": "What is 6 * 7?"}]
    completions = [[{"role": "assistant", "content": c}] for c in ("42", "4")]
    rewards, _, _ = call(JudgeReward(digit_judge(), strategy="round_robin"), [prompt, prompt], completions)
    assert rewards[0] > rewards[1]


def test_a_batch_that_splits_a_group_fails_loudly():
    with pytest.raises(GroupLayoutError, match="multiple of group_size=3"):
        call(JudgeReward(digit_judge(), group_size=3), PROMPTS[:4], COMPLETIONS[:4])


def test_the_reward_is_not_a_module_and_a_live_judge_refuses_to_pickle_with_a_reason():
    import torch

    reward = JudgeReward(digit_judge())
    assert not isinstance(reward, torch.nn.Module)
    with pytest.raises(TypeError, match="JudgeSpec"):
        pickle.dumps(reward)


def test_online_dpo_layout_is_one_judge_call_per_prompt():
    judge = digit_judge()
    reward = PairwiseJudgeReward(judge, no_verdict="skip")   # p2 has no verdict: 0/0 only because asked
    prompts = ["p0", "p1", "p2"] * 2
    completions = ["1", "22", "??", "333", "4", "5"]     # p0: 1 vs 333, p1: 22 vs 4, p2: ?? vs 5
    metrics = {}
    assert reward(prompts=prompts, completions=completions, log_metric=metrics.__setitem__) == [
        -1.0, 1.0, 0.0, 1.0, -1.0, 0.0]
    assert judge.backend.calls == 3
    assert metrics == {"rmr1/no_verdict_rate": 1 / 3}


def test_a_pair_without_a_verdict_stops_online_dpo_instead_of_scoring_a_tie():
    reward = PairwiseJudgeReward(digit_judge())
    with pytest.raises(NoVerdictError, match="named no winner") as caught:
        reward(prompts=["p0", "p1"] * 2, completions=["1", "??", "22", "5"])   # p1: ?? vs 5
    assert caught.value.cause == "no_verdict" and caught.value.comparisons == 1


def test_a_dead_judge_server_stops_online_dpo_after_the_bounded_wait_with_the_backends_error():
    """A judge server that is not running (a free loopback port): retried for backend_wait_s, then raised."""
    spec = JudgeSpec(model="judge", base_urls=[f"http://127.0.0.1:{free_port()}/v1"], backend_wait_s=1.0,
                     backend_options={"max_retries": 0})
    reward = PairwiseJudgeReward(spec=spec)
    with pytest.raises(NoVerdictError, match="backend failed for every comparison.*server reachable") as caught:
        reward(prompts=["p0", "p1"] * 2, completions=["1", "2", "3", "4"])
    assert caught.value.cause == "backend_error" and caught.value.comparisons == 2
    assert reward.judge.stats.backend_errors >= 4    # two pairs, asked at least twice: it did wait and retry
    skipping = PairwiseJudgeReward(spec=spec, no_verdict="skip")
    assert skipping(prompts=["p0", "p1"] * 2, completions=["1", "2", "3", "4"]) == [0.0] * 4


def test_online_dpo_layout_is_checked():
    with pytest.raises(ValueError, match="should answer the same prompt"):
        PairwiseJudgeReward(digit_judge())(prompts=["p0", "p1"], completions=["1", "2"])


def test_concurrent_calls_on_one_judge_each_report_their_own_flip_rate():
    class SlowDigitJudge(DigitJudgeBackend):
        async def agenerate(self, conversations, settings):
            await asyncio.sleep(0.01)  # let the other call's comparisons run in between
            return self.generate(conversations, settings)

    judge = Judge(SlowDigitJudge(), JudgeConfig(swap="both"), cache=False, verifier=False)
    reward = JudgeReward(judge, strategy="round_robin", group_size=3)

    async def both():
        flippy, steady = {}, {}
        # Equal digit counts: each order prefers slot B, so the pair flips; different counts never do.
        await asyncio.gather(
            reward(prompts=["p"] * 3, completions=["1", "2", "33"], log_metric=flippy.__setitem__),
            reward(prompts=["q"] * 3, completions=["1", "22", "333"], log_metric=steady.__setitem__))
        return flippy, steady

    flippy, steady = asyncio.run(both())
    assert (flippy["rmr1/flip_rate"], steady["rmr1/flip_rate"]) == (pytest.approx(1 / 3), 0.0)
    assert judge.stats.flip_rate == pytest.approx(1 / 6)  # the judge's own counters still add up every caller
