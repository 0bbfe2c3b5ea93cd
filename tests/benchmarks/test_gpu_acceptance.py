"""benchmarks/gpu_acceptance.sh: its dry run (CI keeps the GPU script from rotting) and how it scores steps."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from argparse import Namespace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_acceptance.sh"


def _helper():
    spec = importlib.util.spec_from_file_location("gpu_acceptance", REPO / "benchmarks" / "gpu_acceptance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERL_LOG = """\
(TaskRunner pid=71) step:1 - actor/pg_loss:0.01 - critic/score/mean:-0.5 - timing_s/step:4.25
(TaskRunner pid=71) step:2 - actor/pg_loss:0.02 - critic/score/mean:0.0 - timing_s/step:2.5
"""


def _record(helper, results: Path, step: str, **kwargs) -> dict:
    args = Namespace(command="cmd", seconds=10.0, log=None, status="ran", reason=None, kind="verl", rc=0,
                     figures=None, steps=2)
    for key, value in kwargs.items():
        setattr(args, key, value)
    return helper.record(results, step, args)


def test_a_verl_run_passes_only_with_every_step_finished_and_rewarded(tmp_path):
    helper = _helper()
    log = tmp_path / "rlvr.log"
    log.write_text(VERL_LOG)
    entry = _record(helper, tmp_path / "r.json", "verl_rlvr", log=str(log))
    assert entry["passed"] and entry["status"] == "passed"
    assert entry["figures"]["steps_finished"] == 2
    assert entry["figures"]["per_step"][1] == {"critic/score/mean": -0.5, "timing_s/step": 4.25, "actor/pg_loss": 0.01}

    log.write_text(VERL_LOG.splitlines()[0])
    short = _record(helper, tmp_path / "r.json", "verl_rlvr", log=str(log), rc=124)
    assert short["passed"] is False and short["status"] == "timed out" and short["timed_out"]
    assert "step:1" in short["log_tail"]


def test_throughput_step_is_judged_against_both_targets(tmp_path):
    helper = _helper()
    figures = tmp_path / "t.json"
    figures.write_text(json.dumps({"sequential_rps": 2.0, "batch_rps": 9.0, "saturated_rps": 12.0,
                                   "same_outputs": True}))
    entry = _record(helper, tmp_path / "r.json", "judge_throughput", kind="throughput", figures=str(figures))
    assert entry["figures"]["batch_vs_sequential"] == pytest.approx(4.5)
    assert entry["figures"]["batch_vs_saturated"] == pytest.approx(0.75)
    assert entry["passed"] is False  # 4.5x is enough, 75% of the saturated throughput is not


def test_a_step_without_its_figures_fails_and_says_why(tmp_path):
    entry = _record(_helper(), tmp_path / "r.json", "vllm_offline", kind="vllm_smoke",
                    figures=str(tmp_path / "missing.json"))
    assert entry["passed"] is False and "no figures file" in entry["figures"]["error"]


def test_summary_fails_when_a_step_that_ran_failed_and_ignores_steps_not_run(tmp_path, capsys):
    helper = _helper()
    results = tmp_path / "r.json"
    _record(helper, results, "skipped_one", status="skipped", reason="budget spent")
    assert helper.summary(results) == 0 and json.loads(results.read_text())["passed"] is None
    _record(helper, results, "vllm_offline", kind="vllm_smoke", figures=str(tmp_path / "missing.json"))
    assert helper.summary(results) == 1
    assert json.loads(results.read_text())["passed"] is False
    assert "failed  vllm_offline" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dry_run_builds_prepares_and_validates_every_run(tmp_path):
    """The dry run builds the models and data, validates both verl configs, prints every step's command."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "GPU_ACCEPTANCE_WORK": str(tmp_path / "work")}
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], env=env, capture_output=True, text=True,
                            timeout=580, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rlvr_qwen2.5-7b-instruct: OK" in result.stdout
    assert "policy_grpo_judge_external: OK" in result.stdout
    for model in ("tiny", "judge-0.5b"):
        assert (tmp_path / "work" / model / "config.json").is_file()
    assert (tmp_path / "work" / "data" / "verl_policy_train.parquet").is_file()
    results = json.loads((tmp_path / "out" / "gpu_acceptance.json").read_text())
    assert results["environment"]["versions"]["verl"] and results["environment"]["gpus"] == []
    assert list(results["steps"]) == ["verl_rlvr", "verl_policy_judge", "judge_throughput", "vllm_offline",
                                      "quickstart_cuda"]
    assert all(e["status"] == "dry-run" and e["passed"] is None for e in results["steps"].values())
    rlvr = results["steps"]["verl_rlvr"]["command"]
    assert "verl.trainer.main_ppo" in rlvr and "trainer.total_training_steps=2" in rlvr
    assert "--device cuda" in results["steps"]["quickstart_cuda"]["command"]
