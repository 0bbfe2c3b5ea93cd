"""The RLVR compute_score: a drop-in for RM-R1's lm_as_judge_match, loaded and called by verl itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytest.importorskip("verl")

from rmr1_verl.recipes import compose_recipe, verl_default_config
from rmr1_verl.rlvr import RESULT_KEYS, compute_score, lm_as_judge_match

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"

CHAT_B = "<type>Chat</type>\n<rubric>clarity <justify>why</justify></rubric>\n<eval>B is clearer</eval>\n<answer>[[B]]</answer>"
REASONING_A = "<type>Reasoning</type>\n<solution>4</solution>\n<eval>A is right</eval>\n<answer>[[A]]</answer>"
THINKING_A = "<think>A says 4, which is right.</think>\n<answer>[[A]]</answer>"


def test_right_verdict_scores_plus_one_and_logs_diagnostics():
    result = compute_score("skywork", CHAT_B, "model_b", {"index": 0})
    assert result == {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "task_type": "Chat", "verdict": "B",
                      "parse_error": "none"}


def test_wrong_or_missing_verdict_scores_minus_one():
    assert compute_score("s", REASONING_A, "model_b")["score"] == -1.0
    missing = compute_score("s", "I think both are fine.", "model_a")
    assert (missing["score"], missing["acc"], missing["verdict"], missing["parse_error"]) == (-1.0, 0.0, "none", "no_verdict")


def test_every_result_has_the_same_keys_and_types():
    outputs = ["", "<answer>[[A]]</answer>", CHAT_B, REASONING_A, THINKING_A, "<think>cut off",
               "<answer>[[A]]</answer><answer>[[B]]</answer>"]
    results = [compute_score("s", text, "model_a", {}) for text in outputs]
    for result in results:
        assert tuple(result) == RESULT_KEYS
        assert [type(v) for v in result.values()] == [float, float, float, str, str, str]


def test_conflicting_verdicts_never_win():
    result = compute_score("s", "<answer>[[A]]</answer> <answer>[[B]]</answer>", "model_a")
    assert (result["score"], result["parse_error"]) == (-1.0, "conflicting_verdicts")


def test_format_ok_depends_on_the_judge_style():
    # A reasoning-style judge thinks, then answers; an instruct-style judge must write its sections.
    assert compute_score("s", THINKING_A, "model_a", {"judge_style": "reasoning"})["format_ok"] == 1.0
    assert compute_score("s", THINKING_A, "model_a", {"judge_style": "instruct"})["format_ok"] == 0.0
    assert compute_score("s", "<answer>[[A]]</answer>", "model_a")["format_ok"] == 0.0


def test_format_penalty_replaces_the_reward_of_a_correct_but_malformed_judgment():
    assert compute_score("s", "<answer>[[A]]</answer>", "model_a", format_penalty=-0.5)["score"] == -0.5
    assert compute_score("s", REASONING_A, "model_a", format_penalty=-0.5)["score"] == 1.0


def test_original_mode_reproduces_the_tail_check():
    # The original check only looks at the last 80 characters: a verdict followed by a long
    # afterword is lost there but found by the parser.
    text = REASONING_A + " " + "x" * 100
    assert compute_score("s", text, "model_a", mode="parsed")["score"] == 1.0
    assert compute_score("s", text, "model_a", mode="original")["score"] == -1.0


def test_extra_keyword_arguments_from_verl_are_accepted():
    result = lm_as_judge_match(data_source="s", solution_str=CHAT_B, ground_truth="model_b", extra_info={},
                               reward_router_address="127.0.0.1:1", reward_model_tokenizer=None, anything=1)
    assert result["score"] == 1.0


def test_bad_label_names_the_row():
    with pytest.raises(ValueError, match=r"reward_model.ground_truth \(row id='pair-7', index=3\).*'chosen'"):
        compute_score("s", CHAT_B, "chosen", {"id": "pair-7", "index": 3})


def test_bad_mode_is_refused():
    with pytest.raises(ValueError, match="reward_kwargs.mode"):
        compute_score("s", CHAT_B, "model_b", mode="tail")


@pytest.mark.timeout(120)
def test_verl_reward_loop_loads_the_recipe_function_and_scores_a_batch(tiny_model_path, make_rollouts):
    """verl's RewardLoopWorker, configured by the RLVR recipe, loads compute_score from pkg:// and
    returns its scores and logged keys for each rollout of a DataProto."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    cfg = compose_recipe(RECIPES, "rlvr_qwen2.5-7b-instruct", [f"actor_rollout_ref.model.path={tiny_model_path}"])
    prompt = [{"role": "user", "content": "Which answer is better?"}]
    rows = [
        {"prompt": prompt, "response": CHAT_B, "data_source": "skywork",
         "reward_model": {"style": "rule", "ground_truth": "model_b"}, "extra_info": {"index": 0}},
        {"prompt": prompt, "response": REASONING_A, "data_source": "skywork",
         "reward_model": {"style": "rule", "ground_truth": "model_b"}, "extra_info": {"index": 1}},
        {"prompt": prompt, "response": "no idea", "data_source": "skywork",
         "reward_model": {"style": "rule", "ground_truth": "model_a"}, "extra_info": {"index": 2}},
    ]
    data = make_rollouts(rows)

    async def score():
        worker = RewardLoopWorker(cfg)
        return await worker.compute_score_batch(data)

    outputs = asyncio.run(score())
    assert [o["reward_score"] for o in outputs] == [1.0, -1.0, -1.0]
    # verl's validation metrics average the numeric keys per data source and skip the string ones.
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    infos = {key: [o["reward_extra_info"][key] for o in outputs] for key in RESULT_KEYS}
    metrics = process_validation_metrics(["skywork"] * 3, ["u0", "u1", "u2"], infos)["skywork"]
    assert metrics["acc"]["mean@1"] == pytest.approx(1 / 3)
    assert metrics["format_ok"]["mean@1"] == pytest.approx(2 / 3)
    assert "task_type" not in metrics
    assert [o["reward_extra_info"]["acc"] for o in outputs] == [1.0, 0.0, 0.0]
    assert [o["reward_extra_info"]["task_type"] for o in outputs] == ["Chat", "Reasoning", "none"]
    assert all(tuple(o["reward_extra_info"]) == RESULT_KEYS for o in outputs)


def test_reward_kwargs_reach_compute_score_through_verl():
    from verl.trainer.ppo.reward import get_custom_reward_fn

    cfg = compose_recipe(RECIPES, "rlvr_qwen2.5-7b-instruct", ["reward.custom_reward_function.reward_kwargs.mode=original"])
    fn = get_custom_reward_fn(cfg)
    text = REASONING_A + " " + "x" * 100
    assert fn(data_source="s", solution_str=text, ground_truth="model_a", extra_info={})["score"] == -1.0


def test_old_top_level_key_is_ignored_by_verl_but_the_recipe_key_is_loaded():
    """The trap of RM-R1's original scripts on verl 0.9: top-level custom_reward_function.* still
    composes, but main_ppo never reads it, so training would run verl's default scorer."""
    from verl.trainer.ppo.reward import get_custom_reward_fn

    old_style = verl_default_config("ppo_trainer", ["custom_reward_function.path=pkg://rmr1_verl.rlvr",
                                                    "custom_reward_function.name=compute_score"])
    assert OmegaConf.select(old_style, "custom_reward_function.path") == "pkg://rmr1_verl.rlvr"
    assert get_custom_reward_fn(old_style) is None

    recipe = compose_recipe(RECIPES, "rlvr_deepseek-r1-distill-qwen-7b")
    loaded = get_custom_reward_fn(recipe)
    assert loaded is not None and loaded.args[0] is compute_score
