"""Judge settings from the environment and a config file."""

from __future__ import annotations

import json
import pickle

import pytest
from rmr1_trl import JudgeReward, JudgeSpec, spec_from_env


def test_environment_variables_override_the_config_file(tmp_path):
    file = tmp_path / "judge.yaml"
    file.write_text("model: from-file\nstrategy: knockout\nmax_calls: 3\n")
    spec = spec_from_env({"RMR1_JUDGE_CONFIG": str(file), "RMR1_JUDGE_MODEL": "from-env",
                          "RMR1_JUDGE_BASE_URLS": "http://127.0.0.1:1/v1, http://127.0.0.1:2/v1",
                          "RMR1_GROUP_SIZE": "4"})
    assert (spec.model, spec.strategy, spec.max_calls, spec.group_size) == ("from-env", "knockout", 3, 4)
    assert spec.base_urls == ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]


def test_json_config_files_work(tmp_path):
    file = tmp_path / "judge.json"
    file.write_text(json.dumps({"backend": "replay", "model": "log.jsonl"}))
    assert spec_from_env({"RMR1_JUDGE_CONFIG": str(file)}).backend == "replay"


def test_a_config_file_takes_comma_separated_base_urls_as_the_docs_table_says(tmp_path):
    file = tmp_path / "judge.yaml"
    file.write_text("model: judge\nbase_urls: http://a:1/v1,http://b:2/v1\n")
    assert spec_from_env({"RMR1_JUDGE_CONFIG": str(file)}).base_urls == ["http://a:1/v1", "http://b:2/v1"]


@pytest.mark.parametrize("environ, message", [
    ({"RMR1_JUDGE_STRATEGY": "best_of"}, "strategy"),
    ({"RMR1_JUDGE_MAX_CALLS": "0"}, "max_calls"),
    ({"RMR1_JUDGE_CONFIG": "/nonexistent/judge.yaml"}, "not a file"),
])
def test_bad_settings_are_named(environ, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        spec_from_env(environ)


def test_a_server_backend_needs_a_model():
    with pytest.raises(ValueError, match="RMR1_JUDGE_MODEL"):
        JudgeSpec().build_judge()


def test_a_reward_built_from_a_spec_pickles_and_builds_its_judge_after_unpickling(tmp_path):
    log = tmp_path / "judge.jsonl"
    log.write_text("")
    reward = JudgeReward(spec=JudgeSpec(backend="replay", model=str(log), strategy="knockout"))
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.strategy == "knockout" and clone.__name__ == "rmr1_judge"
    assert clone.judge.backend.model_id  # built lazily in the new process
