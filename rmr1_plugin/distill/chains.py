"""Pure functions on distilled chains: the pass-2 correction prompt, the quality filters, the hint-leak
check, and A/B re-labelling.

A *chain* is a teacher's full judge output (chain-of-rubrics, ending with ``<answer>[[A]]</answer>``);
a *label* says where the chosen answer stood when it was written (``"model_a"``/``"model_b"``), as in
the rows ``rmr1 prepare --chains`` reads.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any, Literal

from rmr1_plugin.verdict import Judgment, parse_verdict

Label = Literal["model_a", "model_b"]
Structure = Literal["auto", "require", "off"]

#: The hint pass 2 adds to the judge prompt. Its wording avoids the phrases the leak check looks for
#: only by accident of grammar; the check is what guarantees a kept chain does not mention it.
CORRECTION_HINT = (
    "\n\n[Reference Verdict]\n"
    "The correct verdict for this comparison is [[{winner}]]: Chatbot {winner}'s response is the better one.\n\n"
    "[The Start of a Previous Judgement ({problem})]\n"
    "{flawed}\n"
    "[The End of a Previous Judgement]\n\n"
    "Write a new, complete judgement of the two responses in exactly the required format, with reasoning "
    "that is sound on its own and reaches the correct verdict. Do not mention the reference verdict, the "
    "previous judgement, or that you were given either: write as if judging the pair for the first time."
)

#: Phrases that show a chain knew the answer in advance (pass 2 gave it the verdict and a flawed chain).
HINT_LEAK = re.compile(
    r"correct\s+verdict|reference\s+verdict|ground[\s-]*truth|answer\s+key"
    r"|(?:previous|prior|earlier|original|flawed|first)\s+(?:\(wrong\)\s+)?(?:judge?ment|evaluation|verdict|attempt)"
    r"|\b(?:i|we)\s+(?:was|were|am|are|have\s+been|had\s+been)\s+(?:told|given|informed|instructed)"
    r"|\b(?:as|was)\s+(?:stated|given|provided)\s+in\s+the\s+(?:prompt|instructions?)"
    r"|\bthe\s+hint\b",
    re.IGNORECASE,
)

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z_]+\s*>")
_SENTENCE = re.compile(r"[^.!?\n]*[.!?]*[ \t]*\n?")
_QUOTE_SPAN = re.compile(r"(<\s*(?:quote|summary)_[AB]\s*>)(.*?)(<\s*/\s*(?:quote|summary)_[AB]\s*>)", re.DOTALL)
# What names a position outside quoted candidate text: verdict markers, quote/summary tags, "Chatbot A".
_POSITION = re.compile(
    r"\[\[\s*([AB])\s*\]\]|(<\s*/?\s*(?:quote|summary)_)([AB])(\s*>)"
    r"|\b((?:Chatbot|Assistant|Response|Model|Answer|Candidate)\s+)([AB])\b"
)
_BARE_LETTER = re.compile(r"(?<![\w\[])([AB])(?![\w\]])")


def correction_messages(messages: Sequence[dict[str, str]], label: Label, flawed: str,
                        problem: str) -> list[dict[str, str]]:
    """The pass-2 prompt: the pass-1 judge prompt plus the correct verdict and the flawed chain.

    The hint goes at the end of the last user message, so the system message (instruct style) and
    the pair text stay byte-identical to pass 1.

    >>> out = correction_messages([{"role": "user", "content": "Q"}], "model_b", "<answer>[[A]]</answer>",
    ...                           "wrong verdict")
    >>> out[-1]["content"].startswith("Q\\n\\n[Reference Verdict]\\nThe correct verdict for this comparison is [[B]]")
    True
    """
    winner = "A" if label == "model_a" else "B"
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    out = [dict(m) for m in messages]
    out[last_user]["content"] += CORRECTION_HINT.format(winner=winner, flawed=flawed.strip(), problem=problem)
    return out


def structure_problem(judgment: Judgment) -> str | None:
    """What the chain-of-rubrics structure lacks for the judgment's task type, or ``None``.

    Chat needs ``<rubric>`` and ``<eval>``; Reasoning needs ``<solution>`` and ``<eval>``.

    >>> structure_problem(parse_verdict("<type>Chat</type><eval>e</eval><answer>[[A]]</answer>"))
    'no <rubric> in a Chat chain'
    """
    if judgment.task_type is None:
        return "no <type>"
    needed = ("rubric", "evaluation") if judgment.task_type == "Chat" else ("solution", "evaluation")
    for part in needed:
        if not getattr(judgment, part):
            tag = "eval" if part == "evaluation" else part
            return f"no <{tag}> in a {judgment.task_type} chain"
    return None


def chain_problem(text: str, label: Label, *, truncated: bool = False, require_structure: bool = True,
                  max_chars: int | None = None) -> tuple[str, str] | None:
    """Why a chain cannot be kept, as ``(reason, detail)``; ``None`` when it can.

    Reasons: ``"no verdict"``, ``"truncated"``, ``"format error"`` (conflicting verdicts, missing
    structure), ``"too long"``, ``"wrong verdict"``.

    >>> chain_problem("<type>Reasoning</type><solution>4</solution><eval>e</eval><answer>[[A]]</answer>", "model_b")
    ('wrong verdict', 'says A, label model_b')
    >>> chain_problem("<answer>[[A]]</answer>", "model_a", require_structure=False) is None
    True
    """
    judgment = parse_verdict(text, truncated=truncated)
    if judgment.error in ("empty", "no_verdict"):
        return "no verdict", judgment.error
    if judgment.error == "truncated":
        return "truncated", "cut off before a complete verdict"
    if judgment.error is not None:
        return "format error", judgment.error.replace("_", " ")
    if max_chars is not None and len(text) > max_chars:
        return "too long", f"{len(text)} characters > {max_chars}"
    if require_structure and (problem := structure_problem(judgment)):
        return "format error", problem
    if judgment.label != label:
        return "wrong verdict", f"says {judgment.winner}, label {label}"
    return None


def hint_leaks(text: str) -> list[str]:
    """The phrases in ``text`` that mention the pass-2 hint.

    >>> hint_leaks("As the correct verdict is B, and the previous judgement erred, B wins.")
    ['correct verdict', 'previous judgement']
    """
    return [m.group(0) for m in HINT_LEAK.finditer(text)]


def clean_hint_leak(text: str) -> str | None:
    """``text`` without the sentences that mention the hint, or ``None`` when such a sentence also
    holds a tag (removing it would break the structure) or nothing would be left.

    >>> clean_hint_leak("<eval>I was told B is right. B is correct: 2+2=4.</eval>")
    >>> clean_hint_leak("<eval>\\nI was told B is right.\\nB is correct: 2+2=4.\\n</eval>")
    '<eval>\\nB is correct: 2+2=4.\\n</eval>'
    """
    pieces, removed = [], False
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0)
        if sentence and HINT_LEAK.search(sentence):
            if _TAG.search(sentence):
                return None
            removed = True
            continue
        pieces.append(sentence)
    cleaned = "".join(pieces)
    if not removed:
        return text
    return cleaned if cleaned.strip() else None


def swap_positions(text: str) -> str | None:
    """The chain as it would read with the two answers swapped: ``[[A]]``, ``<quote_A>``,
    ``Chatbot A`` ... become their B forms and back. Quoted candidate text is left as it is.

    Returns ``None`` when the chain names a position in a way this cannot swap safely (a bare
    ``A`` or ``B`` outside quotes), so the caller drops it instead of writing a wrong label.

    >>> swap_positions("<eval><quote_A>7</quote_A> is right; Chatbot B is not.</eval><answer>[[A]]</answer>")
    '<eval><quote_B>7</quote_B> is right; Chatbot A is not.</eval><answer>[[B]]</answer>'
    >>> swap_positions("A is right. <answer>[[A]]</answer>") is None
    True
    """
    other = {"A": "B", "B": "A"}

    def swap(segment: str) -> str | None:
        def one(m: re.Match[str]) -> str:
            if m.group(1):
                return f"[[{other[m.group(1)]}]]"
            if m.group(3):
                return f"{m.group(2)}{other[m.group(3)]}{m.group(4)}"
            return f"{m.group(5)}{other[m.group(6)]}"

        if _BARE_LETTER.search(_POSITION.sub(" ", segment)):
            return None
        return _POSITION.sub(one, segment)

    out, cursor = [], 0
    for m in _QUOTE_SPAN.finditer(text):
        before = swap(text[cursor:m.start()])
        if before is None:
            return None
        out += [before, swap(m.group(1)) or "", m.group(2), swap(m.group(3)) or ""]
        cursor = m.end()
    rest = swap(text[cursor:])
    if rest is None:
        return None
    out.append(rest)
    return "".join(out)


def other_label(label: Label) -> Label:
    """The label after swapping the answers.

    >>> other_label("model_a")
    'model_b'
    """
    return "model_b" if label == "model_a" else "model_a"


def rebalance(kept: list[dict[str, Any]], a_share: float, seed: int = 0) -> tuple[list[dict[str, Any]], int, int]:
    """Make the kept chains hold label ``model_a`` in the same share as the data (rounded to a row).

    Chains of the over-represented label are re-labelled -- answers and verdict swapped with
    :func:`swap_positions` -- in a seeded order; when no more can be swapped safely, the rest of the
    excess is dropped. Returns ``(rows, relabelled, dropped)``; rows keep their input order.

    >>> rows = [{"id": str(i), "chain": "<quote_A>x</quote_A><answer>[[A]]</answer>", "label": "model_a"}
    ...         for i in range(4)]
    >>> out, relabelled, dropped = rebalance(rows, 0.5)
    >>> sorted(r["label"] for r in out), relabelled, dropped
    (['model_a', 'model_a', 'model_b', 'model_b'], 2, 0)
    """
    rows = [dict(r) for r in kept]
    target = round(len(rows) * a_share)
    count_a = sum(r["label"] == "model_a" for r in rows)
    if count_a == target:
        return rows, 0, 0
    heavy: Label = "model_a" if count_a > target else "model_b"
    excess = abs(count_a - target)
    order = [i for i, r in enumerate(rows) if r["label"] == heavy]
    random.Random(seed).shuffle(order)
    relabelled, unswappable = 0, []
    for i in order:
        if relabelled == excess:
            break
        swapped = swap_positions(rows[i]["chain"])
        if swapped is None:
            unswappable.append(i)
            continue
        rows[i].update(chain=swapped, label=other_label(heavy), relabelled=True)
        relabelled += 1
    # What could not be swapped is balanced by dropping rows of the heavy label.
    n, n_heavy, drop = len(rows), sum(r["label"] == heavy for r in rows), set()
    share = a_share if heavy == "model_a" else 1.0 - a_share
    while unswappable and n_heavy > round(share * n):
        drop.add(unswappable.pop())
        n, n_heavy = n - 1, n_heavy - 1
    return [r for i, r in enumerate(rows) if i not in drop], relabelled, len(drop)
