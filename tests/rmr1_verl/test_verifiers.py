"""Verifier compute_scores for math and code rows, loaded by verl from pkg://rmr1_verl.verifiers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

pytest.importorskip("verl")

from rmr1_verl.recipes import compose_recipe
from rmr1_verl.verifiers import code_compute_score, code_tests, compute_score, math_compute_score

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
KEYS = ("score", "acc", "decided", "status")
SQUARE = "Here you go:\n```python\ndef sq(x):\n    return x * x\n```"


def test_math_answer_is_checked_against_the_gold_answer():
    right = math_compute_score("openai/gsm8k", "So the total is \\boxed{\\frac{1}{2}}.", "0.5", {"index": 0})
    wrong = math_compute_score("openai/gsm8k", "So the total is \\boxed{3}.", "0.5", {"index": 1})
    assert (right["score"], right["status"]) == (1.0, "correct")
    assert (wrong["score"], wrong["acc"], wrong["decided"]) == (0.0, 0.0, 1.0)
    assert tuple(right) == tuple(wrong) == KEYS


def test_code_runs_against_assertions_and_stdin_cases():
    assert code_compute_score("mbpp", SQUARE, "assert sq(3) == 9")["status"] == "passed"
    assert code_compute_score("mbpp", SQUARE, "assert sq(3) == 10")["score"] == 0.0
    echo = "```python\nprint(int(input()) + 1)\n```"
    assert code_compute_score("codecontests", echo, '{"inputs": ["1\\n"], "outputs": ["2\\n"]}')["score"] == 1.0


def test_code_that_escapes_nothing_cannot_fake_a_pass():
    # A response that prints what a test harness might look for, then exits early, does not pass.
    cheat = "```python\nimport sys\nprint('ALL TESTS PASSED')\nsys.exit(0)\n```"
    assert code_compute_score("mbpp", cheat, "assert sq(3) == 9")["score"] == 0.0


def test_rows_route_by_data_source():
    assert compute_score("openai/gsm8k", "\\boxed{4}", "4")["status"] == "correct"
    assert compute_score("my_code", SQUARE, "assert sq(2) == 4", sources={"my_code": "code"})["status"] == "passed"
    with pytest.raises(ValueError, match="no verifier for data source 'poetry'.*reward_kwargs.sources"):
        compute_score("poetry", "roses", "red")


def test_bad_ground_truth_names_the_row():
    with pytest.raises(ValueError, match=r"data source 'apps', row 4: reward_model.ground_truth needs 'tests'"):
        code_compute_score("apps", SQUARE, {"cases": []}, {"index": 4})
    with pytest.raises(ValueError, match="gold answer as a string"):
        math_compute_score("openai/gsm8k", "\\boxed{4}", None)
    assert code_tests({"inputs": ["1"], "outputs": ["2"], "fn_name": "f"}) == {
        "inputs": ["1"], "outputs": ["2"], "entry_point": "f"}


@pytest.mark.timeout(180)
def test_verl_loads_and_calls_the_router(tiny_model_path, make_rollouts):
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    cfg = compose_recipe(RECIPES, "rlvr_deepseek-r1-distill-qwen-7b", [
        f"actor_rollout_ref.model.path={tiny_model_path}",
        "reward.custom_reward_function.path=pkg://rmr1_verl.verifiers",
        "reward.custom_reward_function.name=compute_score",
        "~reward.custom_reward_function.reward_kwargs.mode",
    ])
    prompt = [{"role": "user", "content": "Compute."}]
    rows = [
        {"prompt": prompt, "response": "It is \\boxed{12}.", "data_source": "openai/gsm8k",
         "reward_model": {"style": "rule", "ground_truth": "12"}, "extra_info": {"index": 0}},
        {"prompt": prompt, "response": SQUARE, "data_source": "mbpp",
         "reward_model": {"style": "rule", "ground_truth": "assert sq(4) == 16"}, "extra_info": {"index": 1}},
        {"prompt": prompt, "response": "It is \\boxed{13}.", "data_source": "openai/gsm8k",
         "reward_model": {"style": "rule", "ground_truth": "12"}, "extra_info": {"index": 2}},
    ]

    async def score():
        return await RewardLoopWorker(cfg).compute_score_batch(make_rollouts(rows))

    outputs = asyncio.run(score())
    assert [o["reward_score"] for o in outputs] == [1.0, 1.0, 0.0]
    assert [o["reward_extra_info"]["status"] for o in outputs] == ["correct", "passed", "incorrect"]
