"""`rmr1 verify math|code`: JSONL in input order with ids, per-line errors, summary on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rmr1_plugin.cli import main


def _write(path, lines):
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


@pytest.mark.timeout(120)
def test_verify_math_example_ships_right_wrong_and_unparsable_answers(tmp_path):
    out = tmp_path / "out.jsonl"
    assert main(["verify", "math", "--example", "--deadline", "60", "--output", str(out)]) == 0
    status = {row["id"]: row["status"] for row in map(json.loads, out.read_text().splitlines())}
    assert status == {"fraction": "correct", "pi": "correct", "wrong-sum": "incorrect", "interval": "correct",
                      "no-answer": "unparsable"}


def test_verify_math_takes_an_input_or_the_example_not_both(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["verify", "math", "--example", "--input", str(tmp_path / "x.jsonl")])
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_verify_math_writes_one_line_per_input_in_order(tmp_path, capsys):
    source = _write(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "response": r"so \boxed{7\pi}", "gold": r"7\pi"},
            {"id": "b", "response": r"so \boxed{7}", "gold": r"7\pi"},
            "{not json",
            {"id": "d", "response": "x"},
            {"response": "The answer is 3.", "gold": "3"},
        ],
    )
    out = tmp_path / "out.jsonl"
    assert main(["verify", "math", "--input", str(source), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r.get("id"), r["status"], r["correct"]) for r in rows] == [
        ("a", "correct", True),
        ("b", "incorrect", False),
        (None, "error", False),
        ("d", "error", False),
        (None, "correct", True),
    ]
    assert rows[2]["error"].startswith("line 3: invalid JSON")
    assert rows[3]["error"] == "line 4: missing field 'gold'"
    assert all("seconds" in r for r in rows if r["status"] != "error")
    summary = capsys.readouterr().err
    assert "rmr1 verify math: 5 rows" in summary and "correct" in summary


@pytest.mark.timeout(120)
def test_verify_code_to_stdout(tmp_path):
    source = _write(
        tmp_path / "in.jsonl",
        [
            {"id": 1, "code": "def f(x):\n    return x + 1", "tests": "assert f(1) == 2"},
            {"id": 2, "code": "print(int(input()) * 2)", "inputs": ["2\n"], "outputs": ["4"]},
            {"id": 3, "code": 5, "tests": "assert True"},
            {"id": 4, "code": "import sys\nsys.exit(0)", "tests": "assert f(1) == 2"},
            {
                "id": 5,
                "code": "Sure:\n```python\ndef f(x):\n    return x + 1\n```",
                "tests": "assert f(1) == 2",
            },
        ],
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rmr1_plugin",
            "verify",
            "code",
            "--input",
            str(source),
            "--extract-code",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["status"], r["passed"]) for r in rows] == [
        (1, "passed", True),
        (2, "passed", True),
        (3, "error", False),
        (4, "failed", False),
        (5, "passed", True),
    ]
    assert rows[2]["error"] == "line 3: field 'code': expected a string, got int"
    assert rows[0]["isolation"]["sandbox"] == "local"
    assert "rmr1 verify code: 5 rows" in done.stderr


def test_help_explains_both_kinds(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert "rmr1 verify math --input" in text and "rmr1 verify code --input" in text


def test_a_missing_input_file_is_a_clear_error(tmp_path, capsys):
    assert main(["verify", "math", "--input", str(tmp_path / "nope.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err
