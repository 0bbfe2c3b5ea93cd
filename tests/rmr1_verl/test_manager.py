"""The ``rmr1_judge`` reward manager, run by verl's own reward loop on CPU rollouts.

The judge is the engine's replay backend over recorded judgments (deterministic), so the tests
check how the manager gathers groups, calls the judge and reports results, not a model's taste.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import pytest

pytest.importorskip("verl")

from rmr1_verl.manager import (
    EXTRA_KEYS,
    MANAGER_NAME,
    RMR1JudgeRewardManager,
    check_training_config,
    settings_from_config,
)
from rmr1_verl.recipes import compose_recipe

from rmr1_plugin.prompts import build_judge_messages

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
QUESTION = [{"role": "user", "content": "What is 2+2?"}]
COLOUR = [{"role": "user", "content": "Name a colour."}]


def record_judgments(path: Path, prompt: list[dict], completions: list[str], rank: list[str],
                     always_a: tuple[frozenset, ...] = ()) -> None:
    """Append a judgment for every ordered pair of ``completions``: the one earlier in ``rank`` wins,
    except that pairs in ``always_a`` get a judge that always answers A (position bias)."""
    with path.open("a", encoding="utf-8") as out:
        for a, b in itertools.permutations(completions, 2):
            messages = build_judge_messages(conversation_a=prompt + [{"role": "assistant", "content": a}],
                                            conversation_b=prompt + [{"role": "assistant", "content": b}],
                                            style="reasoning")
            winner = "A" if frozenset((a, b)) in always_a or rank.index(a) < rank.index(b) else "B"
            out.write(json.dumps({"messages": messages, "text": f"<think>compare</think>\n<answer>[[{winner}]]</answer>"}) + "\n")


def policy_config(tiny_model_path, replay: Path, *extra: str):
    return compose_recipe(RECIPES, "policy_grpo_judge_external", [
        f"actor_rollout_ref.model.path={tiny_model_path}",
        "actor_rollout_ref.rollout.n=3", "actor_rollout_ref.rollout.val_kwargs.n=3",
        "data.train_batch_size=2", "reward.num_workers=1",
        "++reward.reward_kwargs.backend=replay", f"++reward.reward_kwargs.backend_options.path={replay}",
        *extra,
    ])


def rollouts(prompt, completions, uid, data_source="chat"):
    return [{"prompt": prompt, "response": c, "uid": uid, "data_source": data_source,
             "reward_model": {"style": "model", "ground_truth": ""}, "extra_info": {}} for c in completions]


@pytest.mark.timeout(180)
def test_verl_reward_loop_ranks_each_prompts_group(tiny_model_path, make_rollouts, tmp_path):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    replay = tmp_path / "judge.jsonl"
    math_answers = ["The answer is 4.", "It is 5.", "22"]
    colours = ["Blue.", "Seven.", "Red, or blue."]
    record_judgments(replay, QUESTION, math_answers, rank=["The answer is 4.", "22", "It is 5."])
    record_judgments(replay, COLOUR, colours, rank=["Red, or blue.", "Blue.", "Seven."])
    # verl hands rollouts over in the order they finish: the two groups interleave.
    rows = rollouts(QUESTION, math_answers, "q1") + rollouts(COLOUR, colours, "q2")
    rows = [rows[i] for i in (0, 3, 1, 4, 5, 2)]
    data = make_rollouts(rows)

    async def score():
        worker = RewardLoopWorker(policy_config(tiny_model_path, replay))
        assert isinstance(worker.reward_manager, RMR1JudgeRewardManager)
        return await worker.compute_score_batch(data)

    outputs = asyncio.run(score())
    reward = {row["response"]: out["reward_score"] for row, out in zip(rows, outputs, strict=True)}
    assert reward["The answer is 4."] > reward["22"] > reward["It is 5."]
    assert reward["Red, or blue."] > reward["Blue."] > reward["Seven."]
    assert all(-1.0 <= r <= 1.0 for r in reward.values())
    for out in outputs:
        info = out["reward_extra_info"]
        assert tuple(info) == EXTRA_KEYS
        assert info["judge_calls"] >= 3.0  # round robin: every pair of the three at least once
        assert (info["group_size"], info["group_partial"], info["verified"]) == (3.0, 0.0, -1.0)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("no_verdict", ["raise", "skip"])
def test_a_dead_judge_server_stops_the_reward_loop_after_the_bounded_wait(tiny_model_path, make_rollouts, tmp_path,
                                                                           no_verdict):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    from rmr1_plugin import NoVerdictError
    from rmr1_plugin.backends.local_server import free_port

    config = compose_recipe(RECIPES, "policy_grpo_judge_external", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "actor_rollout_ref.rollout.n=2",
        "actor_rollout_ref.rollout.val_kwargs.n=2", "data.train_batch_size=2", "reward.num_workers=1",
        f"reward.reward_kwargs.base_url=http://127.0.0.1:{free_port()}/v1", "reward.reward_kwargs.model=judge",
        "++reward.reward_kwargs.backend_wait_s=1", f"++reward.reward_kwargs.no_verdict={no_verdict}",
        "++reward.reward_kwargs.backend_options={max_retries: 0}",
    ])
    data = make_rollouts(rollouts(QUESTION, ["4", "5"], "q1"))

    async def score():
        return await RewardLoopWorker(config).compute_score_batch(data)

    if no_verdict == "skip":  # the explicit opt-in: no reward signal for the group, training goes on
        assert [out["reward_score"] for out in asyncio.run(score())] == [0.0, 0.0]
        return
    with pytest.raises(NoVerdictError, match="backend failed for every comparison.*server reachable"):
        asyncio.run(score())


@pytest.mark.timeout(180)
def test_math_rows_are_verified_before_the_judge_is_asked(tiny_model_path, make_rollouts, tmp_path):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    answers = ["So it is \\boxed{4}.", "So it is \\boxed{5}.", "Four: \\boxed{4}"]
    replay = tmp_path / "judge.jsonl"
    # Only the two right answers need the judge; the verifier orders every pair with the wrong one.
    record_judgments(replay, QUESTION, [answers[0], answers[2]], rank=[answers[2], answers[0]])
    cfg = policy_config(tiny_model_path, replay, "++reward.reward_kwargs.verifier_sources={gsm8k_like: math}")
    rows = [{"prompt": QUESTION, "response": a, "uid": "q1", "data_source": "gsm8k_like",
             "reward_model": {"style": "rule", "ground_truth": "4"}, "extra_info": {}} for a in answers]

    async def score():
        return await RewardLoopWorker(cfg).compute_score_batch(make_rollouts(rows))

    outputs = asyncio.run(score())
    reward = [o["reward_score"] for o in outputs]
    assert reward[2] > reward[0] > reward[1]
    assert [o["reward_extra_info"]["verified"] for o in outputs] == [1.0, 0.0, 1.0]


@pytest.mark.timeout(180)
def test_reference_strategy_judges_each_completion_alone_against_the_rows_reference(
        tiny_model_path, make_rollouts, tmp_path):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    reference = "Four."  # what `rmr1 prepare` stores as reward_model.ground_truth of policy rows
    answers = ["The answer is 4.", "It is 5."]
    replay = tmp_path / "judge.jsonl"
    for answer in answers:
        record_judgments(replay, QUESTION, [answer, reference], rank=["The answer is 4.", reference, "It is 5."])
    # No group needed: validation may use one sample per prompt.
    cfg = policy_config(tiny_model_path, replay, "reward.reward_kwargs.strategy=reference",
                        "actor_rollout_ref.rollout.val_kwargs.n=1", "trainer.test_freq=5")
    rows = [{"prompt": QUESTION, "response": a, "uid": "q1", "data_source": "chat",
             "reward_model": {"style": "model", "ground_truth": reference}, "extra_info": {}} for a in answers]

    async def score():
        return await RewardLoopWorker(cfg).compute_score_batch(make_rollouts(rows))

    outputs = asyncio.run(score())
    assert outputs[0]["reward_score"] > 0 > outputs[1]["reward_score"]
    assert [o["reward_extra_info"]["group_size"] for o in outputs] == [1.0, 1.0]


def test_manager_is_registered_under_its_name():
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    assert get_reward_manager_cls(MANAGER_NAME) is RMR1JudgeRewardManager


def test_misspelt_setting_is_refused_with_its_key(tiny_model_path, tmp_path):
    cfg = policy_config(tiny_model_path, tmp_path / "x.jsonl", "+reward.reward_kwargs.stratgy=knockout")
    with pytest.raises(ValueError, match=r"reward.reward_kwargs.stratgy: Extra inputs are not permitted"):
        settings_from_config(cfg)


@pytest.mark.parametrize(("overrides", "message"), [
    (["actor_rollout_ref.rollout.n=1", "actor_rollout_ref.rollout.val_kwargs.n=1"], r"rollout.n >= 2 \(got 1\)"),
    (["actor_rollout_ref.rollout.val_kwargs.n=1", "trainer.test_freq=5"], r"val_kwargs.n = rollout.n = 3 \(got 1\)"),
    (["data.train_batch_size=1024"], r"Set reward.num_workers >= 7"),
])
def test_configs_that_would_stall_groups_are_refused(tiny_model_path, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        check_training_config(policy_config(tiny_model_path, tmp_path / "x.jsonl", *overrides))


def test_an_external_judge_needs_an_address(tiny_model_path, tiny_tokenizer, tmp_path):
    cfg = compose_recipe(RECIPES, "policy_grpo_judge_external", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "reward.reward_kwargs.base_url=null",
        "data.train_batch_size=8"])
    with pytest.raises(ValueError, match="set reward.reward_kwargs.base_url and .model"):
        RMR1JudgeRewardManager(cfg, tiny_tokenizer)


def test_a_verl_served_judge_is_reached_through_the_router(tiny_model_path, tiny_tokenizer):
    cfg = compose_recipe(RECIPES, "policy_grpo_judge_served", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "reward.reward_model.model_path=judges/rm-r1-7b",
        "data.train_batch_size=8"])

    async def build():
        return RMR1JudgeRewardManager(cfg, tiny_tokenizer, reward_router_address="10.0.0.5:31000")

    manager = asyncio.run(build())
    judge = manager.service.group_judge
    assert (judge.base_url, judge.model) == ("http://10.0.0.5:31000/v1", "judges/rm-r1-7b")


def test_a_served_judge_without_the_marker_function_is_refused(tiny_model_path, tiny_tokenizer):
    # Without reward.custom_reward_function.path verl would send rollouts to the judge's /classify.
    cfg = compose_recipe(RECIPES, "policy_grpo_judge_served", [
        f"actor_rollout_ref.model.path={tiny_model_path}", "data.train_batch_size=8",
        "reward.custom_reward_function.path=null"])
    with pytest.raises(ValueError, match="name=judge_group_reward"):
        RMR1JudgeRewardManager(cfg, tiny_tokenizer, reward_router_address="10.0.0.5:31000")


def test_each_group_logs_the_flip_rate_of_its_own_scoring(tmp_path):
    from rmr1_verl.manager import GroupJudge, JudgeRewardSettings

    replay = tmp_path / "judge.jsonl"
    answers, colours = ["The answer is 4.", "It is 5.", "22"], ["Blue.", "Seven.", "Red, or blue."]
    record_judgments(replay, QUESTION, answers, rank=["The answer is 4.", "22", "It is 5."])
    record_judgments(replay, COLOUR, colours, rank=["Red, or blue.", "Blue.", "Seven."],
                     always_a=(frozenset(("Blue.", "Seven.")),))
    settings = JudgeRewardSettings(backend="replay", backend_options={"path": str(replay)}, style="reasoning",
                                   swap="both", strategy="round_robin")
    group_judge = GroupJudge(settings, base_url=None, model=None)

    def samples(prompt, completions):
        return [{"prompt": prompt, "response": c, "data_source": "chat", "ground_truth": "", "expected": 3}
                for c in completions]

    async def run():  # both groups on one judge at once
        return await asyncio.gather(group_judge.score(samples(QUESTION, answers)),
                                    group_judge.score(samples(COLOUR, colours)))

    steady, flippy = asyncio.run(run())
    assert {r["reward_extra_info"]["judge_flip_rate"] for r in steady} == {0.0}
    assert [r["reward_extra_info"]["judge_flip_rate"] for r in flippy] == pytest.approx([1 / 3] * 3)
    assert group_judge.judge().stats.flip_rate == pytest.approx(1 / 6)  # the shared counters mix both groups


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_rollouts_of_one_prompt_spread_over_ray_reward_workers_are_judged_together(tiny_model_path, make_rollouts,
                                                                                   tmp_path):
    """verl's streaming path: each rollout goes to a (random) RewardLoopWorker actor; the group still
    meets in the job's shared service actor and is judged once."""
    ray = pytest.importorskip("ray")
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    replay = tmp_path / "judge.jsonl"
    answers = ["The answer is 4.", "It is 5.", "22"]
    record_judgments(replay, QUESTION, answers, rank=["The answer is 4.", "22", "It is 5."])
    cfg = policy_config(tiny_model_path, replay, "reward.num_workers=2",
                        # the plug-in's entry point may not be installed in this environment's metadata
                        "reward.reward_manager.source=importlib", "reward.reward_manager.name=RMR1JudgeRewardManager",
                        "reward.reward_manager.module.path=pkg://rmr1_verl.manager")
    data = make_rollouts(rollouts(QUESTION, answers, "q1"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        workers = [ray.remote(RewardLoopWorker).remote(cfg, None) for _ in range(2)]
        refs = [workers[i % 2].compute_score.remote(data[i:i + 1]) for i in range(len(answers))]
        outputs = ray.get(refs, timeout=300)
    finally:
        ray.shutdown()
    reward = dict(zip(answers, (o["reward_score"] for o in outputs), strict=True))
    assert reward["The answer is 4."] > reward["22"] > reward["It is 5."]
    assert {o["reward_extra_info"]["group_size"] for o in outputs} == {3.0}
