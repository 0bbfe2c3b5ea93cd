"""Turn OpenRLHF's remote-reward request into groups of completions for pairwise judging.

OpenRLHF (``--remote_rm_url http://host:port/get_reward``) POSTs
``{"query": [...], "prompts": [...], "labels": [...]}`` and reads ``rewards`` (and ``scores``,
``extra_logs``) from the JSON answer. Each ``query`` is the prompt and the response decoded
together with special tokens kept (chat template markers, the final end-of-turn token); each
``prompts`` item is the prompt text the policy saw; ``labels`` is the dataset's label column.

How a query becomes something an RM-R1 judge can compare (docs/server.md has examples):

1. **Split** prompt from completion: when ``query`` starts with its ``prompt`` the completion is the
   rest; otherwise the completion follows the *last* assistant header of a known chat format
   (ChatML ``<|im_start|>assistant``, Llama-3 ``<|start_header_id|>assistant<|end_header_id|>``);
   otherwise the request is refused naming ``query[i]``.
2. **Clean** the completion of trailing end-of-turn and padding tokens (``<|im_end|>``, ...).
3. **Read the prompt** as a conversation when it is in a known chat format, else as plain text.
4. **Group** queries with the same prompt: they are ranked against each other. A label shared by
   the group is the reference answer; a prompt with a single completion needs a label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rmr1_plugin.server.models import LimitError

#: Tokens a decoded response ends with (kept because OpenRLHF decodes with special tokens).
END_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "</s>",
    "<｜end▁of▁sentence｜>",
    "<|end|>",
    "<eos>",
    "<end_of_turn>",
    "<pad>",
)

_ASSISTANT_HEADERS = (
    re.compile(r"<\|im_start\|>assistant\s*\n"),
    re.compile(r"<\|start_header_id\|>assistant<\|end_header_id\|>\s*"),
)
_CHATML_TURN = re.compile(
    r"<\|im_start\|>(system|user|assistant)\s*\n(.*?)(?:<\|im_end\|>|\Z)", re.DOTALL
)
_LLAMA3_TURN = re.compile(
    r"<\|start_header_id\|>(system|user|assistant)<\|end_header_id\|>\s*(.*?)(?:<\|eot_id\|>|\Z)",
    re.DOTALL,
)


@dataclass
class RewardGroup:
    """Completions of one prompt: ``indices`` are their positions in the request."""

    prompt: str | list[dict[str, str]]
    completions: list[str] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    reference: str | None = None
    prompt_text: str = ""


def strip_end_tokens(text: str, tokens: Sequence[str] = END_TOKENS) -> str:
    """Remove trailing end-of-turn / padding tokens (repeatedly) and surrounding whitespace.

    >>> strip_end_tokens("The answer is 4.<|im_end|><|endoftext|>")
    'The answer is 4.'
    """
    text = text.rstrip()
    changed = True
    while changed:
        changed = False
        for token in tokens:
            if text.endswith(token):
                text, changed = text[: -len(token)].rstrip(), True
    return text.strip()


def split_query(query: str, prompt: str | None) -> tuple[str, str] | None:
    """``(prompt, completion)`` of one query, or ``None`` when it cannot be split.

    >>> split_query("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\nHello<|im_end|>", None)
    ('<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n', 'Hello')
    >>> split_query("Q: 2+2? A: 4", "Q: 2+2? A:")
    ('Q: 2+2? A:', '4')
    """
    if prompt and query.startswith(prompt):
        return prompt, strip_end_tokens(query[len(prompt) :])
    for header in _ASSISTANT_HEADERS:
        matches = list(header.finditer(query))
        if matches:
            cut = matches[-1].end()
            return query[:cut], strip_end_tokens(query[cut:])
    return None


def read_prompt(prompt: str) -> str | list[dict[str, str]]:
    """The judge's view of a templated prompt: a conversation for known chat formats, else the
    text itself. A single user turn becomes its text (the single-turn judge template).

    >>> read_prompt("<|im_start|>system\\nBe nice<|im_end|>\\n<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n")
    [{'role': 'system', 'content': 'Be nice'}, {'role': 'user', 'content': 'Hi'}]
    >>> read_prompt("<|im_start|>user\\nWhat is 2+2?<|im_end|>\\n<|im_start|>assistant\\n")
    'What is 2+2?'
    >>> read_prompt("What is 2+2?")
    'What is 2+2?'
    """
    for turn in (_CHATML_TURN, _LLAMA3_TURN):
        messages = [
            {"role": m.group(1), "content": m.group(2).strip()} for m in turn.finditer(prompt)
        ]
        if messages:
            # The trailing empty assistant header is where the response starts, not a turn.
            while messages and messages[-1]["role"] == "assistant" and not messages[-1]["content"]:
                messages.pop()
            if len(messages) == 1 and messages[0]["role"] == "user":
                return messages[0]["content"]
            if messages:
                return messages
    return prompt.strip()


def group_queries(
    queries: Sequence[str],
    prompts: Sequence[str] | None = None,
    labels: Sequence[str | None] | None = None,
    *,
    lone_ok: bool = False,
) -> list[RewardGroup]:
    """Group an OpenRLHF request's queries by prompt, in order of first appearance.

    Raises :class:`~rmr1_plugin.server.models.LimitError` naming ``query[i]`` when a query cannot
    be split or (unless ``lone_ok``: other requests may complete its group) a lone completion has
    no label to be compared with.

    >>> [g.indices for g in group_queries(["Q a", "R b", "Q c"], ["Q", "R", "Q"], [None, "b*", None])]
    [[0, 2], [1]]
    """
    groups: dict[tuple[str, str | None], RewardGroup] = {}
    for i, query in enumerate(queries):
        split = split_query(query, prompts[i] if prompts else None)
        if split is None:
            raise LimitError(
                ("query", i),
                "cannot find where the response starts: it does not begin with "
                "prompts[i] and has no known assistant header",
            )
        prompt, completion = split
        label = labels[i] if labels else None
        group = groups.setdefault(
            (prompt, label), RewardGroup(read_prompt(prompt), reference=label, prompt_text=prompt)
        )
        group.completions.append(completion)
        group.indices.append(i)
    for group in groups.values():
        if len(group.completions) == 1 and group.reference is None and not lone_ok:
            raise LimitError(
                ("query", group.indices[0]),
                "the only response to its prompt in this request and no label to compare it "
                "with; send all responses to a prompt in one request, give labels, or "
                "start the server with --group-size",
            )
    return list(groups.values())
