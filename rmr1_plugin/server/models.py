"""Request and response bodies of the reward server (pydantic, so FastAPI validates them and
documents them under ``/docs``).

Limits that depend on the server's settings (pairs per request, text length) are checked by
:func:`check_limits`, which names the offending field the same way pydantic does.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from rmr1_plugin.prompts import check_pair_shape
from rmr1_plugin.types import Winner

Role = Literal["system", "user", "assistant"]

#: Most comparisons a client may ask for per group: every pair of the largest group in both orders
#: is 4032; anything beyond that is a mistake or an attack (the per-request budget is the server's).
MAX_CALLS_PER_GROUP = 4096


def valid_unicode(text: str) -> str:
    """``text`` unless it holds a lone surrogate (valid JSON, ``"\\ud800"``, but no character):
    such text cannot be encoded, logged or sent to a judge.

    >>> valid_unicode("caf\u00e9")
    'café'
    >>> valid_unicode("x" + chr(0xD800))
    Traceback (most recent call last):
    ...
    ValueError: holds a lone surrogate \\ud800 at character 1; text must be valid Unicode
    """
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"holds a lone surrogate \\u{ord(text[exc.start]):04x} at character {exc.start}; "
                "text must be valid Unicode"
            ) from None
    return text


#: Every text field of a request: a string that is valid Unicode.
Text = Annotated[str, AfterValidator(valid_unicode)]


class Message(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    content: Text


class PairIn(BaseModel):
    """One comparison: ``question`` + ``answer_a`` + ``answer_b``, or two conversations that share
    their context and end with the candidates' assistant turns.

    ``gold`` (a reference answer) and ``tests`` (code tests) with ``task`` ("math" or "code") let
    the engine decide by a verifier before asking the judge.
    """

    model_config = ConfigDict(extra="forbid")

    question: Text | None = None
    answer_a: Text | None = None
    answer_b: Text | None = None
    conversation_a: list[Message] | None = None
    conversation_b: list[Message] | None = None
    gold: Text | None = None
    tests: list[Text] | None = None
    task: Literal["math", "code", "chat"] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> PairIn:
        check_pair_shape(self.question, self.answer_a, self.answer_b, self.conversation_a, self.conversation_b)
        return self

    def texts(self) -> list[tuple[str, str]]:
        """(field, text) for every candidate-controlled or prompt text, for size checks."""
        out = [
            (name, getattr(self, name))
            for name in ("question", "answer_a", "answer_b", "gold")
            if getattr(self, name) is not None
        ]
        for name in ("conversation_a", "conversation_b"):
            for i, message in enumerate(getattr(self, name) or []):
                out.append((f"{name}.{i}.content", message.content))
        return out


class JudgeRequest(BaseModel):
    """``POST /judge``: judge each pair; results come back in the same order."""

    model_config = ConfigDict(extra="forbid")

    pairs: list[PairIn] = Field(min_length=1)
    include_text: bool = Field(
        False, description="return the judge's rubric, evaluation and raw output"
    )
    partial: bool = Field(
        False,
        description="on a backend failure, answer winner=null with the reason "
        "for the failed pairs instead of failing the request",
    )


class PairResult(BaseModel):
    """The verdict on one pair, in the caller's A/B order."""

    winner: Winner | None
    task_type: Literal["Chat", "Reasoning"] | None = None
    flipped: bool | None = Field(
        None, description="judging in both orders disagreed (position bias)"
    )
    error: str | None = Field(
        None,
        description="why there is no winner: a parse error code of the "
        "judge's output, or a backend failure",
    )
    rubric: str | None = None
    evaluation: str | None = None
    solution: str | None = None
    texts: list[str] | None = None


class JudgeResponse(BaseModel):
    model: str
    results: list[PairResult]


class GroupIn(BaseModel):
    """Completions of one prompt to be scored against each other (or against ``reference``)."""

    model_config = ConfigDict(extra="forbid")

    prompt: Text | list[Message]
    completions: list[Text] = Field(min_length=1)
    reference: Text | None = Field(
        None,
        description="a baseline answer each completion is compared with "
        "(strategy 'reference'; needed for one completion)",
    )
    gold: Text | None = Field(None, description="gold answer: math completions are verified first")
    tests: list[Text] | None = Field(None, description="code tests: code completions are run first")
    task: Literal["math", "code", "chat"] | None = None

    @model_validator(mode="after")
    def _enough(self) -> GroupIn:
        if len(self.completions) < 2 and self.reference is None:
            raise ValueError(
                "one completion can only be scored against a reference: give `reference` "
                "or at least two completions"
            )
        return self

    def texts(self) -> list[tuple[str, str]]:
        out = [(f"completions.{i}", c) for i, c in enumerate(self.completions)]
        if isinstance(self.prompt, str):
            out.append(("prompt", self.prompt))
        else:
            out.extend((f"prompt.{i}.content", m.content) for i, m in enumerate(self.prompt))
        out.extend(
            (name, getattr(self, name))
            for name in ("reference", "gold")
            if getattr(self, name) is not None
        )
        return out


class ScoreRequest(BaseModel):
    """``POST /score``: one reward per completion, per group."""

    model_config = ConfigDict(extra="forbid")

    groups: list[GroupIn] = Field(min_length=1)
    strategy: Text | None = Field(
        None, description="ranking strategy; the server's default when omitted"
    )
    max_calls: int | None = Field(
        None,
        ge=1,
        le=MAX_CALLS_PER_GROUP,
        description="judge-call budget per group; the request as a whole is also bounded by the "
        "server's --max-request-calls",
    )
    partial: bool = Field(
        False,
        description="on a backend failure, answer null rewards for the failed "
        "groups instead of failing the request",
    )


class GroupResult(BaseModel):
    rewards: list[float | None] = Field(
        description="one per completion, in [-1, 1]; null only on failure"
    )
    calls: int = Field(description="comparisons spent on the group")
    verdicts: int = Field(0, description="comparisons the judge decided")
    no_verdicts: int = Field(0, description="comparisons the judge left without a verdict")
    verified: int = Field(0, description="comparisons a verifier decided without the judge")
    error: str | None = None


class ScoreResponse(BaseModel):
    model: str
    strategy: str
    groups: list[GroupResult]


class RewardRequest(BaseModel):
    """OpenRLHF's remote reward request (``--remote_rm_url``).

    OpenRLHF sends ``query`` (prompt + response text, special tokens kept), ``prompts`` (the
    prompt text the policy saw) and ``labels`` (the dataset's ``--label_key`` value, or null);
    older versions send ``query`` alone. Unknown fields are ignored, as OpenRLHF may add some.
    """

    model_config = ConfigDict(extra="ignore")

    query: list[Text] = Field(min_length=1)
    prompts: list[Text] | None = None
    labels: list[Text | None] | None = Field(
        None,
        description="the reference answer of each query, or null; "
        "numbers and JSON values are read as their text",
    )
    partial: bool = False

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_text(cls, value: Any) -> Any:
        # Datasets' label columns hold numbers and structures too; the judge reads text.
        if not isinstance(value, list):
            return value
        return [
            v
            if v is None or isinstance(v, str)
            else json.dumps(v, ensure_ascii=False)
            if isinstance(v, (dict, list))
            else str(v)
            for v in value
        ]

    @model_validator(mode="after")
    def _same_lengths(self) -> RewardRequest:
        for name in ("prompts", "labels"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.query):
                raise ValueError(f"{name} has {len(value)} items but query has {len(self.query)}")
        return self


class RewardResponse(BaseModel):
    """What OpenRLHF reads: ``rewards`` (advantage), ``scores`` (dynamic filtering, in [0, 1]) and
    ``extra_logs`` (scalars logged to wandb)."""

    rewards: list[float | None]
    scores: list[float | None]
    extra_logs: dict[str, float] = Field(default_factory=dict)
    errors: list[str | None] | None = Field(
        None,
        description="why a reward is null, per query (present only when one is): a query that "
        "cannot be split into prompt and response, or a group without a verdict under `partial`",
    )


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a sentence, plus pydantic-style details for validation errors."""

    error: str
    detail: list[dict[str, Any]] | None = None


class LimitError(ValueError):
    """A request over one of the server's size limits; ``loc`` names the field."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        self.loc, self.message = loc, message
        super().__init__(f"{format_loc(loc)}: {message}")


def format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """``("body", "pairs", 3, "answer_a")`` -> ``"pairs[3].answer_a"``.

    >>> format_loc(("body", "pairs", 3, "answer_a"))
    'pairs[3].answer_a'
    """
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            for piece in str(part).split("."):
                out += f"[{piece}]" if piece.isdigit() else (f".{piece}" if out else piece)
    return out or "body"


def check_limits(
    items: list[PairIn] | list[GroupIn],
    field: str,
    *,
    max_items: int,
    max_chars: int,
    max_group: int | None = None,
) -> None:
    """Raise :class:`LimitError` naming the first field over a limit.

    >>> check_limits([PairIn(question="q", answer_a="a" * 5, answer_b="b")], "pairs", max_items=8, max_chars=4)
    Traceback (most recent call last):
    ...
    rmr1_plugin.server.models.LimitError: pairs[0].answer_a: 5 characters, over the limit of 4
    """
    if len(items) > max_items:
        raise LimitError((field,), f"{len(items)} items, over the limit of {max_items} per request")
    for i, item in enumerate(items):
        if (
            max_group is not None
            and isinstance(item, GroupIn)
            and len(item.completions) > max_group
        ):
            raise LimitError(
                (field, i, "completions"),
                f"{len(item.completions)} completions, over the limit of {max_group} per group",
            )
        for name, text in item.texts():
            if len(text) > max_chars:
                raise LimitError(
                    (field, i, name), f"{len(text)} characters, over the limit of {max_chars}"
                )
