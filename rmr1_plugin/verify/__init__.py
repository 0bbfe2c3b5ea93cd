"""Verifiers: math answers on math-verify and sandboxed code execution, with statuses, never bare bools.

>>> from rmr1_plugin.verify import verify_math, run_code_tests
>>> verify_math(r"The area is \\boxed{7\\pi}.", r"7\\pi").status
'correct'
>>> run_code_tests("def sq(x):\\n    return x * x", tests="assert sq(3) == 9").status
'passed'

See docs/verify.md for the design (deadline pool, sandbox, unforgeable pass).
"""

from rmr1_plugin.verify.code import (
    CodeTask,
    TaskError,
    make_task,
    run_code_tests,
    run_code_tests_batch,
)
from rmr1_plugin.verify.math import answer_region, verify_math, verify_math_batch
from rmr1_plugin.verify.pool import DeadlinePool
from rmr1_plugin.verify.results import CodeResult, Isolation, MathResult, TestOutcome, VerifyResult
from rmr1_plugin.verify.rewards import (
    check_code,
    check_math,
    code_reward,  # deprecated alias of check_code
    completion_text,
    extract_code,
    math_reward,  # deprecated alias of check_math
    to_scores,
)
from rmr1_plugin.verify.route import route, route_batch
from rmr1_plugin.verify.sandbox import (
    Limits,
    LocalSandbox,
    RunOutcome,
    RunRequest,
    Sandbox,
    SandboxFusionSandbox,
)

__all__ = [
    "CodeResult",
    "CodeTask",
    "DeadlinePool",
    "Isolation",
    "Limits",
    "LocalSandbox",
    "MathResult",
    "RunOutcome",
    "RunRequest",
    "Sandbox",
    "SandboxFusionSandbox",
    "TaskError",
    "TestOutcome",
    "VerifyResult",
    "answer_region",
    "check_code",
    "check_math",
    "code_reward",
    "completion_text",
    "extract_code",
    "make_task",
    "math_reward",
    "route",
    "route_batch",
    "run_code_tests",
    "run_code_tests_batch",
    "to_scores",
    "verify_math",
    "verify_math_batch",
]
