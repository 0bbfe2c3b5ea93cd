"""The judge-training rewards: verdict reward with diagnostics, swap-consistency variant."""

from __future__ import annotations

import pytest
from rmr1_trl import swap_consistency_reward, verdict_reward

A = "<type>Chat</type>\n<rubric>r</rubric>\n<eval>e</eval>\n<answer>[[A]]</answer>"
B = A.replace("[[A]]", "[[B]]")


def test_the_verdict_reward_is_plus_one_for_the_labelled_winner_and_logs_its_diagnostics():
    metrics = {}
    rewards = verdict_reward([A, B, "rambling", [{"role": "assistant", "content": B}]],
                             ground_truth=["model_a", "model_a", "model_b", "model_b"],
                             log_metric=metrics.__setitem__)
    assert rewards == [1.0, -1.0, -1.0, 1.0]
    assert metrics == {"verdict/accuracy": 0.5, "verdict/format_error_rate": 0.25, "verdict/a_rate": 1 / 3}


def test_the_original_tail_check_is_available():
    assert verdict_reward([A + " " * 100], ground_truth=["model_a"], mode="original") == [-1.0]
    assert verdict_reward([A + " " * 100], ground_truth=["model_a"]) == [1.0]


@pytest.mark.parametrize("labels, message", [
    (None, "needs a 'ground_truth' column"),
    (["model_a"], "has 1 values for 2 completions"),
    (["model_a", "A"], "row 1 of the 'ground_truth' column"),
])
def test_bad_labels_are_named(labels, message):
    with pytest.raises(ValueError, match=message):
        verdict_reward([A, B], ground_truth=labels)


def test_swap_consistency_pays_only_for_verdicts_that_survive_the_swap():
    # pair 1: right in both orientations; pair 2: always says A (position bias); pair 3: no twin here
    completions = [A, B, A, A, A]
    labels = ["model_a", "model_b", "model_a", "model_b", "model_a"]
    metrics = {}
    rewards = swap_consistency_reward(completions, labels, pair_id=[1, 1, 2, 2, 3], log_metric=metrics.__setitem__)
    assert rewards == [1.0, 1.0, 0.0, -1.0, 1.0]
    assert metrics == {"swap/missing_twin_rate": 0.2, "swap/consistency": 2 / 3}


def test_swap_consistency_needs_pair_ids():
    with pytest.raises(ValueError, match="pair_id"):
        swap_consistency_reward([A], ["model_a"])
