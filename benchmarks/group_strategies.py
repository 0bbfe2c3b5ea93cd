"""How well does each ``rank_group`` strategy recover a group's true order, and at what cost?

A simulated judge: each candidate has a latent quality q ~ N(0, 1) and the judge says "A wins"
with probability sigmoid(beta * (q_A - q_B) + bias) — `bias` is a preference for the first slot.
For each strategy this prints the mean number of judge calls and the mean Kendall tau-b between
the rewards and q, over many groups.

Targets (issue 4, G = 8, beta = 2, bias = 0.3): the adaptive strategy reaches tau >= 0.75 with
<= 3G calls and tau >= 0.60 with <= G calls.

``--ceiling`` adds what G calls can reach at best: a judge that knows this simulator exactly
(its beta, bias and prior) computes the posterior over q from the G verdicts by importance
sampling and reports the tie levels that maximise the expected tau-b under it, for a random
ring and for two Swiss rounds.

    python benchmarks/group_strategies.py                 # 1000 groups, G = 8 and 16
    python benchmarks/group_strategies.py --groups 200 --sizes 8
    python benchmarks/group_strategies.py --sizes 8 --ceiling
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from rmr1_plugin.ranking import Comparison, _swiss_pairs, rank_group, tie_levels


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b (ties in either variable handled as in scipy.stats.kendalltau)."""
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    pairs = len(i)
    tied_x, tied_y = np.sum(dx == 0), np.sum(dy == 0)
    denominator = math.sqrt((pairs - tied_x) * (pairs - tied_y))
    return float(np.sum(dx * dy) / denominator) if denominator else 0.0


class SimulatedJudge:
    """Bradley–Terry judge with a first-slot bias; counts the comparisons it is asked for."""

    def __init__(self, quality: np.ndarray, beta: float, bias: float, rng: random.Random):
        self.quality, self.beta, self.bias, self.rng = quality, beta, bias, rng

    def __call__(self, pairs: list[tuple[int, int]]) -> list[int]:
        verdicts = []
        for a, b in pairs:
            p_a = 1.0 / (1.0 + math.exp(-(self.beta * (self.quality[a] - self.quality[b]) + self.bias)))
            verdicts.append(0 if self.rng.random() < p_a else 1)
        return verdicts


def configurations(g: int) -> list[tuple[str, str, int | None]]:
    """(label, strategy, max_calls) rows of the table for group size ``g``."""
    return [
        ("reference (baseline q=0, both orders)", "reference", None),
        ("knockout", "knockout", None),
        ("circular", "circular", None),
        ("round_robin (one order)", "round_robin", g * (g - 1) // 2),
        ("round_robin (both orders)", "round_robin", None),
        ("adaptive, budget G", "adaptive", g),
        ("adaptive, budget 2G", "adaptive", 2 * g),
        ("adaptive, budget 3G", "adaptive", 3 * g),
    ]


def run(g: int, groups: int, beta: float, bias: float, seed: int) -> list[dict]:
    rows = []
    for label, strategy, max_calls in configurations(g):
        rng = random.Random(seed)
        nprng = np.random.default_rng(seed)
        taus, calls = [], []
        start = time.perf_counter()
        for k in range(groups):
            quality = nprng.standard_normal(g)
            if strategy == "reference":
                judge = SimulatedJudge(np.append(quality, 0.0), beta, bias, rng)
                scores = rank_group(g + 1, judge, strategy, max_calls, reference=g)
                rewards = np.array(scores.rewards[:g])
            else:
                judge = SimulatedJudge(quality, beta, bias, rng)
                scores = rank_group(g, judge, strategy, max_calls, seed=seed + k)
                rewards = np.array(scores.rewards)
            taus.append(kendall_tau_b(rewards, quality))
            calls.append(scores.calls)
        rows.append({"g": g, "label": label, "calls": float(np.mean(calls)), "tau": float(np.mean(taus)),
                         "ms": 1000 * (time.perf_counter() - start) / groups})
    return rows


def bayes_ceiling(g: int, groups: int, beta: float, bias: float, seed: int, samples: int = 20000) -> list[dict]:
    """Mean tau-b of an exact-posterior judge of this simulator with G calls (see the module doc)."""
    rng = np.random.default_rng(seed)
    prior = rng.standard_normal((samples, g))
    above = prior[:, :, None] > prior[:, None, :]
    rows = []
    for design in ("ring", "swiss"):
        judge_rng = random.Random(seed)
        taus = []
        start = time.perf_counter()
        for _ in range(groups):
            quality = rng.standard_normal(g)
            judge = SimulatedJudge(quality, beta, bias, judge_rng)
            order = [int(x) for x in rng.permutation(g)]
            weights = np.ones(samples)
            comparisons: list[Comparison] = []
            ring = [(order[k], order[(k + 1) % g]) for k in range(g)]
            for round_ in range(2):
                if design == "ring":
                    pairs = ring[round_::2]
                elif round_ == 0:
                    pairs = [(order[k], order[k + 1]) for k in range(0, g - 1, 2)]
                else:
                    pairs = _swiss_pairs(weights @ prior / weights.sum(), comparisons, g // 2, rng)
                for (a, b), verdict in zip(pairs, judge(pairs), strict=True):
                    p_a = 1.0 / (1.0 + np.exp(-(beta * (prior[:, a] - prior[:, b]) + bias)))
                    weights = weights * (p_a if verdict == 0 else 1.0 - p_a)
                    comparisons.append(Comparison(a=a, b=b, winner=verdict))
            better = np.einsum("m,mij->ij", weights / weights.sum(), above)
            taus.append(kendall_tau_b(tie_levels(better).astype(float), quality))
        rows.append({"g": g, "label": f"Bayes ceiling: {design}, exact posterior", "calls": float(len(comparisons)),
                     "tau": float(np.mean(taus)), "ms": 1000 * (time.perf_counter() - start) / groups})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=1000, help="groups per strategy (default 1000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16], help="group sizes G (default 8 16)")
    parser.add_argument("--beta", type=float, default=2.0, help="judge sharpness (default 2)")
    parser.add_argument("--bias", type=float, default=0.3, help="first-slot bias in logits (default 0.3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ceiling", action="store_true",
                        help="also compute the best tau G calls allow (exact-posterior judge; slower)")
    args = parser.parse_args(argv)

    console = Console(width=max(Console().width, 110))
    table = Table(title=f"rank_group strategies: {args.groups} groups, beta={args.beta}, bias={args.bias}")
    for column in ("G", "strategy", "mean calls", "calls / G", "mean Kendall tau", "ms / group"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    results = []
    for g in args.sizes:
        rows = run(g, args.groups, args.beta, args.bias, args.seed)
        if args.ceiling:
            rows += bayes_ceiling(g, args.groups, args.beta, args.bias, args.seed)
        results += rows
        for row in rows:
            table.add_row(str(g), row["label"], f"{row['calls']:.1f}", f"{row['calls'] / g:.2f}",
                          f"{row['tau']:.3f}", f"{row['ms']:.2f}")
        table.add_section()
    console.print(table)

    ok = True
    for g in (8,):
        by_label = {r["label"]: r for r in results if r["g"] == g}
        if not by_label:
            continue
        for label, budget, target in (("adaptive, budget 3G", 3 * g, 0.75), ("adaptive, budget G", g, 0.60)):
            row = by_label[label]
            passed = row["calls"] <= budget and row["tau"] >= target
            ok &= passed
            console.print(f"target G={g}: {label}: tau {row['tau']:.3f} (>= {target}) with {row['calls']:.1f} calls "
                          f"(<= {budget}) -> {'met' if passed else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
