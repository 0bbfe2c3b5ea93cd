"""Build verl's real inputs on CPU: a composed recipe config and a ``DataProto`` of rollouts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"


def rollout_batch(tokenizer: Any, rows: Sequence[dict[str, Any]]):
    """A ``DataProto`` shaped like verl's rollout output: left-padded prompts, right-padded responses.

    Each row has ``prompt`` (chat messages), ``response`` (text) and any non-tensor fields
    (``data_source``, ``reward_model``, ``extra_info``, ``uid``, ...), which are passed through.
    """
    import torch
    from verl import DataProto

    prompts = [tokenizer.apply_chat_template(r["prompt"], add_generation_prompt=True, tokenize=True) for r in rows]
    prompts = [p["input_ids"] if isinstance(p, dict) or hasattr(p, "keys") else p for p in prompts]
    responses = [tokenizer(r["response"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                 for r in rows]
    width_p, width_r = max(map(len, prompts)), max(map(len, responses))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    prompt_ids = torch.tensor([[pad] * (width_p - len(p)) + p for p in prompts])
    response_ids = torch.tensor([r + [pad] * (width_r - len(r)) for r in responses])
    prompt_mask = torch.tensor([[0] * (width_p - len(p)) + [1] * len(p) for p in prompts])
    response_mask = torch.tensor([[1] * len(r) + [0] * (width_r - len(r)) for r in responses])
    non_tensors = {}
    for key in rows[0]:
        if key in ("prompt", "response"):
            continue
        values = np.empty(len(rows), dtype=object)
        values[:] = [r[key] for r in rows]
        non_tensors[key] = values
    raw_prompt = np.empty(len(rows), dtype=object)
    raw_prompt[:] = [r["prompt"] for r in rows]
    non_tensors["raw_prompt"] = raw_prompt
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_ids,
            "responses": response_ids,
            "input_ids": torch.cat([prompt_ids, response_ids], dim=1),
            "attention_mask": torch.cat([prompt_mask, response_mask], dim=1),
        },
        non_tensors=non_tensors,
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_path)


@pytest.fixture(scope="session")
def make_rollouts(tiny_tokenizer):
    """``make_rollouts(rows) -> DataProto`` tokenized with the tiny model's tokenizer."""
    return lambda rows: rollout_batch(tiny_tokenizer, rows)
