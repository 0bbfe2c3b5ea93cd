"""Completion text in TRL's two formats (standard strings, conversational message lists)."""

from __future__ import annotations

from typing import Any

from rmr1_plugin.verify.rewards import completion_text

__all__ = ["completion_text", "prompt_key"]


def prompt_key(prompt: Any) -> str:
    """A hashable identity for a prompt in either format (used to find a prompt's completions).

    >>> prompt_key([{"role": "user", "content": "Q"}]) == prompt_key([{"role": "user", "content": "Q"}])
    True
    """
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        return "\x1e".join(f"{m.get('role')}\x1f{m.get('content')}" for m in prompt)
    raise TypeError(f"a prompt must be a string or a list of chat messages, got {type(prompt).__name__}")
