"""Local backend: a Hugging Face ``transformers`` causal LM and its tokenizer, batched generation.

Runs anywhere torch runs (CPU included); for throughput on GPUs prefer ``vllm`` or an
OpenAI-compatible server. Prompts are rendered with the tokenizer's chat template, grouped by
length into batches of ``batch_size`` and left-padded.

>>> backend = TransformersBackend("/models/RM-R1-Qwen2.5-Instruct-7B", device="cuda")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from rmr1_plugin.backends.base import (
    BackendError,
    Conversation,
    Generation,
    GenerationSettings,
    check_generations,
)


class TransformersBackend:
    """Generate with a local ``transformers`` model.

    ``model``: a folder or hub id (loaded with ``AutoModelForCausalLM``) or a loaded model, in
    which case ``tokenizer`` is required. ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"``... or
    ``None`` for CUDA when available. ``dtype``: torch dtype name or ``"auto"``.
    """

    def __init__(self, model: str | Path | Any, tokenizer: Any = None, *, device: str | None = None,
                 dtype: str = "auto", batch_size: int = 8, model_id: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if isinstance(model, (str, Path)):
            path = str(model)
            try:
                self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(path)
                self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device)
            except OSError as error:
                raise ValueError(f"cannot load a model and tokenizer from {path!r}: {error}") from None
            self.model_id = model_id or f"transformers:{path}"
        else:
            if tokenizer is None:
                raise ValueError("a loaded model needs its tokenizer: TransformersBackend(model, tokenizer)")
            self.model, self.tokenizer = model, tokenizer
            self.model_id = model_id or f"transformers:{getattr(model, 'name_or_path', type(model).__name__)}"
        if self.tokenizer.chat_template is None:
            raise ValueError(f"the tokenizer of {self.model_id} has no chat template")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()
        self.batch_size = batch_size
        self.context = getattr(self.model.config, "max_position_embeddings", None)
        self._lock = threading.Lock()  # one generate at a time: the model is not thread-safe

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        with self._lock:
            prompts = [
                self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                for c in conversations
            ]
            lengths = [len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
            results: list[Generation | None] = [None] * len(prompts)
            fits = []
            for k, length in enumerate(lengths):
                if self.context is not None and length + settings.max_new_tokens > self.context:
                    results[k] = Generation.failed(
                        f"prompt is {length} tokens; with max_new_tokens={settings.max_new_tokens} it exceeds "
                        f"the model's context of {self.context}"
                    )
                else:
                    fits.append(k)
            fits.sort(key=lambda k: lengths[k])  # similar lengths share a batch: less padding
            for start in range(0, len(fits), self.batch_size):
                chunk = fits[start : start + self.batch_size]
                for k, generation in zip(chunk, self._batch([prompts[k] for k in chunk], settings), strict=True):
                    results[k] = generation
        return check_generations("transformers", conversations, [r for r in results if r is not None])

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return await asyncio.to_thread(self.generate, conversations, settings)

    def _batch(self, prompts: list[str], settings: GenerationSettings) -> list[Generation]:
        import torch

        self.tokenizer.padding_side = "left"
        inputs = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        options: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": not settings.greedy,
        }
        if not settings.greedy:
            options.update(temperature=settings.temperature, top_p=settings.top_p)
        else:
            options.update(temperature=None, top_p=None, top_k=None)
        if settings.stop:
            options.update(stop_strings=list(settings.stop), tokenizer=self.tokenizer)
        try:
            with torch.random.fork_rng(devices=[self.model.device] if self.model.device.type == "cuda" else []):
                if settings.seed is not None:
                    torch.manual_seed(settings.seed)
                with torch.inference_mode():
                    output = self.model.generate(**inputs, **options)
        except (RuntimeError, ValueError) as error:
            raise BackendError(f"transformers generation failed for {self.model_id}: {error}") from error
        new = output[:, inputs["input_ids"].shape[1] :]
        eos = self._eos_ids()
        generations = []
        for row in new.tolist():
            finished = any(token in eos for token in row)
            produced = len(row)
            while row and row[-1] == self.tokenizer.pad_token_id and self.tokenizer.pad_token_id not in eos:
                row.pop()
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            stopped = finished or any(s in text for s in settings.stop)
            hit_limit = produced >= settings.max_new_tokens and not stopped
            generations.append(Generation(text=text, finish_reason="length" if hit_limit else "stop"))
        return generations

    def _eos_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        ids = ids if isinstance(ids, list) else [ids]
        return {i for i in ids + [self.tokenizer.eos_token_id] if i is not None}
