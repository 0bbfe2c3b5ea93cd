"""A small client of the reward server (``rmr1 serve``), for adapters whose judge is remote.

Each call gets one ``Idempotency-Key`` that every retry of it reuses, so a retry after a timeout
or a dropped connection is answered from the first attempt instead of being judged again.
Retries (with exponential backoff and jitter, honouring ``Retry-After``) cover connection errors,
429 (queue full), 502/503 (backend down) and 504 (deadline); other answers raise at once.

>>> from rmr1_plugin.client import RewardClient                               # doctest: +SKIP
>>> with RewardClient("http://127.0.0.1:8000", token="s3cret") as client:      # doctest: +SKIP
...     verdicts = client.judge([{"question": "2+2?", "answer_a": "4", "answer_b": "5"}])
...     verdicts.results[0].winner
'A'
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from rmr1_plugin.server.models import JudgeResponse, RewardResponse, ScoreResponse

M = TypeVar("M", bound=BaseModel)

#: Statuses worth retrying: the same request can succeed later.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RewardServerError(RuntimeError):
    """The server refused or failed a request; ``status`` is the HTTP status (``None`` when it
    could not be reached) and the message is the server's own explanation."""

    def __init__(self, status: int | None, message: str):
        self.status = status
        super().__init__(
            f"reward server {'unreachable' if status is None else f'answered {status}'}: {message}"
        )


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): the server's ``Retry-After``
    when it sent one, else full-jitter exponential backoff, never over ``cap``.

    >>> backoff_delay(3, base=0.5, cap=30.0, retry_after="2")
    2.0
    >>> 0 <= backoff_delay(10, base=0.5, cap=30.0) <= 30.0
    True
    """
    if retry_after is not None:
        try:
            return min(cap, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return (rng or random).uniform(0, min(cap, base * 2**attempt))


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    return str(body.get("error", body)) if isinstance(body, dict) else str(body)


def _judge_body(
    pairs: Sequence[Mapping[str, Any]], include_text: bool, partial: bool
) -> dict[str, Any]:
    return {"pairs": list(pairs), "include_text": include_text, "partial": partial}


def _score_body(
    groups: Sequence[Mapping[str, Any]], strategy: str | None, max_calls: int | None, partial: bool
) -> dict[str, Any]:
    body = {
        "groups": list(groups),
        "partial": partial,
        "strategy": strategy,
        "max_calls": max_calls,
    }
    return {k: v for k, v in body.items() if v is not None}


def _reward_body(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[str | None] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"query": list(queries)}
    if prompts is not None:
        body["prompts"] = list(prompts)
    if labels is not None:
        body["labels"] = list(labels)
    return body


class _Base:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 600.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        request_timeout: float | None = None,
    ):
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        if request_timeout is not None:
            self.headers["X-Request-Timeout"] = f"{request_timeout:g}"

    def _wait(
        self, attempt: int, response: httpx.Response | None, error: Exception | None
    ) -> float:
        """Seconds to wait before retrying a failed attempt; raises :class:`RewardServerError`
        when the failure is not worth retrying or no retry is left."""
        if response is None:
            failure, retry_after = RewardServerError(None, f"{type(error).__name__}: {error}"), None
        else:
            failure, retry_after = (
                RewardServerError(response.status_code, _error_text(response)),
                response.headers.get("retry-after"),
            )
            if response.status_code not in RETRY_STATUSES:
                raise failure
        if attempt >= self.retries:
            raise failure
        return backoff_delay(
            attempt, base=self.backoff, cap=self.max_backoff, retry_after=retry_after
        )


class RewardClient(_Base):
    """Blocking client; use as a context manager or call :meth:`close`."""

    def __init__(self, base_url: str, **options: Any):
        super().__init__(base_url, **options)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=self.timeout, headers=self.headers
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def judge(
        self,
        pairs: Sequence[Mapping[str, Any]],
        *,
        include_text: bool = False,
        partial: bool = False,
    ) -> JudgeResponse:
        """Judge pairs (``question``/``answer_a``/``answer_b`` or ``conversation_a``/``conversation_b``)."""
        return self._post("/judge", _judge_body(pairs, include_text, partial), JudgeResponse)

    def score(
        self,
        groups: Sequence[Mapping[str, Any]],
        *,
        strategy: str | None = None,
        max_calls: int | None = None,
        partial: bool = False,
    ) -> ScoreResponse:
        """Rewards per completion for groups of ``{"prompt", "completions", "reference"?}``."""
        return self._post(
            "/score", _score_body(groups, strategy, max_calls, partial), ScoreResponse
        )

    def get_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[str | None] | None = None,
    ) -> RewardResponse:
        """OpenRLHF's protocol: rewards for prompt+response texts."""
        return self._post("/get_reward", _reward_body(queries, prompts, labels), RewardResponse)

    def health(self) -> dict[str, Any]:
        """The server's readiness: ``{"status": "ready" | "unavailable", ...}`` (never raises on 503)."""
        return self._http.get("/health").json()

    def _post(self, path: str, body: dict[str, Any], model: type[M]) -> M:
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # one per call, the same for its retries
        for attempt in itertools.count():
            try:
                response = self._http.post(path, json=body, headers=headers)
            except httpx.TransportError as error:
                time.sleep(self._wait(attempt, None, error))
                continue
            if response.status_code == 200:
                return model.model_validate(response.json())
            time.sleep(self._wait(attempt, response, None))
        raise AssertionError("unreachable")  # pragma: no cover


class AsyncRewardClient(_Base):
    """The same client for asyncio code (``async with AsyncRewardClient(url) as client``)."""

    def __init__(self, base_url: str, **options: Any):
        super().__init__(base_url, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, headers=self.headers
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def judge(
        self,
        pairs: Sequence[Mapping[str, Any]],
        *,
        include_text: bool = False,
        partial: bool = False,
    ) -> JudgeResponse:
        return await self._post("/judge", _judge_body(pairs, include_text, partial), JudgeResponse)

    async def score(
        self,
        groups: Sequence[Mapping[str, Any]],
        *,
        strategy: str | None = None,
        max_calls: int | None = None,
        partial: bool = False,
    ) -> ScoreResponse:
        return await self._post(
            "/score", _score_body(groups, strategy, max_calls, partial), ScoreResponse
        )

    async def get_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[str | None] | None = None,
    ) -> RewardResponse:
        return await self._post(
            "/get_reward", _reward_body(queries, prompts, labels), RewardResponse
        )

    async def health(self) -> dict[str, Any]:
        return (await self._http.get("/health")).json()

    async def _post(self, path: str, body: dict[str, Any], model: type[M]) -> M:
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # one per call, the same for its retries
        for attempt in itertools.count():
            try:
                response = await self._http.post(path, json=body, headers=headers)
            except httpx.TransportError as error:
                await asyncio.sleep(self._wait(attempt, None, error))
                continue
            if response.status_code == 200:
                return model.model_validate(response.json())
            await asyncio.sleep(self._wait(attempt, response, None))
        raise AssertionError("unreachable")  # pragma: no cover
