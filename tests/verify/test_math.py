"""verify_math: math-verify's own labelled cases, bare gold answers, statuses, hostile inputs, threads."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rmr1_plugin.verify import verify_math, verify_math_batch
from rmr1_plugin.verify.math import answer_region, as_latex, has_marker

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "math_verify_cases.jsonl").open()]


@pytest.fixture(scope="module")
def labelled_results():
    return verify_math_batch([c["pred"] for c in CASES], [c["gold"] for c in CASES], deadline=20)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda i: f"{CASES[i]['source'].split('::')[1]}-{i}")
def test_math_verify_labelled_cases(labelled_results, index):
    case, result = CASES[index], labelled_results[index]
    assert result.status == ("correct" if case["expected"] else "incorrect"), (case, result)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("response,gold,status", [
    # A bare gold answer is LaTeX: 7\pi is 7π, not the number 7 (TRL's accuracy_reward reads 7).
    (r"The area is \boxed{7}.", r"7\pi", "incorrect"),
    (r"The area is \boxed{7\pi}.", r"7\pi", "correct"),
    (r"So $x = \frac{1}{2}$, i.e. the answer is \boxed{0.5}", r"\frac{1}{2}", "correct"),
    (r"\boxed{\sqrt{2}/2}", r"\frac{\sqrt{2}}{2}", "correct"),
    (r"the final answer is $\{1, 2\}$", "{1,2}", "correct"),
    (r"We get \boxed{x = 3}", "3", "correct"),
    ("The answer is 12.", "12", "correct"),
    ("The answer is 12.", "13", "incorrect"),
    # The last <answer> tag is the answer, whatever came before it.
    (r"First guess \boxed{3}. <answer>4</answer>", "4", "correct"),
    (r"<answer>\boxed{5}</answer> reconsidering... <answer>6</answer>", "5", "incorrect"),
    ("I have no idea.", "4", "unparsable"),
])
def test_answers_and_statuses(response, gold, status):
    assert verify_math(response, gold).status == status


@pytest.mark.timeout(60)
def test_require_marker_refuses_a_guess_from_the_last_number():
    assert verify_math("maybe 4, maybe not", "4").status == "correct"
    result = verify_math("maybe 4, maybe not", "4", require_marker=True)
    assert result.status == "unparsable" and "marked" in result.error
    assert verify_math(r"so \boxed{4}", "4", require_marker=True).status == "correct"


@pytest.mark.timeout(60)
def test_malformed_pairs_are_error_rows_and_the_batch_goes_on():
    results = verify_math_batch([r"\boxed{1}", 7, r"\boxed{2}", r"\boxed{3}"], ["1", "1", "", r"\boxed{"])
    assert [r.status for r in results] == ["correct", "error", "error", "error"]
    assert "response must be a string" in results[1].error
    assert "gold answer is empty" in results[2].error
    assert "gold answer could not be parsed" in results[3].error
    with pytest.raises(ValueError, match="2 responses but 1 gold"):
        verify_math_batch(["a", "b"], ["1"])


HOSTILE = {
    "tower of exponents": r"\boxed{9^{9^{9^{9^{9^{9}}}}}}",
    "huge factorial": r"\boxed{(10^{10^{10}})!}",
    "50k-character expression": r"\boxed{" + "+".join(f"x_{{{i}}}^{{{i}}}" for i in range(5000))[:50000] + "}",
    "50k characters of prose": "so " * 16000 + "done",
    "unclosed braces": r"\boxed{\frac{1}{2" + "{" * 2000,
    "deep nesting": r"\boxed{" + r"\sqrt{" * 500 + "2" + "}" * 501,
}


@pytest.mark.timeout(120)
def test_hostile_inputs_return_within_their_deadline_from_a_non_main_thread():
    out = {}

    def run():
        out["results"] = verify_math_batch(list(HOSTILE.values()), ["1"] * len(HOSTILE), deadline=2)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    results = dict(zip(HOSTILE, out["results"], strict=True))
    for name, result in results.items():
        assert result.status in {"timeout", "incorrect", "unparsable"}, (name, result)
        if result.status == "timeout":
            assert "2 s deadline" in result.error
    # A good pair after the hostile ones is still answered: killed workers were replaced.
    assert verify_math(r"\boxed{2}", "2").status == "correct"


def test_pure_helpers():
    assert as_latex("7\\pi") == "\\boxed{7\\pi}"
    assert as_latex("$7$") == "$7$"
    assert answer_region("x <answer> </answer> y") == ("x <answer> </answer> y", "response")
    assert has_marker("Final answer: 3") and not has_marker("3")
