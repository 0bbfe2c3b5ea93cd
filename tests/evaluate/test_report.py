"""Results shown in the terminal (rich tables) and as a PNG chart of per-category accuracy."""

from __future__ import annotations

from rich.console import Console

from rmr1_plugin.evaluate.report import plot_categories, print_results
from rmr1_plugin.evaluate.runner import summarize


def rmb_rows() -> list[dict]:
    rows = []
    for i, correct in enumerate([True, True, False, True]):
        rows.append({"id": f"pairwise/{i}", "category": "Pairwise_set/Helpfulness/Chat/Discussion", "kind": "pairwise",
                     "correct": correct, "error": None if correct else "no_verdict", "flipped": i == 2,
                     "chosen_position": "A"})
    for k, correct in enumerate([True, False]):
        rows.append({"id": f"bon/7:{k}", "category": "BoN_set/Harmlessness/S1", "kind": "bon", "group": "bon/7",
                     "correct": correct, "error": None, "flipped": False, "chosen_position": "A"})
    return rows


def results_for(benchmark: str, rows: list[dict]) -> dict:
    return {**summarize(benchmark, rows), "settings": {"model": "tiny-judge", "backend": "replay"}}


def test_table_shows_scores_categories_errors_and_flip_rate():
    console = Console(record=True, width=120)
    print_results(results_for("rmb", rmb_rows()), console)
    text = console.export_text()
    assert "rmb - tiny-judge" in text
    assert "Pairwise Helpfulness" in text and "75.0" in text  # 3 of 4 pairs
    assert "BoN Harmlessness" in text and "0.0" in text  # one loser won
    per_category = [line for line in text.splitlines() if "BoN Harmlessness/S1" in line]
    assert per_category and per_category[0].split("│")[2].strip() == "0.0"  # scored per group, n=1
    assert "pairwise Helpfulness/Chat/Discussion" in text and "BoN Harmlessness/S1" in text
    assert "Pairwise_set/" not in text
    assert "without a winner: no_verdict" in text
    assert "flip rate (both orders)" in text and "16.7" in text  # 1 of 6


def test_rm_bench_table_has_a_row_per_domain():
    rows = [{"id": f"{d}/1:{i}:{j}", "category": d, "group": f"{d}/1", "chosen_style": i, "rejected_style": j,
             "correct": i >= j, "error": None, "flipped": None, "chosen_position": "B"}
            for d in ("chat", "safety-refuse") for i in range(3) for j in range(3)]
    console = Console(record=True, width=120)
    print_results(results_for("rm-bench", rows), console)
    text = console.export_text()
    assert "RM-Bench domains" in text
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in text.splitlines() if line.startswith("│")]
    domain_rows = {r[0]: r[1:] for r in rows if len(r) == 6}
    assert domain_rows["chat"] == ["100.0", "100.0", "0.0", "66.7", "1"]  # easy, normal, hard, average, records
    assert domain_rows["safety"] == ["100.0", "100.0", "0.0", "66.7", "1"]


def test_chart_is_a_png_with_a_bar_per_category(tmp_path):
    import matplotlib.image

    path = plot_categories(results_for("rmb", rmb_rows()), tmp_path / "accuracy.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width == 8 * 120 and height >= 2.5 * 120
