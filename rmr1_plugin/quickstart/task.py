"""A learnable synthetic judging task: which of two answers to a one-digit sum is right.

Each pair is a question ``"What is a + b?"`` (``a, b`` in 0..9), the right answer and a wrong one,
placed in A/B by a seeded coin. The chain-of-rubrics output a judge is distilled on follows
RM-R1's Reasoning format: the judge restates and solves the sum in ``<solution>``, quotes the
answer that matches it and the one that does not in ``<eval>``, then gives the verdict. Every number is one
token in the quickstart tokenizer, so the answers sit at fixed positions and the verdict reduces
to comparing two nearby tokens -- something a two-layer model learns in a few hundred steps.

>>> pair = make_pair(3, 4, wrong=9, chosen_position="B")
>>> pair.answer_a, pair.answer_b, pair.label
('9', '7', 'model_b')
>>> print(reference_chain(pair))
<type>Reasoning</type>
<BLANKLINE>
<solution>3+4=7</solution>
<BLANKLINE>
<eval>
<quote_B>7</quote_B> matches my solution; <quote_A>9</quote_A> does not.
</eval>
<BLANKLINE>
<answer>[[B]]</answer>
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from rmr1_plugin.prompts import build_judge_messages, place_pair

#: Largest operand and largest possible answer.
MAX_DIGIT = 9
MAX_ANSWER = 2 * MAX_DIGIT


@dataclass(frozen=True)
class SumPair:
    """One judging example: a question, answers A and B, and the label of the right one."""

    a: int
    b: int
    answer_a: str
    answer_b: str
    label: Literal["model_a", "model_b"]

    @property
    def question(self) -> str:
        return question_text(self.a, self.b)

    @property
    def gold(self) -> int:
        return self.a + self.b

    def judge_messages(self) -> list[dict[str, str]]:
        """The RM-R1 instruct judge prompt for this pair."""
        return build_judge_messages(self.question, self.answer_a, self.answer_b)


def question_text(a: int, b: int) -> str:
    """The question text.

    >>> question_text(3, 4)
    'What is 3 + 4?'
    """
    return f"What is {a} + {b}?"


def make_pair(a: int, b: int, *, wrong: int, chosen_position: Literal["A", "B"]) -> SumPair:
    """The pair for ``a + b`` with the given wrong answer at the other position."""
    if wrong == a + b:
        raise ValueError(f"wrong answer {wrong} equals the right one for {a} + {b}")
    answer_a, answer_b, label = place_pair(str(a + b), str(wrong), chosen_position=chosen_position)
    return SumPair(a, b, answer_a, answer_b, label)


def reference_chain(pair: SumPair) -> str:
    """The chain-of-rubrics output of a perfect judge for ``pair`` (the SFT distillation target).

    The evaluation quotes the answer that matches the judge's own solution first, so the verdict is
    decided by one associative look-up (which slot holds the solution?) rather than by an equality
    test -- the operation small transformers learn fastest.
    """
    winner, loser = ("A", "B") if pair.label == "model_a" else ("B", "A")
    answers = {"A": pair.answer_a, "B": pair.answer_b}
    return (
        "<type>Reasoning</type>\n\n"
        f"<solution>{pair.a}+{pair.b}={pair.gold}</solution>\n\n"
        f"<eval>\n<quote_{winner}>{answers[winner]}</quote_{winner}> matches my solution; "
        f"<quote_{loser}>{answers[loser]}</quote_{loser}> does not.\n</eval>\n\n"
        f"<answer>[[{winner}]]</answer>"
    )


def all_pairs() -> list[tuple[int, int, int]]:
    """Every ``(a, b, wrong)`` triple of the task (100 questions x 18 wrong answers)."""
    return [
        (a, b, wrong)
        for a in range(MAX_DIGIT + 1) for b in range(MAX_DIGIT + 1)
        for wrong in range(MAX_ANSWER + 1) if wrong != a + b
    ]


def split_pairs(held_out: int, seed: int = 0) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """``(train, held_out)`` triples: ``held_out`` triples never used in training.

    >>> train, test = split_pairs(200)
    >>> len(test), len(set(train) & set(test))
    (200, 0)
    """
    triples = all_pairs()
    if not 0 < held_out < len(triples):
        raise ValueError(f"held_out must be between 1 and {len(triples) - 1}, got {held_out}")
    random.Random(seed).shuffle(triples)
    return triples[held_out:], triples[:held_out]


def unseen_questions(candidates: list[tuple[int, int]], n: int) -> set[tuple[int, int]]:
    """The first ``n`` operand pairs of ``candidates`` in both orders: questions a judge never sees.

    Both orders go, so the judge meets neither ``3 + 4`` nor ``4 + 3`` when ``(3, 4)`` is chosen.

    >>> sorted(unseen_questions([(3, 4), (4, 3), (5, 5), (1, 2)], 2))
    [(3, 4), (4, 3), (5, 5)]
    """
    operands: list[frozenset[int]] = []
    for a, b in candidates:
        if len(operands) == n:
            break
        if frozenset((a, b)) not in operands:
            operands.append(frozenset((a, b)))
    return {(a, b) for a, b in candidates if frozenset((a, b)) in operands} | {
        (b, a) for a, b in candidates if frozenset((a, b)) in operands}


def judge_splits(held_out: int, validation: int, unseen: set[tuple[int, int]],
                 seed: int = 0) -> dict[str, list[tuple[int, int, int]]]:
    """Disjoint ``(a, b, wrong)`` triples for a judge: ``train``, ``validation``, ``held_out``, ``unseen``.

    ``unseen`` holds every triple whose question is in ``unseen`` (none of them is in any other
    split: the judge never sees those questions, with any wrong answer); the other triples are
    shuffled by ``seed`` into ``held_out`` (test), ``validation`` (model selection) and ``train``.

    >>> s = judge_splits(200, 100, unseen_questions([(3, 4)], 1))
    >>> len(s["held_out"]), len(s["validation"]), len(s["unseen"]), len(s["train"])
    (200, 100, 36, 1464)
    """
    triples = [t for t in all_pairs() if (t[0], t[1]) not in unseen]
    if held_out + validation >= len(triples):
        raise ValueError(f"held_out + validation must leave training triples, got {held_out} + {validation} "
                         f"of {len(triples)}")
    random.Random(seed).shuffle(triples)
    return {
        "train": triples[held_out + validation:],
        "validation": triples[held_out:held_out + validation],
        "held_out": triples[:held_out],
        "unseen": [t for t in all_pairs() if (t[0], t[1]) in unseen],
    }


def every_position(triples: list[tuple[int, int, int]]) -> list[SumPair]:
    """Each triple twice, the right answer once in A and once in B (a judge's SFT set).

    >>> [p.label for p in every_position([(1, 2, 5)])]
    ['model_a', 'model_b']
    """
    return [make_pair(a, b, wrong=w, chosen_position=p) for a, b, w in triples for p in ("A", "B")]


def balanced_pairs(triples: list[tuple[int, int, int]], seed: int = 0) -> list[SumPair]:
    """One pair per triple, the right answer in A for exactly half of them (shuffled by ``seed``).

    >>> pairs = balanced_pairs(split_pairs(100)[1])
    >>> sum(p.label == "model_a" for p in pairs)
    50
    """
    rng = random.Random(seed)
    positions = ["A", "B"] * (len(triples) // 2) + ["A"] * (len(triples) % 2)
    rng.shuffle(positions)
    return [make_pair(a, b, wrong=w, chosen_position=p) for (a, b, w), p in zip(triples, positions, strict=True)]


def sft_pairs(triples: list[tuple[int, int, int]], n: int | None = None, seed: int = 0) -> list[SumPair]:
    """The judge's SFT pairs: with ``n=None`` every triple once with the right answer in A and once in
    B, shuffled by ``seed``; else ``n`` pairs drawn at random (:func:`sample_pairs`)."""
    if n is not None:
        return list(sample_pairs(triples, n, seed=seed))
    pairs = every_position(triples)
    random.Random(seed).shuffle(pairs)
    return pairs


def sample_pairs(triples: list[tuple[int, int, int]], n: int, seed: int = 0) -> Iterator[SumPair]:
    """``n`` training pairs drawn from ``triples`` with a fair A/B coin."""
    rng = random.Random(seed)
    for _ in range(n):
        a, b, wrong = rng.choice(triples)
        yield make_pair(a, b, wrong=wrong, chosen_position=rng.choice("AB"))


def corpus() -> list[str]:
    """Text for the quickstart tokenizer's merges: the task's questions, answers and chains."""
    pairs = balanced_pairs(all_pairs()[::7])
    return [question_text(a, b) for a in range(10) for b in range(10)] + [
        reference_chain(p) for p in pairs
    ] + [" ".join(str(i) for i in range(MAX_ANSWER + 1))] * 20 + ["user assistant system"] * 20


def arithmetic_text(n: int, facts_per_row: int = 16, seed: int = 0) -> list[str]:
    """``n`` rows of sums written the way the judge's solution writes them (``3+4=7``).

    The quickstart pre-trains its tiny judge on these, as a real judge starts from a base model
    that already knows arithmetic; judge training then teaches the format and the comparison.

    >>> arithmetic_text(1, facts_per_row=2, seed=1)
    ['2+9=11\\n1+4=5']
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        facts = []
        for _ in range(facts_per_row):
            a, b = rng.randint(0, MAX_DIGIT), rng.randint(0, MAX_DIGIT)
            facts.append(f"{a}+{b}={a + b}")
        rows.append("\n".join(facts))
    return rows
