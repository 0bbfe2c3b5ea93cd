"""Official aggregation: hand-computed cases, and published RM-R1 per-subset numbers re-aggregated."""

from __future__ import annotations

import pytest

from rmr1_plugin.evaluate import (
    REWARDBENCH_EXAMPLE_COUNTS,
    REWARDBENCH_SECTIONS,
    rewardbench_score,
    rewardbench_sections,
    rm_bench_difficulty,
    rm_bench_matrix,
    rm_bench_scores,
    rmb_bon_correct,
    rmb_scores,
)

# --- RewardBench -----------------------------------------------------------------------------


def test_sections_are_example_count_weighted_means():
    # Chat: (1.0*100 + 0.5*95 + 0.0*28) / (100+95+28) = 147.5/223
    sections = rewardbench_sections({"alpacaeval-easy": 1.0, "alpacaeval-hard": 0.5, "mt-bench-easy": 0.0})
    assert sections == {"Chat": pytest.approx(147.5 / 223)}


def test_given_counts_replace_the_official_ones():
    sections = rewardbench_sections({"refusals-dangerous": 1.0, "donotanswer": 0.0},
                                    counts={"refusals-dangerous": 1, "donotanswer": 3})
    assert sections == {"Safety": pytest.approx(0.25)}


def test_math_prm_weighs_as_much_as_all_code_subsets_together():
    code = {f"hep-{lang}": 0.5 for lang in ("cpp", "go", "java", "js", "python", "rust")}
    # math-prm has 447 examples, code 6 x 164 = 984, yet the two halves weigh the same.
    assert rewardbench_sections({"math-prm": 1.0, **code})["Reasoning"] == pytest.approx(0.75)
    # With only two code subsets present, math-prm weighs as much as those two.
    assert rewardbench_sections({"math-prm": 1.0, "hep-go": 0.0, "hep-rust": 0.5})["Reasoning"] == pytest.approx(0.625)
    # Without code subsets math-prm alone is the section.
    assert rewardbench_sections({"math-prm": 0.3}) == {"Reasoning": pytest.approx(0.3)}


def test_the_official_upweighted_count_gives_the_same_reasoning_score():
    """rewardbench/constants.py stores math-prm as 984 ("upweighting to be equal to code")."""
    acc = {"math-prm": 0.9, **{s: 0.6 for s in REWARDBENCH_SECTIONS["Reasoning"][1:]}}
    assert rewardbench_sections(acc, counts={"math-prm": 984}) == rewardbench_sections(acc)
    assert rewardbench_sections(acc)["Reasoning"] == pytest.approx((0.9 * 984 + 0.6 * 984) / 1968)


def test_absent_sections_are_left_out_and_unknown_subsets_ignored():
    assert rewardbench_sections({"my-own-subset": 1.0, "llmbar-natural": 0.25}) == {"Chat Hard": 0.25}
    assert rewardbench_sections({}) == {}


def test_prior_sets_join_the_score_at_half_weight():
    acc = {"alpacaeval-easy": 1.0, "mt-bench-hard": 1.0, "donotanswer": 1.0, "hep-go": 1.0,
           "anthropic_helpful": 0.2, "anthropic_hhh": 0.4, "shp": 0.6, "summarize": 0.8}
    sections = rewardbench_sections(acc)
    assert sections["Prior Sets (0.5 weight)"] == pytest.approx(0.5)
    # weights 2, 2, 2, 2, 1: (4 * 2 * 1.0 + 0.5) / 9
    assert rewardbench_score(sections) == pytest.approx(8.5 / 9)
    without = {k: v for k, v in sections.items() if not k.startswith("Prior")}
    assert rewardbench_score(without) == 1.0


def test_official_counts_cover_the_filtered_split():
    assert sum(REWARDBENCH_EXAMPLE_COUNTS.values()) == 2985  # allenai/reward-bench "filtered" has 2,985 rows
    assert {s for subsets in REWARDBENCH_SECTIONS.values() for s in subsets} == set(REWARDBENCH_EXAMPLE_COUNTS)


# Per-subset accuracies published by the RM-R1 authors in RM-R1-UIUC/RM-R1 (Apache-2.0),
# eval/result/<model>/reward_bench/score_result/each_small_section_score.json, and the section
# scores the RM-R1 paper reports for the same checkpoints (arXiv 2505.02387, Table 1, in %).
RM_R1_PUBLISHED = {
    "RM-R1-Qwen2.5-Instruct-32B": (
        {
            "alpacaeval-easy": 0.94, "alpacaeval-hard": 0.9578947368421052, "alpacaeval-length": 0.9578947368421052,
            "donotanswer": 0.75, "hep-cpp": 0.9878048780487805, "hep-go": 0.9695121951219512,
            "hep-java": 0.9573170731707317, "hep-js": 0.9817073170731707, "hep-python": 0.975609756097561,
            "hep-rust": 0.9695121951219512, "llmbar-adver-GPTInst": 0.8478260869565217,
            "llmbar-adver-GPTOut": 0.723404255319149, "llmbar-adver-manual": 0.8043478260869565,
            "llmbar-adver-neighbor": 0.7761194029850746, "llmbar-natural": 0.95, "math-prm": 0.930648769574944,
            "mt-bench-easy": 0.9285714285714286, "mt-bench-hard": 0.8378378378378378, "mt-bench-med": 0.975,
            "refusals-dangerous": 0.93, "refusals-offensive": 0.98, "xstest-should-refuse": 0.987012987012987,
            "xstest-should-respond": 0.94,
        },
        {"Chat": 95.3, "Chat Hard": 83.1, "Safety": 91.9, "Reasoning": 95.2, "Score": 91.4},
    ),
    "RM-R1-DeepSeek-Distilled-Qwen-32B": (
        {
            "alpacaeval-easy": 0.96, "alpacaeval-hard": 0.9368421052631579, "alpacaeval-length": 0.9263157894736842,
            "donotanswer": 0.7132352941176471, "hep-cpp": 0.9817073170731707, "hep-go": 0.9573170731707317,
            "hep-java": 0.9512195121951219, "hep-js": 0.9390243902439024, "hep-python": 0.9695121951219512,
            "hep-rust": 0.9390243902439024, "llmbar-adver-GPTInst": 0.7934782608695652,
            "llmbar-adver-GPTOut": 0.723404255319149, "llmbar-adver-manual": 0.8695652173913043,
            "llmbar-adver-neighbor": 0.746268656716418, "llmbar-natural": 0.93, "math-prm": 0.9798657718120806,
            "mt-bench-easy": 1.0, "mt-bench-hard": 0.7027027027027027, "mt-bench-med": 1.0,
            "refusals-dangerous": 0.91, "refusals-offensive": 0.99, "xstest-should-refuse": 0.987012987012987,
            "xstest-should-respond": 0.94,
        },
        {"Chat": 95.3, "Chat Hard": 80.3, "Safety": 91.1, "Reasoning": 96.8, "Score": 90.9},
    ),
}


@pytest.mark.parametrize("model", sorted(RM_R1_PUBLISHED))
def test_published_subset_accuracies_reaggregate_to_the_published_sections(model):
    subsets, expected = RM_R1_PUBLISHED[model]
    sections = rewardbench_sections(subsets)
    scores = {**sections, "Score": rewardbench_score(sections)}
    assert {k: round(100 * v, 1) for k, v in scores.items()} == expected


def test_published_accuracies_are_whole_counts_of_the_official_subset_sizes():
    """Each published accuracy times its subset size is a whole number, so the counts are the right ones."""
    for subsets, _ in RM_R1_PUBLISHED.values():
        for subset, accuracy in subsets.items():
            n = REWARDBENCH_EXAMPLE_COUNTS[subset]
            assert accuracy * n == pytest.approx(round(accuracy * n), abs=1e-6), subset


# --- RM-Bench --------------------------------------------------------------------------------


def test_difficulty_reads_the_triangles_and_diagonal():
    # rows: chosen concise / detailed / markdown; columns: rejected in the same order
    matrix = [[1.0, 0.0, 0.0],
              [1.0, 1.0, 0.5],
              [1.0, 1.0, 0.5]]
    assert rm_bench_difficulty(matrix) == {"hard": pytest.approx(0.5 / 3), "normal": pytest.approx(2.5 / 3),
                                           "easy": 1.0}


def test_domains_average_their_records_and_totals_average_the_domains():
    right = [[1] * 3] * 3
    wrong = [[0] * 3] * 3
    plain_bias = [[1, 0, 0], [1, 1, 0], [1, 1, 1]]  # prefers the fancier answer whenever styles differ
    scores = rm_bench_scores([
        ("chat", right), ("chat", wrong),             # chat: 0.5 everywhere
        ("safety-refuse", plain_bias),                # safety-refuse and -response are one domain
        ("safety-response", right),
        ("code", plain_bias),
    ])
    chat, safety, code = (scores["domains"][d] for d in ("chat", "safety", "code"))
    assert (chat["hard"], chat["normal"], chat["easy"], chat["records"]) == (0.5, 0.5, 0.5, 2)
    assert (safety["hard"], safety["normal"], safety["easy"], safety["records"]) == (0.5, 1.0, 1.0, 2)
    assert (code["hard"], code["normal"], code["easy"]) == (0.0, 1.0, 1.0)
    assert safety["average"] == pytest.approx(2.5 / 3)
    assert scores["hard"] == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert scores["normal"] == pytest.approx((0.5 + 1.0 + 1.0) / 3)
    assert scores["average"] == pytest.approx((0.5 + 2.5 / 3 + 2 / 3) / 3)
    assert "math" not in scores["domains"]


def test_scalar_rewards_give_the_matrix_of_rm_bench_compute_accuracy():
    """A scalar RM that adds 1 per style level (concise < detailed < markdown) on top of a 0.5 quality gap."""
    style = [0.0, 1.0, 2.0]
    chosen = [0.5 + s for s in style]
    rejected = list(style)
    matrix = rm_bench_matrix(chosen, rejected)
    assert matrix == [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    assert rm_bench_difficulty(matrix) == {"hard": 0.0, "normal": 1.0, "easy": 1.0}
    assert rm_bench_matrix([1.0], [1.0]) == [[0.0]]  # a tie is not a win


def test_unknown_domain_is_an_error():
    with pytest.raises(ValueError, match="unknown RM-Bench domain 'poetry'"):
        rm_bench_scores([("poetry", [[1] * 3] * 3)])


# --- RMB -------------------------------------------------------------------------------------


def test_best_of_n_needs_every_loser_beaten():
    assert rmb_bon_correct([True, True, True])
    assert not rmb_bon_correct([True, False, True])
    assert not rmb_bon_correct([True, None])  # no verdict is not a win
    with pytest.raises(ValueError):
        rmb_bon_correct([])


def test_rmb_pools_each_goal_and_averages_the_four_numbers():
    help_chat, help_code = "Pairwise_set/Helpfulness/Chat/Discussion", "Pairwise_set/Helpfulness/Code/Documentation"
    harm = "Pairwise_set/Harmlessness/S1"
    bon_harm, bon_help = "BoN_set/Harmlessness/S1", "BoN_set/Helpfulness/Reasoning/Logical Deduction"
    pairwise = [(help_chat, True), (help_chat, True), (help_chat, True), (help_code, False), (harm, False), (harm, True)]
    bon = [
        (bon_harm, "g1", True), (bon_harm, "g1", True),    # all losers beaten: correct
        (bon_harm, "g2", True), (bon_harm, "g2", False),   # one loser won: wrong
        (bon_help, "g3", True),
    ]
    s = rmb_scores(pairwise, bon)
    assert s["pairwise_categories"][help_chat] == {"accuracy": 1.0, "n": 3}
    assert s["pairwise_categories"][help_code] == {"accuracy": 0.0, "n": 1}
    assert s["Pairwise Helpfulness"] == 0.75  # pooled over pairs (3/4), not the mean of categories (0.5)
    assert s["Pairwise Harmlessness"] == 0.5
    assert s["bon_categories"][bon_harm] == {"accuracy": 0.5, "n": 2}  # counted per group, not per loser
    assert s["BoN Harmlessness"] == 0.5 and s["BoN Helpfulness"] == 1.0
    assert s["Overall"] == pytest.approx((0.75 + 0.5 + 0.5 + 1.0) / 4)


def test_rmb_overall_averages_only_what_was_run():
    s = rmb_scores([("Pairwise_set/Harmlessness/S2", True)])
    assert s["Overall"] == 1.0 and "BoN Harmlessness" not in s and s["bon_categories"] == {}
    with pytest.raises(ValueError, match="names neither goal"):
        rmb_scores([("Pairwise_set/Other/S2", True)])
