"""The examples in rmr1_verl's docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytest.importorskip("verl")

MODULES = ["rmr1_verl.rlvr", "rmr1_verl.recipes", "rmr1_verl.verifiers"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
