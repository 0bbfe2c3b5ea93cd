"""The examples in the verify modules' docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["rmr1_plugin.verify", "rmr1_plugin.verify.math", "rmr1_plugin.verify.code", "rmr1_plugin.verify.pool",
           "rmr1_plugin.verify.sandbox", "rmr1_plugin.verify.rewards", "rmr1_plugin.verify.route", "rmr1_plugin.verify.humaneval",
           "rmr1_plugin.verify.cgroups", "rmr1_plugin.verify._child", "rmr1_plugin.verify.results"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
