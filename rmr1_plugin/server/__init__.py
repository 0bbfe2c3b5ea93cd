"""The reward server: RM-R1 judging over HTTP (``rmr1 serve``; docs/server.md).

Modules: ``models`` (request/response bodies), ``app`` (routes and the request pipeline),
``service`` (judging through the engine), ``admission`` (bounded concurrency, 429),
``idempotency`` (retries answered once), ``metrics`` (Prometheus), ``auth`` (bearer token),
``openrlhf`` (OpenRLHF's query/prompt split), ``settings``.

``models`` needs only pydantic, so the client imports it without FastAPI installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RewardService", "ServerSettings", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``rmr1_plugin.server.models`` (used by the client) does not import FastAPI.
    if name == "create_app":
        from rmr1_plugin.server.app import create_app

        return create_app
    if name == "RewardService":
        from rmr1_plugin.server.service import RewardService

        return RewardService
    if name == "ServerSettings":
        from rmr1_plugin.server.settings import ServerSettings

        return ServerSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
