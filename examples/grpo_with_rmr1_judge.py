"""GRPO with an RM-R1 judge as a reward, mixed with a math verifier: a complete TRL script.

Real run (a judge served by vLLM on another GPU; the model name must equal vLLM's
``--served-model-name``, which defaults to the path or hub id given to ``vllm serve``)::

    vllm serve gaotang/RM-R1-Qwen2.5-Instruct-7B --port 8001 --served-model-name judge &
    python examples/grpo_with_rmr1_judge.py --policy Qwen/Qwen2.5-1.5B-Instruct \\
        --judge-url http://127.0.0.1:8001/v1 --judge-model judge

Smoke run on CPU, no downloads (CI runs this): builds a tiny policy and a tiny judge locally and
serves the judge with ``transformers serve`` through :class:`rmr1_plugin.backends.local_server.LocalServer`
(an OpenAI-compatible server on CPU)::

    python examples/grpo_with_rmr1_judge.py --smoke --out outputs/example

``--judge-path outputs/quickstart/judge_rlvr`` serves a judge trained by ``rmr1 quickstart`` instead
(a freshly built tiny judge is untrained and names no winner, so the smoke run opts into
``no_verdict="skip"``; a real run keeps the default, which stops training when the judge is gone).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from datasets import Dataset
from rmr1_trl import JudgeReward, JudgeSpec, math_reward
from trl import GRPOConfig, GRPOTrainer

from rmr1_plugin.backends.local_server import LocalServer

NUM_GENERATIONS = 4          # completions per prompt: the group the judge ranks
PER_DEVICE_BATCH = 4         # completions per optimisation micro-step and device
STEPS_PER_GENERATION = 2     # TRL generates PER_DEVICE_BATCH x STEPS_PER_GENERATION completions at once


def dataset() -> Dataset:
    """Prompts in chat form; ``gold`` feeds the math verifier (the judge ignores it)."""
    rows = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
    return Dataset.from_list([{"prompt": [{"role": "user", "content": f"What is {a} + {b}?"}], "gold": str(a + b)}
                              for a, b in rows])


def judge_reward(base_url: str, model: str, *, skip_no_verdict: bool, max_new_tokens: int = 4096) -> JudgeReward:
    spec = JudgeSpec(
        backend="openai", model=model, base_urls=[base_url],
        strategy="knockout",                 # G-1 comparisons per group (round_robin: all pairs)
        style="instruct",                    # Qwen2.5-Instruct judges; "reasoning" for DeepSeek-distilled ones
        max_new_tokens=max_new_tokens,      # judgments cut off here have no verdict
        # Each process scores PER_DEVICE_BATCH x STEPS_PER_GENERATION completions at once; with
        # steps_per_generation > 1 that slice must hold whole groups, so it is a multiple of
        # num_generations, and group_size = num_generations lets the reward check it.
        group_size=NUM_GENERATIONS,
        backend_wait_s=300,                  # a judge server that goes away: wait, then stop training
        no_verdict="skip" if skip_no_verdict else "raise",
    )
    return JudgeReward(spec=spec)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", help="policy model (path or hub id)")
    parser.add_argument("--judge-url", help="OpenAI-compatible /v1 root of the judge server")
    parser.add_argument("--judge-model", default="judge", help="the judge server's served model name")
    parser.add_argument("--judge-path", help="serve this local judge folder on CPU (transformers serve)")
    parser.add_argument("--smoke", action="store_true", help="tiny local models, CPU, two steps")
    parser.add_argument("--out", default="outputs/grpo_with_rmr1_judge")
    args = parser.parse_args(argv)
    out = Path(args.out)

    with contextlib.ExitStack() as stack:
        policy, judge_path, skip = args.policy, args.judge_path, False
        if args.smoke:
            from rmr1_plugin.tiny import build_tiny_model

            policy = policy or str(build_tiny_model(out / "tiny-policy"))
            if judge_path is None:
                judge_path, skip = str(build_tiny_model(out / "tiny-judge")), True
        if judge_path is not None:
            server = stack.enter_context(LocalServer(judge_path, startup_timeout=300))
            base_url, model = server.base_url, server.model
        else:
            if not args.judge_url:
                parser.error("give --judge-url (a running judge server), --judge-path or --smoke")
            base_url, model = args.judge_url, args.judge_model
        if policy is None:
            parser.error("give --policy (or --smoke)")

        config = GRPOConfig(
            output_dir=str(out / "run"),
            num_generations=NUM_GENERATIONS,
            per_device_train_batch_size=PER_DEVICE_BATCH,
            steps_per_generation=STEPS_PER_GENERATION,
            # The judge's group reward and the verifier's 0/1, weighted into one scalar per completion.
            reward_weights=[1.0, 0.5],
            max_completion_length=8 if args.smoke else 1024,
            max_steps=2 if args.smoke else 500,
            learning_rate=1e-4 if args.smoke else 1e-6,
            logging_steps=1, save_strategy="no", report_to=[], use_cpu=args.smoke,
            # TRL defaults to bf16 autocast and gradient checkpointing; on a CPU both only slow the smoke down.
            bf16=not args.smoke, gradient_checkpointing=not args.smoke,
            disable_tqdm=args.smoke, dataloader_num_workers=0, seed=0,
        )
        trainer = GRPOTrainer(model=policy, args=config, train_dataset=dataset(),
                              reward_funcs=[judge_reward(base_url, model, skip_no_verdict=skip,
                                                         max_new_tokens=16 if args.smoke else 4096), math_reward])
        trainer.train()
    last = [h for h in trainer.state.log_history if "reward" in h][-1]
    print({k: v for k, v in last.items() if k.startswith(("reward", "rmr1/"))})
    return last


if __name__ == "__main__":
    main()
