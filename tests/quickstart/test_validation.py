"""Model selection while the judge trains: teacher-forced reference match stands for greedy generation."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rmr1_plugin.quickstart import task
from rmr1_plugin.quickstart.pipeline import QuickstartConfig, direct_verdict, judge_sft_rows, sft
from rmr1_plugin.quickstart.validation import encode_targets, reference_match
from rmr1_plugin.tiny import build_tiny_model, default_corpus, template_phrases

TRIPLES = [(3, 4, 9), (2, 5, 1), (6, 6, 13), (8, 1, 0)]


@pytest.fixture(scope="module")
def memorised_judge(tmp_path_factory):
    """A tiny judge trained until it writes the chains of TRIPLES (both positions) from memory."""
    out = tmp_path_factory.mktemp("validation")
    path = build_tiny_model(out / "init", corpus=default_corpus() + task.corpus(), phrases=template_phrases(),
                            vocab_size=1000, hidden_size=64, num_layers=2, max_positions=512, seed=0)
    config = QuickstartConfig(out=out, device="cpu", progress_bars=False)
    path = sft(path, judge_sft_rows(TRIPLES), out / "sft", steps=150, batch=8, lr=3e-3, config=config)
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def score(model, tokenizer, pairs, references) -> float:
    return reference_match(model, encode_targets(tokenizer, pairs, references), pad_token_id=tokenizer.pad_token_id)


def greedy_text(model, tokenizer, pair: task.SumPair) -> str:
    inputs = tokenizer.apply_chat_template(pair.judge_messages(), add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    with torch.inference_mode():
        out = model.generate(**inputs, do_sample=False, max_new_tokens=64, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def test_reference_match_is_exactly_whether_greedy_decoding_writes_the_reference(memorised_judge):
    model, tokenizer = memorised_judge
    pairs = task.every_position(TRIPLES)
    # the true targets, and the same chains with the verdict turned round (never what the judge writes)
    candidates = [(p, task.reference_chain(p)) for p in pairs]
    candidates += [(p, task.reference_chain(p).replace("[[A]]", "[[X]]").replace("[[B]]", "[[A]]")
                    .replace("[[X]]", "[[B]]")) for p in pairs]
    outcomes = []
    for pair, reference in candidates:
        match = score(model, tokenizer, [pair], [reference])
        outcomes.append(match)
        assert match == float(greedy_text(model, tokenizer, pair) == reference), (pair, reference)
    assert 1.0 in outcomes and 0.0 in outcomes  # both answers occur: the check above is not vacuous
    # batched and padded, the share is the mean of the single answers
    targets = encode_targets(tokenizer, [p for p, _ in candidates], [r for _, r in candidates])
    assert reference_match(model, targets, pad_token_id=tokenizer.pad_token_id,
                           batch_size=5) == pytest.approx(sum(outcomes) / len(outcomes))


def test_reference_match_scores_the_direct_target_too(memorised_judge):
    model, tokenizer = memorised_judge
    pair = task.every_position(TRIPLES)[0]
    # the memorised judge writes a chain first, never the bare verdict
    assert score(model, tokenizer, [pair], [direct_verdict(task.reference_chain(pair))]) == 0.0


def test_reference_match_needs_one_reference_per_pair(memorised_judge):
    model, tokenizer = memorised_judge
    with pytest.raises(ValueError, match="one reference per pair, got 1 for 2"):
        encode_targets(tokenizer, task.every_position(TRIPLES[:1]), ["x"])


def test_cpu_sft_trains_on_the_models_own_loss_which_is_trls_fused_loss(tmp_path):
    """On CPU the quickstart's SFT skips TRL's fused LM-head loss (its per-position metrics cost a
    quarter of a tiny model's step); the loss it trains on is the same number."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rmr1_plugin.quickstart.pipeline import _model_loss_sft_trainer

    path = build_tiny_model(tmp_path / "init", corpus=default_corpus() + task.corpus(), phrases=template_phrases(),
                            vocab_size=1000, hidden_size=64, num_layers=2, max_positions=512, seed=0)
    rows = Dataset.from_list(judge_sft_rows(TRIPLES))  # 8 rows: one batch, the same for both trainers
    losses = {}
    for name, trainer_class in (("fused", SFTTrainer), ("model", _model_loss_sft_trainer())):
        args = SFTConfig(output_dir=str(tmp_path / name), max_steps=1, per_device_train_batch_size=8, logging_steps=1,
                         report_to=[], use_cpu=True, bf16=False, save_strategy="no", max_length=512)
        trainer = trainer_class(model=str(path), args=args, train_dataset=rows,
                                processing_class=AutoTokenizer.from_pretrained(path))
        trainer.train()
        losses[name] = trainer.state.log_history[0]["loss"]
    assert losses["model"] == pytest.approx(losses["fused"], rel=1e-4)
