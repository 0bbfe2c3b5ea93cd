"""Parse an RM-R1 judge's output into a :class:`Judgment`.

Rules (docs/parser.md has the full list with examples):

1. Reasoning-style judges think first. Everything up to the *last* ``</think>`` is the reasoning;
   the opening ``<think>`` is optional. Only the text after it (the *body*) can hold a verdict.
   An opened ``<think>`` that never closes means the output was cut off while thinking.
2. ``<quote_A>``/``<summary_A>``/``<quote_B>``/``<summary_B>`` spans repeat candidate text; they are
   ignored when looking for a verdict.
3. The verdict is the final ``<answer>`` block of the body: ``<answer>[[A]]</answer>`` or
   ``<answer>[[B]]</answer>``, case- and whitespace-tolerant, a missing or stray extra
   ``</answer>`` allowed.
4. If the answer blocks of the body name different winners, or one block names both, the
   judgment is an error (``conflicting_verdicts``), never a win.
5. The parser never raises on a ``str``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from rmr1_plugin.types import Winner

TaskType = Literal["Chat", "Reasoning"]
VerdictError = Literal["empty", "no_verdict", "conflicting_verdicts", "truncated"]

#: Human-readable explanations of each ``Judgment.error`` code.
ERROR_MEANINGS: dict[str, str] = {
    "empty": "the judge produced no text",
    "no_verdict": "no <answer>[[A]]</answer> or <answer>[[B]]</answer> block after the reasoning",
    "conflicting_verdicts": "the judge's answer blocks name both A and B",
    "truncated": "the output was cut off before a complete verdict",
}


class Judgment(BaseModel):
    """What an RM-R1 judge said about one pair: its verdict and the parts of its reasoning.

    ``winner`` is ``"A"``, ``"B"`` or ``None``; when ``None``, ``error`` says why.
    """

    model_config = ConfigDict(frozen=True)

    winner: Winner | None = None
    task_type: TaskType | None = None
    rubric: str | None = None
    solution: str | None = None
    evaluation: str | None = None
    reasoning: str | None = None
    error: VerdictError | None = None

    @property
    def label(self) -> str | None:
        """The training label of the winner: ``"model_a"``, ``"model_b"`` or ``None``."""
        return None if self.winner is None else f"model_{self.winner.lower()}"

    @property
    def ok(self) -> bool:
        """True when the judgment has a winner."""
        return self.winner is not None


_THINK_CLOSE = re.compile(r"<\s*/\s*think\s*>", re.IGNORECASE)
_THINK_OPEN = re.compile(r"<\s*think\s*>", re.IGNORECASE)
_QUOTE_TAG = re.compile(r"<\s*(/?)\s*((?:quote|summary)_[ab])\s*>", re.IGNORECASE)
_ANSWER_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)
_VERDICT = re.compile(r"\[\[\s*([ab])\s*\]\]", re.IGNORECASE)
_TYPE = re.compile(r"<\s*type\s*>\s*(chat|reasoning)\s*<\s*/\s*type\s*>", re.IGNORECASE)


# Tag scanning is done in linear passes (no ``.*?`` between tags), so a 50k-character output full
# of unclosed tags parses as fast as a well-formed one.


def _section(body: str, tag: str) -> str | None:
    """Text of the first closed ``<tag>...</tag>`` section."""
    opening = re.search(rf"<\s*{tag}\s*>", body, re.IGNORECASE)
    if opening is None:
        return None
    closing = re.compile(rf"<\s*/\s*{tag}\s*>", re.IGNORECASE).search(body, opening.end())
    return body[opening.end() : closing.start()].strip() if closing else None


def _is_unclosed(body: str, tag: str) -> bool:
    opening = re.search(rf"<\s*{tag}\s*>", body, re.IGNORECASE)
    return opening is not None and _section(body, tag) is None


def _without_quotes(body: str) -> str:
    """``body`` with every closed quote/summary span blanked out."""
    pieces, cursor, open_tag = [], 0, None
    for tag in _QUOTE_TAG.finditer(body):
        name = tag.group(2).lower()
        if not tag.group(1) and open_tag is None:
            open_tag = (name, tag.start())
        elif tag.group(1) and open_tag is not None and open_tag[0] == name:
            pieces.append(body[cursor : open_tag[1]])
            pieces.append(" ")
            cursor, open_tag = tag.end(), None
    pieces.append(body[cursor:])
    return "".join(pieces)


def _answer_blocks(body: str) -> list[tuple[str, bool]]:
    """Each ``<answer>`` block's text and whether it was closed, in order."""
    blocks = []
    opens = list(_ANSWER_OPEN.finditer(body))
    for i, opening in enumerate(opens):
        end = opens[i + 1].start() if i + 1 < len(opens) else len(body)
        segment = body[opening.end() : end]
        close = _ANSWER_CLOSE.search(segment)
        blocks.append((segment[: close.start()] if close else segment, close is not None))
    return blocks


def _verdicts(block: str) -> set[str]:
    return {m.group(1).upper() for m in _VERDICT.finditer(block)}


def parse_verdict(text: str, *, truncated: bool = False) -> Judgment:
    """Parse a judge's raw generation. Never raises on a ``str``.

    ``truncated=True`` says the backend stopped at its length limit; the verdict then counts only
    if the output ends with a closed answer block.

    >>> parse_verdict("<type>Chat</type>\\n<rubric>r</rubric>\\n<eval>e</eval>\\n<answer>[[B]]</answer>").winner
    'B'
    >>> parse_verdict("thinking...</think>\\n\\n<answer>[[A]]</answer>").reasoning
    'thinking...'
    >>> parse_verdict("<answer>[[A]]</answer> <answer>[[B]]</answer>").error
    'conflicting_verdicts'
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_verdict expects a str, got {type(text).__name__}")
    if not text.strip():
        return Judgment(error="empty")

    reasoning = None
    body = text
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        last = closes[-1]
        reasoning = _THINK_OPEN.sub("", text[: last.start()], count=1).strip()
        body = text[last.end() :]
    elif _THINK_OPEN.search(text):
        return Judgment(reasoning=_THINK_OPEN.sub("", text, count=1).strip(), error="truncated")

    type_match = _TYPE.search(body)
    parts = dict(
        task_type="Reasoning" if type_match and type_match.group(1).lower() == "reasoning"
        else "Chat" if type_match else None,
        rubric=_section(body, "rubric"),
        solution=_section(body, "solution"),
        evaluation=_section(body, "eval"),
        reasoning=reasoning,
    )

    judged = _without_quotes(body)
    blocks = _answer_blocks(judged)
    named = [_verdicts(block) for block, _ in blocks]
    if any(len(v) > 1 for v in named) or len(set().union(*named)) > 1:
        return Judgment(**parts, error="conflicting_verdicts")
    if not blocks:
        cut_off = truncated or any(_is_unclosed(body, tag) for tag in ("eval", "solution", "rubric"))
        return Judgment(**parts, error="truncated" if cut_off else "no_verdict")
    final_text, final_closed = blocks[-1]
    final = named[-1]
    if not final:
        cut_off = truncated or (not final_closed and not final_text.strip())
        return Judgment(**parts, error="truncated" if cut_off else "no_verdict")
    if truncated and not (final_closed and not _after_last_answer(judged).strip()):
        return Judgment(**parts, error="truncated")
    return Judgment(**parts, winner=final.pop())


def _after_last_answer(body: str) -> str:
    closes = list(_ANSWER_CLOSE.finditer(body))
    return body[closes[-1].end() :] if closes else body
