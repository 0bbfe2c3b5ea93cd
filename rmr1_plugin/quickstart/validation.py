"""Model selection on a validation split while a judge trains.

The judge's verdict accuracy on a tiny model rises in a jump whose timing varies from seed to
seed, so a fixed step count either wastes time (an early jump) or stops short (a late one).
:class:`BestCheckpoint` measures a score on validation pairs (disjoint from the training pairs
and from every test split) every few steps, keeps the best weights seen, stops once the score
reaches a ceiling, and puts the best weights back when training ends. The test splits are never
looked at during training.

Two scores: :func:`verdict_accuracy` generates and parses verdicts (what a user measures);
:func:`reference_match` is the share of pairs on which greedy decoding would write the SFT
target exactly, read from one teacher-forced forward pass instead of token-by-token generation
(about 10x cheaper on the quickstart's judge). Greedy decoding reproduces the target exactly
when, and only when, every target token is the argmax given the tokens before it, so during SFT
the two agree whenever the judge writes the target chains -- and reference match never counts
a right verdict reached by a wrong chain.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

from rmr1_plugin.quickstart.task import SumPair

log = logging.getLogger(__name__)


def verdict_accuracy(model: Any, tokenizer: Any, pairs: list[SumPair], *, max_new_tokens: int,
                     batch_size: int = 128) -> float:
    """Greedy verdict accuracy of an in-memory judge on ``pairs`` (no verdict counts as wrong).

    The same prompt and parser as :class:`rmr1_plugin.judge.Judge`, without reloading the model.
    """
    import torch

    from rmr1_plugin import parse_verdict

    was_training = model.training
    model.eval()
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    right = 0
    try:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            inputs = tokenizer.apply_chat_template([p.judge_messages() for p in chunk], add_generation_prompt=True,
                                                   return_tensors="pt", padding=True, return_dict=True)
            inputs = {k: v.to(model.device) for k, v in inputs.items()}
            with torch.inference_mode():
                out = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens,
                                     pad_token_id=tokenizer.pad_token_id)
            texts = tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            right += sum(parse_verdict(t).label == p.label for t, p in zip(texts, chunk, strict=True))
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return right / len(pairs)


@dataclass(frozen=True)
class Target:
    """One validation pair rendered for teacher forcing: ``tokens`` (prompt + target through the
    end-of-turn token) and the ``[begin, end)`` span greedy decoding has to write."""

    tokens: list[int]
    begin: int
    end: int


def encode_targets(tokenizer: Any, pairs: list[SumPair], references: list[str]) -> list[Target]:
    """Render each pair's judge prompt followed by its reference answer (once; the scores reuse it).

    Raises ``ValueError`` when teacher forcing cannot stand for generation with this tokenizer: the
    chat template does not render the prompt as a prefix of the prompt plus answer (templates that
    rewrite earlier turns), or the answer's turn has no end-of-sequence token. Score by
    :func:`verdict_accuracy` there.
    """
    if len(references) != len(pairs):
        raise ValueError(f"reference_match needs one reference per pair, got {len(references)} for {len(pairs)}")
    targets = []
    for pair, reference in zip(pairs, references, strict=True):
        messages = pair.judge_messages()
        prompt = _token_ids(tokenizer.apply_chat_template(messages, add_generation_prompt=True))
        full = _token_ids(tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": reference}]))
        if full[:len(prompt)] != prompt:
            raise ValueError("the chat template does not render the judge prompt as a prefix of the prompt plus "
                             "its answer, so teacher forcing cannot stand for generation")
        if tokenizer.eos_token_id not in full[len(prompt):]:
            raise ValueError(f"the chat template ends the answer's turn without the end-of-sequence token "
                             f"{tokenizer.eos_token!r}, so teacher forcing cannot tell where generation stops")
        end = full.index(tokenizer.eos_token_id, len(prompt)) + 1
        targets.append(Target(full[:end], len(prompt), end))
    return targets


def reference_match(model: Any, targets: list[Target], *, pad_token_id: int, batch_size: int = 128) -> float:
    """Share of ``targets`` (:func:`encode_targets`) that greedy decoding would write exactly,
    through the end-of-turn token, measured by teacher forcing (no generation)."""
    import torch

    was_training = model.training
    model.eval()
    matched = 0
    try:
        for start in range(0, len(targets), batch_size):
            chunk = targets[start:start + batch_size]
            ids = torch.full((len(chunk), max(len(t.tokens) for t in chunk)), pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, target in enumerate(chunk):
                ids[i, :len(target.tokens)] = torch.tensor(target.tokens)
                mask[i, :len(target.tokens)] = 1
            with torch.inference_mode():
                predicted = model(input_ids=ids.to(model.device),
                                  attention_mask=mask.to(model.device)).logits.argmax(-1).cpu()
            # The logit at position t predicts token t + 1.
            matched += sum(bool((predicted[i, t.begin - 1:t.end - 1] == ids[i, t.begin:t.end]).all())
                           for i, t in enumerate(chunk))
    finally:
        model.train(was_training)
    return matched / len(targets)


def _token_ids(rendered: Any) -> list[int]:
    # apply_chat_template returns a list or, in newer transformers, a BatchEncoding.
    return list(rendered["input_ids"] if hasattr(rendered, "keys") else rendered)


class BestCheckpoint(TrainerCallback):
    """Every ``every`` steps: ``measure(model)`` on validation; keep the best weights; stop at ``stop_at``.

    With ``keep_start=True`` the weights training starts from are a candidate too, scored by the
    same ``measure`` before the first step: a later checkpoint replaces them only when it is
    strictly better on validation (so RLVR keeps the SFT judge unless it measurably improves on
    it). ``curve`` records ``(step, score)``.
    """

    def __init__(self, measure: Callable[[Any], float], *, every: int, stop_at: float = 1.0,
                 keep_start: bool = False):
        self.measure, self.every, self.stop_at, self.keep_start = measure, every, stop_at, keep_start
        self.best = -1.0
        self.best_step = 0
        self.best_state: dict[str, Any] | None = None
        self.curve: list[tuple[int, float]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.keep_start:
            self.best = self.measure(model)
            self.curve.append((0, self.best))
            self.best_state = copy.deepcopy(model.state_dict())

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step % self.every and state.global_step < state.max_steps:
            return
        score = self.measure(model)
        self.curve.append((state.global_step, score))
        log.info("step %d: validation %.3f (best %.3f)", state.global_step, score, max(score, self.best))
        if score > self.best:
            self.best, self.best_step = score, state.global_step
            self.best_state = copy.deepcopy(model.state_dict())
        if score >= self.stop_at:
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
