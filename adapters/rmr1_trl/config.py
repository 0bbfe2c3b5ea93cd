"""Where a judge comes from: a small spec (backend, model, URLs, strategy, budget) read from the
environment or a config file, so TRL YAML recipes can configure the ready-made rewards.

Environment variables (TRL's YAML ``env:`` map sets them) override the file named by
``RMR1_JUDGE_CONFIG`` (YAML or JSON with the same keys in lower case, without the prefix):

=============================  ==================================================  ==============
variable                       meaning                                             default
=============================  ==================================================  ==============
``RMR1_JUDGE_BACKEND``         ``openai`` | ``vllm`` | ``transformers`` | ``replay``  ``openai``
``RMR1_JUDGE_MODEL``           model name (server) or path (local)                 (required)
``RMR1_JUDGE_BASE_URLS``       comma-separated OpenAI-compatible URLs               ``http://127.0.0.1:8000/v1``
``RMR1_JUDGE_STRATEGY``        ``reference`` | ``round_robin`` | ``knockout`` |     ``round_robin``
                               ``circular`` | ``adaptive``
``RMR1_JUDGE_MAX_CALLS``       judge calls per prompt group (budget)               strategy's own
``RMR1_JUDGE_REFERENCE_COLUMN`` dataset column with the baseline answer             ``reference``
``RMR1_JUDGE_SWAP``            ``none`` | ``both`` | ``on_disagreement``            ``none``
``RMR1_JUDGE_MAX_NEW_TOKENS``  judge output limit                                  ``4096``
``RMR1_JUDGE_TEMPERATURE``     judge sampling temperature                          ``0``
``RMR1_JUDGE_STYLE``           ``instruct`` | ``reasoning``                         ``instruct``
``RMR1_GROUP_SIZE``            ``num_generations`` (checks the batch layout)        detected
=============================  ==================================================  ==============
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rmr1_plugin.types import Strategy, Style, SwapPolicy

PREFIX = "RMR1_JUDGE_"
CONFIG_VARIABLE = "RMR1_JUDGE_CONFIG"


class JudgeSpec(BaseModel):
    """Everything needed to build a judge and score groups with it; picklable by design."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["openai", "vllm", "transformers", "replay"] = "openai"
    model: str | None = None
    base_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000/v1"])
    backend_options: dict[str, Any] = Field(default_factory=dict)
    strategy: Strategy = "round_robin"
    max_calls: int | None = Field(None, ge=1)
    reference_column: str = "reference"
    swap: SwapPolicy = "none"
    style: Style = "instruct"
    max_new_tokens: int = Field(4096, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    group_size: int | None = Field(None, ge=1)
    #: Seconds to keep retrying (with backoff) while the judge backend is down, before training stops.
    backend_wait_s: float = Field(300.0, ge=0)
    #: A group without any verdict: "raise" stops training (rmr1_plugin.NoVerdictError);
    #: "skip" gives its completions None (TRL leaves them out of the group statistics).
    no_verdict: Literal["raise", "skip"] = "raise"

    @field_validator("base_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``base_urls: http://a:1/v1,http://b:2/v1`` (a config file or RMR1_JUDGE_BASE_URLS) is a list."""
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    def build_judge(self) -> Any:
        """A :class:`rmr1_plugin.judge.Judge` for this spec."""
        from rmr1_plugin.backends import GenerationSettings, make_backend
        from rmr1_plugin.judge import Judge, JudgeConfig

        options = dict(self.backend_options)
        if self.backend in ("openai", "vllm", "transformers") and self.model is None:
            raise ValueError(f"the {self.backend} judge backend needs a model: set RMR1_JUDGE_MODEL")
        if self.model is not None:
            options.setdefault("path" if self.backend == "replay" else "model", self.model)
        if self.backend == "openai":
            options.setdefault("base_urls", list(self.base_urls))
        generation = GenerationSettings(max_new_tokens=self.max_new_tokens, temperature=self.temperature)
        config = JudgeConfig(style=self.style, swap=self.swap, generation=generation)
        return Judge(make_backend(self.backend, **options), config)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in JudgeSpec.model_fields:
        name = "RMR1_GROUP_SIZE" if field == "group_size" else PREFIX + field.upper()
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        if field == "base_urls":
            values[field] = [u.strip() for u in raw.split(",") if u.strip()]
        elif field == "backend_options":
            values[field] = json.loads(raw)
        else:
            values[field] = raw
    return values


def _from_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{CONFIG_VARIABLE} names {path!r}, which is not a file")
    text = file.read_text()
    if file.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of judge settings, got {type(data).__name__}")
    return data


def spec_from_env(environ: Mapping[str, str] | None = None) -> JudgeSpec:
    """The judge spec from ``RMR1_JUDGE_*`` variables over the ``RMR1_JUDGE_CONFIG`` file.

    >>> spec_from_env({"RMR1_JUDGE_MODEL": "judge", "RMR1_JUDGE_STRATEGY": "knockout"}).strategy
    'knockout'
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source = "the RMR1_JUDGE_* environment"
    if environ.get(CONFIG_VARIABLE):
        values.update(_from_file(environ[CONFIG_VARIABLE]))
        source += f" and {environ[CONFIG_VARIABLE]}"
    values.update(_from_environment(environ))
    try:
        return JudgeSpec(**values)
    except ValidationError as error:
        raise ValueError(f"invalid judge settings from {source}:\n{error}") from None
