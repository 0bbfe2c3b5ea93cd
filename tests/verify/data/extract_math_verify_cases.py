"""Regenerate math_verify_cases.jsonl from math-verify's own test suite (its sdist ships tests/).

    pip download --no-binary :all: --no-deps math-verify==0.9.0 && tar xzf math_verify-0.9.0.tar.gz
    python tests/verify/data/extract_math_verify_cases.py math_verify-0.9.0/tests > tests/verify/data/math_verify_cases.jsonl

Keeps the (gold, pred, expected) cases of the test functions that call ``compare_strings`` with
math-verify's default extraction (LaTeX and expressions, default precision), which is what
``verify_math`` uses; the cases are read from the ``parametrize`` lists, not executed.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

DEFAULT_CALL = "match_types=['latex', 'expr']) == expected"


def cases(tests_dir: Path):
    for path in sorted(tests_dir.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef) or not ast.unparse(node).endswith(DEFAULT_CALL):
                continue
            for decorator in node.decorator_list:
                if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"):
                    continue
                names = [n.strip() for n in ast.literal_eval(decorator.args[0]).split(",")]
                if names[:3] != ["gold", "pred", "expected"]:
                    continue
                for gold, pred, expected, *_ in ast.literal_eval(decorator.args[1]):
                    yield {"gold": gold, "pred": pred, "expected": bool(expected),
                           "source": f"math-verify 0.9.0 tests/{path.name}::{node.name}"}


if __name__ == "__main__":
    for case in cases(Path(sys.argv[1])):
        print(json.dumps(case, ensure_ascii=False))
