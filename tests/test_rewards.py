"""The RLVR verdict reward: +1 for the labelled winner, -1 otherwise; the original tail check too."""

from __future__ import annotations

import pytest

from rmr1_plugin import original_verdict_reward, verdict_reward

GOOD_A = "<type>Chat</type><rubric>r</rubric><eval>e</eval>\n\n<answer>[[A]]</answer>"


@pytest.mark.parametrize("mode", ["parsed", "original"])
def test_plus_one_for_the_labelled_winner(mode):
    assert verdict_reward(GOOD_A, "model_a", mode=mode) == 1.0
    assert verdict_reward(GOOD_A, "model_b", mode=mode) == -1.0


@pytest.mark.parametrize("mode", ["parsed", "original"])
def test_minus_one_without_a_verdict(mode):
    assert verdict_reward("<eval>both fine</eval>", "model_a", mode=mode) == -1.0


def test_drop_in_signature_accepts_verl_keywords():
    assert verdict_reward(solution_str=GOOD_A, ground_truth="model_a", data_source="skywork",
                          extra_info={"index": 0}) == 1.0


@pytest.mark.parametrize("label", ["A", "model_c", None, 1, "Model_A"])
def test_bad_label_names_the_value(label):
    with pytest.raises(ValueError, match="ground_truth must be 'model_a' or 'model_b', got " + repr(label).replace("(", r"\(")):
        verdict_reward(GOOD_A, label)
    with pytest.raises(ValueError):
        original_verdict_reward(GOOD_A, label)


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"):
        verdict_reward(GOOD_A, "model_a", mode="strict")


class TestWhereTheModesDiffer:
    """docs/reward.md lists these cases."""

    def test_verdict_followed_by_long_text(self):
        text = "<answer>[[A]]</answer>" + " I hope this evaluation helps the client decide." * 3
        assert verdict_reward(text, "model_a", mode="parsed") == 1.0
        assert verdict_reward(text, "model_a", mode="original") == -1.0

    def test_whitespace_in_the_tags(self):
        text = "<eval>e</eval><answer> [[A]] </answer>"
        assert verdict_reward(text, "model_a", mode="parsed") == 1.0
        assert verdict_reward(text, "model_a", mode="original") == -1.0

    def test_conflicting_blocks_far_apart(self):
        text = "<answer>[[B]]</answer>" + "x" * 100 + "<answer>[[A]]</answer>"
        assert verdict_reward(text, "model_a", mode="original") == 1.0
        assert verdict_reward(text, "model_a", mode="parsed") == -1.0

    def test_verdict_inside_thinking_only(self):
        text = "I'd say <answer>[[A]]</answer>\n</think>\n"
        assert verdict_reward(text, "model_a", mode="original") == 1.0
        assert verdict_reward(text, "model_a", mode="parsed") == -1.0
