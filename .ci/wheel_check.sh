#!/usr/bin/env bash
# CI: what a user gets from the wheel. Build the sdist and, from it, the wheel (so the sdist must be
# complete too); install only the wheel into a fresh virtual environment; from a folder outside the
# repository run the quickstart smoke (the main job in its smoke size; its table goes to the log)
# and `rmr1 verify math --example` (package data shipped in the wheel).
#
#   bash .ci/wheel_check.sh [QUICKSTART_OUT]      # default: a temporary folder
#
# The venv sees the installed heavy dependencies (--system-site-packages: torch, TRL, verl are not
# reinstalled) but rmr1-plugin comes only from the wheel: the check fails if rmr1_plugin, rmr1_trl
# or rmr1_verl is imported from anywhere but the venv.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
QUICKSTART_OUT=$(realpath -m "${1:-$WORK/quickstart}")
unset PYTHONPATH   # the repository must not be importable

echo "== building the sdist and the wheel"
# No isolation: the installed setuptools builds it, nothing is downloaded.
python3 -m build --no-isolation --outdir "$WORK/dist" "$REPO" >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log"; exit 1; }
ls "$WORK/dist"
wheel=$(ls "$WORK"/dist/*.whl)

echo "== installing the wheel into a fresh virtual environment"
python3 -m venv --system-site-packages "$WORK/venv"
# --force-reinstall: a checkout installed (editable) in the system environment must not satisfy it.
"$WORK/venv/bin/python" -m pip install -q --no-deps --force-reinstall "$wheel" 2>&1 \
  | { grep -v "^WARNING: Location" || true; }   # pip's own status still fails the check (pipefail)

mkdir -p "$WORK/elsewhere" && cd "$WORK/elsewhere"
"$WORK/venv/bin/python" - "$WORK/venv" <<'EOF'
import sys
from pathlib import Path

import rmr1_plugin
import rmr1_trl
import rmr1_verl

venv = Path(sys.argv[1]).resolve()
for module in (rmr1_plugin, rmr1_trl, rmr1_verl):
    where = Path(module.__file__).resolve()
    if venv not in where.parents:
        sys.exit(f"FAIL: {module.__name__} imported from {where}, not from the wheel in {venv}")
print(f"rmr1_plugin from the wheel: {rmr1_plugin.__file__}")
EOF

echo "== rmr1 verify math --example (from $PWD)"
# A generous deadline: the first parse in each worker imports sympy, slow on a busy CI machine.
"$WORK/venv/bin/rmr1" verify math --example --deadline 60 --output results.jsonl
"$WORK/venv/bin/python" - <<'EOF'
import json
import sys

status = {row["id"]: row["status"] for row in map(json.loads, open("results.jsonl"))}
expected = {"fraction": "correct", "pi": "correct", "wrong-sum": "incorrect", "interval": "correct",
            "no-answer": "unparsable"}
if status != expected:
    sys.exit(f"FAIL: rmr1 verify math --example gave {status}, expected {expected}")
EOF

echo "== rmr1 quickstart --smoke (from $PWD)"
"$WORK/venv/bin/rmr1" quickstart --smoke --no-progress --out "$QUICKSTART_OUT"
echo "wheel check passed"
