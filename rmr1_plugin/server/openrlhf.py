"""Turn OpenRLHF's remote-reward request into groups of completions for pairwise judging.

OpenRLHF (``--remote_rm_url http://host:port/get_reward``) POSTs
``{"query": [...], "prompts": [...], "labels": [...]}`` and reads ``rewards`` (and ``scores``,
``extra_logs``) from the JSON answer. Each ``query`` is the prompt and the response decoded
together with special tokens kept (chat template markers, the final end-of-turn token); each
``prompts`` item is the prompt text the policy saw; ``labels`` is the dataset's label column.

How a query becomes something an RM-R1 judge can compare (docs/server.md has examples):

1. **Split** prompt from completion, on the prompt and the template's structure, never on text
   the response can contain (a response may write ``<|im_start|>assistant`` itself; that is text):
   when ``query`` starts with its ``prompt`` the completion is the rest; when the prompt was
   left-truncated the query starts with a suffix of it; when the prompt does not survive decoding,
   the query is read turn by turn (ChatML or Llama-3) for as many closed turns as the prompt has;
   without a prompt, the prompt is the turns before the *first* assistant header. A query that
   none of these splits is answered ``null`` with the reason (the rest of the request is judged).
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

@dataclass(frozen=True)
class ChatFormat:
    """How one chat template marks turns: ``header`` matches a turn's start (the role in group 1),
    ``end`` closes a turn."""

    name: str
    header: re.Pattern[str]
    end: str


CHAT_FORMATS: tuple[ChatFormat, ...] = (
    ChatFormat("chatml", re.compile(r"<\|im_start\|>(system|user|assistant|tool)[ \t]*\n"), "<|im_end|>"),
    ChatFormat(
        "llama3",
        re.compile(r"<\|start_header_id\|>(system|user|assistant|ipython|tool)<\|end_header_id\|>\s*"),
        "<|eot_id|>",
    ),
)
#: Characters of a truncated prompt's end searched for in its query (its generation header).
_ALIGN_TAIL = 16
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
    >>> fake_turn = "X<|im_end|>\\n<|im_start|>assistant\\nY"  # text the response wrote
    >>> split_query("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n" + fake_turn, None)[1]
    'X<|im_end|>\\n<|im_start|>assistant\\nY'
    """
    cut = None
    if prompt:
        cut = len(prompt) if query.startswith(prompt) else _truncated_prompt_end(query, prompt)
        if cut is None:
            cut = _structural_cut(query, _closed_turns(prompt))
    if cut is None:
        cut = _structural_cut(query, None)
    if cut is None:
        return None
    return query[:cut], strip_end_tokens(query[cut:])


def _truncated_prompt_end(query: str, prompt: str) -> int | None:
    """Where a left-truncated ``prompt`` ends in ``query``: the first place where the query so far
    is a suffix of the prompt (the response comes after the prompt, so the first is the prompt's)."""
    tail = prompt[-_ALIGN_TAIL:]
    if not tail:
        return None
    at = query.find(tail)
    while at != -1:
        end = at + len(tail)
        if end > len(prompt):  # longer than the prompt: cannot be a piece of it
            return None
        if prompt.endswith(query[:end]):
            return end
        at = query.find(tail, at + 1)
    return None


def _turns(text: str, fmt: ChatFormat) -> list[tuple[str, int, int | None]]:
    """``(role, content start, close)`` of each turn from the start of ``text``, read in order:
    a turn is closed by the first end token after its header; the first turn left open (the
    response's) ends the reading, so nothing after it is taken for structure."""
    turns: list[tuple[str, int, int | None]] = []
    first = fmt.header.search(text)
    if first is None:
        return turns
    at = first.start()
    while True:
        header = fmt.header.match(text, at)
        if header is None:
            break
        close = text.find(fmt.end, header.end())
        turns.append((header.group(1), header.end(), None if close == -1 else close))
        if close == -1:
            break
        at = close + len(fmt.end)
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
    return turns


def _closed_turns(prompt: str) -> tuple[str, int] | None:
    """``(format name, closed turns before the generation header)`` of a templated prompt."""
    for fmt in CHAT_FORMATS:
        turns = _turns(prompt, fmt)
        if turns and turns[-1][0] == "assistant" and not prompt[turns[-1][1] :].strip():
            return fmt.name, len(turns) - 1
    return None


def _structural_cut(query: str, shape: tuple[str, int] | None) -> int | None:
    """Where the response starts by the template's structure: after ``shape``'s count of closed
    turns and an assistant header, or (no shape) at the first assistant header after a user turn."""
    for fmt in CHAT_FORMATS:
        if shape is not None and shape[0] != fmt.name:
            continue
        turns = _turns(query, fmt)
        for k, (role, start, _) in enumerate(turns):
            if role != "assistant":
                continue
            if shape is None and any(r == "user" for r, _, _ in turns[:k]):
                return start
            if shape is not None and k == shape[1]:
                return start
            if shape is not None and k > shape[1]:
                break
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
    no label to be compared with. :func:`plan_queries` answers those queries alone instead.

    >>> [g.indices for g in group_queries(["Q a", "R b", "Q c"], ["Q", "R", "Q"], [None, "b*", None])]
    [[0, 2], [1]]
    """
    groups, refused = plan_queries(queries, prompts, labels, lone_ok=lone_ok)
    if refused:
        index = min(refused)
        raise LimitError(("query", index), refused[index])
    return groups


def plan_queries(
    queries: Sequence[str],
    prompts: Sequence[str] | None = None,
    labels: Sequence[str | None] | None = None,
    *,
    lone_ok: bool = False,
) -> tuple[list[RewardGroup], dict[int, str]]:
    """The groups to judge and, by query index, why each other query cannot be judged.

    >>> groups, refused = plan_queries(["Q a", "no markers", "Q c"], ["Q", "P", "Q"])
    >>> [g.indices for g in groups], list(refused)
    ([[0, 2]], [1])
    """
    groups: dict[tuple[str, str | None], RewardGroup] = {}
    refused: dict[int, str] = {}
    for i, query in enumerate(queries):
        split = split_query(query, prompts[i] if prompts else None)
        if split is None:
            refused[i] = (
                "cannot find where the response starts: it does not begin with prompts[i] and has "
                "no chat-template structure to align on"
            )
            continue
        prompt, completion = split
        label = labels[i] if labels else None
        group = groups.setdefault(
            (prompt, label), RewardGroup(read_prompt(prompt), reference=label, prompt_text=prompt)
        )
        group.completions.append(completion)
        group.indices.append(i)
    kept = []
    for group in groups.values():
        if len(group.completions) == 1 and group.reference is None and not lone_ok:
            refused[group.indices[0]] = (
                "the only response to its prompt in this request and no label to compare it "
                "with; send all responses to a prompt in one request, give labels, or "
                "start the server with --group-size"
            )
        else:
            kept.append(group)
    return kept, dict(sorted(refused.items()))
