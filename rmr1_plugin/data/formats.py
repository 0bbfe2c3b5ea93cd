"""Recognise the common shapes of preference data and turn each record into :class:`PreferencePair` s.

Supported shapes (``FORMATS``), detected per record unless one is forced:

``skywork``     ``chosen`` and ``rejected`` are full conversations (lists of messages).
``trl``         ``prompt`` is a list of messages; ``chosen``/``rejected`` are lists of assistant messages.
``plain``       ``prompt`` (or ``question``), ``chosen`` and ``rejected`` are strings.
``rm-bench``    ``prompt`` string; ``chosen``/``rejected`` are lists of style variants (3 each);
                one pair per variant index (concise, detailed, markdown) unless ``all_rm_bench_pairs``.
``rmb-pairwise``  ``conversation_input`` messages, ``chosen``/``reject`` ``{"llm_name", "answer"}``.
``rmb-bon``     ``conversation_input`` messages, ``bon_best`` and ``loser_list``; one pair per loser.

Malformed records raise :class:`RecordError` naming the file, row and field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, Field

FORMATS: tuple[str, ...] = ("skywork", "trl", "plain", "rm-bench", "rmb-pairwise", "rmb-bon")

Conversation = list[dict[str, str]]


class RecordError(ValueError):
    """A record that cannot be read; the message names file, row and field."""

    def __init__(self, where: str, field: str | None, problem: str):
        self.where, self.field, self.problem = where, field, problem
        location = f"{where}, field {field!r}" if field else where
        super().__init__(f"{location}: {problem}")


class PreferencePair(BaseModel):
    """One comparison: two conversations that share their context, the first one preferred.

    Both conversations end with the candidate's assistant turn; single-turn pairs are a user turn
    plus an assistant turn (the prompt builder then uses the single-turn template).
    """

    id: str
    source: str
    chosen: Conversation
    rejected: Conversation
    subset: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def question(self) -> str:
        """The last user turn before the candidates answered."""
        return next(m["content"] for m in reversed(self.chosen) if m["role"] == "user")


def detect_format(record: Mapping[str, Any]) -> str | None:
    """Guess which of ``FORMATS`` a record has, or ``None``.

    >>> detect_format({"prompt": "Q", "chosen": "a", "rejected": "b"})
    'plain'
    """
    if "conversation_input" in record:
        if "bon_best" in record:
            return "rmb-bon"
        if "reject" in record:
            return "rmb-pairwise"
        return None
    chosen, rejected = record.get("chosen"), record.get("rejected")
    if chosen is None or rejected is None:
        return None
    prompt = record.get("prompt", record.get("question"))
    if isinstance(chosen, str) and isinstance(rejected, str) and isinstance(prompt, str):
        return "plain"
    if isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen):
        return "rm-bench" if isinstance(prompt, str) else None
    if isinstance(chosen, list) and chosen and isinstance(chosen[0], Mapping):
        return "trl" if isinstance(prompt, list) else "skywork"
    return None


def _messages(value: Any, where: str, field: str) -> Conversation:
    if not isinstance(value, list) or not value:
        raise RecordError(where, field, f"expected a non-empty list of messages, got {_short(value)}")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise RecordError(where, f"{field}[{i}]", f"expected a message mapping, got {_short(message)}")
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant", "system"):
            raise RecordError(where, f"{field}[{i}].role", f"expected 'user', 'assistant' or 'system', got {role!r}")
        if not isinstance(content, str):
            raise RecordError(where, f"{field}[{i}].content", f"expected a string, got {_short(content)}")
        out.append({"role": role, "content": content})
    return out


def _string(record: Mapping[str, Any], field: str, where: str) -> str:
    value = record.get(field)
    if not isinstance(value, str):
        raise RecordError(where, field, f"expected a string, got {_short(value)}")
    return value


def _answer(value: Any, where: str, field: str) -> str:
    """RMB answers are ``{"llm_name", "answer"}``."""
    if not isinstance(value, Mapping) or not isinstance(value.get("answer"), str):
        raise RecordError(where, field, f"expected {{'llm_name', 'answer': str}}, got {_short(value)}")
    return value["answer"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _record_id(record: Mapping[str, Any], keys: tuple[str, ...], row: int) -> str:
    for key in keys:
        if record.get(key) not in (None, ""):
            return str(record[key])
    return str(row)


def record_to_pairs(
    record: Mapping[str, Any],
    *,
    where: str,
    row: int,
    source: str,
    fmt: str | None = None,
    all_rm_bench_pairs: bool = False,
) -> Iterator[PreferencePair]:
    """Yield the preference pairs in one record (one for most shapes, several for RM-Bench/RMB BoN).

    ``where`` names the record for error messages (``"pairs.jsonl, row 3"``).

    >>> [p.chosen[-1]["content"] for p in record_to_pairs(
    ...     {"prompt": "Q", "chosen": "a", "rejected": "b"}, where="x", row=0, source="demo")]
    ['a']
    """
    if not isinstance(record, Mapping):
        raise RecordError(where, None, f"expected a JSON object, got {_short(record)}")
    fmt = fmt or detect_format(record)
    if fmt is None:
        raise RecordError(
            where, None,
            f"unrecognised record shape (keys {sorted(record)}); expected one of {', '.join(FORMATS)}",
        )
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    subset = record.get("subset") or record.get("category_path") or record.get("source")
    subset = str(subset) if subset is not None else None
    rid = _record_id(record, ("id", "pair_uid", "bon_uid", "uid"), row)

    if "chain" in record:
        chain = {"chain": record["chain"], "label": record.get("label")}

    def pair(suffix: str, chosen: Conversation, rejected: Conversation, **meta: Any) -> PreferencePair:
        if "chain" in record:
            meta["chain"] = chain
        return PreferencePair(
            id=rid + suffix, source=source, chosen=chosen, rejected=rejected, subset=subset,
            meta={"format": fmt, **meta},
        )

    if fmt == "skywork":
        chosen = _messages(record.get("chosen"), where, "chosen")
        rejected = _messages(record.get("rejected"), where, "rejected")
        for field, conv in (("chosen", chosen), ("rejected", rejected)):
            if conv[-1]["role"] != "assistant":
                raise RecordError(where, field, "the conversation must end with an assistant turn")
        yield pair("", chosen, rejected)
    elif fmt == "trl":
        prompt = _messages(record.get("prompt"), where, "prompt")
        chosen = _messages(record.get("chosen"), where, "chosen")
        rejected = _messages(record.get("rejected"), where, "rejected")
        yield pair("", prompt + chosen, prompt + rejected)
    elif fmt == "plain":
        field = "prompt" if "prompt" in record else "question"
        question = _string(record, field, where)
        user = {"role": "user", "content": question}
        yield pair(
            "",
            [user, {"role": "assistant", "content": _string(record, "chosen", where)}],
            [user, {"role": "assistant", "content": _string(record, "rejected", where)}],
        )
    elif fmt == "rm-bench":
        user = {"role": "user", "content": _string(record, "prompt", where)}
        chosen, rejected = record.get("chosen"), record.get("rejected")
        for field, value in (("chosen", chosen), ("rejected", rejected)):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise RecordError(where, field, f"expected a list of strings, got {_short(value)}")
        if len(chosen) != len(rejected):
            raise RecordError(where, "rejected", f"has {len(rejected)} variants but chosen has {len(chosen)}")
        combos = (
            [(i, j) for i in range(len(chosen)) for j in range(len(rejected))]
            if all_rm_bench_pairs else [(i, i) for i in range(len(chosen))]
        )
        for i, j in combos:
            yield pair(
                f":{i}:{j}",
                [user, {"role": "assistant", "content": chosen[i]}],
                [user, {"role": "assistant", "content": rejected[j]}],
                chosen_style=i, rejected_style=j,
            )
    elif fmt == "rmb-pairwise":
        context = _messages(record.get("conversation_input"), where, "conversation_input")
        yield pair(
            "",
            context + [{"role": "assistant", "content": _answer(record.get("chosen"), where, "chosen")}],
            context + [{"role": "assistant", "content": _answer(record.get("reject"), where, "reject")}],
        )
    elif fmt == "rmb-bon":
        context = _messages(record.get("conversation_input"), where, "conversation_input")
        best = context + [{"role": "assistant", "content": _answer(record.get("bon_best"), where, "bon_best")}]
        losers = record.get("loser_list")
        if not isinstance(losers, list) or not losers:
            raise RecordError(where, "loser_list", f"expected a non-empty list, got {_short(losers)}")
        for k, loser in enumerate(losers):
            answer = _answer(loser, where, f"loser_list[{k}]")
            yield pair(f":{k}", best, context + [{"role": "assistant", "content": answer}], loser_index=k)
