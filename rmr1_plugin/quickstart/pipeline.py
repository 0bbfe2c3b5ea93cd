"""The quickstart pipeline: train an RM-R1 judge, then train a policy with it as the only reward.

Stages (each a TRL trainer, each timed):

1. ``build``: a tiny judge and a tiny policy (Qwen2, shared locally trained tokenizer whose
   template phrases are single tokens), unless ``judge_model``/``model`` name real checkpoints;
2. ``judge_pretrain`` (off by default, ``pretrain_steps``): language-model training on plain sums
   (``3+4=7``), as a real judge starts from a model that knows arithmetic; measured here, it did not
   beat spending the same steps on SFT;
3. ``judge_distill`` + ``judge_sft``: chain-of-rubrics outputs for synthetic pairs (each training
   pair in both A/B orders) distilled from a local teacher (``rmr1 distill``, two passes;
   :mod:`rmr1_plugin.quickstart.teacher`), then SFT distillation (``SFTTrainer``) on them, the best
   checkpoint by verdict accuracy on a validation split, stopping once that reaches
   ``sft_stop_accuracy``;
4. ``judge_rlvr``: GRPO (``GRPOTrainer``) with the verdict reward (``rmr1_trl.verdict_reward``),
   its checkpoints replacing the SFT judge only when strictly better on validation;
5. ``policy_warmup``: SFT of the policy on *noisy* answers (half of them wrong) to two thirds of
   the questions, so its sampled answers are right now and then (~16%): groups of 8 then usually
   hold a right answer for the judge to prefer;
6. ``policy_grpo``: GRPO of the policy on those questions, the trained judge
   (``rmr1_trl.JudgeReward``, round-robin over each group) as the only reward -- no gold answer
   reaches training.

The judge is measured on held-out pairs (verdict accuracy, format-error rate) and on questions it
never saw in any form (``unseen_accuracy``; see :func:`make_splits`) before SFT, after SFT and
after RLVR; the policy's sampled answers are checked by the math verifier (which the
reward never sees) before and after GRPO, on its training questions and on held-out ones.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rmr1_plugin.quickstart import task

log = logging.getLogger(__name__)

Preset = Literal["smoke", "default", "full"]


class QuickstartConfig(BaseModel):
    """Sizes, steps and learning rates of every stage (defaults measured on 2 CPU cores)."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    judge_model: str | None = None
    model: str | None = None
    seed: int = 0
    device: str | None = None
    held_out_pairs: int = 300
    validation_pairs: int = Field(200, description="pairs for the judge's model selection (never trained on)")
    unseen_questions: int = Field(6, description="operand pairs (both orders) the judge never sees, taken from "
                                                 "the policy's training questions")
    # tiny models
    judge_layers: int = 3
    judge_hidden: int = 128
    judge_heads: int = 8
    policy_layers: int = 2
    policy_hidden: int = 128
    vocab_size: int = 1000
    # judge pre-training on plain sums, then SFT
    pretrain_steps: int = 0
    pretrain_batch: int = 32
    sft_steps: int = 1200
    sft_batch: int = 32
    sft_lr: float = 3e-3
    sft_eval_every: int = 50
    sft_stop_accuracy: float = Field(0.99, description="stop judge SFT once validation accuracy reaches this")
    # judge RLVR
    rlvr_steps: int = 16
    rlvr_prompts: int = 8
    rlvr_generations: int = 4
    rlvr_lr: float = 2e-5
    rlvr_temperature: float = 1.0
    rlvr_eval_every: int = 4
    # policy
    warmup_steps: int = 400
    warmup_batch: int = 32
    warmup_lr: float = 1e-3
    warmup_correct: float = Field(0.5, ge=0.0, le=1.0, description="share of right answers in the noisy warm-up data")
    policy_eval_fraction: float = 0.34
    grpo_steps: int = 30
    grpo_prompts: int = 4
    grpo_generations: int = 8
    grpo_lr: float = 1e-4
    grpo_beta: float = 0.04
    strategy: str = "round_robin"
    judge_no_verdict: Literal["raise", "skip"] = Field(
        "raise", description="a policy group in which the judge names no winner at all: stop the run (a broken "
                             "judge) or skip the group (smoke-size judges, trained for a few steps)")
    eval_samples: int = 64
    judge_max_new_tokens: int = 48
    progress_bars: bool = True

    @classmethod
    def preset(cls, name: Preset, out: Path, **overrides: Any) -> QuickstartConfig:
        """``smoke`` (CI: every stage, few steps), ``default`` (the targets) or ``full`` (longer)."""
        steps: dict[str, dict[str, Any]] = {
            "smoke": dict(sft_steps=30, rlvr_steps=2, warmup_steps=10, grpo_steps=2, eval_samples=4,
                          held_out_pairs=40, validation_pairs=40, judge_no_verdict="skip"),
            "default": {},
            "full": dict(sft_steps=2000, rlvr_steps=32, warmup_steps=400, grpo_steps=60),
        }
        if name not in steps:
            raise ValueError(f"preset must be one of {sorted(steps)}, got {name!r}")
        chosen = {k: v for k, v in overrides.items() if v is not None}
        # Learning rates measured for the tiny models would wreck a pretrained checkpoint.
        real = {}
        if chosen.get("judge_model"):
            real.update(sft_lr=1e-5, rlvr_lr=1e-6)
        if chosen.get("model"):
            real.update(warmup_lr=1e-5, grpo_lr=1e-6)
        return cls(out=out, **{**steps[name], **real, **chosen})


class StageResult(BaseModel):
    """One stage: how long it took, what it measured, where it saved its model."""

    name: str
    seconds: float
    metrics: dict[str, float] = Field(default_factory=dict)
    artifact: str | None = None


class QuickstartResult(BaseModel):
    config: QuickstartConfig
    stages: list[StageResult] = Field(default_factory=list)

    def metric(self, stage: str, name: str) -> float | None:
        for s in self.stages:
            if s.name == stage:
                return s.metrics.get(name)
        return None

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


# --- data ------------------------------------------------------------------------------------


def judge_sft_rows(triples: list[tuple[int, int, int]], n: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Conversational prompt-completion rows: judge prompt -> reference chain-of-rubrics output.

    ``n=None`` (the quickstart): every triple once with the right answer in A and once in B,
    shuffled by ``seed`` (the trainer cycles over them); ``n``: that many pairs drawn at random.
    """
    return [
        {"prompt": p.judge_messages(), "completion": [{"role": "assistant", "content": task.reference_chain(p)}]}
        for p in task.sft_pairs(triples, n, seed=seed)
    ]


def judge_rlvr_rows(triples: list[tuple[int, int, int]], n: int, seed: int) -> list[dict[str, Any]]:
    """RLVR rows as ``rmr1 prepare`` writes them for TRL: judge prompt + ``ground_truth`` label."""
    return [{"prompt": p.judge_messages(), "ground_truth": p.label} for p in task.sample_pairs(triples, n, seed=seed)]


def policy_prompt(a: int, b: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": task.question_text(a, b)}]


class Splits(BaseModel):
    """Every split of a quickstart run, derived from its seed and sizes."""

    judge: dict[str, list[tuple[int, int, int]]]
    policy_train: list[tuple[int, int]]
    policy_held_out: list[tuple[int, int]]
    judge_unseen: list[tuple[int, int]]

    def pairs(self, split: str, seed: int) -> list[task.SumPair]:
        return task.balanced_pairs(self.judge[split], seed=seed)


def make_splits(config: QuickstartConfig) -> Splits:
    """The judge's train/validation/held-out/unseen triples and the policy's questions.

    The judge-unseen questions are among the policy's training questions: there the judge rewards
    completions to questions it never saw, as a deployed judge does.
    """
    warm, held = split_questions(config.policy_eval_fraction, config.seed)
    unseen = task.unseen_questions(warm, config.unseen_questions)
    judge = task.judge_splits(config.held_out_pairs, config.validation_pairs, unseen, seed=config.seed)
    return Splits(judge=judge, policy_train=warm, policy_held_out=held,
                  judge_unseen=[q for q in warm if q in unseen])


def split_questions(fraction: float, seed: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(warm-up questions, held-out questions)`` for the policy."""
    questions = [(a, b) for a in range(task.MAX_DIGIT + 1) for b in range(task.MAX_DIGIT + 1)]
    random.Random(seed).shuffle(questions)
    cut = max(1, round(len(questions) * fraction))
    return questions[cut:], questions[:cut]


def noisy_answer_rows(questions: list[tuple[int, int]], n: int, correct: float, seed: int) -> list[dict[str, Any]]:
    """Warm-up rows: the right answer with probability ``correct``, else a random wrong one."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.choice(questions)
        answer = a + b
        if rng.random() >= correct:
            answer = rng.choice([x for x in range(task.MAX_ANSWER + 1) if x != a + b])
        rows.append({"prompt": policy_prompt(a, b), "completion": [{"role": "assistant", "content": str(answer)}]})
    return rows


# --- measurements ------------------------------------------------------------------------------


def make_judge(path: str | Path, config: QuickstartConfig) -> Any:
    """The engine's judge over a local model, greedy, no cache, no verifier shortcut."""
    from rmr1_plugin.backends import GenerationSettings, make_backend
    from rmr1_plugin.judge import Judge, JudgeConfig

    backend = make_backend("transformers", model=str(path), batch_size=64, device=config.device)
    settings = GenerationSettings(max_new_tokens=config.judge_max_new_tokens, temperature=0.0)
    return Judge(backend, JudgeConfig(generation=settings), cache=False, verifier=False)


def judge_accuracy(path: str | Path, pairs: list[task.SumPair], config: QuickstartConfig) -> dict[str, float]:
    """Verdict accuracy and format-error rate of the judge at ``path`` on ``pairs``."""
    verdicts = make_judge(path, config).judge(
        [{"question": p.question, "answer_a": p.answer_a, "answer_b": p.answer_b} for p in pairs]
    )
    right = sum(v.label == p.label for v, p in zip(verdicts, pairs, strict=True))
    errors = sum(v.winner is None for v in verdicts)
    a_share = sum(v.winner == "A" for v in verdicts) / max(1, len(verdicts) - errors)
    return {"accuracy": right / len(pairs), "format_error_rate": errors / len(pairs), "a_rate": a_share}


def judge_metrics(path: str | Path, splits: Splits, config: QuickstartConfig) -> dict[str, float]:
    """:func:`judge_accuracy` on the held-out pairs, plus ``unseen_accuracy`` on judge-unseen questions."""
    metrics = judge_accuracy(path, splits.pairs("held_out", config.seed), config)
    if splits.judge["unseen"]:
        metrics["unseen_accuracy"] = judge_accuracy(path, splits.pairs("unseen", config.seed), config)["accuracy"]
    return metrics


def policy_metrics(path: str | Path, splits: Splits, config: QuickstartConfig) -> dict[str, float]:
    """Verified correctness on the policy's training questions, on held-out ones and on the
    judge-unseen ones (a subset of its training questions)."""
    metrics = {"correct": policy_correctness(path, splits.policy_train, config)["correct"],
               "held_out_correct": policy_correctness(path, splits.policy_held_out, config)["correct"]}
    if splits.judge_unseen:
        metrics["unseen_correct"] = policy_correctness(path, splits.judge_unseen, config)["correct"]
    return metrics


def policy_correctness(path: str | Path, questions: list[tuple[int, int]],
                       config: QuickstartConfig) -> dict[str, float]:
    """Share of sampled answers (temperature 1) to ``questions`` the math verifier accepts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rmr1_plugin.verify import verify_math_batch

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    prompts = [policy_prompt(a, b) for a, b in questions]
    inputs = tokenizer.apply_chat_template(prompts, add_generation_prompt=True, return_tensors="pt",
                                           padding=True, return_dict=True)
    torch.manual_seed(config.seed + 1)
    with torch.inference_mode():
        out = model.generate(**inputs, do_sample=True, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=8,
                             num_return_sequences=config.eval_samples, pad_token_id=tokenizer.pad_token_id)
    texts = tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    golds = [str(a + b) for a, b in questions for _ in range(config.eval_samples)]
    results = verify_math_batch(texts, golds)
    return {"correct": sum(r.status == "correct" for r in results) / len(results)}


# --- training stages -----------------------------------------------------------------------


def _common_args(config: QuickstartConfig, out: Path) -> dict[str, Any]:
    on_cpu = config.device == "cpu" or (config.device is None and not _cuda())
    return dict(
        output_dir=str(out), save_strategy="no", report_to=[], logging_steps=10, seed=config.seed,
        use_cpu=on_cpu, dataloader_num_workers=0, disable_tqdm=not config.progress_bars,
        # TRL's configs default to bf16 autocast and gradient checkpointing: on a CPU without bf16
        # units autocast makes every step ~7x slower, and checkpointing saves no memory worth having
        # on models this small (measured: 4.5 s vs 0.7 s per judge SFT step on this project's CPU).
        bf16=not on_cpu, gradient_checkpointing=not on_cpu,
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def sft(model_path: str | Path, rows: list[dict[str, Any]], out: Path, *, steps: int, batch: int, lr: float,
        config: QuickstartConfig, callbacks: list[Any] | None = None) -> Path:
    """Supervised fine-tuning with TRL's ``SFTTrainer`` (loss on the completion only)."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    args = SFTConfig(
        max_steps=steps, per_device_train_batch_size=batch, learning_rate=lr, lr_scheduler_type="cosine",
        warmup_steps=max(1, steps // 20), weight_decay=0.0, max_length=512, **_common_args(config, out),
    )
    trainer_class = _model_loss_sft_trainer() if args.use_cpu else SFTTrainer
    trainer = trainer_class(model=str(model_path), args=args, train_dataset=Dataset.from_list(rows),
                            processing_class=tokenizer, callbacks=callbacks)
    trainer.train()
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def _model_loss_sft_trainer() -> type:
    """``SFTTrainer`` whose loss is the model's own causal-LM loss (``Trainer.compute_loss``).

    TRL's fused LM-head loss also computes entropy and top-1 metrics at every position, which
    saves GPU memory on large vocabularies and costs ~25% of each CPU step of the quickstart's
    tiny models (measured: 0.116 s vs 0.155 s per judge SFT step, the same loss). The
    ``entropy`` and ``mean_token_accuracy`` log entries go with it.
    """
    from transformers import Trainer
    from trl import SFTTrainer

    class ModelLossSFTTrainer(SFTTrainer):
        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    return ModelLossSFTTrainer


def grpo(model_path: str | Path, rows: list[dict[str, Any]], reward_funcs: list[Callable[..., Any]], out: Path, *,
         steps: int, prompts: int, generations: int, lr: float, max_completion_length: int,
         temperature: float, config: QuickstartConfig, beta: float = 0.0,
         callbacks: list[Any] | None = None) -> tuple[Path, list[dict[str, float]]]:
    """GRPO with TRL's ``GRPOTrainer``; returns the saved model and the trainer's log history."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokenizer.padding_side = "left"
    args = GRPOConfig(
        max_steps=steps, per_device_train_batch_size=prompts * generations, num_generations=generations,
        learning_rate=lr, lr_scheduler_type="constant", beta=beta, max_completion_length=max_completion_length,
        temperature=temperature, logging_steps=1, **{k: v for k, v in _common_args(config, out).items()
                                                     if k != "logging_steps"},
    )
    trainer = GRPOTrainer(model=str(model_path), reward_funcs=reward_funcs, args=args,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer, callbacks=callbacks)
    trainer.train()
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    return out, list(trainer.state.log_history)


def build_models(config: QuickstartConfig) -> tuple[Path, Path]:
    """Tiny judge and policy (shared tokenizer), or the given checkpoints."""
    from rmr1_plugin.tiny import build_tiny_model, default_corpus, template_phrases

    corpus = default_corpus() + task.corpus()
    judge = Path(config.judge_model) if config.judge_model else build_tiny_model(
        config.out / "judge-init", corpus=corpus, phrases=template_phrases(), vocab_size=config.vocab_size,
        hidden_size=config.judge_hidden, num_layers=config.judge_layers, num_heads=config.judge_heads,
        max_positions=512, seed=config.seed)
    policy = Path(config.model) if config.model else build_tiny_model(
        config.out / "policy-init", corpus=corpus, phrases=template_phrases(), vocab_size=config.vocab_size,
        hidden_size=config.policy_hidden, num_layers=config.policy_layers, max_positions=512, seed=config.seed + 1)
    return judge, policy


def write_datasets(config: QuickstartConfig) -> dict[str, Path]:
    """The quickstart's training data as JSONL folders (what ``recipes/trl/tiny`` train on).

    ``judge_sft``: prompt/completion chains; ``judge_rlvr``: prompt/ground_truth (``rmr1 prepare``'s
    TRL shape); ``policy``: prompts of the held-out questions, with ``gold`` for the verifier.
    """
    import json

    splits = make_splits(config)
    train_triples = splits.judge["train"]
    sets = {
        "judge_sft": judge_sft_rows(train_triples, seed=config.seed + 10),
        "judge_rlvr": judge_rlvr_rows(train_triples, max(8, config.rlvr_steps * config.rlvr_prompts),
                                      seed=config.seed + 20),
        "policy": [{"prompt": policy_prompt(a, b), "gold": str(a + b)} for a, b in splits.policy_held_out],
    }
    paths = {}
    for name, rows in sets.items():
        folder = config.out / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "train.jsonl", "w") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in rows)
        paths[name] = folder
    return paths


def _mean_logged(history: list[dict[str, float]], key: str, last: int | None = None) -> float | None:
    values = [h[key] for h in history if key in h]
    if last:
        values = values[-last:]
    return sum(values) / len(values) if values else None


def judge_selector(path: str | Path, splits: Splits, config: QuickstartConfig, *, every: int,
                   stop_at: float = 1.0, keep_start: bool = False,
                   target: Callable[[task.SumPair], str] | None = None) -> Any:
    """A :class:`~rmr1_plugin.quickstart.validation.BestCheckpoint` on the validation pairs.

    With ``target`` (pair -> the SFT completion) it scores by teacher-forced
    :func:`~rmr1_plugin.quickstart.validation.reference_match` (SFT), where the judge's chat
    template allows it; otherwise, and without ``target``, by generated verdict accuracy (RLVR,
    whose chains may leave the SFT targets and still be right).
    """
    from transformers import AutoTokenizer

    from rmr1_plugin.quickstart.validation import BestCheckpoint, encode_targets, reference_match, verdict_accuracy

    tokenizer, pairs = AutoTokenizer.from_pretrained(path), splits.pairs("validation", config.seed + 1)

    def generated(model: Any) -> float:
        return verdict_accuracy(model, tokenizer, pairs, max_new_tokens=config.judge_max_new_tokens)

    measure = generated
    if target is not None:
        try:
            targets = encode_targets(tokenizer, pairs, [target(pair) for pair in pairs])
        except ValueError as error:
            log.info("validating the judge by generation: %s", error)
        else:
            def measure(model: Any) -> float:
                return reference_match(model, targets, pad_token_id=tokenizer.pad_token_id)
    return BestCheckpoint(measure, every=every, stop_at=stop_at, keep_start=keep_start)


def selection_metrics(selector: Any) -> dict[str, float]:
    """What model selection saw: best validation accuracy, its step, steps run."""
    return {"validation_accuracy": selector.best, "best_step": float(selector.best_step),
            "steps_run": float(selector.curve[-1][0] if selector.curve else 0)}


def train_judge(judge_path: Path, splits: Splits, config: QuickstartConfig, stage: Callable[..., Any],
                *, chain: bool = True, name: str = "judge") -> Path:
    """SFT (best checkpoint on validation, early stop) then, with ``chain``, RLVR (kept only if it
    beats the SFT judge on validation); ``stage`` opens a timed stage and returns its ``done``.

    ``chain=False`` distils the direct judge (verdict only, no reasoning): no RLVR stage.
    """
    from rmr1_trl import verdict_reward

    from rmr1_plugin.quickstart.teacher import distilled_sft_rows

    kind = "chain-of-rubrics" if chain else "verdict-only"
    done = stage(f"{name}_distill", "distilling the judge's SFT chains from a local teacher (rmr1 distill, two passes)")
    # One distillation serves every judge of a run: a rerun into the same folder resumes, asking nothing twice.
    rows, metrics = distilled_sft_rows(splits.judge["train"], seed=config.seed + 10, out=config.out / "distill",
                                       progress=config.progress_bars)
    done(metrics, config.out / "distill")
    done = stage(f"{name}_sft", f"SFT distillation of the {kind} judge: up to {config.sft_steps} steps x "
                                f"{config.sft_batch} pairs, stopping at {config.sft_stop_accuracy:.0%} validation")
    if not chain:
        rows = [{**row, "completion": [{"role": "assistant", "content": direct_verdict(row["completion"][0]["content"])}]}
                for row in rows]
    target = task.reference_chain if chain else (lambda pair: direct_verdict(task.reference_chain(pair)))
    selector = judge_selector(judge_path, splits, config, every=config.sft_eval_every,
                              stop_at=config.sft_stop_accuracy, target=target)
    judge_path = sft(judge_path, rows, config.out / f"{name}-sft", steps=config.sft_steps, batch=config.sft_batch,
                     lr=config.sft_lr, config=config, callbacks=[selector])
    done({**judge_metrics(judge_path, splits, config), **selection_metrics(selector)}, judge_path)
    if not chain:
        return judge_path

    done = stage(f"{name}_rlvr", f"GRPO (RLVR) of the judge with the verdict reward: {config.rlvr_steps} steps")
    rows = judge_rlvr_rows(splits.judge["train"], config.rlvr_steps * config.rlvr_prompts, seed=config.seed + 20)
    selector = judge_selector(judge_path, splits, config, every=config.rlvr_eval_every, keep_start=True)
    judge_path, history = grpo(
        judge_path, rows, [verdict_reward], config.out / f"{name}-rlvr", steps=config.rlvr_steps,
        prompts=config.rlvr_prompts, generations=config.rlvr_generations, lr=config.rlvr_lr,
        max_completion_length=config.judge_max_new_tokens, temperature=config.rlvr_temperature, config=config,
        callbacks=[selector])
    metrics = {**judge_metrics(judge_path, splits, config), **selection_metrics(selector)}
    metrics["train_reward"] = _mean_logged(history, "rewards/verdict_reward/mean") or float("nan")
    done(metrics, judge_path)
    return judge_path


def direct_verdict(chain: str) -> str:
    """The verdict block alone of a chain-of-rubrics output (the "no reasoning" SFT target).

    >>> direct_verdict("<type>Reasoning</type> ... <answer>[[B]]</answer>")
    '<answer>[[B]]</answer>'
    """
    return chain[chain.rindex("<answer>"):]


def run_quickstart(config: QuickstartConfig, progress: Callable[[str], None] = log.info) -> QuickstartResult:
    """Run every stage; ``progress`` hears a line as each stage starts."""
    from rmr1_trl import JudgeReward

    from rmr1_plugin.quickstart.probe import HackingProbe

    config.out.mkdir(parents=True, exist_ok=True)
    result = QuickstartResult(config=config)
    splits = make_splits(config)
    stage = stage_timer(result, progress)

    done = stage("build", "building the tiny judge, policy and tokenizer; writing the datasets")
    judge_path, policy_path = build_models(config)
    write_datasets(config)
    done(judge_metrics(judge_path, splits, config), judge_path)

    if config.pretrain_steps > 0 and config.judge_model is None:
        done = stage("judge_pretrain", f"pre-training the judge on plain sums: {config.pretrain_steps} steps")
        rows = [{"text": text} for text in task.arithmetic_text(config.pretrain_steps * config.pretrain_batch,
                                                                seed=config.seed + 5)]
        judge_path = sft(judge_path, rows, config.out / "judge-pretrain", steps=config.pretrain_steps,
                         batch=config.pretrain_batch, lr=config.sft_lr, config=config)
        done({}, judge_path)

    judge_path = train_judge(judge_path, splits, config, stage)
    policy_path = warm_up_policy(policy_path, splits, config, stage)

    done = stage("policy_grpo", f"policy GRPO on the same {len(splits.policy_train)} questions, the judge "
                                f"({config.strategy}) as the only reward")
    reward = HackingProbe(JudgeReward(make_judge(judge_path, config), strategy=config.strategy,
                                      group_size=config.grpo_generations, no_verdict=config.judge_no_verdict),
                          config.grpo_generations, "rmr1_judge")
    policy_path, history = policy_grpo(policy_path, [reward], splits, config, config.out / "policy-grpo")
    metrics = policy_metrics(policy_path, splits, config)
    metrics["hacking"] = reward.rate
    metrics["judge_calls_per_group"] = _mean_logged(history, "rmr1/judge_calls") or float("nan")
    metrics["no_verdict_rate"] = _mean_logged(history, "rmr1/no_verdict_rate") or 0.0
    done(metrics, policy_path)
    return result


def stage_timer(result: QuickstartResult, progress: Callable[[str], None]) -> Callable[[str, str], Callable[..., Any]]:
    """``stage(name, message)`` announces a stage and returns ``done(metrics, artifact)``, which
    appends the timed :class:`StageResult` to ``result``."""
    def stage(name: str, message: str) -> Callable[..., StageResult]:
        progress(f"[{len(result.stages) + 1}] {message}")
        start = time.perf_counter()

        def done(metrics: dict[str, float] | None = None, artifact: Path | None = None) -> StageResult:
            outcome = StageResult(name=name, seconds=time.perf_counter() - start, metrics=metrics or {},
                                  artifact=None if artifact is None else str(artifact))
            result.stages.append(outcome)
            return outcome
        return done
    return stage


def warm_up_policy(policy_path: Path, splits: Splits, config: QuickstartConfig, stage: Callable[..., Any]) -> Path:
    """SFT of the policy on noisy answers to its training questions (the common starting point)."""
    done = stage("policy_warmup", f"policy warm-up SFT on noisy answers ({config.warmup_correct:.0%} right) to "
                                  f"{len(splits.policy_train)} questions")
    if config.warmup_steps > 0:
        rows = noisy_answer_rows(splits.policy_train, config.warmup_steps * config.warmup_batch,
                                 config.warmup_correct, seed=config.seed + 30)
        policy_path = sft(policy_path, rows, config.out / "policy-warmup", steps=config.warmup_steps,
                          batch=config.warmup_batch, lr=config.warmup_lr, config=config)
    done(policy_metrics(policy_path, splits, config), policy_path)
    return policy_path


def policy_grpo(policy_path: Path, rewards: list[Any], splits: Splits, config: QuickstartConfig,
                out: Path, *, gold: bool = False) -> tuple[Path, list[dict[str, float]]]:
    """GRPO of the policy on its training questions with ``rewards`` (the same budget for any reward).

    ``gold=True`` adds each question's ``gold`` answer column (for a verifier reward only: the
    judge's runs never carry the answer)."""
    rng = random.Random(config.seed + 40)
    questions = [rng.choice(splits.policy_train) for _ in range(config.grpo_steps * config.grpo_prompts)]
    rows = [{"prompt": policy_prompt(a, b), **({"gold": str(a + b)} if gold else {})} for a, b in questions]
    return grpo(policy_path, rows, rewards, out, steps=config.grpo_steps, prompts=config.grpo_prompts,
                generations=config.grpo_generations, lr=config.grpo_lr, max_completion_length=8, temperature=1.0,
                config=config, beta=config.grpo_beta)


def run_or_reuse(config: QuickstartConfig, progress: Callable[[str], None]) -> QuickstartResult:
    """The quickstart run of ``config`` (its ``results.json`` when a finished run with the same
    config is there: a seed sweep's runs serve the reward comparison without retraining)."""
    import json

    saved = config.out / "results.json"
    if saved.exists():
        result = QuickstartResult.model_validate(json.loads(saved.read_text()))
        if result.config.model_dump(exclude={"progress_bars"}) == config.model_dump(exclude={"progress_bars"}):
            progress(f"reusing the finished quickstart run in {config.out}")
            return result
    result = run_quickstart(config, progress=progress)
    saved.write_text(json.dumps(result.model_dump(mode="json"), indent=2))
    return result
