"""Result models of the verifiers: every answer carries a status, never a bare bool."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

MathStatus = Literal["correct", "incorrect", "unparsable", "timeout", "error"]
CodeStatus = Literal["passed", "failed", "timeout", "error", "sandbox_error"]


class MathResult(BaseModel):
    """Outcome of checking one response against a gold answer.

    ``unparsable``: no answer could be read from the response; ``error``: the gold answer could
    not be parsed or the input was malformed (see ``error``); ``timeout``: the hard deadline hit.
    """

    kind: Literal["math"] = "math"
    status: MathStatus
    extracted: str | None = Field(None, description="the answer math-verify read from the response")
    how: str | None = Field(None, description="where it was read: answer-tag (last <answer>) or response")
    parsed_answer: str | None = None
    parsed_gold: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def correct(self) -> bool:
        return self.status == "correct"

    @property
    def ok(self) -> bool:
        """Whether the verifier accepted the response (same as ``correct``)."""
        return self.correct


class TestOutcome(BaseModel):
    """One test (an assertion block or one stdin/stdout case)."""

    __test__ = False  # not a pytest class

    index: int
    status: Literal["passed", "failed", "timeout", "error", "skipped"]
    detail: str | None = None
    seconds: float = 0.0


class Isolation(BaseModel):
    """What confinement the run actually got; ``notes`` says plainly what could not be applied."""

    sandbox: str
    network_isolated: bool | None = Field(None, description="None: unknown (a remote sandbox decides)")
    pid_namespace: bool | None = None
    read_only_host: bool | None = Field(None, description="host files read-only, a private tmpfs as workdir")
    uid: int | None = None
    pass_channel: str = ""
    notes: list[str] = Field(default_factory=list)


class CodeResult(BaseModel):
    """Outcome of running one candidate program against its tests.

    ``failed``: some test failed or errored; ``timeout``: a per-test or per-candidate deadline hit;
    ``error``: the input was malformed (see ``error``); ``sandbox_error``: the sandbox itself
    failed (could not start, remote unreachable), which says nothing about the candidate.
    """

    kind: Literal["code"] = "code"
    status: CodeStatus
    tests: list[TestOutcome] = Field(default_factory=list)
    error: str | None = None
    stderr_tail: str | None = None
    isolation: Isolation | None = None
    seconds: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def ok(self) -> bool:
        """Whether the verifier accepted the candidate (same as ``passed``)."""
        return self.passed


VerifyResult = MathResult | CodeResult
