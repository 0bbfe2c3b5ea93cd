"""Turn preference pairs into RM-R1 training rows: RLVR rows for verl and TRL, SFT rows for distillation.

Data flows ``records -> PreferencePair -> (A/B placement) -> rows``; every record that does not
become a row is counted under a reason in :class:`PrepareReport`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from rmr1_plugin.data.formats import PreferencePair, RecordError, record_to_pairs
from rmr1_plugin.data.io import read_records, write_rows
from rmr1_plugin.prompts import build_judge_messages, place_pair
from rmr1_plugin.types import Style
from rmr1_plugin.verdict import parse_verdict

#: verl's ``reward_model.style`` for rule-based (verifiable) rewards.
VERL_REWARD_STYLE = "rule"
#: verl's ``ability`` column for judge-training rows.
JUDGE_ABILITY = "judge"


class PrepareReport(BaseModel):
    """What happened to the input: how many records and pairs, and why some were not used."""

    records: int = 0
    pairs: int = 0
    rows: int = 0
    sft_rows: int = 0
    skipped: Counter = Field(default_factory=Counter)
    label_counts: Counter = Field(default_factory=Counter)
    #: Chains written for the other A/B placement: swapped to the drawn one, or kept (unsafe to swap).
    chains_swapped: int = 0
    chains_unswapped: int = 0
    outputs: dict[str, str] = Field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"records read: {self.records}", f"pairs: {self.pairs}", f"RLVR rows: {self.rows}"]
        if self.label_counts:
            lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(self.label_counts.items())))
        if self.sft_rows:
            lines.append(f"SFT rows: {self.sft_rows}")
        if self.chains_swapped or self.chains_unswapped:
            lines.append(f"chains swapped to the balanced placement: {self.chains_swapped}; kept at their own "
                         f"(a bare A/B in the text, unsafe to swap): {self.chains_unswapped}")
        for reason, count in sorted(self.skipped.items()):
            lines.append(f"skipped ({reason}): {count}")
        for kind, path in self.outputs.items():
            lines.append(f"wrote {kind}: {path}")
        return "\n".join(lines)


def balanced_positions(rng: random.Random) -> Iterator[str]:
    """Endless ``"A"``/``"B"`` positions: each consecutive block of two holds one of each.

    >>> from itertools import islice
    >>> sorted(islice(balanced_positions(random.Random(0)), 4))
    ['A', 'A', 'B', 'B']
    """
    while True:
        block = ["A", "B"]
        rng.shuffle(block)
        yield from block


def unusable_reason(pair: PreferencePair) -> str | None:
    """Why a pair cannot teach a preference, or ``None`` if it can.

    >>> from rmr1_plugin.data.formats import PreferencePair
    >>> turn = lambda a: [{"role": "user", "content": "Q"}, {"role": "assistant", "content": a}]
    >>> unusable_reason(PreferencePair(id="1", source="s", chosen=turn("x"), rejected=turn("x")))
    'identical chosen and rejected'
    """
    if pair.chosen == pair.rejected:
        return "identical chosen and rejected"
    if not pair.chosen[-1]["content"].strip() or not pair.rejected[-1]["content"].strip():
        return "empty answer"
    return None


def judge_messages_for(pair: PreferencePair, label_first: bool, *, style: Style, neutralize: bool) -> list[dict]:
    """The judge prompt with ``pair.chosen`` shown as A when ``label_first`` else as B."""
    conversation_a, conversation_b = (pair.chosen, pair.rejected) if label_first else (pair.rejected, pair.chosen)
    return build_judge_messages(
        conversation_a=conversation_a, conversation_b=conversation_b, style=style, neutralize=neutralize
    )


def pair_rows(
    pairs: Iterable[PreferencePair],
    *,
    style: Style = "instruct",
    seed: int = 0,
    neutralize: bool = True,
    chains: Mapping[str, Mapping[str, Any]] | None = None,
    report: PrepareReport | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """RLVR rows (verl schema, plus TRL's ``ground_truth``) and SFT rows for the given pairs.

    The chosen answer goes to A or B in seeded random blocks of two (one A, one B), so labels stay
    balanced to within one and are reproducible. A pair that has a distilled
    chain in ``chains`` (keyed by pair id, ``{"chain": str, "label": "model_a"|"model_b"}``) takes
    the drawn placement too: a chain written for the other one is swapped (answers and verdict, as
    ``rmr1 distill`` rebalances), since the RM-R1 recipe wants A/B balance in its SFT data; only a
    chain that cannot be swapped safely keeps the placement it was written for (counted in
    ``report.chains_unswapped``). It becomes an SFT row only if its verdict names the labelled winner
    (as in RM-R1's distillation data). Records may also carry their chain in ``chain`` and ``label``
    fields.
    """
    report = report if report is not None else PrepareReport()
    positions = balanced_positions(random.Random(seed))
    rl_rows, sft_rows = [], []
    for pair in pairs:
        report.pairs += 1
        reason = unusable_reason(pair)
        if reason:
            report.skipped[reason] += 1
            continue
        chain = (chains or {}).get(pair.id) or pair.meta.get("chain")
        position = next(positions)  # drawn for every pair so placements do not depend on which have chains
        _, _, label = place_pair(pair.chosen, pair.rejected, chosen_position=position)
        text = None
        if chain is not None:
            text, label = _chain_at(chain, label, pair.id, report)
        messages = judge_messages_for(pair, label == "model_a", style=style, neutralize=neutralize)
        index = len(rl_rows)
        extra_info = {"index": index, "id": pair.id, "subset": pair.subset, "format": pair.meta.get("format"),
                      "judge_style": style}
        rl_rows.append({
            "data_source": pair.source,
            "prompt": messages,
            "ability": JUDGE_ABILITY,
            "reward_model": {"style": VERL_REWARD_STYLE, "ground_truth": label},
            "extra_info": extra_info,
            "ground_truth": label,
        })
        report.label_counts[label] += 1
        if chain is not None:
            verdict = parse_verdict(text) if isinstance(text, str) else None
            if verdict is None or verdict.winner is None:
                report.skipped[f"chain without a verdict ({verdict.error if verdict else 'no text'})"] += 1
            elif verdict.label != label:
                report.skipped["chain verdict disagrees with label"] += 1
            else:
                sft_rows.append({"prompt": messages, "completion": [{"role": "assistant", "content": text}],
                                 "id": pair.id, "ground_truth": label})
    report.rows, report.sft_rows = len(rl_rows), len(sft_rows)
    return rl_rows, sft_rows


def _chain_at(chain: Mapping[str, Any], drawn: str, pair_id: str, report: PrepareReport) -> tuple[Any, str]:
    """A distilled chain and its label at the drawn placement: swapped when it was written for the other one."""
    from rmr1_plugin.distill.chains import swap_positions  # imported here: rmr1_plugin.distill imports this module

    label, text = chain.get("label"), chain.get("chain")
    if label not in ("model_a", "model_b"):
        raise RecordError(f"chain for pair {pair_id!r}", "label", f"expected 'model_a' or 'model_b', got {label!r}")
    if label == drawn or not isinstance(text, str):
        return text, label
    swapped = swap_positions(text)
    if swapped is None:
        report.chains_unswapped += 1
        return text, label
    report.chains_swapped += 1
    return swapped, drawn


def policy_rows(pairs: Iterable[PreferencePair]) -> list[dict[str, Any]]:
    """Prompts for policy training with a judge as reward (verl schema; recipes/verl/policy_*.yaml).

    Each distinct conversation before the answers becomes one row; the chosen answer is kept as
    ``reward_model.ground_truth``, a reference a judge can compare completions against.

    >>> from rmr1_plugin.data.formats import PreferencePair
    >>> q = [{"role": "user", "content": "Q"}]
    >>> pair = PreferencePair(id="1", source="s", chosen=q + [{"role": "assistant", "content": "good"}],
    ...                       rejected=q + [{"role": "assistant", "content": "bad"}])
    >>> row = policy_rows([pair, pair])
    >>> len(row), row[0]["prompt"], row[0]["reward_model"]["ground_truth"]
    (1, [{'role': 'user', 'content': 'Q'}], 'good')
    """
    rows, seen = [], set()
    for pair in pairs:
        prompt = pair.chosen[:-1]
        key = tuple((m["role"], m["content"]) for m in prompt)
        if unusable_reason(pair) or not prompt or prompt[-1]["role"] != "user" or key in seen:
            continue
        seen.add(key)
        rows.append({"data_source": pair.source, "prompt": prompt, "ability": "chat",
                     "reward_model": {"style": "model", "ground_truth": pair.chosen[-1]["content"]},
                     "extra_info": {"index": len(rows), "id": pair.id}})
    return rows


def load_pairs(
    source: str | Path,
    *,
    fmt: str | None = None,
    source_name: str | None = None,
    split: str = "train",
    all_rm_bench_pairs: bool = False,
    skip_invalid: bool = False,
    report: PrepareReport | None = None,
    progress: bool = True,
) -> list[PreferencePair]:
    """Read a file or dataset into preference pairs.

    Malformed records raise :class:`RecordError` (file, row, field); with ``skip_invalid`` they are
    counted in ``report.skipped`` instead.
    """
    report = report if report is not None else PrepareReport()
    records = read_records(source, split=split)
    name = source_name or _default_source_name(source)
    pairs: list[PreferencePair] = []
    for row, (where, record) in enumerate(
        tqdm(records, desc=f"reading {name}", unit="rec", disable=not progress or len(records) < 1000), 1
    ):
        report.records += 1
        try:
            pairs.extend(record_to_pairs(record, where=where, row=row, source=name, fmt=fmt,
                                         all_rm_bench_pairs=all_rm_bench_pairs))
        except RecordError as exc:
            if not skip_invalid:
                raise
            report.skipped[f"invalid record ({exc.problem.split(';')[0]})"] += 1
    return pairs


def _default_source_name(source: str | Path) -> str:
    path = Path(source)
    return path.stem if path.exists() else str(source)


def load_chains(path: str | Path) -> dict[str, dict[str, Any]]:
    """Distilled judge outputs keyed by pair id: rows with ``id``, ``chain`` and ``label``."""
    chains = {}
    for where, record in read_records(path):
        if not isinstance(record, Mapping) or "id" not in record:
            raise RecordError(where, "id", "each chain row needs the id of its pair")
        if not isinstance(record.get("chain"), str):
            raise RecordError(where, "chain", f"expected the judge's text, got {record.get('chain')!r:.60}")
        chains[str(record["id"])] = dict(record)
    return chains


def prepare(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    fmt: str | None = None,
    style: Style = "instruct",
    seed: int = 0,
    neutralize: bool = True,
    chains: str | Path | None = None,
    val_fraction: float = 0.0,
    split: str = "train",
    all_rm_bench_pairs: bool = False,
    skip_invalid: bool = False,
    progress: bool = True,
) -> PrepareReport:
    """Read ``inputs`` and write RLVR (verl parquet, TRL JSONL) and SFT rows under ``out_dir``.

    Files written: ``verl_train.parquet``, ``trl_train.jsonl`` (and ``*_val.*`` with
    ``val_fraction``), ``verl_policy_train.parquet`` (prompts for policy training), and
    ``sft_train.jsonl`` plus ``sft_train.parquet`` (verl's SFT trainer) when ``chains`` are given.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    report = PrepareReport()
    pairs: list[PreferencePair] = []
    for source in inputs:
        pairs.extend(load_pairs(source, fmt=fmt, split=split, all_rm_bench_pairs=all_rm_bench_pairs,
                                skip_invalid=skip_invalid, report=report, progress=progress))
    chain_map = load_chains(chains) if chains else None
    rl_rows, sft_rows = pair_rows(pairs, style=style, seed=seed, neutralize=neutralize, chains=chain_map,
                                  report=report)
    if not rl_rows:
        raise ValueError("no usable pairs in the input:\n" + report.summary())
    out = Path(out_dir)
    splits = _split(rl_rows, val_fraction, seed)
    for split_name, rows in splits.items():
        verl_rows = [{k: v for k, v in row.items() if k != "ground_truth"} for row in rows]
        trl_rows = [{"prompt": r["prompt"], "ground_truth": r["ground_truth"], "id": r["extra_info"]["id"],
                     "data_source": r["data_source"]} for r in rows]
        report.outputs[f"verl {split_name}"] = str(write_rows(verl_rows, out / f"verl_{split_name}.parquet"))
        report.outputs[f"trl {split_name}"] = str(write_rows(trl_rows, out / f"trl_{split_name}.jsonl"))
    report.outputs["verl policy train"] = str(write_rows(policy_rows(pairs), out / "verl_policy_train.parquet"))
    if sft_rows:
        report.outputs["sft train"] = str(write_rows(sft_rows, out / "sft_train.jsonl"))
        # verl's SFT trainer reads one chat per row from its `messages` column (data.messages_key).
        verl_sft = [{"messages": r["prompt"] + r["completion"], "id": r["id"]} for r in sft_rows]
        report.outputs["verl sft train"] = str(write_rows(verl_sft, out / "sft_train.parquet"))
    return report


def _split(rows: list[dict[str, Any]], val_fraction: float, seed: int) -> dict[str, list[dict[str, Any]]]:
    if val_fraction == 0.0:
        return {"train": rows}
    order = list(range(len(rows)))
    random.Random(seed + 1).shuffle(order)
    n_val = max(1, round(len(rows) * val_fraction))
    val = set(order[:n_val])
    return {"train": [r for i, r in enumerate(rows) if i not in val], "val": [r for i, r in enumerate(rows) if i in val]}
