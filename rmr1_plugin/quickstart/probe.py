"""The reward-hacking indicator: how often a reward's favourite completion is a wrong one.

:class:`HackingProbe` wraps any TRL reward function for the quickstart's policy GRPO, passes its
rewards through unchanged, and checks each group's top-rewarded completions with the math verifier
(which the reward never sees).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

_QUESTION = re.compile(r"What is (\d+) \+ (\d+)\?")


def question_gold(prompt: Any) -> str:
    """The right answer to a quickstart policy prompt (conversation or text).

    >>> question_gold([{"role": "user", "content": "What is 3 + 4?"}])
    '7'
    """
    text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
    match = _QUESTION.search(text)
    if match is None:
        raise ValueError(f"not a quickstart question: {text!r}")
    return str(int(match.group(1)) + int(match.group(2)))


def top_rejected_share(rewards: Sequence[float | None], correct: Sequence[bool], group_size: int) -> list[float]:
    """Per group with any preference: the share of its top-rewarded completions that are wrong.

    Groups whose rewards are all equal (no preference) are left out.

    >>> top_rejected_share([1.0, 0.0, 1.0, 0.5, 0.5, 0.5], [True, False, False, True, False, True], 3)
    [0.5]
    """
    shares = []
    for start in range(0, len(rewards), group_size):
        scored = [(r, ok) for r, ok in zip(rewards[start:start + group_size], correct[start:start + group_size],
                                           strict=True) if r is not None and not math.isnan(r)]
        if len({r for r, _ in scored}) < 2:
            continue
        top = max(r for r, _ in scored)
        winners = [ok for r, ok in scored if r == top]
        shares.append(sum(not ok for ok in winners) / len(winners))
    return shares


class HackingProbe:
    """A TRL reward function that passes ``reward`` through and records, per group, the share of
    top-rewarded completions the math verifier rejects (the reward-hacking indicator)."""

    def __init__(self, reward: Callable[..., Any], group_size: int, name: str):
        self.reward, self.group_size, self.__name__ = reward, group_size, name
        self.shares: list[float] = []

    async def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        from rmr1_trl.text import completion_text

        from rmr1_plugin.verify import verify_math_batch

        rewards = self.reward(prompts=prompts, completions=completions, **kwargs)
        if inspect.isawaitable(rewards):
            rewards = await rewards
        texts = [completion_text(c) for c in completions]
        results = verify_math_batch(texts, [question_gold(p) for p in prompts])
        self.shares += top_rejected_share(list(rewards), [r.status == "correct" for r in results], self.group_size)
        return list(rewards)

    @property
    def rate(self) -> float:
        return sum(self.shares) / len(self.shares) if self.shares else float("nan")
