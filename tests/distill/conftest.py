"""Teachers for the distillation tests: programmatic judges behind real loopback servers.

``oracle_teacher`` knows which answer of each pair is the chosen one and writes a complete Chat
chain for it; per question it can instead be wrong in pass 1, leak the pass-2 hint, or stay wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from rmr1_plugin.prompts import neutralize_candidate
from rmr1_plugin.quickstart.teacher import ProgrammaticServer

_ANSWER = re.compile(r"\[The Start of Chatbot ([AB])'s Response\]\n(.*?)\n\[The End of Chatbot \1's Response\]",
                     re.DOTALL)
_QUESTION = re.compile(r"\[Client Question\]\n(.*?)\n\n\[The Start", re.DOTALL)


def chat_chain(winner: str, answers: dict[str, str], extra: str = "") -> str:
    loser = "B" if winner == "A" else "A"
    return (
        "<type>Chat</type>\n\n<rubric>\n1. Correctness (80%)\n2. Clarity (20%)\n"
        "<justify>The question has one right answer.</justify>\n</rubric>\n\n"
        f"<eval>\n<quote_{winner}>{answers[winner][:40]}</quote_{winner}> is right.\n{extra}"
        f"<summary_{loser}>The other response is wrong.</summary_{loser}>\n</eval>\n\n"
        f"<answer>[[{winner}]]</answer>"
    )


def oracle_teacher(chosen: dict[str, str], behaviour: dict[str, str] | None = None):
    """``chosen``: question -> chosen answer. ``behaviour`` (question -> kind):
    ``wrong`` (wrong in pass 1, right in pass 2), ``stubborn`` (wrong in both),
    ``leak`` (pass 2 leaks the hint in a sentence of its own: cleaned), ``leak-tag`` (the leak
    shares a line with a tag: dropped), ``no-structure`` (pass 1 lacks the rubric, pass 2 right)."""
    behaviour = behaviour or {}

    def respond(messages):
        text = messages[-1]["content"]
        question = _QUESTION.search(text).group(1)
        answers = {m.group(1): m.group(2) for m in _ANSWER.finditer(text.split("[Reference Verdict]")[0])}
        right = "A" if answers["A"] == neutralize_candidate(chosen[question]) else "B"
        wrong = "B" if right == "A" else "A"
        kind = behaviour.get(question, "right")
        if "[Reference Verdict]" not in text:
            if kind in ("wrong", "stubborn", "leak", "leak-tag"):
                return chat_chain(wrong, answers)
            if kind == "no-structure":
                return f"<type>Chat</type>\n\n<eval>fine</eval>\n\n<answer>[[{right}]]</answer>"
            return chat_chain(right, answers)
        if kind == "stubborn":
            return chat_chain(wrong, answers)
        if kind == "leak":
            return chat_chain(right, answers, extra="As the reference says, the correct verdict is given.\n")
        if kind == "leak-tag":
            return chat_chain(right, answers).replace("is right.", "is right, as I was told.")
        return chat_chain(right, answers)
    return respond


def plain_pairs(n: int) -> list[dict]:
    """``n`` plain-format pairs: a sum, its right answer (chosen) and a wrong one."""
    return [{"id": f"p{i}", "prompt": f"What is {i} + {i + 1}?", "chosen": f"The sum is {2 * i + 1}.",
             "rejected": f"The sum is {2 * i + 3}."} for i in range(n)]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_batch_file(input_path: Path, output_path: Path, server: ProgrammaticServer) -> Path:
    """What ``vllm run-batch`` does: each input line's body to the server, its answer to the output."""
    lines = []
    with httpx.Client(timeout=30) as client:
        for line in input_path.read_text().splitlines():
            request = json.loads(line)
            answer = client.post(server.base_url + "/chat/completions", json=request["body"])
            lines.append({"id": f"batch-{len(lines)}", "custom_id": request["custom_id"],
                          "response": {"status_code": answer.status_code, "request_id": str(len(lines)),
                                       "body": answer.json()}, "error": None})
    output_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return output_path


@pytest.fixture
def pairs_file(tmp_path):
    return write_jsonl(tmp_path / "pairs.jsonl", plain_pairs(12))
