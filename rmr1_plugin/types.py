"""The small vocabulary every layer shares, defined once: who won, which prompt style, how
positions are swapped and how a group is ranked.

>>> STRATEGIES
('reference', 'round_robin', 'knockout', 'circular', 'adaptive')
"""

from __future__ import annotations

from typing import Literal, get_args

Winner = Literal["A", "B"]
"""The answer a verdict prefers: ``"A"`` is the first shown, ``"B"`` the second."""

Style = Literal["instruct", "reasoning"]
"""Prompt style: ``instruct`` for the Qwen2.5-Instruct RM-R1 checkpoints, ``reasoning`` for the
DeepSeek-distilled ones."""

SwapPolicy = Literal["none", "both", "on_disagreement"]
"""When a pair is also judged with its answers swapped."""

Strategy = Literal["reference", "round_robin", "knockout", "circular", "adaptive"]
"""How a group of completions is ranked by pairwise comparisons (see ``rmr1_plugin.ranking``)."""

STYLES: tuple[str, ...] = get_args(Style)
STRATEGIES: tuple[str, ...] = get_args(Strategy)
