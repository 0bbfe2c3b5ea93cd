"""vLLM backend: the offline ``vllm.LLM`` engine on local GPUs, with prefix caching.

Every RM-R1 prompt starts with the same long system prompt, so automatic prefix caching shares
its KV cache across all requests. vLLM is imported only when this backend is built, so the rest
of the package works without it. GPU only; ``benchmarks/vllm_smoke.py`` checks it on a GPU box.

>>> backend = VLLMBackend("gaotang/RM-R1-Qwen2.5-Instruct-7B", tensor_parallel_size=1)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from rmr1_plugin.backends.base import (
    BackendError,
    Conversation,
    Generation,
    GenerationSettings,
    check_generations,
)


def sampling_options(settings: GenerationSettings) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for these settings.

    >>> sampling_options(GenerationSettings(max_new_tokens=64, stop=["</answer>"]))["stop"]
    ['</answer>']
    """
    options: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature,
                                   "top_p": settings.top_p}
    if settings.seed is not None:
        options["seed"] = settings.seed
    if settings.stop:
        options["stop"] = list(settings.stop)
        options["include_stop_str_in_output"] = True  # the verdict tag is part of the judgment
    return options


def finish_reason(reason: str | None) -> str:
    """vLLM's finish reasons in the protocol's terms (``"abort"`` and unknown ones are errors)."""
    return {"stop": "stop", "length": "length"}.get(reason or "", "error")


class VLLMBackend:
    """Generate with ``vllm.LLM`` (``enable_prefix_caching=True``); ``engine_options`` go to
    ``vllm.LLM`` (``tensor_parallel_size``, ``gpu_memory_utilization``, ``max_model_len``...)."""

    def __init__(self, model: str, *, model_id: str | None = None, **engine_options: Any):
        try:
            import vllm
        except ImportError as error:
            raise ImportError(
                "the vllm backend needs vLLM and a GPU: pip install 'rmr1-plugin[vllm]' "
                f"(import failed: {error})"
            ) from error
        engine_options.setdefault("enable_prefix_caching", True)
        self.model_id = model_id or f"vllm:{model}"
        self._vllm = vllm
        self.llm = vllm.LLM(model=model, **engine_options)
        self._lock = threading.Lock()

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        if not conversations:
            return []
        params = self._vllm.SamplingParams(**sampling_options(settings))
        with self._lock:
            try:
                outputs = self.llm.chat(conversations, sampling_params=params, use_tqdm=False)
            except (RuntimeError, ValueError) as error:
                raise BackendError(f"vLLM generation failed for {self.model_id}: {error}") from error
        generations = []
        for output in outputs:
            completion = output.outputs[0]
            reason = finish_reason(completion.finish_reason)
            generations.append(Generation(text=completion.text, finish_reason=reason,
                                          error=None if reason != "error" else f"vLLM finish_reason {completion.finish_reason!r}"))
        return check_generations("vllm", conversations, generations)

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return await asyncio.to_thread(self.generate, conversations, settings)
