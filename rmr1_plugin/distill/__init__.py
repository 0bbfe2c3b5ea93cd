"""Distil chain-of-rubrics judge chains from a teacher, RM-R1's two-pass way (``rmr1 distill``).

>>> from rmr1_plugin.backends import GenerationSettings
>>> from rmr1_plugin.backends.openai import OpenAIBackend
>>> from rmr1_plugin.data import load_pairs
>>> from rmr1_plugin.distill import OnlineTeacher, distill
>>> settings = GenerationSettings(max_new_tokens=8192, temperature=0.6)
>>> teacher = OnlineTeacher(OpenAIBackend("http://127.0.0.1:8000/v1", model="Qwen/QwQ-32B"), settings)  # doctest: +SKIP
>>> report = distill(load_pairs("pairs.jsonl"), "distill/", teacher, settings=settings)                # doctest: +SKIP
>>> report.pass1_accuracy, report.pass2_recovery, report.kept, dict(report.dropped)                     # doctest: +SKIP
"""

from rmr1_plugin.distill.chains import (
    chain_problem,
    clean_hint_leak,
    correction_messages,
    hint_leaks,
    rebalance,
    swap_positions,
)
from rmr1_plugin.distill.run import DistillConfig, DistillReport, distill, plan, render
from rmr1_plugin.distill.teachers import BatchTeacher, Journal, OnlineTeacher, read_batch_results, write_batch_input

__all__ = [
    "BatchTeacher", "DistillConfig", "DistillReport", "Journal", "OnlineTeacher", "chain_problem", "clean_hint_leak",
    "correction_messages", "distill", "hint_leaks", "plan", "read_batch_results", "rebalance", "render",
    "swap_positions", "write_batch_input",
]
