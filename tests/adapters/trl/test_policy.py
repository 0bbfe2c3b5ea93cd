"""JudgeReward (GRPO/RLOO groups) and PairwiseJudgeReward (OnlineDPO pairs) over a real Judge."""

from __future__ import annotations

import asyncio
import pickle

import pytest
from rmr1_trl import GroupLayoutError, JudgeReward, PairwiseJudgeReward

from .judges import digit_judge

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
    reward = PairwiseJudgeReward(judge)
    prompts = ["p0", "p1", "p2"] * 2
    completions = ["1", "22", "??", "333", "4", "5"]     # p0: 1 vs 333, p1: 22 vs 4, p2: ?? vs 5
    metrics = {}
    assert reward(prompts=prompts, completions=completions, log_metric=metrics.__setitem__) == [
        -1.0, 1.0, 0.0, 1.0, -1.0, 0.0]
    assert judge.backend.calls == 3
    assert metrics == {"rmr1/no_verdict_rate": 1 / 3}


def test_online_dpo_layout_is_checked():
    with pytest.raises(ValueError, match="should answer the same prompt"):
        PairwiseJudgeReward(digit_judge())(prompts=["p0", "p1"], completions=["1", "2"])
