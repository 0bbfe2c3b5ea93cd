"""Backends that generate judge outputs, behind one small protocol (:class:`Backend`).

>>> from rmr1_plugin.backends import make_backend
>>> backend = make_backend("replay", path="judge_log.jsonl")                    # doctest: +SKIP
>>> backend = make_backend("transformers", model="/models/RM-R1-7B")            # doctest: +SKIP
>>> backend = make_backend("openai", base_urls=["http://127.0.0.1:8000/v1"], model="judge")  # doctest: +SKIP
>>> backend = make_backend("vllm", model="gaotang/RM-R1-Qwen2.5-Instruct-7B")   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rmr1_plugin.backends.base import (
    Backend,
    BackendError,
    BackendUnavailableError,
    Conversation,
    Generation,
    GenerationSettings,
    run_sync,
)
from rmr1_plugin.backends.replay import RecordingBackend, ReplayBackend, conversation_key

BACKENDS: tuple[str, ...] = ("transformers", "vllm", "openai", "replay")


def make_backend(kind: str, **options: Any) -> Backend:
    """Build a backend by name; ``options`` go to its constructor.

    ``transformers``: :class:`~rmr1_plugin.backends.transformers.TransformersBackend`;
    ``vllm``: :class:`~rmr1_plugin.backends.vllm.VLLMBackend`;
    ``openai``: :class:`~rmr1_plugin.backends.openai.OpenAIBackend`;
    ``replay``: :class:`~rmr1_plugin.backends.replay.ReplayBackend`.
    """
    if kind == "replay":
        return ReplayBackend(**options)
    if kind == "transformers":
        from rmr1_plugin.backends.transformers import TransformersBackend

        return TransformersBackend(**options)
    if kind == "openai":
        from rmr1_plugin.backends.openai import OpenAIBackend

        return OpenAIBackend(**options)
    if kind == "vllm":
        from rmr1_plugin.backends.vllm import VLLMBackend

        return VLLMBackend(**options)
    raise ValueError(f"unknown backend kind {kind!r}; choose one of {BACKENDS}")


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "BackendUnavailableError",
    "Conversation",
    "Generation",
    "GenerationSettings",
    "RecordingBackend",
    "ReplayBackend",
    "conversation_key",
    "make_backend",
    "run_sync",
]


def parse_backend_options(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings (the CLIs' ``--backend-option``) to :func:`make_backend` keyword
    arguments; a value is read as JSON when it parses, else kept as a string.

    >>> parse_backend_options(["tensor_parallel_size=4", "dtype=bfloat16", "timeout=2.5"])
    {'tensor_parallel_size': 4, 'dtype': 'bfloat16', 'timeout': 2.5}
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--backend-option expects KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options
