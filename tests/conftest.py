"""Shared fixtures: the read-only ``shared/`` folder beside the checkout and a tiny local model."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: CI lays ``shared/`` beside the checkout; users' checkouts usually lack it.
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``shared/`` folder; tests using it are skipped when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (it sits beside the checkout in CI)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Qwen2 chat model with a locally trained tokenizer (built once per session)."""
    from rmr1_plugin.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
