"""The judge settings every entry point shares, with one set of defaults.

TRL's ``JudgeSpec``, verl's ``JudgeRewardSettings``, the evaluation's ``EvalSettings`` and the
server extend :class:`JudgeSettings` with what only they need, so "the same judge" means the same judge in every framework. The prompt
style and the output limit follow the checkpoint unless set: a DeepSeek-distilled judge gets the
``reasoning`` prompt and 8192 new tokens, anything else the ``instruct`` prompt and 4096; an
explicit style that contradicts the checkpoint's name is kept, with a warning.

>>> settings = JudgeSettings(model="gaotang/RM-R1-DeepSeek-Distilled-Qwen-7B")
>>> settings.judge_config().style, settings.judge_config().generation.max_new_tokens
('reasoning', 8192)
>>> JudgeSettings(model="gaotang/RM-R1-Qwen2.5-Instruct-7B").judge_config().style
'instruct'
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rmr1_plugin.backends.base import GenerationSettings
from rmr1_plugin.judge import JudgeConfig
from rmr1_plugin.types import Strategy, Style, SwapPolicy

logger = logging.getLogger(__name__)

#: Output limit per style when none is set: R1-distilled judges think at length before the verdict.
DEFAULT_MAX_NEW_TOKENS: dict[str, int] = {"instruct": 4096, "reasoning": 8192}
#: Ranking strategy when none is set (every pair judged, the fairest use of a small group).
DEFAULT_STRATEGY: Strategy = "round_robin"


def infer_style(model: str | None) -> Style | None:
    """The prompt style a checkpoint's name implies, or ``None`` when the name does not say.

    >>> infer_style("gaotang/RM-R1-DeepSeek-Distilled-Qwen-14B"), infer_style("gaotang/RM-R1-Qwen2.5-Instruct-7B")
    ('reasoning', 'instruct')
    >>> infer_style("outputs/quickstart/judge") is None
    True
    """
    if not model:
        return None
    name = model.lower()
    if "deepseek" in name or "r1-distill" in name:
        return "reasoning"
    if "instruct" in name:
        return "instruct"
    return None


def resolve_style(style: Style | Literal["auto"] | None, model: str | None) -> Style:
    """The style to prompt ``model`` with: ``style`` when given, else the one its name implies,
    else ``instruct``. A given style that contradicts the name is kept and logged as a warning
    (a wrong style makes a released checkpoint answer without verdicts).

    >>> resolve_style(None, "gaotang/RM-R1-DeepSeek-Distilled-Qwen-7B"), resolve_style("auto", None)
    ('reasoning', 'instruct')
    >>> resolve_style("instruct", "my/judge")
    'instruct'
    """
    implied = infer_style(model)
    if style is None or style == "auto":
        return implied or "instruct"
    if implied is not None and implied != style:
        logger.warning("judge style %r was set for %s, whose name implies %r: RM-R1 checkpoints only give verdicts "
                       "for the prompt they were trained on (leave the style unset to follow the name)",
                       style, model, implied)
    return style


class JudgeSettings(BaseModel):
    """How to reach a judge and how to ask it: the flat fields TRL, verl and the server share.

    - ``backend``/``model``/``backend_options``: which engine serves the judge
      (``rmr1_plugin.backends.make_backend``).
    - ``strategy``/``max_calls``: how each group is ranked and the judge-call budget per group.
    - ``style``: prompt style; ``None`` follows the model's name (:func:`resolve_style`).
    - ``swap``/``votes``/``neutralize``: position debiasing, self-consistency votes, and rewriting
      candidates' verdict-like text (see :class:`rmr1_plugin.judge.JudgeConfig`).
    - ``max_new_tokens``: the judge's output limit; ``None`` follows the style (8192 reasoning, 4096
      instruct). A judgment cut off there has no verdict.
    - ``backend_wait_s``/``no_verdict``: how long training waits for a judge that is down, and what
      a group without any verdict does (``raise`` stops training, ``skip`` leaves it unrewarded).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str = "openai"
    model: str | None = None
    backend_options: dict[str, Any] = Field(default_factory=dict)
    strategy: Strategy = DEFAULT_STRATEGY
    max_calls: int | None = Field(None, ge=1)
    style: Style | None = None
    swap: SwapPolicy = "none"
    votes: int = Field(1, ge=1)
    neutralize: bool = True
    max_new_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    #: Seconds to keep retrying (with backoff) while the judge backend is down, before training stops.
    backend_wait_s: float = Field(300.0, ge=0)
    no_verdict: Literal["raise", "skip"] = "raise"

    def judge_config(self, model: str | None = None, **overrides: Any) -> JudgeConfig:
        """The :class:`~rmr1_plugin.judge.JudgeConfig` these settings ask for; ``model`` names the
        checkpoint when it is resolved elsewhere (verl's ``reward_model.model_path``).

        >>> JudgeSettings(style="reasoning", max_new_tokens=512).judge_config().generation.max_new_tokens
        512
        """
        style = resolve_style(self.style, model or self.model)
        fields: dict[str, Any] = {"style": style, "swap": self.swap, "votes": self.votes,
                                  "neutralize": self.neutralize}
        if "generation" not in overrides:
            fields["generation"] = self.generation_settings(style)
        return JudgeConfig(**{**fields, **overrides})

    def generation_settings(self, style: Style, **overrides: Any) -> GenerationSettings:
        """The judge's sampling settings for prompts in ``style`` (whose output limit is the default
        ``max_new_tokens``); ``overrides`` are further :class:`GenerationSettings` fields.

        >>> JudgeSettings().generation_settings("reasoning", seed=3).max_new_tokens
        8192
        """
        return GenerationSettings(**{"max_new_tokens": self.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[style],
                                     "temperature": self.temperature, "top_p": self.top_p, **overrides})
