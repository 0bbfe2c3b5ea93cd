"""Does the RM-R1 judge beat what a user would pick instead? The quickstart's reward comparison.

Per seed, one quickstart run gives the chain-of-rubrics judge (SFT + RLVR), the warm-up policy
and the round-robin row; on top of it, with the same splits, backbone and budgets:

* ``rmr1_adaptive``: the same judge, ``adaptive`` ranking within 2G calls per group;
* ``direct``: the same backbone and SFT budget distilled to answer ``<answer>[[A]]</answer>`` with
  no chain (the RM-R1 paper's "no reasoning" ablation), round robin;
* ``scalar_rm``: the same backbone as a Bradley-Terry sequence classifier trained with TRL's
  ``RewardTrainer`` on the same preference pairs (right answer chosen, wrong one rejected);
* ``verifier``: :mod:`rmr1_plugin.verify`'s math reward against the gold answer (upper bound);
* ``none``: the warm-up policy, untrained.

Every trained row runs policy GRPO from the same warm-up checkpoint with the same steps, questions
and samples. :class:`HackingProbe` wraps each reward to measure how often a group's top-rewarded
completion is one the verifier rejects.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rmr1_plugin.quickstart.pipeline import (
    QuickstartConfig,
    QuickstartResult,
    Splits,
    _mean_logged,
    make_judge,
    make_splits,
    policy_grpo,
    policy_metrics,
    policy_prompt,
    run_or_reuse,
    stage_timer,
    train_judge,
)
from rmr1_plugin.quickstart.probe import HackingProbe

ROWS: tuple[str, ...] = ("rmr1_round_robin", "rmr1_adaptive", "direct", "scalar_rm", "verifier", "none")


class ScalarReward:
    """One score per completion from a sequence-classification reward model (what TRL's GRPO does
    with a model reward), as a plain reward function so :class:`HackingProbe` can wrap it."""

    def __init__(self, path: str | Path, batch_size: int = 64):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(path).eval()
        self.batch_size = batch_size
        self.__name__ = "scalar_rm"

    def score(self, conversations: list[list[dict[str, str]]]) -> list[float]:
        import torch

        scores: list[float] = []
        for start in range(0, len(conversations), self.batch_size):
            texts = [self.tokenizer.apply_chat_template(c, tokenize=False)
                     for c in conversations[start:start + self.batch_size]]
            inputs = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                scores += self.model(**inputs).logits[:, 0].tolist()
        return scores

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
        from rmr1_trl.text import completion_text

        return self.score([list(p) + [{"role": "assistant", "content": completion_text(c)}]
                           for p, c in zip(prompts, completions, strict=True)])


def preference_rows(triples: list[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """The judge's training triples as preference pairs for ``RewardTrainer`` (implicit prompt)."""
    def turn(a: int, b: int, answer: int) -> list[dict[str, str]]:
        return [*policy_prompt(a, b), {"role": "assistant", "content": str(answer)}]
    return [{"chosen": turn(a, b, a + b), "rejected": turn(a, b, w)} for a, b, w in triples]


def scalar_accuracy(reward: ScalarReward, triples: list[tuple[int, int, int]]) -> float:
    """Share of pairs where the right answer scores above the wrong one."""
    rows = preference_rows(triples)
    chosen, rejected = reward.score([r["chosen"] for r in rows]), reward.score([r["rejected"] for r in rows])
    return sum(c > r for c, r in zip(chosen, rejected, strict=True)) / len(rows)


def train_scalar_rm(init: Path, splits: Splits, config: QuickstartConfig, out: Path) -> tuple[Path, dict[str, float]]:
    """Bradley-Terry reward model on the judge's training pairs with TRL's ``RewardTrainer``: the
    judge SFT's step cap and batch, best checkpoint by validation pair accuracy."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    from rmr1_plugin.quickstart.pipeline import _common_args
    from rmr1_plugin.quickstart.validation import BestCheckpoint

    tokenizer = AutoTokenizer.from_pretrained(init)
    validation = splits.judge["validation"]

    class _Scorer(ScalarReward):  # scores the model being trained
        def __init__(self, model: Any):
            self.tokenizer, self.model, self.batch_size, self.__name__ = tokenizer, model, 256, "scalar_rm"

    def measure(model: Any) -> float:
        was_training = model.training
        model.eval()
        try:
            return scalar_accuracy(_Scorer(model), validation)
        finally:
            model.train(was_training)

    selector = BestCheckpoint(measure, every=config.sft_eval_every, stop_at=config.sft_stop_accuracy)
    args = RewardConfig(max_steps=config.sft_steps, per_device_train_batch_size=config.sft_batch,
                        learning_rate=config.sft_lr, lr_scheduler_type="cosine",
                        warmup_steps=max(1, config.sft_steps // 20), max_length=128, **_common_args(config, out))
    trainer = RewardTrainer(model=str(init), args=args, train_dataset=Dataset.from_list(preference_rows(
        splits.judge["train"])), processing_class=tokenizer, callbacks=[selector])
    trainer.train()
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    reward = ScalarReward(out)
    metrics = {"accuracy": scalar_accuracy(reward, splits.judge["held_out"]),
               "unseen_accuracy": scalar_accuracy(reward, splits.judge["unseen"]),
               "validation_accuracy": selector.best}
    return out, metrics


def run_seed(config: QuickstartConfig, progress: Callable[[str], None]) -> dict[str, dict[str, float]]:
    """Every row of the comparison for one seed: metrics per row."""
    from rmr1_trl import JudgeReward, math_reward

    quick = run_or_reuse(config, progress)
    splits = make_splits(config)
    stages = {s.name: s for s in quick.stages}
    init, judge, warm = (Path(stages[name].artifact or "") for name in ("build", "judge_rlvr", "policy_warmup"))
    group = config.grpo_generations
    judge_row = {**_judge_metrics(stages["judge_rlvr"].metrics),
                 "reward_train_seconds": stages["judge_sft"].seconds + stages["judge_rlvr"].seconds}
    grpo = stages["policy_grpo"]
    rows: dict[str, dict[str, float]] = {"rmr1_round_robin": {
        **judge_row, **grpo.metrics, "grpo_seconds": grpo.seconds,
        "calls_per_group": grpo.metrics.get("judge_calls_per_group", float("nan"))}}

    direct_stages = QuickstartResult(config=config)
    direct = train_judge(init, splits, config, stage_timer(direct_stages, progress), chain=False, name="direct")
    direct_sft = next(s for s in direct_stages.stages if s.name == "direct_sft")
    progress("training the scalar Bradley-Terry reward model (TRL RewardTrainer)")
    start = time.perf_counter()
    scalar_path, scalar_metrics = train_scalar_rm(init, splits, config, config.out / "scalar-rm")
    scalar_seconds = time.perf_counter() - start

    rewards: dict[str, tuple[Callable[..., Any], dict[str, float]]] = {
        "rmr1_adaptive": (JudgeReward(make_judge(judge, config), strategy="adaptive", max_calls=2 * group,
                                      group_size=group, no_verdict=config.judge_no_verdict), judge_row),
        "direct": (JudgeReward(make_judge(direct, config), strategy=config.strategy, group_size=group,
                               no_verdict=config.judge_no_verdict),
                   {**_judge_metrics(direct_sft.metrics), "reward_train_seconds": direct_sft.seconds}),
        "scalar_rm": (ScalarReward(scalar_path), {**scalar_metrics, "reward_train_seconds": scalar_seconds,
                                                  "calls_per_group": float(group)}),
        "verifier": (math_reward, {**_verifier_accuracy(splits), "reward_train_seconds": 0.0,
                                   "calls_per_group": float(group)}),
    }
    for name, (reward, known) in rewards.items():
        progress(f"policy GRPO with the {name} reward")
        probe = HackingProbe(reward, group, name)
        start = time.perf_counter()
        path, history = policy_grpo(warm, [probe], splits, config, config.out / f"policy-{name}",
                                    gold=name == "verifier")
        row = {**known, "grpo_seconds": time.perf_counter() - start, "hacking": probe.rate,
               **policy_metrics(path, splits, config)}
        row.setdefault("calls_per_group", _mean_logged(history, "rmr1/judge_calls") or float("nan"))
        rows[name] = row
    rows["none"] = {**stages["policy_warmup"].metrics, "calls_per_group": 0.0, "reward_train_seconds": 0.0,
                    "grpo_seconds": 0.0}
    return {name: rows[name] for name in ROWS}


def _judge_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items()
            if k in ("accuracy", "unseen_accuracy", "validation_accuracy", "format_error_rate")}


def _verifier_accuracy(splits: Splits) -> dict[str, float]:
    """The verifier as a pairwise judge: right when it accepts the right answer and rejects the wrong one."""
    from rmr1_plugin.verify import verify_math_batch

    def accuracy(triples: list[tuple[int, int, int]]) -> float:
        answers = [str(x) for a, b, w in triples for x in (a + b, w)]
        golds = [str(a + b) for a, b, _ in triples for _ in range(2)]
        ok = [r.status == "correct" for r in verify_math_batch(answers, golds)]
        return sum(ok[i] and not ok[i + 1] for i in range(0, len(ok), 2)) / len(triples)
    return {"accuracy": accuracy(splits.judge["held_out"]), "unseen_accuracy": accuracy(splits.judge["unseen"])}


def parse_seeds(text: str) -> list[int]:
    """Seeds from a command line.

    >>> parse_seeds("0-4"), parse_seeds("0,2,5")
    ([0, 1, 2, 3, 4], [0, 2, 5])
    """
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


# --- aggregation ------------------------------------------------------------------------------

METRICS: dict[str, str] = {
    "accuracy": "pair acc (held-out)",
    "unseen_accuracy": "pair acc (unseen q)",
    "correct": "policy correct (trained q)",
    "held_out_correct": "policy correct (held-out q)",
    "unseen_correct": "policy correct (judge-unseen q)",
    "calls_per_group": "reward calls / group",
    "hacking": "top-rewarded wrong",
    "reward_train_seconds": "reward training s",
    "grpo_seconds": "policy GRPO s",
}


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95% confidence interval (Student t; nan with fewer than 2 values).

    >>> [round(x, 3) for x in mean_ci([1.0, 2.0, 3.0])]
    [2.0, 2.484]
    """
    from scipy import stats

    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return float("nan"), float("nan")
    mean = sum(finite) / len(finite)
    if len(finite) < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
    return mean, float(stats.t.ppf(0.975, len(finite) - 1)) * sd / math.sqrt(len(finite))


def summarise(per_seed: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, list[float]]]:
    """``{row: {metric: [mean, ci_half_width]}}`` over seeds."""
    return {row: {m: list(mean_ci([per_seed[s][row].get(m, float("nan")) for s in per_seed if row in per_seed[s]]))
                  for m in METRICS} for row in ROWS if any(row in per_seed[s] for s in per_seed)}


def render_table(summary: dict[str, dict[str, list[float]]], seeds: int) -> str:
    """The comparison as a plain-text rich table (mean ± 95% CI over seeds)."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    def cell(metric: str, mean: float, half: float) -> str:
        if math.isnan(mean):
            return "-"
        scale, unit = (100, "%") if metric in ("accuracy", "unseen_accuracy", "correct", "held_out_correct",
                                               "unseen_correct", "hacking") else (1, "")
        ci = "" if math.isnan(half) else f" ± {half * scale:.1f}"
        return f"{mean * scale:.1f}{ci}{unit}"

    table = Table(title=f"reward comparison, mean ± 95% CI over {seeds} seed(s)")
    table.add_column("reward")
    for label in METRICS.values():
        table.add_column(label)
    for row, metrics in summary.items():
        table.add_row(row, *(cell(m, *metrics[m]) for m in METRICS))
    buffer = StringIO()
    Console(file=buffer, width=220, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()


def plot(summary: dict[str, dict[str, list[float]]], path: Path) -> Path:
    """Bar chart: policy correctness (trained / held-out / judge-unseen questions) per reward, with
    95% CI error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ("correct", "held_out_correct", "unseen_correct")
    rows = list(summary)
    width = 0.8 / len(keys)
    figure, axis = plt.subplots(figsize=(10, 4.5))
    for k, key in enumerate(keys):
        means = [summary[r][key][0] * 100 for r in rows]
        errors = [0.0 if math.isnan(summary[r][key][1]) else summary[r][key][1] * 100 for r in rows]
        axis.bar([i + k * width for i in range(len(rows))], means, width, yerr=errors, capsize=3,
                 label=METRICS[key])
    axis.set_xticks([i + width for i in range(len(rows))], rows)
    axis.set_ylabel("verified correct, % of sampled answers")
    axis.set_title("policy after GRPO with each reward (mean, 95% CI over seeds)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run_comparison(seeds: Sequence[int], out: Path, progress: Callable[[str], None], *, smoke: bool = False,
                   **overrides: Any) -> dict[str, Any]:
    """Every row for every seed; writes and returns ``out/efficacy.json`` (``seeds``, ``per_seed``,
    ``summary``, ``config``).

    Seed ``S`` runs in ``out/seed-S``: a finished quickstart run there is reused, and so are the
    rows of a finished comparison (``out/seed-S/efficacy.json`` with the same config), so seeds can
    run in separate processes and a stopped run resumes.
    """
    import json

    out.mkdir(parents=True, exist_ok=True)
    per_seed: dict[str, dict[str, dict[str, float]]] = {}
    config = None
    for seed in seeds:
        config = QuickstartConfig.preset("smoke" if smoke else "default", out / f"seed-{seed}", seed=seed,
                                         progress_bars=False, **overrides)
        per_seed[str(seed)] = run_or_reuse_seed(config, progress)
    report = {"seeds": list(per_seed), "per_seed": per_seed, "summary": summarise(per_seed),
              "config": None if config is None else config.model_dump(mode="json", exclude={"out", "seed"})}
    (out / "efficacy.json").write_text(json.dumps(report, indent=2))
    return report


def run_or_reuse_seed(config: QuickstartConfig, progress: Callable[[str], None]) -> dict[str, dict[str, float]]:
    """:func:`run_seed`, or the rows a finished run of the same config saved in ``config.out``."""
    import json

    saved = config.out / "efficacy.json"
    key = config.model_dump(mode="json", exclude={"progress_bars"})
    if saved.exists():
        previous = json.loads(saved.read_text())
        if previous.get("config") == key:
            progress(f"reusing the finished comparison in {config.out}")
            return previous["rows"]
    rows = run_seed(config, progress)
    saved.write_text(json.dumps({"config": key, "rows": rows}, indent=2))
    return rows
