"""OpenAI-compatible backend: vLLM ``serve``, SGLang, TRL's vLLM server, ``transformers serve``,
hosted APIs — anything that answers ``POST /v1/chat/completions``.

- Several base URLs scale out; each request goes to the endpoint with the fewest requests in
  flight (least outstanding requests), skipping endpoints that just refused a connection.
- Async with bounded concurrency (``max_concurrency`` requests in flight in total).
- Per-request timeout; transient failures (connection errors, timeouts, HTTP 408/409/429/5xx)
  are retried with exponential backoff and jitter, on another endpoint when there is one.
- When no endpoint accepts a connection, :class:`~rmr1_plugin.backends.BackendUnavailableError`
  names every URL tried. Other failures become per-conversation error generations.

>>> backend = OpenAIBackend(["http://127.0.0.1:8000/v1", "http://127.0.0.1:8001/v1"],
...                         model="RM-R1-7B", max_concurrency=128)             # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rmr1_plugin.backends.base import (
    BackendUnavailableError,
    Conversation,
    Generation,
    GenerationSettings,
    check_generations,
    run_sync,
)

log = logging.getLogger(__name__)

#: HTTP statuses worth retrying: the server is busy, restarting or momentarily confused.
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass
class _Endpoint:
    url: str
    outstanding: int = 0
    down_until: float = 0.0
    served: int = 0
    failures: int = 0
    last_error: str | None = None


@dataclass
class _LoopState:
    gate: asyncio.Semaphore
    clients: dict[str, Any]


class _Unreachable(Exception):
    pass


class OpenAIBackend:
    """Chat completions from one or more OpenAI-compatible servers.

    ``base_urls``: one URL or several (each ending in ``/v1`` as usual); ``model``: the served
    model name; ``timeout``: seconds per request; ``max_retries``: extra attempts after a
    transient failure; ``backoff``: first retry delay in seconds (doubling, capped at
    ``backoff_max``); ``down_for``: seconds an endpoint that refused a connection is skipped;
    ``extra_body``: extra JSON fields for every request (e.g. ``{"top_k": 20}`` for vLLM).
    """

    def __init__(
        self,
        base_urls: str | Sequence[str],
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 64,
        timeout: float = 600.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        down_for: float = 5.0,
        extra_body: dict[str, Any] | None = None,
        model_id: str | None = None,
    ):
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
            raise ValueError(f"base_urls must be one or more http(s) URLs, got {base_urls!r}")
        if not isinstance(model, str) or not model:
            raise ValueError("model (the served model name) is required")
        if max_concurrency < 1 or timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ValueError(
                f"need max_concurrency >= 1, timeout > 0, max_retries >= 0, backoff >= 0; got "
                f"{max_concurrency}, {timeout}, {max_retries}, {backoff}"
            )
        try:  # fail at construction, not at the first request
            import openai  # noqa: F401
        except ImportError as error:
            raise ImportError(f"the openai backend needs the openai client: pip install 'rmr1-plugin[openai]' ({error})") from error

        self.endpoints = [_Endpoint(url.rstrip("/")) for url in urls]
        self.model = model
        self.model_id = model_id or f"openai:{model}"
        self.api_key = api_key or "EMPTY"
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.down_for = down_for
        self.extra_body = dict(extra_body or {})
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._rng = random.Random(0)

    # --- protocol ----------------------------------------------------------------------------

    def generate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        return run_sync(self.agenerate(conversations, settings))

    async def agenerate(self, conversations: list[Conversation], settings: GenerationSettings) -> list[Generation]:
        state = self._loop_state()
        gate, clients = state.gate, state.clients
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._one(gate, clients, c, settings)) for c in conversations]
        except* _Unreachable:
            tried = "; ".join(f"{e.url} ({e.last_error})" for e in self.endpoints)
            raise BackendUnavailableError(
                f"no OpenAI-compatible server reachable for model {self.model!r}: {tried}. "
                "Is the server running (e.g. `vllm serve MODEL` or `transformers serve MODEL`) and is the URL right?"
            ) from None
        return check_generations("openai", conversations, [t.result() for t in tasks])

    async def aclose(self) -> None:
        """Close the clients (and their connections) this event loop opened."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await asyncio.gather(*(client.close() for client in state.clients.values()))

    def close(self) -> None:
        """Close the clients that sync calls opened."""
        run_sync(self.aclose())

    # --- internals ---------------------------------------------------------------------------

    def _client(self, url: str) -> Any:
        import openai

        return openai.AsyncOpenAI(base_url=url, api_key=self.api_key, timeout=self.timeout, max_retries=0)

    def _loop_state(self) -> _LoopState:
        """This event loop's concurrency bound (shared by all its batches) and clients (one per
        endpoint), kept for the loop's life: an httpx connection pool cannot outlive the loop it
        was opened in, but within it connections are reused (sync calls all share one loop, see
        ``run_sync``)."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState(asyncio.Semaphore(self.max_concurrency),
                                                   {e.url: self._client(e.url) for e in self.endpoints})
        return state

    def _pick(self, avoid: _Endpoint | None) -> _Endpoint:
        now = time.monotonic()
        up = [e for e in self.endpoints if e.down_until <= now and e is not avoid]
        if not up:
            up = [e for e in self.endpoints if e is not avoid] or self.endpoints
            return min(up, key=lambda e: e.down_until)
        fewest = min(e.outstanding for e in up)
        return self._rng.choice([e for e in up if e.outstanding == fewest])

    async def _one(self, gate: asyncio.Semaphore, clients: dict[str, Any], conversation: Conversation,
                   settings: GenerationSettings) -> Generation:
        import openai

        request = chat_request(self.model, conversation, settings)
        if self.extra_body:
            request["extra_body"] = self.extra_body

        endpoint: _Endpoint | None = None
        refused: set[str] = set()
        reason = "not attempted"
        async with gate:
            for attempt in range(self.max_retries + 1):
                if attempt:
                    delay = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
                    await asyncio.sleep(delay * (0.5 + self._rng.random()))
                endpoint = self._pick(avoid=endpoint if len(self.endpoints) > 1 else None)
                endpoint.outstanding += 1
                try:
                    response = await clients[endpoint.url].chat.completions.create(**request)
                except openai.APITimeoutError:
                    reason = f"timed out after {self.timeout:g} s at {endpoint.url}"
                except openai.APIConnectionError as error:
                    reason = f"cannot connect to {endpoint.url}: {error.__cause__ or error}"
                    endpoint.down_until = time.monotonic() + self.down_for
                    endpoint.last_error = str(error.__cause__ or error)
                    refused.add(endpoint.url)
                except openai.APIStatusError as error:
                    reason = f"HTTP {error.status_code} from {endpoint.url}: {_message(error)}"
                    if error.status_code not in TRANSIENT_STATUS:
                        endpoint.failures += 1
                        return Generation.failed(reason)
                else:
                    endpoint.served += 1
                    endpoint.down_until = 0.0
                    return generation_from_completion(response, endpoint.url)
                finally:
                    endpoint.outstanding -= 1
                endpoint.failures += 1
                log.info("openai backend: attempt %d/%d failed: %s", attempt + 1, self.max_retries + 1, reason)
        if refused and len(refused) == len(self.endpoints) and all(e.down_until > time.monotonic() for e in self.endpoints):
            raise _Unreachable(reason)
        return Generation.failed(f"{reason} (after {self.max_retries + 1} attempts)")


def chat_request(model: str, conversation: Conversation, settings: GenerationSettings) -> dict[str, Any]:
    """The JSON body of one ``/v1/chat/completions`` request (also what batch files hold).

    >>> body = chat_request("judge", [{"role": "user", "content": "Q"}], GenerationSettings(max_new_tokens=8))
    >>> body["model"], body["max_tokens"], body["temperature"]
    ('judge', 8, 0.0)
    """
    request: dict[str, Any] = {
        "model": model, "messages": conversation, "max_tokens": settings.max_new_tokens,
        "temperature": settings.temperature, "top_p": settings.top_p,
    }
    if settings.seed is not None:
        request["seed"] = settings.seed
    if settings.stop:
        request["stop"] = list(settings.stop)
    return request


def generation_from_completion(response: Any, url: str) -> Generation:
    """A :class:`Generation` from a chat-completion response object (``openai``'s ``ChatCompletion``)."""
    if not getattr(response, "choices", None):
        return Generation.failed(f"response from {url} has no choices")
    choice = response.choices[0]
    text = (choice.message.content if choice.message is not None else None) or ""
    usage = getattr(response, "usage", None)
    tokens = dict(prompt_tokens=getattr(usage, "prompt_tokens", None),
                  completion_tokens=getattr(usage, "completion_tokens", None))
    if choice.finish_reason == "length":
        return Generation(text=text, finish_reason="length", **tokens)
    if choice.finish_reason in ("stop", "eos", None):
        return Generation(text=text, finish_reason="stop", **tokens)
    return Generation(text=text, finish_reason="error", error=f"finish_reason {choice.finish_reason!r} from {url}",
                      **tokens)


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        detail = body.get("message") or body.get("detail") or body.get("error")
        if detail:
            return str(detail)[:300]
    return str(error)[:300]
