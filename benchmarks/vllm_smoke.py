"""GPU smoke check of the vLLM backend (needs vLLM and a CUDA GPU; not run in CI).

Builds the tiny local model, loads it in the offline vLLM engine with prefix caching, judges a
few pairs in both orders through the Judge, and checks the protocol's promises: one generation
per prompt, in order, greedy outputs identical to a second run, the length limit reported as
"length", and the second run served from vLLM's prefix cache just as well as the first.

    python benchmarks/vllm_smoke.py                 # tiny model
    python benchmarks/vllm_smoke.py --model DIR     # a real judge checkpoint
    python benchmarks/vllm_smoke.py --json out.json # also write the checks and timings as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from rmr1_plugin.backends import GenerationSettings, make_backend
from rmr1_plugin.judge import Judge, JudgeConfig, JudgePair
from rmr1_plugin.tiny import build_tiny_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: build the tiny model)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the checks and timings to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        # head_dim 64: a size every attention backend of vLLM supports.
        model = args.model or str(build_tiny_model(Path(scratch) / "tiny", hidden_size=256, num_heads=4))
        backend = make_backend("vllm", model=model, gpu_memory_utilization=0.3, max_model_len=4096, enforce_eager=True)
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
        pairs = [JudgePair(question=f"What is {k} + {k}?", answer_a=str(2 * k), answer_b=str(2 * k + 1))
                 for k in range(16)]
        prompts = [p.messages("instruct", True, s) for p in pairs for s in (False, True)]
        start = time.perf_counter()
        first = backend.generate(prompts, settings)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        second = backend.generate(prompts, settings)
        warm = time.perf_counter() - start
        checks = {
            "one generation per prompt": len(first) == len(prompts),
            "greedy outputs repeat": [g.text for g in first] == [g.text for g in second],
            "no errors": all(g.finish_reason != "error" for g in first),
            "length limit reported": any(g.finish_reason == "length" for g in backend.generate(
                prompts[:2], GenerationSettings(max_new_tokens=2))),
        }
        verdicts = Judge(backend, JudgeConfig(swap="both", generation=settings)).judge(pairs)
        checks["a verdict or a reason for every pair"] = all(v.winner is not None or v.error for v in verdicts)
    for name, ok in checks.items():
        print(f"{'ok ' if ok else 'FAIL'} {name}")
    print(f"{len(prompts)} prompts: {cold:.2f} s cold, {warm:.2f} s with the prefix cache warm")
    if args.json:
        args.json.write_text(json.dumps({"checks": checks, "prompts": len(prompts), "cold_s": cold, "warm_s": warm}))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
