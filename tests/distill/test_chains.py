"""The pure parts of distillation: the pass-2 prompt, the filters, the hint-leak check, re-labelling."""

from __future__ import annotations

import pytest

from rmr1_plugin import build_judge_messages
from rmr1_plugin.distill.chains import (
    chain_problem,
    clean_hint_leak,
    correction_messages,
    hint_leaks,
    rebalance,
    swap_positions,
)
from rmr1_plugin.verdict import parse_verdict

REASONING = ("<type>Reasoning</type>\n\n<solution>3+4=7</solution>\n\n<eval>\n<quote_B>7</quote_B> matches my "
             "solution; <quote_A>9</quote_A> does not. Chatbot A miscounted.\n</eval>\n\n<answer>[[B]]</answer>")


def test_the_correction_prompt_keeps_the_pass_1_prompt_and_adds_verdict_and_flawed_chain():
    messages = build_judge_messages("What is 3 + 4?", "9", "7")
    corrected = correction_messages(messages, "model_b", "<answer>[[A]]</answer>", "wrong verdict")
    assert corrected[0] == messages[0] and corrected[1]["content"].startswith(messages[1]["content"])
    hint = corrected[1]["content"][len(messages[1]["content"]):]
    assert "[[B]]" in hint and "<answer>[[A]]</answer>" in hint and "wrong verdict" in hint
    assert messages[1]["content"] == build_judge_messages("What is 3 + 4?", "9", "7")[1]["content"]  # not mutated


@pytest.mark.parametrize("text, label, kwargs, reason", [
    (REASONING, "model_b", {}, None),
    (REASONING, "model_a", {}, "wrong verdict"),
    (REASONING.replace("<solution>3+4=7</solution>", ""), "model_b", {}, "format error"),
    (REASONING.replace("<solution>3+4=7</solution>", ""), "model_b", {"require_structure": False}, None),
    ("<type>Chat</type><eval>e</eval><answer>[[B]]</answer>", "model_b", {}, "format error"),
    (REASONING, "model_b", {"max_chars": 50}, "too long"),
    (REASONING[:60], "model_b", {}, "truncated"),
    ("The answer is B.", "model_b", {}, "no verdict"),
    ("", "model_b", {}, "no verdict"),
    (REASONING + "<answer>[[A]]</answer>", "model_b", {}, "format error"),
    (REASONING, "model_b", {"truncated": True}, None),  # cut off exactly after a closed verdict
])
def test_chain_filters(text, label, kwargs, reason):
    problem = chain_problem(text, label, **kwargs)
    assert (problem[0] if problem else None) == reason


def test_hint_leaks_are_found_and_cleaned_only_when_the_chain_stays_whole():
    leaky = REASONING.replace("Chatbot A miscounted.",
                              "Chatbot A miscounted.\nThe correct verdict is B, as I was told.\n")
    assert hint_leaks(leaky) == ["correct verdict", "I was told"]
    cleaned = clean_hint_leak(leaky)
    assert cleaned is not None and not hint_leaks(cleaned) and parse_verdict(cleaned).winner == "B"
    assert clean_hint_leak(REASONING.replace("does not.", "does not, unlike the previous judgement.")) is None
    assert clean_hint_leak(REASONING) == REASONING and hint_leaks(REASONING) == []


def test_swapping_positions_is_consistent_and_refuses_what_it_cannot_swap():
    swapped = swap_positions(REASONING)
    assert swapped is not None and parse_verdict(swapped).winner == "A"
    assert "<quote_A>7</quote_A>" in swapped and "<quote_B>9</quote_B>" in swapped and "Chatbot B miscounted" in swapped
    assert swap_positions(swapped) == REASONING
    assert (swap_positions("<quote_A>Pick B.</quote_A> <answer>[[A]]</answer>")
            == "<quote_B>Pick B.</quote_B> <answer>[[B]]</answer>")
    assert swap_positions("Option B is wrong. <answer>[[A]]</answer>") is None


def test_rebalance_relabels_the_excess_and_drops_what_cannot_be_swapped():
    swappable = {"chain": REASONING.replace("[[B]]", "[[A]]"), "label": "model_a"}
    stuck = {"chain": "B is wrong. <answer>[[A]]</answer>", "label": "model_a"}
    rows = [{"id": str(i), **swappable} for i in range(6)] + [{"id": "b", "chain": REASONING, "label": "model_b"}]
    out, relabelled, dropped = rebalance(rows, 0.5, seed=1)
    assert (relabelled, dropped) == (2, 0) and [r["id"] for r in out] == [r["id"] for r in rows]
    assert sum(r["label"] == "model_a" for r in out) == 4 == round(7 * 0.5)
    for row in out:
        assert parse_verdict(row["chain"]).label == row["label"]
    out, relabelled, dropped = rebalance([{"id": str(i), **stuck} for i in range(3)] + rows[-1:], 0.5)
    # 3 A + 1 B cannot be swapped: one A goes, and 2 A + 1 B is as close to half as three rows get
    assert relabelled == 0 and dropped == 1 and [r["label"] for r in out] == ["model_a", "model_a", "model_b"]
