"""Evaluate a judge on RewardBench, RM-Bench and RMB with the benchmarks' own aggregation.

The aggregation functions are pure and public, so published per-subset numbers can be
re-aggregated and checked:

>>> from rmr1_plugin.evaluate import rewardbench_sections, rewardbench_score
>>> sections = rewardbench_sections({"alpacaeval-easy": 0.9, "math-prm": 1.0, "hep-go": 0.8})
>>> {k: round(v, 3) for k, v in sections.items()}
{'Chat': 0.9, 'Reasoning': 0.9}
>>> round(rewardbench_score(sections), 3)
0.9
"""

from rmr1_plugin.evaluate.benchmarks import BENCHMARKS, load_benchmark
from rmr1_plugin.evaluate.log import LogError, SampleLog
from rmr1_plugin.evaluate.scoring import (
    REWARDBENCH_EXAMPLE_COUNTS,
    REWARDBENCH_PRIOR_SETS,
    REWARDBENCH_SECTIONS,
    RM_BENCH_DOMAINS,
    RM_BENCH_STYLES,
    accuracy_by,
    rewardbench_score,
    rewardbench_sections,
    rm_bench_difficulty,
    rm_bench_matrix,
    rm_bench_scores,
    rmb_bon_correct,
    rmb_scores,
)

__all__ = [
    "BENCHMARKS",
    "REWARDBENCH_EXAMPLE_COUNTS",
    "REWARDBENCH_PRIOR_SETS",
    "REWARDBENCH_SECTIONS",
    "RM_BENCH_DOMAINS",
    "RM_BENCH_STYLES",
    "LogError",
    "SampleLog",
    "accuracy_by",
    "load_benchmark",
    "rewardbench_score",
    "rewardbench_sections",
    "rm_bench_difficulty",
    "rm_bench_matrix",
    "rm_bench_scores",
    "rmb_bon_correct",
    "rmb_scores",
]
