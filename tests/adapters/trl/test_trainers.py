"""The rewards inside TRL's real trainers, a few steps on CPU with a tiny local model.

Each test reads what the trainer logged: reward columns present and finite, None rewards
handled, our diagnostics (log_metric) and rationale column (log_extra) present.
"""

from __future__ import annotations

import math

import pytest
from datasets import Dataset
from rmr1_trl import JudgeReward, PairwiseJudgeReward, math_reward, swap_consistency_reward, verdict_reward

from rmr1_plugin.quickstart import task

from .judges import digit_judge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

COMMON = dict(max_steps=2, learning_rate=1e-4, report_to=[], save_strategy="no", logging_steps=1, use_cpu=True,
              dataloader_num_workers=0, disable_tqdm=True, seed=0)


def logged(trainer, key):
    return [h[key] for h in trainer.state.log_history if key in h]


def finite(values):
    return bool(values) and all(v is not None and math.isfinite(v) for v in values)


def judge_pair_rows(n=8):
    pairs = task.balanced_pairs(task.all_pairs()[:n])
    return pairs


def test_sft_distils_judge_chains(tiny_model_path, tmp_path):
    from trl import SFTConfig, SFTTrainer

    rows = [{"prompt": p.judge_messages(), "completion": [{"role": "assistant", "content": task.reference_chain(p)}]}
            for p in judge_pair_rows()]
    trainer = SFTTrainer(model=str(tiny_model_path), train_dataset=Dataset.from_list(rows),
                         args=SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, max_length=2048,
                                        **COMMON))
    trainer.train()
    assert finite(logged(trainer, "loss")) and len(logged(trainer, "loss")) == 2
    assert finite(logged(trainer, "mean_token_accuracy"))


def test_grpo_trains_a_judge_with_the_verdict_and_swap_consistency_rewards(tiny_model_path, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    rows = []
    for k, (a, b, wrong) in enumerate(task.all_pairs()[:2]):
        for position in "AB":  # both orientations of each pair, sharing a pair_id
            pair = task.make_pair(a, b, wrong=wrong, chosen_position=position)
            rows.append({"prompt": pair.judge_messages(), "ground_truth": pair.label, "pair_id": k})
    trainer = GRPOTrainer(
        model=str(tiny_model_path), reward_funcs=[verdict_reward, swap_consistency_reward],
        train_dataset=Dataset.from_list(rows),
        args=GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=2,
                        max_completion_length=16, shuffle_dataset=False, **COMMON))
    trainer.train()
    assert finite(logged(trainer, "rewards/verdict_reward/mean"))
    assert finite(logged(trainer, "rewards/swap_consistency_reward/mean"))
    assert finite(logged(trainer, "verdict/format_error_rate"))
    assert finite(logged(trainer, "swap/missing_twin_rate"))


def policy_rows():
    return [{"prompt": [{"role": "user", "content": f"What is {a} + {b}?"}], "gold": str(a + b)}
            for a, b in [(1, 2), (3, 4), (5, 6), (7, 8)]]


def test_grpo_uses_the_judge_as_a_group_reward_with_rationale_and_diagnostics(tiny_model_path, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    reward = JudgeReward(digit_judge(), strategy="round_robin", group_size=4)
    trainer = GRPOTrainer(
        model=str(tiny_model_path), reward_funcs=[reward, math_reward], train_dataset=Dataset.from_list(policy_rows()),
        args=GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=8, num_generations=4,
                        max_completion_length=8, **COMMON))
    trainer.train()
    assert finite(logged(trainer, "rewards/rmr1_judge/mean"))
    assert finite(logged(trainer, "rewards/math_reward/mean"))
    assert logged(trainer, "rmr1/judge_calls") == [12.0, 12.0]  # 4 completions, 6 pairs x 2 orders
    rationale = trainer._logs["extra"]["rmr1_judge_rationale"]
    assert len(rationale) > 0 and all("vs #" in r for r in rationale)


def test_grpo_with_a_real_local_judge_that_gives_no_verdicts_skips_those_rewards_when_asked(tiny_model_path,
                                                                                           tmp_path):
    """The untrained tiny model as the judge, through the transformers backend: it never writes a
    verdict; with no_verdict="skip" the judge reward is None everywhere and the verifier's reward
    carries training."""
    from trl import GRPOConfig, GRPOTrainer

    from rmr1_plugin.backends import GenerationSettings, make_backend
    from rmr1_plugin.judge import Judge, JudgeConfig

    judge = Judge(make_backend("transformers", model=str(tiny_model_path), device="cpu"),
                  JudgeConfig(generation=GenerationSettings(max_new_tokens=8)), cache=False, verifier=False)
    trainer = GRPOTrainer(
        model=str(tiny_model_path), reward_funcs=[JudgeReward(judge, strategy="knockout", no_verdict="skip"), math_reward],
        train_dataset=Dataset.from_list(policy_rows()),
        args=GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                        max_completion_length=4, **{**COMMON, "max_steps": 1}))
    trainer.train()
    assert logged(trainer, "rmr1/no_verdict_rate") == [1.0]
    assert finite(logged(trainer, "reward"))           # None judge rewards did not poison the total
    assert finite(logged(trainer, "rewards/math_reward/mean"))


def test_grpo_stops_with_the_backends_error_when_its_judge_server_is_dead(tiny_model_path, tmp_path):
    """A judge server that is not running: after the bounded wait, training stops (never trains on None)."""
    from rmr1_trl import JudgeSpec
    from trl import GRPOConfig, GRPOTrainer

    from rmr1_plugin import NoVerdictError
    from rmr1_plugin.backends.local_server import free_port

    spec = JudgeSpec(model="judge", base_urls=[f"http://127.0.0.1:{free_port()}/v1"], strategy="knockout",
                     group_size=2, backend_wait_s=1.0, backend_options={"max_retries": 0})
    trainer = GRPOTrainer(
        model=str(tiny_model_path), reward_funcs=[JudgeReward(spec=spec)], train_dataset=Dataset.from_list(policy_rows()),
        args=GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                        max_completion_length=4, **{**COMMON, "max_steps": 1}))
    with pytest.raises(NoVerdictError, match="backend failed for every comparison.*server reachable"):
        trainer.train()
    assert trainer.state.global_step == 0


def test_rloo_uses_the_judge_reward(tiny_model_path, tmp_path):
    from trl import RLOOConfig, RLOOTrainer

    trainer = RLOOTrainer(
        model=str(tiny_model_path), reward_funcs=[JudgeReward(digit_judge(), strategy="knockout", group_size=2)],
        train_dataset=Dataset.from_list(policy_rows()),
        args=RLOOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=2,
                        max_completion_length=8, **COMMON))
    trainer.train()
    assert finite(logged(trainer, "rewards/rmr1_judge/mean"))
    assert logged(trainer, "rmr1/judge_calls") == [1.0, 1.0]  # knockout of 2: one call


def test_online_dpo_judges_its_two_completions_in_one_call(tiny_model_path, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

    judge = digit_judge()
    trainer = OnlineDPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_path), reward_funcs=[PairwiseJudgeReward(judge)],
        processing_class=AutoTokenizer.from_pretrained(tiny_model_path),
        train_dataset=Dataset.from_list([{"prompt": r["prompt"]} for r in policy_rows()]),
        args=OnlineDPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, max_new_tokens=8, **COMMON))
    trainer.train()
    assert judge.backend.calls == 4                     # 2 steps x 2 prompts, one call per prompt
    assert finite(logged(trainer, "objective/scores"))
    assert finite(logged(trainer, "objective/scores_margin"))
