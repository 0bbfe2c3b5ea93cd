"""How a pair's judgments become one verdict: the judge's requests, their votes in each order, and
the combined :class:`PairVerdict` in the caller's A/B order (position flips and ties included).

>>> from rmr1_plugin.backends.base import Generation, GenerationSettings
>>> request = JudgeRequest(0, False, 0, [], GenerationSettings(), Generation(text="<answer>[[B]]</answer>"))
>>> combine([request], vote="majority").winner
'B'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from rmr1_plugin.backends.base import Conversation, Generation, GenerationSettings
from rmr1_plugin.types import Winner
from rmr1_plugin.verdict import Judgment, parse_verdict


class PairVerdict(BaseModel):
    """The combined verdict on one pair, in the caller's A/B order.

    ``score`` is in [-1, 1], positive for A. ``judgments``/``texts``/``swapped`` list every
    judgment used (``swapped[i]`` says judgment i saw the answers in reverse order; its own
    ``winner`` is in that prompt's order). ``flipped`` is True when the two orders named different
    answers (position bias), None when only one order was judged. ``source`` is ``"verifier"``
    when the verifiers decided without the judge.
    """

    winner: Winner | None = None
    score: float | None = None
    judgments: list[Judgment] = Field(default_factory=list)
    texts: list[str] = Field(default_factory=list)
    swapped: list[bool] = Field(default_factory=list)
    flipped: bool | None = None
    error: str | None = None
    source: Literal["judge", "verifier"] = "judge"
    verification: tuple[bool | None, bool | None] | None = None

    @property
    def label(self) -> str | None:
        """``"model_a"``, ``"model_b"`` or ``None``."""
        return None if self.winner is None else f"model_{self.winner.lower()}"


@dataclass
class JudgeRequest:
    """One generation the judge asks for: pair ``pair`` in one order, one vote."""

    pair: int
    swapped: bool
    vote: int
    messages: Conversation
    settings: GenerationSettings
    generation: Generation | None = None

    def judgment(self) -> Judgment:
        """The parsed judgment (a backend error reads as an empty one)."""
        generation = self.generation
        if generation is None or generation.finish_reason == "error":
            return Judgment(error="empty")
        return parse_verdict(generation.text, truncated=generation.finish_reason == "length")


def combine(requests: Sequence[JudgeRequest], vote: Literal["majority", "mean"]) -> PairVerdict:
    """One pair's verdict from its judged requests: each order's votes are averaged, then the orders.

    With both orders judged, ``flipped`` says whether they named different answers (a flip has no
    winner). ``vote="majority"`` rounds the score to -1, 0 or 1. A pair without any verdict, or whose
    votes split, has ``winner=None`` and the reason in ``error``.
    """
    judgments, texts, swapped, errors = [], [], [], []
    order_votes: dict[bool, list[int]] = {False: [], True: []}
    for request in requests:
        generation = request.generation or Generation.failed("not generated")
        judgment = request.judgment()
        if generation.finish_reason == "error":
            errors.append(f"backend error: {generation.error}")
        else:
            cut = generation.finish_reason == "length"
            if judgment.winner is None:
                # A judgment cut off at the length limit is "no verdict", never a loss.
                errors.append(f"truncated at max_new_tokens={request.settings.max_new_tokens}" if cut
                              else judgment.error or "no_verdict")
        judgments.append(judgment)
        texts.append(generation.text)
        swapped.append(request.swapped)
        if judgment.winner is not None:
            for_a = (judgment.winner == "A") != request.swapped
            order_votes[request.swapped].append(1 if for_a else -1)
    order_scores = {s: sum(v) / len(v) for s, v in order_votes.items() if v}
    flipped = None
    if {False, True} <= {r.swapped for r in requests}:
        signs = {s: _sign(x) for s, x in order_scores.items()}
        flipped = len(signs) == 2 and 0 not in signs.values() and signs[False] != signs[True]
    if not order_scores:
        return PairVerdict(judgments=judgments, texts=texts, swapped=swapped, flipped=flipped,
                           error="no verdict: " + _summarise(errors))
    score = sum(order_scores.values()) / len(order_scores)
    if vote == "majority":
        score = float(_sign(score))
    winner: Winner | None = "A" if score > 0 else "B" if score < 0 else None
    error = None
    if winner is None:
        error = "position flip: each order preferred the same slot" if flipped else "tie: the votes split evenly"
    return PairVerdict(winner=winner, score=score, judgments=judgments, texts=texts, swapped=swapped,
                       flipped=flipped, error=error)


def is_decisive(requests: Sequence[JudgeRequest]) -> bool:
    """True when every vote gave a verdict and they all agree."""
    winners = [r.judgment().winner for r in requests]
    return None not in winners and len(set(winners)) == 1


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _summarise(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return ", ".join(f"{e} (x{n})" if n > 1 else e for e, n in counts.items())
