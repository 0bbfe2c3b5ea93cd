"""Build the judge engine (:mod:`rmr1_plugin.judge`) an evaluation runs through, from its settings.

A thin translation: the backend kind and options go to :func:`rmr1_plugin.backends.make_backend`,
the position policy, votes, prompt style and generation settings to the judge's
:class:`~rmr1_plugin.judge.JudgeConfig` (through :meth:`rmr1_plugin.settings.JudgeSettings.judge_config`).
"""

from __future__ import annotations

from typing import Any

from rmr1_plugin.backends import RecordingBackend, make_backend
from rmr1_plugin.cache import GenerationCache
from rmr1_plugin.evaluate.runner import EvalSettings
from rmr1_plugin.judge import Judge


def build_judge(
    settings: EvalSettings,
    *,
    base_url: str | None = None,
    replay: str | None = None,
    cache: str | None = None,
    record: str | None = None,
    options: dict[str, Any] | None = None,
) -> Judge:
    """A :class:`rmr1_plugin.judge.Judge` for ``settings`` (``position="both"`` -> ``swap="both"``).

    ``cache``: SQLite file of generations (else in memory); ``record``: also append every
    generation to this JSONL file, which ``--backend replay`` serves later.
    """

    backend_options = dict(options or {})
    if settings.model:
        backend_options.setdefault("model_id" if settings.backend == "replay" else "model", settings.model)
    if base_url:
        backend_options.setdefault("base_urls", [u.strip() for u in base_url.split(",") if u.strip()])
    if replay:
        backend_options.setdefault("path", replay)
    if settings.backend == "replay" and "path" not in backend_options:
        raise ValueError("--backend replay needs --replay FILE (recorded generations)")
    if settings.backend == "openai" and "base_urls" not in backend_options:
        raise ValueError("--backend openai needs --base-url URL")
    if settings.backend in ("transformers", "vllm", "openai") and "model" not in backend_options:
        raise ValueError(f"--backend {settings.backend} needs --model")
    backend = make_backend(settings.backend, **backend_options)
    if record:
        backend = RecordingBackend(backend, record)
    generation = settings.generation_settings(settings.prompt_style, seed=settings.seed, **settings.generation)
    config = settings.judge_config(
        swap="both" if settings.position == "both" else "none",
        generation=generation,
        on_error="raise" if settings.backend_errors == "stop" else "none",
        verify=False,  # a benchmark measures the judge, never a verifier
    )
    return Judge(backend, config, cache=GenerationCache(cache) if cache else None)
