"""Model selection on a validation split while a judge trains.

The judge's verdict accuracy on a tiny model rises in a jump whose timing varies from seed to
seed, so a fixed step count either wastes time (an early jump) or stops short (a late one).
:class:`BestCheckpoint` measures greedy verdict accuracy on validation pairs (disjoint from the
training pairs and from every test split) every few steps, keeps the best weights seen, stops
once validation accuracy reaches a ceiling, and puts the best weights back when training ends.
The test splits are never looked at during training.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
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


class BestCheckpoint(TrainerCallback):
    """Every ``every`` steps: ``measure(model)`` on validation; keep the best weights; stop at ``stop_at``.

    ``baseline`` is the score of the weights training starts from: a later checkpoint replaces
    them only when it is strictly better on validation (so RLVR keeps the SFT judge unless it
    measurably improves on it). ``curve`` records ``(step, score)``.
    """

    def __init__(self, measure: Callable[[Any], float], *, every: int, stop_at: float = 1.0,
                 baseline: float | None = None):
        self.measure, self.every, self.stop_at = measure, every, stop_at
        self.best = -1.0 if baseline is None else baseline
        self.best_step = 0
        self.best_state: dict[str, Any] | None = None
        self.curve: list[tuple[int, float]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.best >= 0:  # the starting weights are a candidate too
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
