"""Judge a benchmark's comparisons through the judge engine, logging each one; resume; summarise.

Flow: ``load_benchmark`` -> comparisons not yet in the log -> batches through
:meth:`rmr1_plugin.judge.Judge.ajudge` -> one log line each -> :func:`summarize` over the whole
log -> results JSON, table, chart (:mod:`rmr1_plugin.evaluate.report`).

Position policy (``position``):

``random``  each comparison shows the chosen answer as A or B by a coin seeded with the run seed
            and the comparison id (so a resumed run places it the same way); the placement is
            logged as ``chosen_position``.
``both``    the engine judges both orders (``swap="both"``); a comparison whose verdict changes
            with the order counts as flipped, and the flip rate is reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tqdm.auto import tqdm

from rmr1_plugin.data.formats import PreferencePair
from rmr1_plugin.evaluate.benchmarks import category_of, load_benchmark
from rmr1_plugin.evaluate.log import SampleLog, check_resumable
from rmr1_plugin.evaluate.scoring import (
    RM_BENCH_STYLES,
    accuracy_by,
    rewardbench_score,
    rewardbench_sections,
    rm_bench_scores,
    rmb_scores,
)
from rmr1_plugin.judge import Judge, JudgePair
from rmr1_plugin.settings import JudgeSettings, resolve_style
from rmr1_plugin.types import Style

logger = logging.getLogger(__name__)

Position = Literal["random", "both"]
LOG_NAME, RUN_NAME, RESULTS_NAME, PLOT_NAME = "samples.jsonl", "run.json", "results.json", "accuracy.png"


class EvalSettings(JudgeSettings):
    """What a run evaluates and how; saved as ``run.json`` beside the log.

    The judge fields (``backend``, ``model``, ``style``, ``votes``, ``neutralize``, ...) and their
    defaults are :class:`rmr1_plugin.settings.JudgeSettings`'s; an evaluation names its backend
    and adds the benchmark, the position policy (``position="both"`` judges both orders), the seed,
    the batch size and ``generation`` (further :class:`~rmr1_plugin.backends.GenerationSettings`
    fields, which win over ``max_new_tokens``/``temperature``).
    """

    benchmark: str
    data: str
    split: str | None = None
    limit: int | None = None
    backend: str
    position: Position = "random"
    seed: int = 0
    batch_size: int = Field(16, ge=1)
    generation: dict[str, Any] = Field(default_factory=dict)
    #: ``stop``: a backend failure ends the run (finished batches stay logged; rerun to resume);
    #: ``wrong``: the comparison is logged without a winner and counts as wrong.
    backend_errors: Literal["stop", "wrong"] = "stop"

    @property
    def prompt_style(self) -> Style:
        """The prompt style the judge is asked in (``style``, else the one the model's name implies)."""
        return resolve_style(self.style, self.model)


def chosen_position(seed: int, pair_id: str) -> Literal["A", "B"]:
    """Where the chosen answer is shown under the ``random`` policy; stable across runs.

    >>> chosen_position(0, "chat/8:0:0") == chosen_position(0, "chat/8:0:0")
    True
    """
    return "A" if random.Random(f"{seed}:{pair_id}").random() < 0.5 else "B"


def shown_order(pair: PreferencePair, position: Literal["A", "B"]) -> tuple[list[dict], list[dict]]:
    """The two conversations in the order the judge sees them (A first)."""
    return (pair.chosen, pair.rejected) if position == "A" else (pair.rejected, pair.chosen)


def sample_record(
    benchmark: str, pair: PreferencePair, position: Literal["A", "B"], policy: Position,
    prompt: list[dict], verdict: Any,
) -> dict[str, Any]:
    """The log line of one judged comparison.

    ``winner`` is in the shown order; ``side`` says which answer that was (``chosen``,
    ``rejected`` or ``None`` when the judge gave no usable verdict); ``correct`` is
    ``side == "chosen"`` (no verdict counts as wrong, as in the benchmarks' own scripts).
    """
    winner = verdict.winner
    side = None if winner is None else ("chosen" if winner == position else "rejected")
    extra = {k: pair.meta[k] for k in ("chosen_style", "rejected_style", "loser_index", "kind") if k in pair.meta}
    return {
        "id": pair.id,
        "benchmark": benchmark,
        "category": category_of(benchmark, pair),
        "group": pair.meta.get("group"),
        **extra,
        "chosen_position": position,
        "position": policy,
        "prompt": prompt,
        "generations": list(verdict.texts),
        "swapped": list(verdict.swapped),
        "judgments": [j.model_dump() for j in verdict.judgments],
        "winner": winner,
        "side": side,
        "correct": side == "chosen",
        "flipped": verdict.flipped,
        "error": verdict.error,
    }


async def ajudge_all(
    pairs: Sequence[PreferencePair],
    judge: Judge,
    log: SampleLog,
    settings: EvalSettings,
    *,
    progress: bool = True,
) -> int:
    """Judge every comparison not yet in ``log``, appending a line per comparison; returns how many were judged."""
    done = log.read()
    style = settings.prompt_style
    todo = [p for p in pairs if p.id not in done]
    already = len(pairs) - len(todo)
    if already:
        logger.info("resuming: %d of %d comparisons already judged, %d to go", already, len(pairs), len(todo))
    bar = tqdm(total=len(pairs), initial=already, unit="pair", desc=f"judging {settings.benchmark}",
               disable=not progress, dynamic_ncols=True, smoothing=0.1)
    judged = 0
    try:
        for start in range(0, len(todo), settings.batch_size):
            batch = todo[start:start + settings.batch_size]
            positions = [chosen_position(settings.seed, p.id) if settings.position == "random" else "A" for p in batch]
            judge_pairs = [JudgePair(conversation_a=a, conversation_b=b)
                           for a, b in (shown_order(p, pos) for p, pos in zip(batch, positions, strict=True))]
            verdicts = await judge.ajudge(judge_pairs)
            if len(verdicts) != len(batch):
                raise RuntimeError(f"the judge returned {len(verdicts)} verdicts for {len(batch)} pairs")
            log.append(
                sample_record(settings.benchmark, p, pos, settings.position,
                              jp.messages(style, settings.neutralize), v)
                for p, pos, jp, v in zip(batch, positions, judge_pairs, verdicts, strict=True)
            )
            judged += len(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    return judged


def summarize(benchmark: str, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Scores, per-category accuracy, error counts and flip rate of logged comparisons.

    Per-category accuracy is over comparisons, except RMB's Best-of-N categories (over groups).

    >>> rows = [{"id": "1", "category": "hep-go", "correct": True, "error": None, "flipped": None},
    ...         {"id": "2", "category": "math-prm", "correct": False, "error": "no_verdict", "flipped": None}]
    >>> s = summarize("rewardbench", rows)
    >>> s["scores"]["Reasoning"], s["errors"]
    (0.5, {'no_verdict': 1})
    """
    rows = list(records)
    if not rows:
        raise ValueError("no judged comparisons to summarise")
    categories = accuracy_by((r["category"], r["correct"]) for r in rows)
    scores: dict[str, Any]
    if benchmark == "rewardbench":
        sections = rewardbench_sections({k: v["accuracy"] for k, v in categories.items()},
                                        {k: int(v["n"]) for k, v in categories.items()})
        scores = {**sections, "Score": rewardbench_score(sections)} if sections else {}
    elif benchmark == "rm-bench":
        scores = rm_bench_scores(_rm_bench_matrices(rows))
    elif benchmark == "rmb":
        scores = rmb_scores(
            [(r["category"], r["correct"]) for r in rows if r.get("kind") == "pairwise"],
            [(r["category"], r["group"], r["correct"]) for r in rows if r.get("kind") == "bon"],
        )
        # A Best-of-N category is scored per group (all losers beaten), not per comparison.
        categories = {**scores["pairwise_categories"], **scores["bon_categories"]}
    else:
        raise ValueError(f"unknown benchmark {benchmark!r}")
    flips = [bool(r["flipped"]) for r in rows if r.get("flipped") is not None]
    return {
        "benchmark": benchmark,
        "comparisons": len(rows),
        "accuracy": sum(bool(r["correct"]) for r in rows) / len(rows),
        "scores": scores,
        "categories": categories,
        "errors": dict(Counter(r["error"] for r in rows if r.get("error"))),
        "flip_rate": sum(flips) / len(flips) if flips else None,
        "chosen_shown_as_a": sum(r.get("chosen_position") == "A" for r in rows) / len(rows),
    }


def _rm_bench_matrices(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[list[float]]]]:
    size = len(RM_BENCH_STYLES)
    cells: dict[str, dict[tuple[int, int], bool]] = defaultdict(dict)
    domains: dict[str, str] = {}
    for r in rows:
        cells[r["group"]][(r["chosen_style"], r["rejected_style"])] = bool(r["correct"])
        domains[r["group"]] = r["category"]
    matrices = []
    for group, got in cells.items():
        missing = [(i, j) for i in range(size) for j in range(size) if (i, j) not in got]
        if missing:
            raise ValueError(f"RM-Bench record {group}: comparisons {missing} (chosen, rejected style) were not judged")
        matrices.append((domains[group], [[float(got[(i, j)]) for j in range(size)] for i in range(size)]))
    return matrices


def prepare_out(out: Path, settings: EvalSettings, *, overwrite: bool = False) -> SampleLog:
    """Create ``out`` (or check it can be resumed) and return its log."""
    out.mkdir(parents=True, exist_ok=True)
    log, run_file = SampleLog(out / LOG_NAME), out / RUN_NAME
    if overwrite:
        for name in (LOG_NAME, RUN_NAME, RESULTS_NAME, PLOT_NAME):
            (out / name).unlink(missing_ok=True)
    if run_file.exists() and log.path.exists():
        check_resumable(json.loads(run_file.read_text()), settings.model_dump(), run_file)
    run_file.write_text(settings.model_dump_json(indent=2))
    return log


def evaluate(
    settings: EvalSettings,
    out: str | Path,
    judge: Judge,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into ``out`` and return the results (also written to ``results.json``)."""
    out = Path(out)
    pairs = load_benchmark(settings.benchmark, settings.data, split=settings.split, limit=settings.limit)
    log = prepare_out(out, settings, overwrite=overwrite)
    judged = asyncio.run(ajudge_all(pairs, judge, log, settings, progress=progress))
    wanted = {p.id for p in pairs}
    records = [r for r in log.read().values() if r["id"] in wanted]
    missing = wanted - {r["id"] for r in records}
    if missing:
        raise RuntimeError(f"{len(missing)} comparisons are missing from {log.path} after the run, e.g. {sorted(missing)[:3]}")
    results = summarize(settings.benchmark, records)
    stats = getattr(judge, "stats", None)
    results.update({
        "engine": dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) else None,
        "settings": settings.model_dump(),
        "judged_this_run": judged,
        "resumed": len(pairs) - judged,
        "log": str(log.path),
    })
    (out / RESULTS_NAME).write_text(json.dumps(results, indent=2))
    return results
