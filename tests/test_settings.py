"""One set of judge settings: TRL, verl and the CLI ask the same judge for the same checkpoint."""

from __future__ import annotations

import logging

import pytest
from rmr1_trl import JudgeSpec
from rmr1_verl.manager import JudgeRewardSettings

from rmr1_plugin.settings import JudgeSettings, infer_style, resolve_style

DISTILLED = "gaotang/RM-R1-DeepSeek-Distilled-Qwen-7B"
INSTRUCT = "gaotang/RM-R1-Qwen2.5-Instruct-7B"


@pytest.mark.parametrize("model, style, max_new_tokens", [
    (DISTILLED, "reasoning", 8192),
    (INSTRUCT, "instruct", 4096),
    ("outputs/quickstart/judge", "instruct", 4096),
])
def test_every_framework_builds_the_same_judge_config_for_a_checkpoint(model, style, max_new_tokens):
    configs = [JudgeSettings(model=model).judge_config(), JudgeSpec(model=model).judge_config(),
               JudgeRewardSettings().judge_config(model=model)]
    assert all(c == configs[0] for c in configs)
    assert (configs[0].style, configs[0].generation.max_new_tokens) == (style, max_new_tokens)


def test_trl_and_verl_settings_built_from_one_mapping_ask_the_same_judge():
    mapping = {"model": "my/judge", "strategy": "knockout", "max_calls": 6, "style": "reasoning", "swap": "both",
               "votes": 3, "neutralize": False, "max_new_tokens": 1024, "temperature": 0.7, "top_p": 0.9}
    trl, verl = JudgeSpec(**mapping), JudgeRewardSettings(**mapping)
    assert trl.judge_config() == verl.judge_config()
    assert (trl.strategy, trl.max_calls) == (verl.strategy, verl.max_calls) == ("knockout", 6)
    assert trl.judge_config().votes == 3 and trl.judge_config().generation.top_p == 0.9


def test_the_adapters_share_every_default_of_the_core_settings():
    shared = set(JudgeSettings.model_fields)
    core = JudgeSettings().model_dump()
    for settings in (JudgeSpec(), JudgeRewardSettings()):
        assert {k: v for k, v in settings.model_dump().items() if k in shared} == core


def test_explicit_settings_win_over_what_the_name_implies(caplog):
    with caplog.at_level(logging.WARNING, logger="rmr1_plugin.settings"):
        config = JudgeSettings(model=DISTILLED, style="instruct", max_new_tokens=256).judge_config()
    assert (config.style, config.generation.max_new_tokens) == ("instruct", 256)
    assert "implies 'reasoning'" in caplog.text


def test_names_that_say_nothing_imply_no_style():
    assert infer_style("my-org/judge-v2") is None
    assert resolve_style("auto", "my-org/judge-v2") == "instruct"
    assert resolve_style("reasoning", "my-org/judge-v2") == "reasoning"


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(ValueError, match="max_tokens"):
        JudgeSettings(max_tokens=10)


def test_the_eval_settings_derive_from_the_core_settings():
    from rmr1_plugin.evaluate.runner import EvalSettings

    assert issubclass(EvalSettings, JudgeSettings)
    settings = EvalSettings(benchmark="rmb", data="x", backend="replay", model=DISTILLED, votes=1)
    assert settings.prompt_style == "reasoning"
    assert settings.judge_config() == JudgeSettings(backend="replay", model=DISTILLED).judge_config()
