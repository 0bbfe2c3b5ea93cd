"""The transformers backend on the tiny local model (CPU)."""

from __future__ import annotations

import asyncio

import pytest

from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.backends.transformers import TransformersBackend
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def backend(tiny_model_path):
    return make_backend("transformers", model=str(tiny_model_path), device="cpu", batch_size=2)


def conversations(n):
    return [[{"role": "user", "content": "word " * (i + 1)}] for i in range(n)]


def test_batched_generation_matches_one_at_a_time(backend):
    settings = GenerationSettings(max_new_tokens=5)
    batched = backend.generate(conversations(5), settings)
    single = [backend.generate([c], settings)[0] for c in conversations(5)]
    assert [g.text for g in batched] == [g.text for g in single]
    assert all(g.finish_reason == "length" for g in batched)  # random weights never emit <|im_end|> this soon


def test_sampling_is_reproducible_for_a_seed(backend):
    settings = GenerationSettings(max_new_tokens=6, temperature=1.0, seed=11)
    first = backend.generate(conversations(3), settings)
    assert backend.generate(conversations(3), settings) == first
    assert backend.generate(conversations(3), settings.model_copy(update={"seed": 12})) != first


def test_a_prompt_beyond_the_context_is_an_error_for_that_item_only(backend):
    long = [{"role": "user", "content": "x" * 20000}]
    ok, too_long = backend.generate([conversations(1)[0], long], GenerationSettings(max_new_tokens=4))
    assert ok.error is None
    assert too_long.finish_reason == "error" and "exceeds the model's context of 4096" in too_long.error


def test_async_entry_point(backend):
    generations = asyncio.run(backend.agenerate(conversations(2), GenerationSettings(max_new_tokens=3)))
    assert len(generations) == 2


def test_a_loaded_model_needs_its_tokenizer(backend):
    with pytest.raises(ValueError, match="needs its tokenizer"):
        TransformersBackend(backend.model)
    assert TransformersBackend(backend.model, backend.tokenizer).model_id.startswith("transformers:")


def test_a_bad_path_is_named(tmp_path):
    with pytest.raises(ValueError, match="cannot load a model and tokenizer from"):
        TransformersBackend(str(tmp_path / "no-model"))


def test_the_judge_over_the_local_model(backend):
    judge = Judge(backend, JudgeConfig(swap="both", generation=GenerationSettings(max_new_tokens=8)))
    [verdict] = judge.judge([JudgePair(question="2+2?", answer_a="4", answer_b="5")])
    assert verdict.winner is None and verdict.error == "no verdict: truncated at max_new_tokens=8 (x2)"
    assert len(verdict.texts) == 2
