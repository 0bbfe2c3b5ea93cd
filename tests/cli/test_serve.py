"""``rmr1 serve``'s command line: help that explains, clear errors before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rmr1_plugin.cli import build_parser
from rmr1_plugin.cli.serve import backend_options, read_token


def rmr1(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rmr1_plugin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_help_lists_routes_limits_and_auth():
    result = rmr1("serve", "--help")
    assert result.returncode == 0
    for text in (
        "/judge",
        "/score",
        "/get_reward",
        "/health",
        "/metrics",
        "--max-queued",
        "429",
        "Idempotency-Key",
        "RMR1_SERVER_TOKEN",
        "--graceful-timeout",
    ):
        assert text in result.stdout, text


def test_backend_options_parse_json_values_and_refuse_malformed_ones():
    args = build_parser().parse_args(
        [
            "serve",
            "--backend",
            "openai",
            "--model",
            "judge",
            "--base-url",
            "http://a/v1",
            "--base-url",
            "http://b/v1",
            "--backend-option",
            "timeout=2.5",
            "--backend-option",
            "api_key=abc",
        ]
    )
    assert backend_options(args) == {
        "model": "judge",
        "base_urls": ["http://a/v1", "http://b/v1"],
        "timeout": 2.5,
        "api_key": "abc",
    }
    args.backend_option = ["no-equals-sign"]
    with pytest.raises(ValueError, match="KEY=VALUE"):
        backend_options(args)


def test_token_comes_from_a_file_or_the_environment(tmp_path, monkeypatch):
    args = build_parser().parse_args(["serve", "--backend", "replay"])
    monkeypatch.setenv("RMR1_SERVER_TOKEN", "from-env")
    assert read_token(args) == "from-env"
    (tmp_path / "token").write_text("from-file\n")
    args.token_file = str(tmp_path / "token")
    assert read_token(args) == "from-file"
    (tmp_path / "empty").write_text("\n")
    args.token_file = str(tmp_path / "empty")
    with pytest.raises(ValueError, match="empty"):
        read_token(args)


def test_a_missing_replay_file_stops_before_serving(tmp_path):
    result = rmr1(
        "serve",
        "--backend",
        "replay",
        "--backend-option",
        f"path={tmp_path / 'absent.jsonl'}",
        "--port",
        "1",
    )
    assert result.returncode == 2
    assert "absent.jsonl" in result.stderr
