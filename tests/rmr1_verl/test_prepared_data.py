"""`rmr1 prepare` writes what the verl recipes read: each file loads through verl's own dataset
builders with the recipe's data settings, and carries the fields the reward code needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytest.importorskip("verl")

from rmr1_verl.recipes import compose_recipe

from rmr1_plugin.data.prepare import prepare

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "verl"
ANSWER_B = "<type>Reasoning</type>\n<solution>4</solution>\n<eval>B is right</eval>\n<answer>[[B]]</answer>"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("prepared")
    pairs = [
        {"id": "p1", "prompt": "What is 2+2?", "chosen": "4", "rejected": "5"},
        {"id": "p2", "prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven."},
        {"id": "p3", "prompt": "What is 2+2?", "chosen": "Four", "rejected": "22"},
    ]
    (folder / "pairs.jsonl").write_text("\n".join(json.dumps(p) for p in pairs))
    (folder / "chains.jsonl").write_text(json.dumps({"id": "p1", "chain": ANSWER_B, "label": "model_b"}))
    prepare([folder / "pairs.jsonl"], folder / "out", chains=folder / "chains.jsonl", progress=False)
    return folder / "out"


def _data_config(name: str, data_dir: Path, monkeypatch, **overrides):
    monkeypatch.setenv("RMR1_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RMR1_MODEL_PATH", "unused")
    cfg = compose_recipe(RECIPES, name)
    OmegaConf.resolve(cfg)
    data = cfg.data
    for key, value in overrides.items():
        OmegaConf.update(data, key, value)
    return data


def test_rlvr_rows_load_in_verls_rl_dataset(prepared, tiny_tokenizer, monkeypatch):
    from verl.trainer.ppo.utils import create_rl_dataset

    data = _data_config("rlvr_qwen2.5-7b-instruct", prepared, monkeypatch, dataloader_num_workers=0)
    dataset = create_rl_dataset(data.train_files, data, tiny_tokenizer, None)
    assert len(dataset) == 3
    row = dataset[0]
    assert row["reward_model"]["ground_truth"] in ("model_a", "model_b")
    assert row["extra_info"]["judge_style"] == "instruct"  # read by rmr1_verl.rlvr's format check
    assert row["raw_prompt"][0]["role"] == "system"


def test_policy_rows_load_in_verls_rl_dataset(prepared, tiny_tokenizer, monkeypatch):
    from verl.trainer.ppo.utils import create_rl_dataset

    data = _data_config("policy_grpo_judge_external", prepared, monkeypatch)
    dataset = create_rl_dataset(data.train_files, data, tiny_tokenizer, None)
    # One row per distinct question: p1 and p3 share theirs.
    assert len(dataset) == 2
    prompts = [dataset[i]["raw_prompt"] for i in range(len(dataset))]
    assert [p[-1]["content"] for p in prompts] == ["What is 2+2?", "Name a colour."]
    assert dataset[0]["reward_model"]["ground_truth"] == "4"
    assert dataset[0]["data_source"] == "pairs"


def test_sft_rows_load_in_verls_sft_dataset(prepared, tiny_tokenizer, monkeypatch):
    from verl.trainer.sft_trainer import create_sft_dataset

    data = _data_config("sft_distill_qwen2.5-7b-instruct", prepared, monkeypatch, max_length=4096)
    dataset = create_sft_dataset(data.train_files, data, tiny_tokenizer, None)
    assert len(dataset) == 1  # only p1 has a chain, and its verdict names the label
    item = dataset[0]
    # The loss covers the judgment only: the judge prompt is masked out.
    mask = item["loss_mask"]
    assert 0 < int(mask.sum()) < len(mask)
    judged = tiny_tokenizer.decode(item["input_ids"][mask.bool()])
    assert "<answer>[[B]]</answer>" in judged
