"""Verifiable rewards with the conventional signatures (completions first, dataset columns after).

The adapters for TRL and verl only wrap these: :func:`check_math` and :func:`check_code` return
one result per completion, with its status; :func:`to_scores` turns results into floats (``None``
where the verdict says nothing about the completion, e.g. a gold answer that cannot be parsed,
which trainers skip). Functions named ``*_reward`` return floats; the result-returning
``math_reward``/``code_reward`` of earlier releases are deprecated aliases of ``check_*``.

>>> results = check_math(["... \\\\boxed{4}", "... \\\\boxed{5}"], gold=["4", "4"])
>>> to_scores(results)
[1.0, 0.0]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

from rmr1_plugin.verify.code import run_code_tests_batch
from rmr1_plugin.verify.math import DEFAULT_DEADLINE, verify_math_batch
from rmr1_plugin.verify.results import CodeResult, MathResult, VerifyResult
from rmr1_plugin.verify.sandbox import Sandbox


def completion_text(completion: Any) -> str:
    """The text of a completion given as a string or as chat messages (TRL's conversational format).

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and all(isinstance(m, dict) for m in completion):
        return "".join(str(m.get("content", "")) for m in completion if m.get("role", "assistant") == "assistant")
    raise TypeError(f"a completion must be a string or a list of chat messages, got {type(completion).__name__}")


_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(text: str) -> str:
    """The last fenced code block of a response (```python … ```), else the whole text.

    >>> extract_code("Here:\\n```python\\nprint(1)\\n```\\nDone.")
    'print(1)\\n'
    """
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


def check_math(completions: Sequence[Any], gold: Sequence[str], *, deadline: float = DEFAULT_DEADLINE,
                require_marker: bool = False, **kwargs: Any) -> list[MathResult]:
    """Check each completion's final answer against its gold answer (a dataset column).

    Extra keyword arguments (other dataset columns, trainer state) are accepted and ignored.
    """
    texts: list[Any] = []
    for completion in completions:
        try:
            texts.append(completion_text(completion))
        except TypeError:
            texts.append(completion)  # verify_math_batch reports it as an error row
    return verify_math_batch(texts, list(gold), deadline=deadline, require_marker=require_marker)


def check_code(completions: Sequence[Any], tests: Sequence[Any] | None = None, *,
                inputs: Sequence[list[str]] | None = None, outputs: Sequence[list[str]] | None = None,
                entry_point: Sequence[str | None] | None = None, sandbox: Sandbox | None = None,
                extract: bool = True, timeout: float = 30.0, test_timeout: float = 5.0,
                **kwargs: Any) -> list[CodeResult]:
    """Run each completion's code against its tests: ``tests`` (assertion code per row) or
    ``inputs``/``outputs`` (stdin/stdout cases per row). ``extract``: take the last fenced block."""
    n = len(completions)
    rows = []
    for i, completion in enumerate(completions):
        try:
            code: Any = completion_text(completion)
            code = extract_code(code) if extract else code
        except TypeError:
            code = completion
        row: dict[str, Any] = {"code": code}
        if tests is not None:
            row["tests"] = _at(tests, i, n, "tests")
        if inputs is not None or outputs is not None:
            row["inputs"] = _at(inputs, i, n, "inputs")
            row["outputs"] = _at(outputs, i, n, "outputs")
        if entry_point is not None:
            row["entry_point"] = _at(entry_point, i, n, "entry_point")
        rows.append(row)
    return run_code_tests_batch(rows, sandbox=sandbox, timeout=timeout, test_timeout=test_timeout)


def to_scores(results: Sequence[VerifyResult], *, success: float = 1.0, failure: float = 0.0,
              undecided: float | None = None) -> list[float | None]:
    """Scores for results: ``success`` when accepted, ``failure`` when rejected (wrong, unparsable,
    timed out), ``undecided`` when the status says nothing about the completion (``error``,
    ``sandbox_error``)."""
    scores = {"pass": success, "fail": failure, "undecided": undecided}
    return [scores[r.decision] for r in results]


def _at(column: Sequence[Any] | None, i: int, n: int, name: str) -> Any:
    if column is None:
        return None
    if len(column) != n:
        raise ValueError(f"column {name!r} has {len(column)} rows but there are {n} completions")
    return column[i]


def math_reward(*args: Any, **kwargs: Any) -> list[MathResult]:
    """Deprecated: renamed :func:`check_math` (a ``*_reward`` returns floats); removed in the next release."""
    warnings.warn("rmr1_plugin.verify.math_reward is deprecated: use check_math (results) or "
                  "rmr1_trl.math_reward (floats)", DeprecationWarning, stacklevel=2)
    return check_math(*args, **kwargs)


def code_reward(*args: Any, **kwargs: Any) -> list[CodeResult]:
    """Deprecated: renamed :func:`check_code` (a ``*_reward`` returns floats); removed in the next release."""
    warnings.warn("rmr1_plugin.verify.code_reward is deprecated: use check_code (results) or "
                  "rmr1_trl.code_reward (floats)", DeprecationWarning, stacklevel=2)
    return check_code(*args, **kwargs)
