"""The quickstart's SFT data comes from ``rmr1 distill`` against a local teacher, and is exactly the
reference data: same rows, same order (the quickstart's seed targets rest on it)."""

from __future__ import annotations

from rmr1_plugin.data.formats import PreferencePair
from rmr1_plugin.data.prepare import judge_messages_for
from rmr1_plugin.quickstart import task
from rmr1_plugin.quickstart.pipeline import judge_sft_rows
from rmr1_plugin.quickstart.teacher import distilled_sft_rows, flawed_chain, read_sum_pair, sum_teacher, teacher_errs
from rmr1_plugin.verdict import parse_verdict


def test_distilled_rows_equal_the_reference_rows_and_pass_2_has_work(tmp_path):
    train, _ = task.split_pairs(300, seed=3)
    rows, metrics = distilled_sft_rows(train, 160, seed=13, out=tmp_path, progress=False)
    assert rows == judge_sft_rows(train, 160, seed=13)
    assert 0.6 < metrics["teacher_pass1_accuracy"] < 0.9  # wrong on about a quarter, as RM-R1's teachers
    assert metrics["pass2_recovery"] == 1.0 and metrics["chains_dropped"] == 0 and metrics["sft_rows"] == 160


def test_teacher_reads_the_pair_from_the_prompt_and_errs_on_a_fixed_share():
    pairs = task.balanced_pairs(task.all_pairs()[::3])
    respond = sum_teacher()
    for pair in pairs[:50]:
        assert read_sum_pair(pair.judge_messages()) == pair
        verdict = parse_verdict(respond(pair.judge_messages())).label
        assert (verdict != pair.label) == teacher_errs(pair)
    assert 0.2 < sum(map(teacher_errs, pairs)) / len(pairs) < 0.3
    pair = task.make_pair(3, 4, wrong=9, chosen_position="B")
    assert "<solution>3+4=9</solution>" in flawed_chain(pair) and parse_verdict(flawed_chain(pair)).winner == "A"


def test_the_quickstart_prompt_is_the_prompt_distill_builds():
    pair = task.make_pair(3, 4, wrong=9, chosen_position="B")
    user = {"role": "user", "content": pair.question}
    preference = PreferencePair(id="x", source="s", chosen=[user, {"role": "assistant", "content": "7"}],
                                rejected=[user, {"role": "assistant", "content": "9"}])
    assert judge_messages_for(preference, False, style="instruct", neutralize=True) == pair.judge_messages()
