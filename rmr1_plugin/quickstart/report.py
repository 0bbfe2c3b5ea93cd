"""The quickstart's results table, and the targets it is meant to reach."""

from __future__ import annotations

from rmr1_plugin.quickstart.pipeline import QuickstartResult

#: Judge verdict accuracy on held-out pairs the default run should reach after RLVR.
JUDGE_ACCURACY_TARGET = 0.9


def target_checks(result: QuickstartResult) -> dict[str, bool]:
    """Each target of the default run and whether ``result`` meets it.

    Judge accuracy after RLVR >= 0.9 and not below the accuracy after SFT; the policy's verified
    correctness higher after GRPO than before.
    """
    sft = result.metric("judge_sft", "accuracy")
    rlvr = result.metric("judge_rlvr", "accuracy")
    before = result.metric("policy_warmup", "correct")
    after = result.metric("policy_grpo", "correct")
    held_before = result.metric("policy_warmup", "held_out_correct")
    held_after = result.metric("policy_grpo", "held_out_correct")
    return {
        f"judge accuracy after RLVR >= {JUDGE_ACCURACY_TARGET}": rlvr is not None and rlvr >= JUDGE_ACCURACY_TARGET,
        "RLVR does not lower judge accuracy": rlvr is not None and sft is not None and rlvr >= sft,
        "policy correctness rises with the judge as reward": (
            before is not None and after is not None and after > before
        ),
        "policy correctness rises on held-out questions": (
            held_before is not None and held_after is not None and held_after > held_before
        ),
    }


def render(result: QuickstartResult) -> str:
    """The results as a plain-text table (what CI logs show)."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    table = Table(title="rmr1 quickstart", show_lines=False)
    columns = {"judge accuracy": "accuracy", "judge unseen-q": "unseen_accuracy", "judge validation":
               "validation_accuracy", "format errors": "format_error_rate", "policy correct": "correct",
               "held-out correct": "held_out_correct", "judge-unseen-q correct": "unseen_correct"}
    for column in ("stage", *columns, "seconds", "artifact"):
        table.add_column(column)
    for stage in result.stages:
        m = stage.metrics
        table.add_row(stage.name, *(pct(m.get(key)) for key in columns.values()), f"{stage.seconds:.0f}",
                      stage.artifact or "-")
    buffer = StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    console.print(table)
    console.print(f"total: {result.total_seconds:.0f} s on this machine")
    distilled = next((s.metrics for s in result.stages if s.name == "judge_distill"), None)
    if distilled:
        console.print(f"judge_distill: teacher right in pass 1 on {distilled['teacher_pass1_accuracy']:.1%} of pairs, "
                      f"pass 2 recovered {distilled['pass2_recovery']:.1%} of the rest; "
                      f"{distilled['chains_kept']:.0f} chains kept, {distilled['chains_dropped']:.0f} dropped, "
                      f"{distilled['sft_rows']:.0f} SFT rows")
    grpo = result.stages[-1].metrics if result.stages and result.stages[-1].name == "policy_grpo" else {}
    if grpo:
        console.print(f"policy GRPO: {grpo.get('judge_calls_per_group', float('nan')):.1f} judge calls per prompt "
                      f"group, no-verdict rate {grpo.get('no_verdict_rate', 0.0):.1%}, top-rewarded answer wrong in "
                      f"{grpo.get('hacking', float('nan')):.1%} of groups with a preference")
    for name, ok in target_checks(result).items():
        console.print(f"  [{'x' if ok else ' '}] {name}", markup=False)
    return buffer.getvalue()
