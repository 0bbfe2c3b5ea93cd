"""Isolation tests skip where this machine refuses what they need, unless ``RMR1_REQUIRE_ISOLATION=1``
(set by ``.ci/run`` on machines that allow the namespaces): then a missing piece is a failure."""

from __future__ import annotations

import os

import pytest

REQUIRED = os.environ.get("RMR1_REQUIRE_ISOLATION") == "1"


def skip_unless(condition: object, reason: str) -> None:
    """Skip (or, with ``RMR1_REQUIRE_ISOLATION=1``, fail) when ``condition`` is false."""
    if not condition:
        if REQUIRED:
            pytest.fail(f"RMR1_REQUIRE_ISOLATION=1 but {reason}")
        pytest.skip(reason)
