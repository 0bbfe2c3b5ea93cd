"""Result models of the verifiers: every answer carries a status, never a bare bool."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

MathStatus = Literal["correct", "incorrect", "unparsable", "timeout", "error"]
CodeStatus = Literal["passed", "failed", "timeout", "error", "sandbox_error", "unverified"]

Decision = Literal["pass", "fail", "undecided"]
"""What a verification says about the completion: accepted, rejected, or nothing (the data or the
machine failed: ``error``, ``sandbox_error``, ``unverified``)."""

#: Every status a verifier emits -> (decision, decisive). The one table of what statuses mean.
#: ``decisive`` results (checked outright: correct/incorrect, passed/failed) can order two completions
#: without the judge; a rejected but unread (``unparsable``) or cut-off (``timeout``) completion scores
#: as a failure but leaves a comparison to the judge.
STATUS_OUTCOMES: dict[str, tuple[Decision, bool]] = {
    "correct": ("pass", True), "passed": ("pass", True),
    "incorrect": ("fail", True), "failed": ("fail", True),
    "unparsable": ("fail", False), "timeout": ("fail", False),
    "error": ("undecided", False), "sandbox_error": ("undecided", False), "unverified": ("undecided", False),
}


def status_outcome(status: object) -> tuple[Decision, bool]:
    """``(decision, decisive)`` of a status string (any case); unknown statuses decide nothing.

    >>> status_outcome("Passed"), status_outcome("timeout"), status_outcome("maybe")
    (('pass', True), ('fail', False), ('undecided', False))
    """
    status = getattr(status, "value", status)  # enums
    if not isinstance(status, str):
        return "undecided", False
    return STATUS_OUTCOMES.get(status.lower(), ("undecided", False))


class _Decided:
    """The status-reading properties shared by both result models."""

    status: str

    @property
    def decision(self) -> Decision:
        """``pass``, ``fail`` or ``undecided``: what this result says about the completion."""
        return status_outcome(self.status)[0]

    @property
    def decisive(self) -> bool:
        """Whether the completion was checked outright (so it can order a pair without the judge)."""
        return status_outcome(self.status)[1]


class MathResult(_Decided, BaseModel):
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
    """What confinement the run actually got; ``notes`` says plainly what could not be applied.

    ``verified``: a pass from this run can be trusted as it stands: the candidate could not forge
    the pass channel, and every piece of confinement the verdict relies on (network, pid and IPC
    namespaces, a private root, another uid or dropped capabilities, the keyring filter) was
    applied. A pass from a run that is not verified is scored ``unverified`` unless the caller
    accepted weaker isolation (``accept_weak_isolation`` on the sandbox; then ``weaker_accepted``).
    """

    sandbox: str
    network_isolated: bool | None = Field(None, description="None: unknown (a remote sandbox decides)")
    pid_namespace: bool | None = None
    ipc_namespace: bool | None = Field(None, description="SysV and POSIX IPC objects of the run's own")
    private_root: bool | None = Field(None, description="a root of the run's own: interpreter and system "
                                                        "libraries read-only, private /tmp, nothing else of the host")
    proc: bool | None = Field(None, description="a /proc of the run's own pid namespace (never the host's)")
    read_only_host: bool | None = Field(None, description="host files read-only, a private tmpfs as workdir")
    syscall_filter: bool | None = Field(None, description="seccomp: kernel keyring syscalls denied")
    uid: int | None = None
    memory_bound: str | None = Field(None, description="how the run's memory is bounded")
    process_bound: str | None = Field(None, description="how the run's process count is bounded")
    pass_channel: str = ""
    verified: bool = False
    weaker_accepted: bool = False
    notes: list[str] = Field(default_factory=list)


class CodeResult(_Decided, BaseModel):
    """Outcome of running one candidate program against its tests.

    ``failed``: some test failed or errored; ``timeout``: a per-test or per-candidate deadline hit;
    ``error``: the input was malformed (see ``error``); ``sandbox_error``: the sandbox itself
    failed (could not start, remote unreachable), which says nothing about the candidate;
    ``unverified``: every test reported a pass, but from a run whose isolation is not
    ``verified`` (see :class:`Isolation`) and the caller did not accept that: never a pass.
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
