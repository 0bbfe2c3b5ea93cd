"""verl ``compute_score`` functions for math and code rows, on :mod:`rmr1_plugin.verify`.

Point ``reward.custom_reward_function`` at ``pkg://rmr1_verl.verifiers`` with ``name``
``math_compute_score``, ``code_compute_score`` or ``compute_score`` (routes each row by its data
source). A thin translation: the checking (math-verify, the sandbox, statuses) is the core's.

Every call returns the same keys: ``score`` (1.0 accepted, 0.0 otherwise), ``acc`` (the same, for
verl's validation metrics), ``decided`` (0.0 when the status says nothing about the completion,
e.g. an unparsable gold answer or a sandbox failure; such rows are worth filtering out) and
``status`` (the verifier's status string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

Kind = Literal["math", "code"]

#: Data sources of verl's own preprocessing scripts and common datasets, by kind. Extend or override
#: with ``reward_kwargs.sources`` ({data_source: "math" | "code"}).
KNOWN_SOURCES: dict[str, Kind] = {
    "openai/gsm8k": "math",
    "lighteval/MATH": "math",
    "DigitalLearningGmbH/MATH-lighteval": "math",
    "HuggingFaceH4/MATH-500": "math",
    "math_dapo": "math",
    "numina_aops_forum": "math",
    "numina_synthetic_math": "math",
    "numina_amc_aime": "math",
    "numina_olympiads": "math",
    "codecontests": "code",
    "apps": "code",
    "codeforces": "code",
    "taco": "code",
    "livecodebench": "code",
    "humaneval": "code",
    "mbpp": "code",
}


def math_compute_score(data_source: str | None = None, solution_str: str = "", ground_truth: Any = None,
                       extra_info: Mapping[str, Any] | None = None, *, require_marker: bool = False,
                       **_: Any) -> dict[str, Any]:
    """Whether the response's final answer equals ``ground_truth`` (the gold answer), by math-verify.

    >>> math_compute_score("openai/gsm8k", "... so the answer is \\\\boxed{4}", "4")["score"]
    1.0
    """
    from rmr1_plugin.verify import math_reward

    if not isinstance(ground_truth, str) or not ground_truth.strip():
        raise ValueError(f"{_where(data_source, extra_info)}: reward_model.ground_truth must be the gold answer "
                         f"as a string, got {ground_truth!r:.80}")
    (result,) = math_reward([solution_str], [ground_truth], require_marker=require_marker)
    return _result(result)


def code_compute_score(data_source: str | None = None, solution_str: str = "", ground_truth: Any = None,
                       extra_info: Mapping[str, Any] | None = None, *, timeout: float = 30.0,
                       test_timeout: float = 5.0, **_: Any) -> dict[str, Any]:
    """Whether the response's code (its last fenced block) passes the row's tests, in the sandbox.

    ``ground_truth`` holds the tests: assertion code (a string), or stdin/stdout cases as
    ``{"inputs": [...], "outputs": [...]}`` (also as a JSON string, verl's convention), optionally
    with ``"fn_name"``/``"entry_point"``.

    >>> code_compute_score("mbpp", "```python\\ndef sq(x):\\n    return x * x\\n```", "assert sq(3) == 9")["status"]
    'passed'
    """
    from rmr1_plugin.verify import code_reward

    spec = code_tests(ground_truth, where=_where(data_source, extra_info))
    (result,) = code_reward([solution_str], timeout=timeout, test_timeout=test_timeout,
                            **{key: [value] for key, value in spec.items()})
    return _result(result)


def compute_score(data_source: str | None = None, solution_str: str = "", ground_truth: Any = None,
                  extra_info: Mapping[str, Any] | None = None, *, sources: Mapping[str, Kind] | None = None,
                  **kwargs: Any) -> dict[str, Any]:
    """Route a row to :func:`math_compute_score` or :func:`code_compute_score` by its data source.

    >>> compute_score("openai/gsm8k", "The answer is \\\\boxed{7}.", "7")["acc"]
    1.0
    """
    kind = {**KNOWN_SOURCES, **(sources or {})}.get(str(data_source))
    if kind == "math":
        return math_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    if kind == "code":
        return code_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    raise ValueError(f"no verifier for data source {data_source!r}: add it to "
                     "reward.custom_reward_function.reward_kwargs.sources as 'math' or 'code'")


def code_tests(ground_truth: Any, *, where: str = "row") -> dict[str, Any]:
    """The keyword arguments of :func:`rmr1_plugin.verify.code_reward` for one row's ``ground_truth``.

    >>> code_tests('{"inputs": ["1\\\\n"], "outputs": ["2\\\\n"]}')
    {'inputs': ['1\\n'], 'outputs': ['2\\n']}
    >>> code_tests("assert f(1) == 2")
    {'tests': 'assert f(1) == 2'}
    """
    spec = ground_truth
    if isinstance(spec, str):
        stripped = spec.strip()
        if not stripped:
            raise ValueError(f"{where}: reward_model.ground_truth holds no tests")
        if stripped.startswith("{"):
            try:
                spec = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: reward_model.ground_truth looks like JSON but is not ({exc.msg})") from None
        else:
            return {"tests": spec}
    if isinstance(spec, Mapping):
        if "tests" in spec:
            out: dict[str, Any] = {"tests": spec["tests"]}
        elif "inputs" in spec and "outputs" in spec:
            out = {"inputs": list(spec["inputs"]), "outputs": list(spec["outputs"])}
        else:
            raise ValueError(f"{where}: reward_model.ground_truth needs 'tests' or 'inputs' and 'outputs', "
                             f"got keys {sorted(spec)}")
        entry = spec.get("entry_point") or spec.get("fn_name")
        if entry:
            out["entry_point"] = entry
        return out
    raise ValueError(f"{where}: reward_model.ground_truth must be test code or an inputs/outputs mapping, "
                     f"got {type(ground_truth).__name__}")


def _result(result: Any) -> dict[str, Any]:
    accepted = 1.0 if result.ok else 0.0
    return {"score": accepted, "acc": accepted, "decided": 0.0 if result.decision == "undecided" else 1.0,
            "status": str(result.status)}


def _where(data_source: Any, extra_info: Mapping[str, Any] | None) -> str:
    index = extra_info.get("index") if isinstance(extra_info, Mapping) else None
    return f"data source {data_source!r}, row {index!r}"
