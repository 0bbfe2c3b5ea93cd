"""The [trl] and [verl] extras install together: one environment satisfies both, including the
pins trl and verl put on shared libraries (verl caps transformers below 5.11)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
PROJECT = "rmr1-plugin"


def extra_requirements(extras: list[str]) -> list[Requirement]:
    """The requirements of our extras, following ``rmr1-plugin[...]`` self-references."""
    table = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    seen, todo, out = set(), list(extras), []
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for line in table[extra]:
            requirement = Requirement(line)
            if requirement.name == PROJECT:
                todo.extend(requirement.extras)
            else:
                out.append(requirement)
    return out


def unmet(requirements: list[Requirement], extra: str = "") -> list[str]:
    problems = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} (installed {version})")
    return problems


def test_both_extras_declare_their_framework():
    names = {r.name for r in extra_requirements(["trl", "verl"])}
    assert {"trl", "verl", "transformers", "hydra-core", "omegaconf"} <= names


def test_one_environment_satisfies_trl_verl_and_their_own_pins():
    pytest.importorskip("verl")
    pytest.importorskip("trl")
    ours = extra_requirements(["trl", "verl"])
    theirs = [Requirement(r) for name in ("trl", "verl") for r in (metadata.requires(name) or [])]
    assert unmet(ours) == []
    assert unmet(theirs) == []
