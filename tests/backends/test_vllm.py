"""The vLLM backend's translation layer (CPU); the engine itself is checked by benchmarks/vllm_smoke.py on a GPU."""

from __future__ import annotations

import importlib.util

import pytest

from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.backends.vllm import finish_reason, sampling_options


def test_settings_translate_to_sampling_params():
    options = sampling_options(GenerationSettings(max_new_tokens=1024, temperature=0.6, top_p=0.95, seed=4,
                                                  stop=["</answer>"]))
    assert options == {"max_tokens": 1024, "temperature": 0.6, "top_p": 0.95, "seed": 4,
                       "stop": ["</answer>"], "include_stop_str_in_output": True}
    assert "seed" not in sampling_options(GenerationSettings())


def test_finish_reasons_map_to_the_protocol():
    assert [finish_reason(r) for r in ("stop", "length", "abort", None)] == ["stop", "length", "error", "error"]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_without_vllm_the_error_says_how_to_get_it():
    with pytest.raises(ImportError, match=r"pip install 'rmr1-plugin\[vllm\]'"):
        make_backend("vllm", model="any")
