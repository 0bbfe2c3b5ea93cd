"""The RLVR reward of RM-R1 judge training: +1 when the verdict names the labelled winner, else -1."""

from __future__ import annotations

from typing import Any, Literal

from rmr1_plugin.templates import LABELS, VERDICT_STRINGS
from rmr1_plugin.verdict import parse_verdict

Mode = Literal["parsed", "original"]

#: How many trailing characters the original RM-R1 reward looked at.
ORIGINAL_TAIL_CHARS = 80


def check_label(ground_truth: Any) -> str:
    """Return ``ground_truth`` if it is ``"model_a"`` or ``"model_b"``, else raise ``ValueError``.

    >>> check_label("model_b")
    'model_b'
    """
    if ground_truth not in LABELS:
        raise ValueError(f"ground_truth must be 'model_a' or 'model_b', got {ground_truth!r}")
    return ground_truth


def original_verdict_reward(solution_str: str, ground_truth: str) -> float:
    """The exact check of the original RM-R1 training code: the last 80 characters contain the
    labelled verdict string and not the other one.

    >>> original_verdict_reward("... <answer>[[A]]</answer>", "model_a")
    1.0
    """
    label = check_label(ground_truth)
    other = LABELS[1 - LABELS.index(label)]
    tail = solution_str[-ORIGINAL_TAIL_CHARS:]
    return 1.0 if VERDICT_STRINGS[label] in tail and VERDICT_STRINGS[other] not in tail else -1.0


def verdict_reward(solution_str: str, ground_truth: str, *, mode: Mode = "parsed", **kwargs: Any) -> float:
    """+1.0 if the judge's verdict names ``ground_truth`` (``"model_a"``/``"model_b"``), else -1.0.

    ``mode="parsed"`` (default) reads the verdict with :func:`~rmr1_plugin.parse_verdict`;
    ``mode="original"`` reproduces the original tail check (see docs/reward.md for where the two
    differ). Extra keyword arguments (``data_source``, ``extra_info``, ...) are accepted and
    ignored, so this is a drop-in for the original reward function.

    >>> verdict_reward("<type>Chat</type> ... <answer>[[B]]</answer>", "model_b")
    1.0
    >>> verdict_reward("no verdict here", "model_a")
    -1.0
    """
    if mode == "original":
        return original_verdict_reward(solution_str, ground_truth)
    if mode != "parsed":
        raise ValueError(f"mode must be 'parsed' or 'original', got {mode!r}")
    label = check_label(ground_truth)
    return 1.0 if parse_verdict(solution_str).label == label else -1.0
