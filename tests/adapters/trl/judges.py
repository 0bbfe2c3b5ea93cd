"""A scripted RM-R1 judge for the adapter tests: a real :class:`~rmr1_plugin.judge.Judge` over a
backend (our own protocol, not TRL's) that writes well-formed chain-of-rubrics outputs preferring
the answer with more digits, or no verdict for answers containing "??"."""

from __future__ import annotations

import re

from rmr1_plugin.backends import Generation, GenerationSettings
from rmr1_plugin.judge import Judge, JudgeConfig

_BLOCK = re.compile(r"\[The Start of Chatbot ([AB])'s Response\]\n(.*?)\n\[The End of Chatbot \1's Response\]", re.S)
_TURN = re.compile(r"Chatbot ([AB]): (.*?)(?:\n|$)")


def score(answer: str) -> int:
    return sum(ch.isdigit() for ch in answer)


class DigitJudgeBackend:
    """Prefers the answer with more digits; ties go to B; '??' in an answer gives no verdict."""

    model_id = "digit-judge"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, conversations, settings: GenerationSettings) -> list[Generation]:
        self.calls += len(conversations)
        return [Generation(text=self._judge(c[-1]["content"]), finish_reason="stop") for c in conversations]

    async def agenerate(self, conversations, settings: GenerationSettings) -> list[Generation]:
        return self.generate(conversations, settings)

    @staticmethod
    def _judge(user: str) -> str:
        answers = dict(_BLOCK.findall(user)) or dict(_TURN.findall(user))
        if len(answers) != 2:
            raise AssertionError(f"not a pairwise judge prompt: {user[:200]!r}")
        if any("??" in a for a in answers.values()):
            return "<type>Chat</type>\n<rubric>r</rubric>\n<eval>cannot tell</eval>"
        winner = "A" if score(answers["A"]) > score(answers["B"]) else "B"
        return (f"<type>Reasoning</type>\n<solution>count digits</solution>\n"
                f"<eval>A has {score(answers['A'])}, B has {score(answers['B'])}</eval>\n<answer>[[{winner}]]</answer>")


def digit_judge(**config) -> Judge:
    return Judge(DigitJudgeBackend(), JudgeConfig(**config), cache=False, verifier=False)
