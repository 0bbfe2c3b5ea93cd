"""RM-R1's two-pass chain distillation over preference pairs.

``pairs -> (A/B placement, as rmr1 prepare does) -> pass 1: teacher judges -> filters -> kept``;
the rest ``-> pass 2: teacher 2 gets the prompt + the correct verdict + the flawed chain -> filters,
hint-leak check -> kept``; then position balance, and ``chains.jsonl`` (``{"id", "chain", "label"}``:
what ``rmr1 prepare --chains`` reads). Every pair that does not yield a chain is counted by reason.

Files in ``out``: ``judgments.jsonl`` (every answer, appended as it arrives: the resume point),
``chains.jsonl``, ``dropped.jsonl`` (id, pass, reason, detail), ``report.json``, and in batch mode
``batch/pass{N}_input.jsonl`` to run and ``batch/pass{N}_output.jsonl`` to put the results in.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rmr1_plugin.backends.base import Generation, GenerationSettings
from rmr1_plugin.data.formats import PreferencePair
from rmr1_plugin.data.io import write_rows
from rmr1_plugin.data.prepare import balanced_positions, judge_messages_for, unusable_reason
from rmr1_plugin.distill.chains import (
    Label,
    Structure,
    chain_problem,
    clean_hint_leak,
    correction_messages,
    hint_leaks,
    rebalance,
)
from rmr1_plugin.distill.teachers import Journal, Request, Teacher, make_request
from rmr1_plugin.types import Style
from rmr1_plugin.verdict import parse_verdict

#: Characters per token for estimates where a server reports no usage (English text, BPE tokenizers).
CHARS_PER_TOKEN = 4
#: Share of pass-1 chains RM-R1 found wrong (zero-shot teachers are right about 75% of the time).
EXPECTED_PASS2_SHARE = 0.25


class DistillConfig(BaseModel):
    """How to judge and what to keep.

    ``style``/``neutralize``/``seed``: the prompt and A/B placement, as in ``rmr1 prepare`` (use the
    same values there). ``structure``: require the chain-of-rubrics parts for the chain's task type
    (``auto``: for the instruct style, whose prompt asks for them). ``max_chain_chars``: longer chains
    are dropped. ``pass2``: send failed pass-1 chains to the corrector. ``balance``: make the kept
    set as A/B balanced as the data.
    """

    model_config = ConfigDict(extra="forbid")

    style: Style = "instruct"
    neutralize: bool = True
    seed: int = 0
    structure: Structure = "auto"
    max_chain_chars: int = Field(20_000, ge=1)
    pass2: bool = True
    balance: bool = True
    progress: bool = True

    @property
    def require_structure(self) -> bool:
        return self.structure == "require" or (self.structure == "auto" and self.style == "instruct")


class PassReport(BaseModel):
    """One pass: requests, answers, what the filters said, tokens."""

    requests: int = 0
    sent: int = 0
    resumed: int = 0
    answered: int = 0
    teacher_errors: int = 0
    right_verdict: int = 0
    kept: int = 0
    failures: Counter = Field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False


class DistillReport(BaseModel):
    """What distillation did, pair by pair, in counts."""

    teacher: str
    teacher2: str | None = None
    pairs: int = 0
    skipped: Counter = Field(default_factory=Counter)
    label_counts: Counter = Field(default_factory=Counter)
    pass1: PassReport = Field(default_factory=PassReport)
    pass2: PassReport = Field(default_factory=PassReport)
    kept: int = 0
    kept_labels: Counter = Field(default_factory=Counter)
    hint_cleaned: int = 0
    relabelled: int = 0
    dropped: Counter = Field(default_factory=Counter)
    waiting: dict[str, Any] | None = None
    outputs: dict[str, str] = Field(default_factory=dict)

    @property
    def pass1_accuracy(self) -> float | None:
        """Share of answered pass-1 requests whose verdict names the labelled winner."""
        return self.pass1.right_verdict / self.pass1.answered if self.pass1.answered else None

    @property
    def pass2_recovery(self) -> float | None:
        """Share of pass-2 requests that became kept chains."""
        return self.pass2.kept / self.pass2.requests if self.pass2.requests else None


@dataclass
class _Item:
    """One usable pair on its way through the passes."""

    pair: PreferencePair
    label: Label
    messages: list[dict[str, str]]
    chain: str | None = None
    pass_number: int = 0
    reason: str | None = None
    detail: str = ""


def place(pairs: Sequence[PreferencePair], config: DistillConfig, report: DistillReport,
          positions: Mapping[str, Literal["A", "B"]] | None = None) -> list[_Item]:
    """Usable pairs with their judge prompts; the chosen answer placed as ``rmr1 prepare`` places it
    (seeded blocks of two), or where ``positions`` (pair id -> ``"A"``/``"B"``) says."""
    draws = balanced_positions(random.Random(config.seed))
    items, seen = [], set()
    for pair in pairs:
        report.pairs += 1
        reason = unusable_reason(pair) or ("duplicate pair id" if pair.id in seen else None)
        if reason:
            report.skipped[reason] += 1
            continue
        seen.add(pair.id)
        drawn = next(draws)  # drawn for every usable pair, as prepare does, so placements match its own
        position = (positions or {}).get(pair.id, drawn)
        label: Label = "model_a" if position == "A" else "model_b"
        report.label_counts[label] += 1
        items.append(_Item(pair, label, judge_messages_for(pair, position == "A", style=config.style,
                                                           neutralize=config.neutralize)))
    return items


def _run_pass(number: int, requests: dict[int, Request], teacher: Teacher, journal: Journal,
              report: PassReport, progress: bool) -> bool:
    """Send what the journal lacks; return True when every request has an answer."""
    unique = {r.key: r for r in requests.values()}
    todo = [r for r in unique.values() if not journal.done(r.key)]
    report.requests = len(requests)
    report.resumed = len(unique) - len(todo)
    sent = 0

    def on_result(request: Request, generation: Generation) -> None:
        nonlocal sent
        sent += 1
        journal.append(request, generation)

    pending = teacher.complete(todo, on_result, progress=progress)
    report.sent = sent
    return not pending


def _tokens(report: PassReport, request: Request, generation: Generation) -> None:
    if generation.prompt_tokens is None or generation.completion_tokens is None:
        report.tokens_estimated = True
        report.prompt_tokens += sum(len(m["content"]) for m in request.messages) // CHARS_PER_TOKEN
        report.completion_tokens += len(generation.text) // CHARS_PER_TOKEN
    else:
        report.prompt_tokens += generation.prompt_tokens
        report.completion_tokens += generation.completion_tokens


def _judge_items(items: dict[int, _Item], requests: dict[int, Request], journal: Journal, report: PassReport,
                 config: DistillConfig, number: int) -> list[int]:
    """Apply the filters to each answer; return the indices that failed with a chain worth correcting."""
    failed = []
    counted: set[str] = set()
    for index, request in requests.items():
        item = items[index]
        generation = journal.generation(request.key)
        assert generation is not None
        if request.key not in counted:
            _tokens(report, request, generation)
            counted.add(request.key)
        if generation.finish_reason == "error":
            report.teacher_errors += 1
            item.reason, item.detail = f"teacher error (pass {number})", generation.error or ""
            item.pass_number = number
            continue
        report.answered += 1
        text = generation.text
        problem = chain_problem(text, item.label, truncated=generation.finish_reason == "length",
                                require_structure=config.require_structure, max_chars=config.max_chain_chars)
        if parse_verdict(text, truncated=generation.finish_reason == "length").label == item.label:
            report.right_verdict += 1
        if problem is None and number == 2 and hint_leaks(text):
            cleaned = clean_hint_leak(text)
            if cleaned is None or chain_problem(cleaned, item.label, require_structure=config.require_structure,
                                                max_chars=config.max_chain_chars) is not None:
                problem = ("hint leak", ", ".join(sorted(set(hint_leaks(text)))))
            else:
                text, item.detail = cleaned, "hint cleaned"
        item.pass_number = number
        if problem is None:
            item.chain, item.reason = text, None
            report.kept += 1
        else:
            report.failures[problem[0]] += 1
            item.reason, item.detail = problem
            if problem[0] != "hint leak":
                item.chain = text  # the flawed chain pass 2 is shown
                failed.append(index)
    return failed


def distill(
    pairs: Sequence[PreferencePair],
    out: str | Path,
    teacher: Teacher,
    *,
    teacher2: Teacher | None = None,
    settings: GenerationSettings | None = None,
    config: DistillConfig | None = None,
    positions: Mapping[str, Literal["A", "B"]] | None = None,
) -> DistillReport:
    """Distil chains for ``pairs`` into ``out`` (see the module docstring for the files).

    Rerunning with the same ``out`` resumes: answers already in ``judgments.jsonl`` are not asked for
    again. In batch mode the run stops at the first pass whose results are not there yet
    (``report.waiting`` says which file to run).

    >>> report = distill(load_pairs("pairs.jsonl"), "out", OnlineTeacher(backend, settings))  # doctest: +SKIP
    >>> report.pass1_accuracy, report.kept, dict(report.dropped)                            # doctest: +SKIP
    """
    config = config or DistillConfig()
    settings = settings or GenerationSettings()
    teacher2 = teacher2 or teacher
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = DistillReport(teacher=teacher.model, teacher2=teacher2.model if teacher2 is not teacher else None)
    items = dict(enumerate(place(pairs, config, report, positions)))
    journal = Journal(out / "judgments.jsonl")
    try:
        first = {i: make_request(1, it.pair.id, teacher.model, it.messages, settings) for i, it in items.items()}
        if not _run_pass(1, first, teacher, journal, report.pass1, config.progress):
            return _waiting(report, out, 1, teacher, first, journal)
        retry = _judge_items(items, first, journal, report.pass1, config, 1)
        if config.pass2 and retry:
            second = {i: make_request(2, items[i].pair.id, teacher2.model,
                                      correction_messages(items[i].messages, items[i].label, items[i].chain or "",
                                                          f"{items[i].reason}: {items[i].detail}"), settings)
                      for i in retry}
            if not _run_pass(2, second, teacher2, journal, report.pass2, config.progress):
                return _waiting(report, out, 2, teacher2, second, journal)
            _judge_items(items, second, journal, report.pass2, config, 2)
    finally:
        journal.close()
    return _finish(report, out, list(items.values()), config)


def _waiting(report: DistillReport, out: Path, number: int, teacher: Teacher, requests: dict[int, Request],
             journal: Journal) -> DistillReport:
    pending = sum(not journal.done(r.key) for r in {r.key: r for r in requests.values()}.values())
    input_path = getattr(teacher, "input_path", lambda n: None)(number)
    output_path = getattr(teacher, "output_path", lambda n: None)(number)
    report.waiting = {"pass": number, "pending": pending, "input": str(input_path), "output": str(output_path)}
    _write_report(report, out)
    return report


def _finish(report: DistillReport, out: Path, items: list[_Item], config: DistillConfig) -> DistillReport:
    kept = [{"id": it.pair.id, "chain": it.chain, "label": it.label, "pass": it.pass_number}
            for it in items if it.reason is None and it.chain is not None]
    report.hint_cleaned = sum(it.reason is None and it.detail == "hint cleaned" for it in items)
    dropped = []
    for it in items:
        if it.reason is not None:
            reason = it.reason
            if not reason.startswith(("teacher error", "hint leak")):
                reason += " after pass 2" if it.pass_number == 2 else " (pass 2 off)"
            report.dropped[reason] += 1
            dropped.append({"id": it.pair.id, "pass": it.pass_number, "reason": reason, "detail": it.detail})
    if config.balance and kept:
        total = sum(report.label_counts.values())
        kept, report.relabelled, unbalanced = rebalance(kept, report.label_counts["model_a"] / total, config.seed)
        if unbalanced:
            report.dropped["position balance"] += unbalanced
            kept_ids = {r["id"] for r in kept}
            dropped += [{"id": it.pair.id, "pass": it.pass_number, "reason": "position balance", "detail": ""}
                        for it in items if it.reason is None and it.chain is not None and it.pair.id not in kept_ids]
    report.kept = len(kept)
    report.kept_labels = Counter(r["label"] for r in kept)
    report.outputs["chains"] = str(write_rows(kept, out / "chains.jsonl"))
    report.outputs["dropped"] = str(write_rows(dropped, out / "dropped.jsonl"))
    _write_report(report, out)
    return report


def _write_report(report: DistillReport, out: Path) -> None:
    report.outputs["report"] = str(out / "report.json")
    summary = report.model_dump(mode="json")
    summary["pass1_accuracy"], summary["pass2_recovery"] = report.pass1_accuracy, report.pass2_recovery
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


# --- dry run ------------------------------------------------------------------------------------


class Plan(BaseModel):
    """What a run would send: pass-1 requests (and how many the journal already holds), token estimates."""

    pairs: int
    requests: int
    already_answered: int
    prompt_tokens: int
    max_completion_tokens: int
    pass2_requests_expected: int
    first_prompts: list[list[dict[str, str]]]


def plan(pairs: Sequence[PreferencePair], out: str | Path, teacher_model: str, *, settings: GenerationSettings,
         config: DistillConfig, show: int = 1) -> Plan:
    """The dry run: placements and pass-1 prompts without sending anything.

    Token figures are estimates (``CHARS_PER_TOKEN`` characters per token); pass 2 is expected for
    about a quarter of the pairs (RM-R1's zero-shot teachers were right ~75% of the time), each with
    the pass-1 prompt plus a chain.
    """
    report = DistillReport(teacher=teacher_model)
    items = place(pairs, config, report)
    requests = {make_request(1, it.pair.id, teacher_model, it.messages, settings).key: it for it in items}
    path = Path(out) / "judgments.jsonl"
    answered = 0
    if path.exists():
        journal = Journal(path)
        answered = sum(journal.done(key) for key in requests)
        journal.close()
    prompt_chars = sum(len(m["content"]) for it in requests.values() for m in it.messages)
    return Plan(pairs=report.pairs, requests=len(requests), already_answered=answered,
                prompt_tokens=prompt_chars // CHARS_PER_TOKEN,
                max_completion_tokens=len(requests) * settings.max_new_tokens,
                pass2_requests_expected=round(len(requests) * EXPECTED_PASS2_SHARE),
                first_prompts=[it.messages for it in list(requests.values())[:show]])


# --- the table ----------------------------------------------------------------------------------


def render(report: DistillReport) -> str:
    """The report as a plain-text table (rich)."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    def tokens(p: PassReport) -> str:
        mark = " (est.)" if p.tokens_estimated else ""
        return f"{p.prompt_tokens:,} in / {p.completion_tokens:,} out{mark}"

    table = Table(title=f"rmr1 distill: {report.teacher}" + (f" / {report.teacher2}" if report.teacher2 else ""))
    for column in ("pass", "requests", "sent now", "answered", "right verdict", "kept", "failures", "tokens"):
        table.add_column(column)
    for name, p in (("1", report.pass1), ("2", report.pass2)):
        right = pct(p.right_verdict / p.answered if p.answered else None)
        failures = ", ".join(f"{k} {v}" for k, v in sorted(p.failures.items())) or "-"
        if p.teacher_errors:
            failures += f"; teacher errors {p.teacher_errors}"
        table.add_row(name, str(p.requests), str(p.sent), str(p.answered), right, str(p.kept), failures, tokens(p))
    buffer = StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    console.print(table)
    skipped = "".join(f", skipped {k}: {v}" for k, v in sorted(report.skipped.items()))
    console.print(f"pairs {report.pairs}{skipped}; labels " + ", ".join(
        f"{k} {v}" for k, v in sorted(report.label_counts.items())), markup=False)
    if report.waiting:
        w = report.waiting
        console.print(f"waiting for batch results of pass {w['pass']}: {w['pending']} requests in {w['input']}; "
                      f"put the results in {w['output']} and run again", markup=False)
        return buffer.getvalue()
    labels = ", ".join(f"{k} {v}" for k, v in sorted(report.kept_labels.items()))
    console.print(f"kept {report.kept} chains ({labels}); pass-1 accuracy {pct(report.pass1_accuracy)}, "
                  f"pass-2 recovery {pct(report.pass2_recovery)}; hint leaks cleaned {report.hint_cleaned}, "
                  f"re-labelled for balance {report.relabelled}", markup=False)
    for reason, count in sorted(report.dropped.items()):
        console.print(f"  dropped ({reason}): {count}", markup=False)
    return buffer.getvalue()
