"""verl's real launch commands run on CPU up to the first step that needs a GPU, and say so plainly.

On a GPU machine ``recipes/verl/smoke_gpu.sh`` trains a step of each recipe kind; here CI runs the
documented commands (``python -m verl.trainer.main_ppo`` / ``verl.trainer.sft_trainer``) with the
tiny local model and ``rmr1 prepare`` data, which catches missing runtime dependencies (verl 0.9.1
imports ``transfer_queue`` inside its Ray task runner) and config errors before anyone rents a GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("verl")
torch = pytest.importorskip("torch")

from rmr1_verl.preflight import gpu_problem  # noqa: E402

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks what a machine without a GPU is told")

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
PRIMARY = sorted(p.stem for p in RECIPES.glob("*.yaml") if not p.name.startswith("base_"))
# One GRPO step at the smallest sizes (as recipes/verl/smoke_gpu.sh uses on a GPU).
TINY_PPO = [
    "trainer.n_gpus_per_node=1", "trainer.total_training_steps=1", "trainer.save_freq=-1", "trainer.test_freq=-1",
    "trainer.val_before_train=false", "data.train_batch_size=4", "data.max_prompt_length=2048",
    "data.max_response_length=64", "data.dataloader_num_workers=0", "actor_rollout_ref.rollout.n=2",
    "actor_rollout_ref.rollout.val_kwargs.n=2", "actor_rollout_ref.actor.ppo_mini_batch_size=4",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.rollout.tensor_model_parallel_size=1", "reward.num_workers=1",
]


@pytest.fixture(scope="module")
def launch_env(tmp_path_factory, tiny_model_path) -> dict[str, str]:
    """Environment of a user who ran `rmr1 prepare --example` and points the recipes at a tiny model."""
    data = tmp_path_factory.mktemp("verl_data")
    subprocess.run([sys.executable, "-m", "rmr1_plugin", "prepare", "--example", "--out", str(data)],
                   check=True, capture_output=True)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "RMR1_DATA_DIR": str(data), "RMR1_MODEL_PATH": str(tiny_model_path),
            "RMR1_POLICY_MODEL": str(tiny_model_path), "RMR1_BASE_MODEL": str(tiny_model_path),
            "RMR1_JUDGE_MODEL": str(tiny_model_path), "RMR1_JUDGE_URL": "http://127.0.0.1:9/v1",
            "PYTHONPATH": os.pathsep.join(sys.path)}


def test_the_preflight_counts_the_gpus_a_recipe_asks_for():
    assert gpu_problem({"trainer": {"nnodes": 1, "n_gpus_per_node": 8}}, visible=8) is None
    assert "needs 8 GPU(s)" in gpu_problem({"trainer": {"nnodes": 1, "n_gpus_per_node": 8}}, visible=4)
    assert gpu_problem({"trainer": {"nnodes": 1, "n_gpus_per_node": 8, "device": "cpu"}}, visible=0) is None


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_every_recipe_launch_stops_first_with_needs_a_gpu(launch_env, tmp_path):
    """Each recipe through verl's own Hydra entry point (one process: verl is imported once)."""
    script = textwrap.dedent(f"""
        import sys
        from verl.trainer import main_ppo, sft_trainer
        for name in {PRIMARY!r}:
            main = sft_trainer.main if name.startswith("sft_") else main_ppo.main
            extra = [] if name.startswith("sft_") else {TINY_PPO!r}
            sys.argv = ["verl", "--config-path", {str(RECIPES)!r}, "--config-name", name, *extra]
            try:
                main()
                print("LAUNCH", name, "STARTED TRAINING")
            except SystemExit as stop:
                print("LAUNCH", name, stop.code)
    """)
    result = subprocess.run([sys.executable, "-c", script], env=launch_env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=280)
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("LAUNCH ")}
    assert set(lines) == set(PRIMARY), result.stdout[-2000:] + result.stderr[-3000:]
    for line in lines.values():
        assert "rmr1-plugin preflight: this verl run needs" in line and "has no GPU" in line, line
        assert "verl trains on GPUs only" in line


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_rlvr_launch_gets_past_imports_data_and_ray_to_the_gpu_pool(launch_env, tmp_path):
    """Without the preflight, the real launch runs until verl reserves GPUs: imports (transfer_queue),
    Ray, the task runner, tokenizer and data loading all work on CPU; the first failure is the GPUs."""
    env = {**launch_env, "RMR1_GPU_PREFLIGHT": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    # TransferQueue starts 9 one-CPU Ray actors; declare enough logical CPUs for a small machine.
    command = [sys.executable, "-m", "verl.trainer.main_ppo", "--config-path", str(RECIPES), "--config-name",
               "rlvr_qwen2.5-7b-instruct", *TINY_PPO, "ray_kwargs.ray_init.num_cpus=16"]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "RayTaskError(ModuleNotFoundError)" not in output, output[-3000:]
    assert "Total available GPUs 0 is less than total desired GPUs 1" in output, output[-3000:]
