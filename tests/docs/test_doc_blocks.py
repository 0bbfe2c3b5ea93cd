"""Every Python and shell block in README.md and docs/ runs in CI, or says why it cannot.

A block runs as written (Python in a fresh interpreter, shell with ``bash -euo pipefail``, both in
an empty temporary folder) unless the line right above its fence marks it::

    <!-- doc-test: KIND: reason -->

KIND is one of :data:`KINDS` -- ``gpu``, ``hub`` (downloads a model or dataset), ``server`` (talks
to a running server), ``covered`` (long or needs the user's files; say where it runs instead),
``sketch`` (shows a call shape with placeholders) or ``synopsis`` (a command's usage grammar).
A marked block is still checked as far as a CPU machine allows: Python blocks run their imports,
shell blocks have every ``rmr1`` sub-command and ``--option`` looked up in its ``--help``, every
``python -m``/``-m`` module found, and every repository file and recipe they name found. So a
renamed function, a missing import or a renamed option fails CI either way.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON, SHELL = {"python", "py", "pycon"}, {"bash", "sh", "shell", "console"}
KINDS = {"gpu", "hub", "server", "covered", "sketch", "synopsis"}
MARK = re.compile(r"<!--\s*doc-test:\s*(\w+)\s*:?\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)```(\w*)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    code: str
    kind: str | None
    reason: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The Python and shell blocks of one Markdown file, with their marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, language = match.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        if language in PYTHON | SHELL:
            above = lines[i - 1] if i else ""
            mark = MARK.search(above)
            code = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in lines[i + 1:end])
            found.append(Block(path, i + 1, language, code, mark and mark.group(1), (mark and mark.group(2)) or ""))
        i = end + 1
    return found


ALL = [b for path in DOCS for b in blocks(path)]


def test_the_collector_finds_the_blocks():
    assert len(ALL) >= 20 and {b.language for b in ALL} & PYTHON and {b.language for b in ALL} & SHELL


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_a_mark_names_a_known_kind_and_a_reason(block):
    if block.kind is not None:
        assert block.kind in KINDS, f"{block.id}: unknown doc-test kind {block.kind!r}; use one of {sorted(KINDS)}"
        assert len(block.reason) >= 10, f"{block.id}: say why the block cannot run in CI"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters"), *sys.path]),
            "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _imports_only(code: str) -> str:
    """The block's import statements (a sketch with ``f(x=..., ...)`` placeholders may not parse)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "\n".join(line for line in code.splitlines() if re.match(r"(import|from) \w", line))
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))


PY_BLOCKS = [b for b in ALL if b.language in PYTHON]
SH_BLOCKS = [b for b in ALL if b.language in SHELL]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("block", PY_BLOCKS, ids=lambda b: b.id)
def test_python_block(block, tmp_path):
    if block.code.lstrip().startswith(">>>"):
        import doctest

        test = doctest.DocTestParser().get_doctest(block.code, {}, block.id, str(block.path), block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0, f"{block.id}: doctest failed (output above)"
        return
    code = block.code if block.kind is None else _imports_only(block.code)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                            timeout=280)
    assert result.returncode == 0, f"{block.id} ({block.kind or 'runs'}):\n{result.stderr[-3000:]}"


def _commands(code: str) -> list[list[str]]:
    """Simple commands of a shell block (continuations joined, comments and env assignments dropped)."""
    text = re.sub(r"\\\n", " ", code)
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        for part in re.split(r"&&|\|\||;|\|(?!\|)|&\s", line):
            try:
                words = shlex.split(part.strip().rstrip("&"))
            except ValueError:
                words = part.split()
            while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
                words = words[1:]
            if words and words[0] == "export":
                continue
            if words:
                commands.append(words)
    return commands


@functools.cache
def _help(subcommand: str) -> str:
    result = subprocess.run([sys.executable, "-m", "rmr1_plugin", *subcommand.split(), "--help"], env=_env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"`rmr1 {subcommand} --help` failed:\n{result.stderr[-2000:]}"
    return result.stdout


def _static_problems(block: Block) -> list[str]:
    problems = []
    for words in _commands(block.code):
        if words[0] == "rmr1" and len(words) > 1 and not words[1].startswith("-"):
            if words[1] not in ROOT_SUBCOMMANDS():
                problems.append(f"`rmr1 {words[1]}` is no rmr1 command")
                continue
            # `rmr1 verify math|code` has sub-commands of its own.
            command = " ".join(words[1:3]) if words[1] == "verify" and len(words) > 2 else words[1]
            help_text = _help(command)
            for word in words[2:]:
                option = word.split("=", 1)[0]
                if option.startswith("--") and not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text):
                    problems.append(f"`rmr1 {command}` has no option {option}")
        for k, word in enumerate(words[:-1]):
            if word == "-m":
                module = words[k + 1]
                top = module.split(".")[0]
                if importlib.util.find_spec(top) is not None and importlib.util.find_spec(module) is None:
                    problems.append(f"no module {module}")
            if word in ("--config", "--config-path"):
                path = words[k + 1].replace("$PWD/", "")
                if not (ROOT / path).exists():
                    problems.append(f"{word} {path}: no such file or folder in the repository")
            if word == "--config-name":
                config_path = next((words[j + 1] for j in range(len(words) - 1) if words[j] == "--config-path"), None)
                if config_path and not (ROOT / config_path.replace("$PWD/", "") / f"{words[k + 1]}.yaml").exists():
                    problems.append(f"no recipe {config_path}/{words[k + 1]}.yaml")
        if words[0] in ("python", "python3", "bash") and len(words) > 1 and words[1].endswith((".py", ".sh")):
            if not (ROOT / words[1]).exists():
                problems.append(f"{words[1]}: no such file in the repository")
    return problems


@functools.cache
def ROOT_SUBCOMMANDS() -> frozenset[str]:
    result = subprocess.run([sys.executable, "-m", "rmr1_plugin", "--help"], env=_env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    return frozenset(re.findall(r"^    ([a-z][a-z-]+) ", result.stdout, flags=re.M))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("block", SH_BLOCKS, ids=lambda b: b.id)
def test_shell_block(block, tmp_path):
    assert _static_problems(block) == [], block.id
    if block.kind is not None:
        return
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=tmp_path, env=_env(),
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, f"{block.id}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
