"""Completion text in TRL's two formats (standard strings, conversational message lists)."""

from __future__ import annotations

from typing import Any


def completion_text(completion: Any) -> str:
    """The text of a completion given as a string or as chat messages (the assistant turns).

    >>> completion_text([{"role": "assistant", "content": "hi"}])
    'hi'
    >>> completion_text("plain")
    'plain'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and all(isinstance(m, dict) for m in completion):
        return "".join(str(m.get("content", "")) for m in completion if m.get("role", "assistant") == "assistant")
    raise TypeError(f"a completion must be a string or a list of chat messages, got {type(completion).__name__}")


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
