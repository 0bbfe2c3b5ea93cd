"""The examples in public docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rmr1_plugin",
    "rmr1_plugin.prompts",
    "rmr1_plugin.types",
    "rmr1_plugin.settings",
    "rmr1_plugin.verdict",
    "rmr1_plugin.rewards",
    "rmr1_plugin.data.formats",
    "rmr1_plugin.data.prepare",
    "rmr1_plugin.quickstart.task",
    "rmr1_plugin.quickstart.pipeline",
    "rmr1_plugin.quickstart.probe",
    "rmr1_plugin.quickstart.efficacy",
    "rmr1_trl.judge_training",
    "rmr1_trl.groups",
    "rmr1_trl.config",
    "rmr1_trl.text",
    "rmr1_plugin.ranking",
    "rmr1_plugin.judge",
    "rmr1_plugin.pairs",
    "rmr1_plugin.errors",
    "rmr1_plugin.combine",
    "rmr1_plugin.groups",
    "rmr1_plugin.verification",
    "rmr1_plugin.cache",
    "rmr1_plugin.backends",
    "rmr1_plugin.backends.base",
    "rmr1_plugin.backends.replay",
    "rmr1_plugin.backends.vllm",
    "rmr1_plugin.client",
    "rmr1_plugin.cli.serve",
    "rmr1_plugin.server.admission",
    "rmr1_plugin.server.auth",
    "rmr1_plugin.collector",
    "rmr1_plugin.server.idempotency",
    "rmr1_plugin.server.models",
    "rmr1_plugin.server.openrlhf",
    "rmr1_plugin.server.settings",
    "rmr1_plugin.evaluate",
    "rmr1_plugin.evaluate.scoring",
    "rmr1_plugin.evaluate.log",
    "rmr1_plugin.evaluate.runner",
    "rmr1_plugin.evaluate.report",
    "rmr1_plugin.distill.chains",
    "rmr1_plugin.distill.teachers",
    "rmr1_plugin.backends.openai",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
