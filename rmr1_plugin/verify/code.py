"""Run candidate programs against tests: assertion code (HumanEval/MBPP) or stdin/stdout cases (APPS).

The harness (this process) decides every pass:

- stdin/stdout: each case is a fresh sandboxed run; its stdout is compared here, after the run.
- assertions, local sandbox: the candidate and the tests run in two sandboxed processes joined by
  pipes (:meth:`~rmr1_plugin.verify.sandbox.LocalSandbox.run_split`); the candidate only ever
  sends plain values (numbers, strings, containers) back, never objects, so an always-equal
  object, patched builtins or an early ``exit(0)`` cannot make an assertion hold.
- assertions, remote sandbox: one program with the tests after the candidate prints a per-run
  nonce once every test ran; the harness requires it. The candidate shares that process and can
  read the nonce, so such a pass is scored ``unverified`` unless the sandbox was built with
  ``accept_weak_isolation=True``; ``isolation.pass_channel`` says so.

Whatever the sandbox, a pass from a run whose ``isolation.verified`` is false (some confinement
the verdict relies on was refused by the OS) is ``unverified``, unless the sandbox accepts weaker
isolation (its ``accept_weak_isolation`` attribute).

>>> result = run_code_tests("def add(a, b):\\n    return a + b", tests="assert add(2, 3) == 5")
>>> result.status, [t.status for t in result.tests]
('passed', ['passed'])
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel, Field

from rmr1_plugin.verify.results import CodeResult, Isolation, TestOutcome
from rmr1_plugin.verify.sandbox import Limits, LocalSandbox, RunRequest, Sandbox, SplitSandbox

#: Seconds per test (one assertion block or one stdin/stdout case).
DEFAULT_TEST_TIMEOUT = 5.0
#: Seconds for all tests of one candidate together.
DEFAULT_TIMEOUT = 30.0


class CodeTask(BaseModel):
    """One candidate and its tests: ``tests`` (assertion code, one block or several) or ``inputs`` and
    ``outputs`` (stdin/stdout cases). ``entry_point``: after the tests ran, call ``check(<entry_point>)``
    (HumanEval's convention). ``helpers``: the task's own code that the tests call (HumanEval's
    prompt, e.g. ``poly`` for HumanEval/32); it runs with the tests, never taken from the candidate."""

    code: str
    tests: list[str] | None = None
    helpers: str | None = None
    inputs: list[str] | None = None
    outputs: list[str] | None = None
    entry_point: str | None = None
    language: str = "python"
    id: Any = Field(None, description="carried through, never interpreted")


class TaskError(ValueError):
    """A malformed code task; the message names the field and what was wrong."""


def make_task(row: dict[str, Any]) -> CodeTask:
    """Validate one row (``code`` and ``tests``, or ``code`` with ``inputs``/``outputs``) into a task.

    >>> make_task({"code": "print(1)", "inputs": [""], "outputs": ["1"]}).inputs
    ['']
    >>> make_task({"code": "x = 1", "tests": []})
    Traceback (most recent call last):
    ...
    rmr1_plugin.verify.code.TaskError: field 'tests': empty; give assertion code or inputs/outputs
    """
    if not isinstance(row, dict):
        raise TaskError(f"expected an object with 'code' and tests, got {type(row).__name__}")
    code = row.get("code")
    if not isinstance(code, str):
        raise TaskError(f"field 'code': expected a string, got {type(code).__name__}")
    if not code.strip():
        raise TaskError("field 'code': empty")
    tests, inputs, outputs = row.get("tests"), row.get("inputs"), row.get("outputs")
    if tests is not None and (inputs is not None or outputs is not None):
        raise TaskError("give either 'tests' or 'inputs'/'outputs', not both")
    if tests is not None:
        blocks = [tests] if isinstance(tests, str) else tests
        if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
            raise TaskError(f"field 'tests': expected a string or a list of strings, got {_kind(tests)}")
        blocks = [b for b in blocks if b.strip()]
        if not blocks:
            raise TaskError("field 'tests': empty; give assertion code or inputs/outputs")
        tests = blocks
    elif inputs is not None or outputs is not None:
        for name, value in (("inputs", inputs), ("outputs", outputs)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TaskError(f"field {name!r}: expected a list of strings, got {_kind(value)}")
        if len(inputs) != len(outputs):
            raise TaskError(f"'inputs' has {len(inputs)} cases but 'outputs' has {len(outputs)}")
        if not inputs:
            raise TaskError("fields 'inputs'/'outputs': no cases")
    else:
        raise TaskError("no tests: give 'tests' (assertion code) or 'inputs' and 'outputs'")
    entry_point = row.get("entry_point")
    if entry_point is not None and (not isinstance(entry_point, str) or not entry_point.isidentifier()):
        raise TaskError(f"field 'entry_point': expected a Python identifier, got {entry_point!r}")
    helpers = row.get("helpers")
    if helpers is not None and not isinstance(helpers, str):
        raise TaskError(f"field 'helpers': expected a string of Python code, got {type(helpers).__name__}")
    if helpers is not None and tests is None:
        raise TaskError("field 'helpers': only assertion 'tests' call helper code, give 'tests'")
    return CodeTask(code=code, tests=tests, helpers=helpers, inputs=inputs, outputs=outputs, entry_point=entry_point,
                    language=row.get("language") or "python", id=row.get("id"))


def run_code_tests(code: str, *, tests: str | list[str] | None = None, inputs: list[str] | None = None,
                   outputs: list[str] | None = None, entry_point: str | None = None, sandbox: Sandbox | None = None,
                   timeout: float = DEFAULT_TIMEOUT, test_timeout: float = DEFAULT_TEST_TIMEOUT,
                   limits: Limits | None = None, helpers: str | None = None) -> CodeResult:
    """Run one candidate against its tests in a sandbox (local by default); see the module docs.

    >>> run_code_tests("print(int(input()) * 2)", inputs=["21\\n"], outputs=["42\\n"]).passed
    True
    """
    row = {"code": code, "tests": tests, "inputs": inputs, "outputs": outputs, "entry_point": entry_point,
           "helpers": helpers}
    return run_code_tests_batch([row], sandbox=sandbox, timeout=timeout, test_timeout=test_timeout,
                                limits=limits, workers=1)[0]


def run_code_tests_batch(rows: Sequence[dict[str, Any] | CodeTask], *, sandbox: Sandbox | None = None,
                         workers: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                         test_timeout: float = DEFAULT_TEST_TIMEOUT, limits: Limits | None = None,
                         progress: Callable[[], None] | None = None) -> list[CodeResult]:
    """Run many candidates in parallel (``workers``, default one per core); one result per row, in order.

    A malformed row gets an ``error`` result naming the field; the others still run.
    ``progress`` is called once per finished row (for a progress bar).
    """
    sandbox = sandbox or _default_sandbox()
    limits = limits or Limits(cpu_s=max(1, int(timeout) + 1))

    def one(row: dict[str, Any] | CodeTask) -> CodeResult:
        try:
            task = row if isinstance(row, CodeTask) else make_task(row)
        except TaskError as exc:
            result = CodeResult(status="error", error=str(exc))
        else:
            result = _run_task(task, sandbox, timeout=timeout, test_timeout=test_timeout, limits=limits)
        if progress:
            progress()
        return result

    workers = max(1, workers or os.cpu_count() or 1)
    if workers == 1 or len(rows) <= 1:
        return [one(row) for row in rows]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rmr1-code") as pool:
        return list(pool.map(one, rows))


_local: LocalSandbox | None = None


def _default_sandbox() -> LocalSandbox:
    global _local
    if _local is None:
        _local = LocalSandbox()
    return _local


def _run_task(task: CodeTask, sandbox: Sandbox, *, timeout: float, test_timeout: float, limits: Limits) -> CodeResult:
    start = time.monotonic()
    if task.inputs is not None:
        result = _run_stdio(task, sandbox, timeout=timeout, test_timeout=test_timeout, limits=limits)
    elif isinstance(sandbox, SplitSandbox) and task.language == "python":
        split = sandbox.run_split(task.code, task.tests or [], entry_point=task.entry_point, timeout=timeout,
                                  per_test_timeout=test_timeout, limits=limits, helpers=task.helpers)
        expected = len(task.tests or []) + (1 if task.entry_point else 0)
        if split.status == "sandbox_error":
            status = "sandbox_error"
        elif split.status == "timeout" or any(t.status == "timeout" for t in split.tests):
            status = "timeout"
        elif split.status == "incomplete":
            status = "failed"
        else:
            status = _verdict(split.tests, expected)
        result = CodeResult(status=status, tests=split.tests, error=split.error or _first_problem(split.tests),
                            stderr_tail=split.stderr_tail, isolation=split.isolation)
    else:
        result = _run_in_process(task, sandbox, timeout=timeout, limits=limits)
    result.seconds = time.monotonic() - start
    return _unless_verified(result, sandbox)


def _unless_verified(result: CodeResult, sandbox: Sandbox) -> CodeResult:
    """A pass stands only from a verified run, or where the sandbox accepts weaker isolation."""
    if result.status != "passed" or (result.isolation is not None and result.isolation.verified):
        return result
    isolation = result.isolation or Isolation(sandbox=sandbox.name)
    if getattr(sandbox, "accept_weak_isolation", False):
        return result.model_copy(update={"isolation": isolation.model_copy(update={"weaker_accepted": True})})
    missing = "; ".join(isolation.notes) or isolation.pass_channel or "the sandbox reports no isolation"
    return result.model_copy(update={
        "status": "unverified", "isolation": isolation,
        "error": f"every test passed, but the run's isolation is incomplete ({missing}); not counted as a pass "
                 "unless the sandbox is built with accept_weak_isolation=True"})


def _run_stdio(task: CodeTask, sandbox: Sandbox, *, timeout: float, test_timeout: float,
               limits: Limits) -> CodeResult:
    """Each case in a fresh run; the output is compared here, so nothing the program does fakes a pass."""
    outcomes: list[TestOutcome] = []
    isolation: Isolation | None = None
    stderr_tail = None
    deadline = time.monotonic() + timeout
    for index, (stdin, expected) in enumerate(zip(task.inputs or [], task.outputs or [], strict=True)):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (outcomes and outcomes[-1].status != "passed"):
            outcomes.append(TestOutcome(index=index, status="skipped",
                                        detail="an earlier case did not pass" if remaining > 0 else "no time left"))
            continue
        run = sandbox.run(RunRequest(code=task.code, language=task.language, stdin=stdin,
                                     timeout=min(test_timeout, remaining), limits=limits))
        isolation = run.isolation or isolation
        if run.status == "sandbox_error":
            return CodeResult(status="sandbox_error", tests=outcomes, error=run.error, isolation=isolation)
        if run.status == "timeout":
            outcomes.append(TestOutcome(index=index, status="timeout", seconds=run.seconds,
                                        detail=f"no exit within {min(test_timeout, remaining):g} s"))
        elif run.exit_code != 0:
            stderr_tail = run.stderr[-4000:] or None
            outcomes.append(TestOutcome(index=index, status="failed", seconds=run.seconds,
                                        detail=f"exit code {run.exit_code}: {run.stderr.strip()[-500:]}"))
        elif outputs_match(run.stdout, expected):
            outcomes.append(TestOutcome(index=index, status="passed", seconds=run.seconds))
        else:
            outcomes.append(TestOutcome(index=index, status="failed", seconds=run.seconds,
                                        detail=f"expected {expected[:200]!r}, got {run.stdout[:200]!r}"))
    if any(t.status == "timeout" for t in outcomes) or (
            outcomes and outcomes[-1].status == "skipped" and outcomes[-1].detail == "no time left"):
        status = "timeout"
    else:
        status = _verdict(outcomes, len(task.inputs or []))
    return CodeResult(status=status, tests=outcomes, error=_first_problem(outcomes), stderr_tail=stderr_tail,
                      isolation=isolation)


def _run_in_process(task: CodeTask, sandbox: Sandbox, *, timeout: float, limits: Limits) -> CodeResult:
    """Assertion tests on a sandbox without split runs: one program, a nonce printed after the last test."""
    nonce = secrets.token_hex(16)
    program = build_nonce_program(task.code, task.tests or [], task.entry_point, nonce, task.helpers)
    run = sandbox.run(RunRequest(code=program, language=task.language, timeout=timeout, limits=limits))
    isolation = (run.isolation or Isolation(sandbox=sandbox.name)).model_copy(update={
        "pass_channel": "per-run nonce printed after the last test, candidate and tests in one process, "
                        "so the candidate can read and print it (weaker than the local sandbox's split run)",
        "verified": False})
    if run.status == "sandbox_error":
        return CodeResult(status="sandbox_error", error=run.error, isolation=isolation)
    if run.status == "timeout":
        return CodeResult(status="timeout", error=f"no exit within {timeout:g} s", isolation=isolation)
    last = run.stdout.rstrip("\n").rsplit("\n", 1)[-1]
    passed = run.exit_code == 0 and last == f"rmr1-pass:{nonce}"
    outcome = TestOutcome(index=0, status="passed" if passed else "failed", seconds=run.seconds,
                          detail=None if passed else f"exit code {run.exit_code}: {run.stderr.strip()[-500:]}")
    return CodeResult(status="passed" if passed else "failed", tests=[outcome], error=outcome.detail,
                      stderr_tail=run.stderr[-4000:] or None, isolation=isolation)


# -- pure helpers ------------------------------------------------------------------------------


def outputs_match(actual: str, expected: str) -> bool:
    """Output comparison of competitive-programming judges: trailing spaces and blank lines ignored.

    >>> outputs_match("1 2  \\n3\\n\\n", "1 2\\n3")
    True
    >>> outputs_match("1 2", "1  2")
    False
    """
    def norm(text: str) -> list[str]:
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines
    return norm(actual) == norm(expected)


def build_nonce_program(code: str, tests: list[str], entry_point: str | None, nonce: str,
                        helpers: str | None = None) -> str:
    """One program: the task's helpers, the candidate, each test block, ``check(entry_point)``, then
    the nonce line."""
    parts = [helpers or "", code, *tests]
    if entry_point:
        parts.append(f"check({entry_point})")
    body = "\n\n".join(parts)
    return f"{body}\n\nimport os as _rmr1_os\n_rmr1_os.write(1, b'\\nrmr1-pass:{nonce}\\n')\n"


def _verdict(outcomes: list[TestOutcome], expected: int) -> str:
    ran = [t for t in outcomes if t.index >= 0]
    return "passed" if len(ran) == expected and all(t.status == "passed" for t in ran) else "failed"


def _first_problem(outcomes: list[TestOutcome]) -> str | None:
    for t in outcomes:
        if t.status not in ("passed", "skipped"):
            return f"test {t.index}: {t.detail}" if t.index >= 0 else t.detail
    return None


def _kind(value: Any) -> str:
    return type(value).__name__ if not isinstance(value, list) else "a list with non-string items"
