"""verl ``compute_score`` for the RLVR stage of RM-R1 judge training.

A drop-in for the original RM-R1 ``lm_as_judge_match``: point verl's
``reward.custom_reward_function`` at ``pkg://rmr1_verl.rlvr`` / ``compute_score``. verl calls it
with the keyword arguments ``data_source``, ``solution_str``, ``ground_truth`` and ``extra_info``
(plus ``reward_kwargs`` from the config and, when verl serves a reward model,
``reward_router_address`` / ``reward_model_tokenizer``); unknown keywords are accepted and ignored.

It returns a dict: ``score`` (+1 / -1, the reward) and diagnostics that verl logs per sample and
averages in validation metrics. Every sample returns the same keys with the same types, because
verl builds one array per key from the first sample's keys.
"""

from __future__ import annotations

from typing import Any

from rmr1_plugin.rewards import Mode, check_label, original_verdict_reward
from rmr1_plugin.verdict import Judgment, parse_verdict

#: The keys of every result, in order; ``score`` is the reward, the rest are logged.
RESULT_KEYS = ("score", "acc", "format_ok", "task_type", "verdict", "parse_error")

#: Sections an instruct-style (Qwen2.5-Instruct based) judge must write for each task type.
_REQUIRED_SECTIONS = {"Chat": ("rubric", "evaluation"), "Reasoning": ("solution", "evaluation")}


def format_ok(judgment: Judgment, *, judge_style: str | None = None) -> bool:
    """Whether the judge followed the chain-of-rubrics format, not only whether it named a winner.

    A reasoning-style judge (DeepSeek-R1 distilled) must close its ``<think>`` block and give a
    verdict; an instruct-style judge must also declare ``<type>`` and write the sections of that
    type (``<rubric>`` + ``<eval>`` for Chat, ``<solution>`` + ``<eval>`` for Reasoning).

    >>> format_ok(parse_verdict("<type>Chat</type><rubric>r</rubric><eval>e</eval><answer>[[A]]</answer>"))
    True
    >>> format_ok(parse_verdict("<answer>[[A]]</answer>"))
    False
    >>> format_ok(parse_verdict("hmm</think><answer>[[B]]</answer>"), judge_style="reasoning")
    True
    """
    if judgment.winner is None:
        return False
    if judge_style == "reasoning":
        return judgment.reasoning is not None
    if judgment.task_type is None:
        return False
    return all(getattr(judgment, section) for section in _REQUIRED_SECTIONS[judgment.task_type])


def compute_score(
    data_source: str | None = None,
    solution_str: str = "",
    ground_truth: str | None = None,
    extra_info: dict[str, Any] | None = None,
    *,
    mode: Mode = "parsed",
    format_penalty: float | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Score one judge rollout against its label: +1 if the verdict names ``ground_truth``, else -1.

    ``ground_truth`` is ``"model_a"`` or ``"model_b"`` (what ``rmr1 prepare`` writes to
    ``reward_model.ground_truth``). ``mode="original"`` reproduces the original tail check
    (see docs/reward.md). ``format_penalty`` (optional, e.g. ``-0.5``) replaces the reward of a
    correct verdict written outside the chain-of-rubrics format; by default the reward is the
    paper's plain ±1.

    Logged keys: ``acc`` (1.0 when the verdict is right, verl's headline validation metric),
    ``format_ok`` (1.0/0.0), ``task_type`` ("Chat", "Reasoning" or "none"), ``verdict``
    ("A", "B" or "none") and ``parse_error`` (the parser's error code or "none").

    >>> compute_score(solution_str="<type>Chat</type><rubric>r</rubric><eval>e</eval><answer>[[B]]</answer>",
    ...               ground_truth="model_b", data_source="skywork", extra_info={"index": 3})["score"]
    1.0
    >>> compute_score(solution_str="no verdict", ground_truth="model_a")["parse_error"]
    'no_verdict'
    """
    label = _label(ground_truth, extra_info)
    judgment = parse_verdict(solution_str if isinstance(solution_str, str) else "")
    style = (extra_info or {}).get("judge_style") if isinstance(extra_info, dict) else None
    well_formed = format_ok(judgment, judge_style=style)
    if mode == "original":
        score = original_verdict_reward(solution_str, label)
    elif mode == "parsed":
        score = 1.0 if judgment.label == label else -1.0
    else:
        raise ValueError(f"reward_kwargs.mode must be 'parsed' or 'original', got {mode!r}")
    correct = score > 0
    if correct and format_penalty is not None and not well_formed:
        score = float(format_penalty)
    return {
        "score": score,
        "acc": 1.0 if correct else 0.0,
        "format_ok": 1.0 if well_formed else 0.0,
        "task_type": judgment.task_type or "none",
        "verdict": judgment.winner or "none",
        "parse_error": judgment.error or "none",
    }


#: The original RM-R1 function name, so configs written for the upstream scripts keep working.
lm_as_judge_match = compute_score


def _label(ground_truth: Any, extra_info: dict[str, Any] | None) -> str:
    """The label, with a message that says which row was wrong."""
    try:
        return check_label(ground_truth)
    except ValueError as exc:
        where = ""
        if isinstance(extra_info, dict):
            where = f" (row id={extra_info.get('id')!r}, index={extra_info.get('index')!r})"
        raise ValueError(f"reward_model.ground_truth{where}: {exc}") from None
