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
``RMR1_JUDGE_MAX_NEW_TOKENS``  judge output limit                                  by style: 8192
                                                                                   reasoning, 4096
                                                                                   instruct
``RMR1_JUDGE_TEMPERATURE``     judge sampling temperature                          ``0``
``RMR1_JUDGE_STYLE``           ``instruct`` | ``reasoning``                         from the model
                                                                                   name (DeepSeek:
                                                                                   reasoning)
``RMR1_JUDGE_VOTES``           sampled judgments per comparison                    ``1``
``RMR1_JUDGE_TOP_P``           judge nucleus sampling                              ``1.0``
``RMR1_JUDGE_NEUTRALIZE``      rewrite verdict-like text inside candidates          ``true``
``RMR1_JUDGE_BACKEND_WAIT_S``  seconds to wait for a judge that is down             ``300``
``RMR1_JUDGE_NO_VERDICT``      ``raise`` (stop training) | ``skip`` a verdict-less  ``raise``
                               group
``RMR1_GROUP_SIZE``            ``num_generations`` (checks the batch layout)        detected
=============================  ==================================================  ==============
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from rmr1_plugin.backends import make_backend
from rmr1_plugin.judge import Judge
from rmr1_plugin.settings import JudgeSettings

PREFIX = "RMR1_JUDGE_"
CONFIG_VARIABLE = "RMR1_JUDGE_CONFIG"


class JudgeSpec(JudgeSettings):
    """Everything needed to build a judge and score TRL groups with it; picklable by design.

    The judge fields and their defaults are :class:`rmr1_plugin.settings.JudgeSettings`'s, shared
    with verl's manager and the server; TRL adds the server URLs, the reference column and the
    group size.
    """

    backend: Literal["openai", "vllm", "transformers", "replay"] = "openai"
    base_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000/v1"])
    reference_column: str = "reference"
    group_size: int | None = Field(None, ge=1)

    @field_validator("base_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``base_urls: http://a:1/v1,http://b:2/v1`` (a config file or RMR1_JUDGE_BASE_URLS) is a list."""
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    def build_judge(self) -> Judge:
        """A :class:`rmr1_plugin.judge.Judge` for this spec."""
        options = dict(self.backend_options)
        if self.backend in ("openai", "vllm", "transformers") and self.model is None:
            raise ValueError(f"the {self.backend} judge backend needs a model: set RMR1_JUDGE_MODEL")
        if self.model is not None:
            options.setdefault("path" if self.backend == "replay" else "model", self.model)
        if self.backend == "openai":
            options.setdefault("base_urls", list(self.base_urls))
        return Judge(make_backend(self.backend, **options), self.judge_config())


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
