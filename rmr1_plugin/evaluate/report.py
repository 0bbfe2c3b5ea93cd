"""Show evaluation results: a terminal table (rich) and a bar chart of per-category accuracy (matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def headline(results: Mapping[str, Any]) -> dict[str, float]:
    """The benchmark's headline numbers, flattened for display.

    >>> headline({"benchmark": "rm-bench", "scores": {"domains": {"chat": {"hard": 0.5, "normal": 1.0,
    ...     "easy": 1.0, "average": 0.8, "records": 2}}, "hard": 0.5, "normal": 1.0, "easy": 1.0, "average": 0.8}})
    {'chat': 0.8, 'easy': 1.0, 'normal': 1.0, 'hard': 0.5, 'average': 0.8}
    """
    scores = results["scores"]
    if results["benchmark"] == "rm-bench":
        flat = {d: v["average"] for d, v in scores["domains"].items()}
        flat.update({k: scores[k] for k in ("easy", "normal", "hard", "average")})
        return flat
    return {k: v for k, v in scores.items() if isinstance(v, float)}


def short_category(name: str) -> str:
    """RMB category paths with a short set prefix.

    >>> short_category("Pairwise_set/Helpfulness/Chat"), short_category("BoN_set/Harmlessness/S1")
    ('pairwise Helpfulness/Chat', 'BoN Harmlessness/S1')
    """
    for prefix, short in (("Pairwise_set/", "pairwise "), ("BoN_set/", "BoN ")):
        if name.startswith(prefix):
            return short + name[len(prefix):]
    return name


def results_tables(results: Mapping[str, Any]) -> list[Table]:
    """A table of headline scores, one of per-category accuracy, and one of RM-Bench domains."""
    title = f"{results['benchmark']} - {results['settings'].get('model') or results['settings']['backend']}"
    main = Table(title=title, title_justify="left")
    main.add_column("score")
    main.add_column("value", justify="right")
    for key, value in headline(results).items():
        main.add_row(key, f"{100 * value:.1f}")
    main.add_row("comparisons", str(results["comparisons"]))
    main.add_row("pair accuracy", f"{100 * results['accuracy']:.1f}")
    if results.get("flip_rate") is not None:
        main.add_row("flip rate (both orders)", f"{100 * results['flip_rate']:.1f}")
    for error, count in sorted(results.get("errors", {}).items()):
        main.add_row(f"without a winner: {error}", str(count))
    tables = [main]
    if results["benchmark"] == "rm-bench":
        domains = Table(title="RM-Bench domains", title_justify="left")
        for column in ("domain", "easy", "normal", "hard", "average", "records"):
            domains.add_column(column, justify="left" if column == "domain" else "right")
        for name, v in results["scores"]["domains"].items():
            domains.add_row(name, *(f"{100 * v[k]:.1f}" for k in ("easy", "normal", "hard", "average")),
                            str(v["records"]))
        tables.append(domains)
    per = Table(title="per category", title_justify="left")
    per.add_column("category")
    per.add_column("accuracy", justify="right")
    per.add_column("n", justify="right")
    for name, v in results["categories"].items():
        per.add_row(short_category(name), f"{100 * v['accuracy']:.1f}", str(v["n"]))
    tables.append(per)
    return tables


def print_results(results: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the results tables."""
    console = console or Console()
    for table in results_tables(results):
        console.print(table)


def plot_categories(results: Mapping[str, Any], path: str | Path) -> Path:
    """Save a horizontal bar chart of per-category accuracy (PNG) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = results["categories"]
    names = [short_category(c) for c in categories]
    values = [100 * v["accuracy"] for v in categories.values()]
    counts = [v["n"] for v in categories.values()]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(names) + 1.2)))
    bars = ax.barh(names, values, color="#4C72B0")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.axvline(50, color="grey", linestyle=":", linewidth=1)  # the coin-flip line
    ax.set_xlabel("accuracy (%)")
    model = results["settings"].get("model") or results["settings"]["backend"]
    ax.set_title(f"{results['benchmark']}: per-category accuracy ({model})")
    for bar, value, n in zip(bars, values, counts, strict=True):
        ax.text(min(value + 1, 88), bar.get_y() + bar.get_height() / 2, f"{value:.1f} (n={n})", va="center", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
