"""The recipes under recipes/verl compose against the installed verl, with no key verl does not know,
no missing value, and settings verl's own validation and config dataclasses accept."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytest.importorskip("verl")

from rmr1_verl.recipes import (
    EXTENSION_KEYS,
    compose_recipe,
    ignored_legacy_keys,
    unknown_keys,
    verl_default_config,
)

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
PRIMARY = sorted(p.stem for p in RECIPES.glob("*.yaml") if not p.name.startswith("base_"))
PPO = [n for n in PRIMARY if not n.startswith("sft_")]
SFT = [n for n in PRIMARY if n.startswith("sft_")]


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Recipes name hub models; nothing here may try to download them.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def ppo_base():
    return verl_default_config("ppo_trainer")


@pytest.fixture(scope="module")
def sft_base():
    return verl_default_config("sft_trainer_engine")


def test_the_expected_recipes_exist():
    assert {f"rlvr_{m}" for m in ("qwen2.5-7b-instruct", "qwen2.5-14b-instruct", "qwen2.5-32b-instruct",
                                  "deepseek-r1-distill-qwen-7b", "deepseek-r1-distill-qwen-14b",
                                  "deepseek-r1-distill-qwen-32b")} <= set(PPO)
    assert {"policy_grpo_judge_external", "policy_grpo_judge_served"} <= set(PPO)
    assert {"sft_distill_qwen2.5-7b-instruct", "sft_distill_qwen2.5-14b-instruct",
            "sft_distill_qwen2.5-32b-instruct"} <= set(SFT)


def test_extension_keys_are_still_read_by_the_installed_verl():
    import verl

    root = Path(verl.__file__).parent
    for key, source in EXTENSION_KEYS.items():
        assert key.rsplit(".", 1)[-1] in (root / source).read_text(), f"verl no longer reads {key} in {source}"


@pytest.mark.parametrize("name", PPO)
def test_ppo_recipe_has_only_keys_verl_knows(name, ppo_base):
    assert unknown_keys(compose_recipe(RECIPES, name), ppo_base) == []


@pytest.mark.parametrize("name", SFT)
def test_sft_recipe_has_only_keys_verl_knows(name, sft_base):
    assert unknown_keys(compose_recipe(RECIPES, name), sft_base) == []


def test_a_misspelt_key_is_caught(ppo_base):
    cfg = compose_recipe(RECIPES, PPO[0], ["+reward.custom_reward_function.nmae=compute_score"])
    assert unknown_keys(cfg, ppo_base) == ["reward.custom_reward_function.nmae"]


@pytest.mark.parametrize("name", PRIMARY)
def test_recipe_has_every_required_value(name, monkeypatch, tmp_path):
    # RMR1_MODEL_PATH is the one value a user must give (the distilled checkpoint); the others default.
    monkeypatch.setenv("RMR1_MODEL_PATH", str(tmp_path / "distilled"))
    cfg = compose_recipe(RECIPES, name)
    assert OmegaConf.missing_keys(cfg) == set()
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


def test_distilled_model_path_is_required_with_a_clear_error(monkeypatch):
    monkeypatch.delenv("RMR1_MODEL_PATH", raising=False)
    cfg = compose_recipe(RECIPES, "rlvr_qwen2.5-7b-instruct")
    with pytest.raises(Exception, match="RMR1_MODEL_PATH"):
        OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("name", PPO)
def test_ppo_recipe_passes_verl_validation(name, monkeypatch, tiny_model_path):
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    monkeypatch.setenv("RMR1_MODEL_PATH", str(tiny_model_path))
    cfg = compose_recipe(RECIPES, name, [f"actor_rollout_ref.model.path={tiny_model_path}"])
    OmegaConf.resolve(cfg)
    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    # The dataclasses verl's trainer builds from these sections (types and field names checked).
    for section in ("actor_rollout_ref.rollout", "actor_rollout_ref.model", "algorithm", "reward.reward_model.rollout"):
        node = OmegaConf.select(cfg, section)
        assert node is not None, f"{name} has no {section} section"
        omega_conf_to_dataclass(node)


@pytest.mark.parametrize("name", SFT)
def test_sft_recipe_builds_verl_sft_dataclasses(name, tiny_model_path):
    from verl.utils.config import omega_conf_to_dataclass

    cfg = compose_recipe(RECIPES, name, [f"model.path={tiny_model_path}"])
    OmegaConf.resolve(cfg)
    for section in ("model", "engine", "optim", "checkpoint"):
        omega_conf_to_dataclass(cfg[section])
    assert "hf_model" in cfg.checkpoint.save_contents  # the RLVR recipes start from the huggingface/ folder


@pytest.mark.parametrize("name", PPO)
def test_no_recipe_sets_keys_main_ppo_ignores(name):
    assert ignored_legacy_keys(compose_recipe(RECIPES, name)) == []


@pytest.mark.parametrize("name", [n for n in PPO if n.startswith("rlvr_")])
def test_rlvr_recipes_use_the_papers_settings(name):
    cfg = compose_recipe(RECIPES, name)
    assert cfg.algorithm.adv_estimator == "grpo"
    assert cfg.data.train_batch_size == 1024
    assert cfg.actor_rollout_ref.actor.ppo_mini_batch_size == 128
    assert (cfg.data.max_prompt_length, cfg.data.max_response_length) == (4096, 8192)
    size = name.rsplit("-", 2)[-2] if "instruct" in name else name.rsplit("-", 1)[-1]
    expected_lr = {"7b": 1e-6, "14b": 1e-6}.get(size, 5e-7 if "qwen2.5" in name else 8e-7)
    assert cfg.actor_rollout_ref.actor.optim.lr == pytest.approx(expected_lr)
    assert cfg.reward.custom_reward_function.path == "pkg://rmr1_verl.rlvr"


def test_policy_recipes_keep_validation_groups_whole():
    for name in ("policy_grpo_judge_external", "policy_grpo_judge_served"):
        rollout = compose_recipe(RECIPES, name).actor_rollout_ref.rollout
        assert rollout.val_kwargs.n == rollout.n >= 2


@pytest.fixture
def prepared(tmp_path, monkeypatch, tiny_model_path):
    """A user's environment after `rmr1 prepare --example`, with a local model for every recipe role."""
    import subprocess
    import sys

    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "rmr1_plugin", "prepare", "--example", "--out", str(data)], check=True,
                   capture_output=True)
    for variable in ("RMR1_MODEL_PATH", "RMR1_POLICY_MODEL", "RMR1_JUDGE_MODEL"):
        monkeypatch.setenv(variable, str(tiny_model_path))
    monkeypatch.setenv("RMR1_DATA_DIR", str(data))
    monkeypatch.setenv("RMR1_JUDGE_URL", "http://127.0.0.1:8001/v1")
    return data


@pytest.mark.parametrize(("overrides", "message"), [
    (["reward.reward_kwargs.strategy=swiss"], "reward.reward_kwargs.strategy: Input should be 'reference', 'round_robin', 'knockout', 'circular' or 'adaptive'"),
    (["+reward.reward_kwargs.stratgy=knockout"], "reward.reward_kwargs.stratgy: Extra inputs are not permitted"),
    (["data.train_files=/nowhere/train.parquet"], "data.train_files: /nowhere/train.parquet does not exist"),
    (["actor_rollout_ref.model.path=./no/such/model"], "actor_rollout_ref.model.path: ./no/such/model does not exist"),
])
def test_check_refuses_what_cannot_work_at_start(prepared, overrides, message, capsys):
    from rmr1_verl.recipes import main

    assert main([str(RECIPES), "policy_grpo_judge_external"]) == 0
    assert main([str(RECIPES), "policy_grpo_judge_external", *overrides]) == 1
    assert message in capsys.readouterr().out


def test_check_reports_what_verl_would_ignore_or_reject(prepared, capsys):
    from rmr1_verl.recipes import main

    assert main([str(RECIPES), "rlvr_qwen2.5-7b-instruct"]) == 0
    assert main([str(RECIPES), "rlvr_qwen2.5-7b-instruct", "+custom_reward_function.path=lm_as_judge.py",
                 "trainer.n_gpus_per_node=3"]) == 1
    out = capsys.readouterr().out
    assert "OK for verl" in out
    assert "ignored by verl.trainer.main_ppo (legacy key): custom_reward_function.path" in out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_gpu_smoke_script_runs_only_valid_configs(tmp_path):
    """The GPU smoke script's --check mode composes and validates each run it would train."""
    import os
    import subprocess

    env = {**os.environ, "SMOKE_OUT": str(tmp_path / "smoke")}
    result = subprocess.run(["bash", str(RECIPES / "smoke_gpu.sh"), "--check"], env=env, capture_output=True,
                            text=True, timeout=580)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("rlvr_qwen2.5-7b-instruct", "policy_grpo_judge_external", "policy_grpo_judge_served"):
        assert f"{name}: OK for verl" in result.stdout
