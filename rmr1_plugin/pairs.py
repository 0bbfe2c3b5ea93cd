"""What the judge compares, defined once: :class:`JudgePair`, built from a prompt and two answers
by :meth:`JudgePair.from_prompt`, checked by :func:`~rmr1_plugin.prompts.check_pair_shape`, and
the rules for a group's reference answer (:func:`group_strategy`, :func:`check_reference`).

The engine, the server's request models and the TRL adapter all build their pairs here.

>>> JudgePair.from_prompt("2+2?", "4", "5").completions()
('4', '5')
>>> pair = JudgePair.from_prompt([{"role": "user", "content": "Hi"}], "Hello", "Go away")
>>> pair.conversation_b[-1]
{'role': 'assistant', 'content': 'Go away'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from rmr1_plugin.prompts import Message, build_judge_messages, check_pair_shape
from rmr1_plugin.types import Strategy, Style

#: The strategy that compares each completion with a reference (baseline) answer.
REFERENCE: Strategy = "reference"

#: A prompt: the question as text, or the chat turns before the answers.
Prompt = str | Sequence[Mapping[str, str]]


class JudgePair(BaseModel):
    """Two answers to compare, as ``question``/``answer_a``/``answer_b`` or as two conversations.

    ``gold`` (a reference answer) or ``tests`` with ``task`` ``"math"``/``"code"`` let the judge
    route the pair to a verifier first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str | None = None
    answer_a: str | None = None
    answer_b: str | None = None
    conversation_a: list[dict[str, str]] | None = None
    conversation_b: list[dict[str, str]] | None = None
    gold: str | None = None
    tests: Any = None
    task: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> JudgePair:
        check_pair_shape(self.question, self.answer_a, self.answer_b, self.conversation_a, self.conversation_b)
        return self

    @classmethod
    def from_prompt(cls, prompt: Prompt, answer_a: str, answer_b: str, *, gold: str | None = None,
                    tests: Any = None, task: str | None = None) -> JudgePair:
        """The pair of two answers to ``prompt``: a question (text) gives a single-turn pair, chat turns
        give two conversations that each end with one answer as the assistant's turn.

        >>> JudgePair.from_prompt("Q", "a", "b", gold="a", task="math").question
        'Q'
        """
        if isinstance(prompt, str):
            return cls(question=prompt, answer_a=answer_a, answer_b=answer_b, gold=gold, tests=tests, task=task)
        conversation = [dict(m) for m in prompt]
        return cls(conversation_a=[*conversation, {"role": "assistant", "content": answer_a}],
                   conversation_b=[*conversation, {"role": "assistant", "content": answer_b}],
                   gold=gold, tests=tests, task=task)

    def messages(self, style: Style, neutralize: bool, swapped: bool = False) -> list[Message]:
        """The judge prompt, with the answers in the given order or swapped."""
        if self.conversation_a is not None:
            a, b = self.conversation_a, self.conversation_b
            first, second = (b, a) if swapped else (a, b)
            return build_judge_messages(conversation_a=first, conversation_b=second, style=style, neutralize=neutralize)
        first_text, second_text = (self.answer_b, self.answer_a) if swapped else (self.answer_a, self.answer_b)
        return build_judge_messages(self.question, first_text, second_text, style=style, neutralize=neutralize)

    def completions(self) -> tuple[str, str]:
        """The two candidate texts (for conversations, each one's last assistant turn)."""
        if self.conversation_a is None:
            return self.answer_a or "", self.answer_b or ""
        return last_assistant(self.conversation_a), last_assistant(self.conversation_b or [])

    @property
    def verifiable(self) -> bool:
        """Whether a verifier can decide the pair (a math/code task with a gold answer or tests)."""
        return self.task in ("math", "code") and (self.gold is not None or self.tests is not None)


def as_pair(pair: JudgePair | Mapping[str, Any], index: int) -> JudgePair:
    """``pair`` as a :class:`JudgePair`; a mapping is validated, with errors that name pair ``index``.

    >>> as_pair({"question": "q", "answer_a": "a"}, 3)
    Traceback (most recent call last):
    ...
    ValueError: pair 3: answer_b is required for a single-turn pair (question, answer_a, answer_b); missing ['answer_b']
    """
    if isinstance(pair, JudgePair):
        return pair
    if isinstance(pair, Mapping):
        try:
            return JudgePair(**pair)
        except ValidationError as error:
            problems = "; ".join(
                (f"field {'.'.join(map(str, e['loc']))!r}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            raise ValueError(f"pair {index}: {problems}") from None
    raise TypeError(f"pair {index}: expected a JudgePair or a dict, got {type(pair).__name__}")


def last_assistant(conversation: Sequence[Mapping[str, str]]) -> str:
    """The content of the last assistant turn of ``conversation`` ("" when there is none)."""
    for message in reversed(conversation):
        if message.get("role") == "assistant":
            return message.get("content", "")
    return ""


# --- the reference rules -------------------------------------------------------------------------


def group_strategy(strategy: Strategy | str, size: int) -> str:
    """The strategy a group of ``size`` completions is ranked with: a lone completion can only be
    compared with a reference answer.

    >>> group_strategy("adaptive", 1), group_strategy("adaptive", 4)
    ('reference', 'adaptive')
    """
    return REFERENCE if size == 1 else strategy


def uses_reference(strategy: Strategy | str) -> bool:
    """Whether ``strategy`` compares completions with a reference answer (and needs one)."""
    return strategy == REFERENCE


def check_reference(strategy: Strategy | str, reference: str | None) -> None:
    """Raise ``ValueError`` unless ``reference`` fits ``strategy``: the reference strategy needs a
    reference answer, and no other strategy takes one.

    >>> check_reference("reference", None)
    Traceback (most recent call last):
    ...
    ValueError: strategy='reference' needs reference=<a baseline answer>
    """
    if uses_reference(strategy) and reference is None:
        raise ValueError("strategy='reference' needs reference=<a baseline answer>")
    if not uses_reference(strategy) and reference is not None:
        raise ValueError(f"reference= only applies to strategy='reference', not {strategy!r}")
