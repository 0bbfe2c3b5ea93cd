"""The synthetic judging task: balanced, held out, and learnable by construction."""

from __future__ import annotations

import pytest

from rmr1_plugin import parse_verdict
from rmr1_plugin.quickstart import task


def test_held_out_pairs_never_appear_in_training_and_labels_are_balanced():
    train, held = task.split_pairs(100, seed=3)
    assert not set(train) & set(held) and len(train) + len(held) == len(task.all_pairs())
    pairs = task.balanced_pairs(held, seed=3)
    assert sum(p.label == "model_a" for p in pairs) == 50
    assert all(str(p.gold) in (p.answer_a, p.answer_b) for p in pairs)
    assert all(p.answer_a != p.answer_b for p in pairs)


def test_sampled_training_pairs_put_the_right_answer_in_a_and_b_alike():
    pairs = list(task.sample_pairs(task.all_pairs(), 2000, seed=1))
    assert 0.45 < sum(p.label == "model_a" for p in pairs) / len(pairs) < 0.55


def test_the_reference_chain_is_rm_r1_reasoning_format_with_the_right_verdict():
    for pair in task.balanced_pairs(task.all_pairs()[:40]):
        judgment = parse_verdict(task.reference_chain(pair))
        assert judgment.task_type == "Reasoning"
        assert judgment.solution == f"{pair.a}+{pair.b}={pair.gold}"
        assert judgment.label == pair.label and judgment.evaluation


def test_a_wrong_answer_equal_to_the_sum_is_refused():
    with pytest.raises(ValueError, match="equals the right one"):
        task.make_pair(2, 3, wrong=5, chosen_position="A")


def test_the_quickstart_tokenizer_makes_the_judge_prompt_short():
    from rmr1_plugin.tiny import build_tokenizer, default_corpus, template_phrases

    tokenizer = build_tokenizer(default_corpus() + task.corpus(), 1000, phrases=template_phrases())
    pair = task.make_pair(7, 8, wrong=12, chosen_position="B")
    prompt = tokenizer.apply_chat_template(pair.judge_messages(), add_generation_prompt=True, return_dict=True)
    chain = tokenizer(task.reference_chain(pair))["input_ids"]
    assert len(prompt["input_ids"]) < 40 and len(chain) < 40  # the default tokenizer needs ~800 for the prompt
    assert "15" in [tokenizer.decode([t]) for t in chain]   # numbers are single tokens
    assert tokenizer.decode(prompt["input_ids"]).count("Please act as an impartial judge") == 1
