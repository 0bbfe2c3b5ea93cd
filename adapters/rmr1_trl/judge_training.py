"""Rewards for training an RM-R1 judge with TRL (the RLVR stage): the verdict reward and a
swap-consistency variant. Both follow TRL's reward-function contract: keyword arguments
``prompts``, ``completions`` and the dataset columns, one float per completion.

>>> verdict_reward(["... <answer>[[B]]</answer>", "no verdict"], ground_truth=["model_b", "model_b"])
[1.0, -1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rmr1_plugin.rewards import check_label
from rmr1_plugin.rewards import verdict_reward as _core_verdict_reward
from rmr1_plugin.verdict import parse_verdict
from rmr1_trl.text import completion_text

LogMetric = Callable[[str, float], None]


def _labels(ground_truth: Sequence[Any] | None, n: int) -> list[str]:
    if ground_truth is None:
        raise ValueError("the dataset needs a 'ground_truth' column ('model_a' or 'model_b' per row)")
    if len(ground_truth) != n:
        raise ValueError(f"'ground_truth' has {len(ground_truth)} values for {n} completions")
    labels = []
    for row, value in enumerate(ground_truth):
        try:
            labels.append(check_label(value))
        except ValueError as exc:
            raise ValueError(f"row {row} of the 'ground_truth' column: {exc}") from None
    return labels


def verdict_reward(
    completions: Sequence[Any],
    ground_truth: Sequence[str] | None = None,
    *,
    log_metric: LogMetric | None = None,
    mode: str = "parsed",
    **kwargs: Any,
) -> list[float]:
    """+1 per completion whose verdict names the labelled winner (``ground_truth`` column), else -1.

    Logs ``verdict/accuracy``, ``verdict/format_error_rate`` (no parsable verdict) and
    ``verdict/a_rate`` (share of parsed verdicts naming A: 0.5 for an unbiased judge on balanced
    data) through TRL's ``log_metric``. ``mode="original"`` uses RM-R1's tail check instead of the
    parser (see docs/reward.md).

    >>> verdict_reward([[{"role": "assistant", "content": "<answer>[[A]]</answer>"}]], ["model_a"])
    [1.0]
    """
    texts = [completion_text(c) for c in completions]
    labels = _labels(ground_truth, len(texts))
    rewards = [_core_verdict_reward(t, label, mode=mode) for t, label in zip(texts, labels, strict=True)]
    if log_metric is not None and texts:
        winners = [parse_verdict(t).winner for t in texts]
        parsed = [w for w in winners if w is not None]
        log_metric("verdict/accuracy", sum(r > 0 for r in rewards) / len(rewards))
        log_metric("verdict/format_error_rate", 1 - len(parsed) / len(winners))
        if parsed:
            log_metric("verdict/a_rate", sum(w == "A" for w in parsed) / len(parsed))
    return rewards


def swap_consistency_reward(
    completions: Sequence[Any],
    ground_truth: Sequence[str] | None = None,
    pair_id: Sequence[Any] | None = None,
    *,
    log_metric: LogMetric | None = None,
    **kwargs: Any,
) -> list[float]:
    """The verdict reward, withheld from right verdicts the judge does not repeat with A and B swapped.

    Needs a ``pair_id`` column shared by a pair's two orientations (the same two answers, placed
    A/B and B/A, with their own ``ground_truth``), both in the same local batch. Per completion:

    * -1 when the verdict is wrong or missing;
    * +1 when it is right and most completions of the swapped twin are right too;
    * 0 when it is right but the twin's completions mostly are not (a position-bias win);
    * the plain verdict reward (+1) when the twin is not in this batch (counted in
      ``swap/missing_twin_rate``).

    Logs ``swap/consistency`` (share of right verdicts whose twin agrees).

    >>> swap_consistency_reward(["<answer>[[A]]</answer>", "<answer>[[A]]</answer>"],
    ...                         ["model_a", "model_b"], pair_id=[7, 7])
    [0.0, -1.0]
    """
    texts = [completion_text(c) for c in completions]
    labels = _labels(ground_truth, len(texts))
    if pair_id is None or len(pair_id) != len(texts):
        raise ValueError("swap_consistency_reward needs a 'pair_id' column with one value per completion")
    right = [_core_verdict_reward(t, label) > 0 for t, label in zip(texts, labels, strict=True)]
    rewards: list[float] = []
    agreeing = judged = missing = 0
    for i, ok in enumerate(right):
        if not ok:
            rewards.append(-1.0)
            continue
        twins = [right[j] for j in range(len(texts)) if pair_id[j] == pair_id[i] and labels[j] != labels[i]]
        if not twins:
            missing += 1
            rewards.append(1.0)
            continue
        judged += 1
        consistent = sum(twins) / len(twins) > 0.5
        agreeing += consistent
        rewards.append(1.0 if consistent else 0.0)
    if log_metric is not None and texts:
        log_metric("swap/missing_twin_rate", missing / len(texts))
        if judged:
            log_metric("swap/consistency", agreeing / judged)
    return rewards
