"""The ``verl.plugins`` entry point: installing rmr1-plugin registers ``rmr1_judge`` on ``import verl``,
and a broken rmr1 install never breaks ``import verl``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("verl")

REPO = Path(__file__).resolve().parents[2]

LOOKUP = (
    "import verl\n"
    "from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls\n"
    "try:\n"
    "    cls = get_reward_manager_cls('rmr1_judge')\n"
    "except ValueError:\n"
    "    cls = None\n"
    "print('REGISTERED' if cls else 'MISSING', cls and cls.__module__)\n"
)


def test_pyproject_declares_the_plugin_module():
    entry_points = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["verl.plugins"]
    assert entry_points == {"rmr1": "rmr1_verl.plugin"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """rmr1-plugin installed (not editable) into a fresh folder, as pip would on a training node."""
    source, target = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("site")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("rmr1_plugin", "adapters"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-compile", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def run_python(code: str, *paths: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VERL_USE_EXTERNAL_PLUGINS")}
    env["PYTHONPATH"] = os.pathsep.join(map(str, paths))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180,
                          cwd=paths[0].parent)  # not a folder on the path: cwd comes first


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_import_verl_registers_the_manager(installed):
    result = run_python(LOOKUP, installed)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["REGISTERED", "rmr1_verl.manager"]
    assert "rmr1-plugin" not in result.stderr  # no warning on a healthy install


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_importing_the_manager_first_registers_it_too(installed):
    code = "import rmr1_verl.manager\n" + LOOKUP
    result = run_python(code, installed)
    assert result.stdout.split() == ["REGISTERED", "rmr1_verl.manager"]
    assert "rmr1-plugin" not in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_verl_can_turn_the_plugin_off(installed):
    env_code = "import os; os.environ['VERL_USE_EXTERNAL_PLUGINS'] = 'none'\n" + LOOKUP
    assert run_python(env_code, installed).stdout.split()[0] == "MISSING"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_broken_install_never_breaks_import_verl(installed, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(installed / "rmr1_verl", broken / "rmr1_verl")
    # a module the manager imports (rmr1_verl.groups was merged into rmr1_plugin.collector)
    (broken / "rmr1_verl" / "verifiers.py").write_text("raise RuntimeError('disk ate this file')\n")
    result = run_python(LOOKUP, broken, installed)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "MISSING"
    assert "reward manager 'rmr1_judge' not registered (RuntimeError: disk ate this file)" in result.stderr


def test_manager_loads_through_verls_importlib_source(tmp_path):
    """Without the plug-in: reward.reward_manager.source=importlib with a pkg:// module path."""
    from omegaconf import OmegaConf
    from rmr1_verl.manager import RMR1JudgeRewardManager
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    config = OmegaConf.create({"reward": {"reward_manager": {
        "source": "importlib", "name": "RMR1JudgeRewardManager",
        "module": {"path": "pkg://rmr1_verl.manager", "name": "custom_reward_manager"}}}})
    assert resolve_reward_manager_cls(config) is RMR1JudgeRewardManager


def test_a_second_copy_loaded_by_file_path_does_not_collide():
    """verl's importlib source can load manager.py under another module name; only the canonical
    module registers, so verl's register() never sees two classes for one name."""
    import importlib.util

    from rmr1_verl.manager import RMR1JudgeRewardManager
    from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls

    path = REPO / "adapters" / "rmr1_verl" / "manager.py"
    spec = importlib.util.spec_from_file_location("a_second_copy_of_the_manager", path)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    assert copy.RMR1JudgeRewardManager is not RMR1JudgeRewardManager
    assert get_reward_manager_cls("rmr1_judge") is RMR1JudgeRewardManager
