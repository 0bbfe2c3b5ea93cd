"""The FastAPI app: routes, admission, idempotency, deadlines, auth, error bodies, metrics.

The judging itself is the :class:`~rmr1_plugin.server.service.RewardService`'s job; this module
only decides *whether and when* a request is judged and how every outcome is answered:

====================================  ======  =====================================================
outcome                               status  body
====================================  ======  =====================================================
judged                                200     the response model; ``Idempotent-Replayed: true`` on
                                              an answer reused for a retry
malformed or over a field limit       422     ``error`` names the field (``pairs[3].answer_a: ...``)
over the judge-work budget            422     ``error`` says how much work and the budget
body over ``max_body_bytes``          413     ``error``
body not received in time             408     ``error``
missing/wrong bearer token            401     ``error``; ``WWW-Authenticate: Bearer`` (all
                                              paths but ``/health``, checked first)
more than one Authorization header    400     ``error``
Idempotency-Key reused for other work 422     ``error``
unknown path, wrong method            404/405 ``error``
queue full                            429     ``error``; ``Retry-After`` seconds
judge backend failed, or gave no      503     ``error`` with the reason; ``Retry-After``
verdict in a whole group
deadline passed                       504     ``error``
a bug                                 500     ``error`` without internals (they go to the log)
====================================  ======  =====================================================

Every answer other than 200 has the same shape: ``{"error": "<sentence>"}``, plus ``detail`` (a
list of pydantic-style errors) for validation errors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from rmr1_plugin.backends.base import BackendUnavailableError
from rmr1_plugin.server.admission import Admission, QueueFull
from rmr1_plugin.server.auth import token_matches
from rmr1_plugin.server.idempotency import MAX_KEY_LENGTH, IdempotencyStore, KeyReused, fingerprint
from rmr1_plugin.server.metrics import ServerMetrics
from rmr1_plugin.server.models import (
    JudgeRequest,
    JudgeResponse,
    LimitError,
    RewardRequest,
    RewardResponse,
    ScoreRequest,
    ScoreResponse,
    check_limits,
    format_loc,
)
from rmr1_plugin.server.service import NoVerdict, RewardService
from rmr1_plugin.server.settings import ServerSettings

log = logging.getLogger("rmr1_plugin.server")

R = TypeVar("R", bound=BaseModel)

#: Header a client sets to shorten its request's deadline (seconds, at most ``max_timeout_s``).
TIMEOUT_HEADER = "X-Request-Timeout"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Paths that answer without the bearer token (load balancers probe them).
OPEN_PATHS = frozenset({"/health"})
#: Seconds a client should wait before retrying after a backend failure.
BACKEND_RETRY_AFTER = 5


class HTTPProblem(Exception):
    """An answer other than 200, with the sentence that explains it."""

    def __init__(
        self,
        status: int,
        error: str,
        headers: dict[str, str] | None = None,
        detail: list[dict[str, Any]] | None = None,
    ):
        self.status, self.error, self.headers, self.detail = status, error, headers or {}, detail
        super().__init__(error)


def create_app(service: RewardService, settings: ServerSettings | None = None) -> FastAPI:
    """The reward server's ASGI app around ``service``.

    >>> from rmr1_plugin.backends import make_backend                                # doctest: +SKIP
    >>> service = RewardService(make_backend("replay", path="judge.jsonl"))          # doctest: +SKIP
    >>> app = create_app(service, ServerSettings(max_active=8))                       # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)                                 # doctest: +SKIP
    """
    settings = settings or ServerSettings()
    metrics = ServerMetrics()
    admission = Admission(settings.max_active, settings.max_queued)
    store: IdempotencyStore[BaseModel] = IdempotencyStore(
        settings.idempotency_ttl_s, settings.idempotency_max_entries
    )
    health_cache: dict[str, Any] = {"at": -1.0, "reason": None, "probe": None}
    token = settings.token.get_secret_value() if settings.token is not None else None
    service.attach(metrics, admission.slot)

    app = FastAPI(
        title="rmr1 reward server",
        summary="RM-R1 reasoning judges as a reward service: pairwise judgments, group rewards, "
        "OpenRLHF's remote reward protocol.",
        version="0.1.0",
    )
    app.state.settings, app.state.metrics, app.state.admission = settings, metrics, admission
    app.state.idempotency, app.state.service = store, service

    # --- error answers ----------------------------------------------------------------------

    @app.exception_handler(HTTPProblem)
    async def _problem(_: Request, exc: HTTPProblem) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.error}
        if exc.detail is not None:
            body["detail"] = exc.detail
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(LimitError)
    async def _over_limit(_: Request, exc: LimitError) -> JSONResponse:
        detail = [{"loc": ["body", *exc.loc], "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"error": str(exc), "detail": detail}, status_code=422)

    @app.exception_handler(BackendUnavailableError)
    async def _backend_down(request: Request, exc: BackendUnavailableError) -> JSONResponse:
        error = str(exc) if isinstance(exc, NoVerdict) else f"judge backend failed: {exc}"
        log.warning("%s answered 503: %s", request.url.path, error)
        return JSONResponse(
            {"error": error}, status_code=503, headers={"Retry-After": str(BACKEND_RETRY_AFTER)}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _framework(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # The framework's own answers (unknown path, wrong method, unreadable body) in our shape.
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # The details are for the log only: exception text can hold paths, hosts or request data.
        log.exception("%s failed unexpectedly", request.url.path)
        return JSONResponse(
            {"error": "internal error; the server log has the details"}, status_code=500
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_plain_error(e) for e in exc.errors()]
        sentence = "; ".join(f"{format_loc(e['loc'])}: {e['msg']}" for e in errors[:5])
        if len(errors) > 5:
            sentence += f"; and {len(errors) - 5} more"
        return JSONResponse({"error": sentence, "detail": errors}, status_code=422)

    # --- the pipeline every judging request goes through ------------------------------------

    def deadline_of(request: Request) -> float:
        raw = request.headers.get(TIMEOUT_HEADER)
        if raw is None:
            return settings.timeout_s
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value <= settings.max_timeout_s:
            raise HTTPProblem(
                400,
                f"header {TIMEOUT_HEADER} must be seconds in (0, {settings.max_timeout_s:g}], "
                f"got {raw!r}",
            )
        return value

    def idempotency_key(request: Request) -> str | None:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return None
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise HTTPProblem(
                400,
                f"header {IDEMPOTENCY_HEADER} must be 1-{MAX_KEY_LENGTH} printable "
                f"characters, got {key[:40]!r}",
            )
        return key

    async def handle(
        request: Request,
        endpoint: str,
        body: BaseModel,
        work: Callable[[], Awaitable[R]],
        *,
        calls: int,
        holds_slot: bool = True,
    ) -> Response:
        """Admit (or refuse with 429), run under the deadline, answer once per idempotency key.

        ``calls``: the most judge calls the request can take; it weighs the request's admission.
        ``holds_slot=False``: the request keeps its queue place but the work takes judging slots
        itself (groups gathered across requests must not hold slots while they wait).
        """
        timeout = deadline_of(request)
        key = idempotency_key(request)
        print_ = fingerprint(endpoint, body.model_dump(mode="json"))
        task: asyncio.Future[Any] | None = None
        if key is not None:
            try:
                task = store.lookup(key, print_)
            except KeyReused as exc:
                raise HTTPProblem(422, str(exc)) from None
        replayed = task is not None
        if task is None:
            try:
                ticket = admission.enter(math.ceil(calls / settings.calls_per_slot))
            except QueueFull as exc:
                metrics.rejected.labels(reason="queue_full").inc()
                raise HTTPProblem(429, str(exc), {"Retry-After": str(exc.retry_after)}) from None

            async def job() -> R:
                if not holds_slot:
                    return await work()
                async with ticket:
                    _gauges()
                    try:
                        return await work()
                    finally:
                        _gauges()

            async def bounded() -> R:
                try:
                    return await asyncio.wait_for(job(), timeout)
                except TimeoutError:
                    raise HTTPProblem(
                        504,
                        f"deadline of {timeout:g} s passed before the judge finished "
                        f"(set {TIMEOUT_HEADER} to allow more)",
                    ) from None

            task = (
                store.start(key, print_, bounded)
                if key is not None
                else asyncio.ensure_future(bounded())
            )
            task.add_done_callback(lambda _: (ticket.cancel(), _gauges()))
            _gauges()
        else:
            metrics.replayed.inc()
            log.info("%s: Idempotency-Key %r answered from the first request", endpoint, key)
        result = await asyncio.shield(task)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(result.model_dump(mode="json"), headers=headers)

    def _gauges() -> None:
        metrics.active.set(admission.active)
        metrics.queued.set(admission.queued)

    def budget(calls: int, field: str) -> int:
        if calls > settings.max_request_calls:
            raise LimitError(
                (field,),
                f"the request needs up to {calls} judge calls, over the per-request budget of "
                f"{settings.max_request_calls} (--max-request-calls); split it into smaller "
                "requests or ask for fewer comparisons (strategy, max_calls)",
            )
        return calls

    def limits(items: list[Any], field: str) -> None:
        check_limits(
            items,
            field,
            max_items=settings.max_items,
            max_chars=settings.max_chars,
            max_group=settings.max_group,
        )

    # --- routes -------------------------------------------------------------------------------

    @app.post("/judge", response_model=JudgeResponse, summary="judge pairs of answers")
    async def judge(body: JudgeRequest, request: Request) -> Response:
        limits(body.pairs, "pairs")
        calls = budget(service.judge_work(body), "pairs")
        return await handle(request, "/judge", body, lambda: service.judge(body), calls=calls)

    @app.post(
        "/score", response_model=ScoreResponse, summary="one reward per completion, per group"
    )
    async def score(body: ScoreRequest, request: Request) -> Response:
        limits(body.groups, "groups")
        service.check_strategy(body.strategy)
        calls = budget(service.score_work(body), "groups")
        return await handle(request, "/score", body, lambda: service.score(body), calls=calls)

    @app.post(
        "/get_reward", response_model=RewardResponse, summary="OpenRLHF remote reward protocol"
    )
    async def get_reward(body: RewardRequest, request: Request) -> Response:
        if len(body.query) > settings.max_items:
            raise LimitError(
                ("query",),
                f"{len(body.query)} items, over the limit of {settings.max_items} per request",
            )
        for name in ("query", "prompts", "labels"):
            for i, text in enumerate(getattr(body, name) or []):
                if text is not None and len(text) > settings.max_chars:
                    raise LimitError(
                        (name, i), f"{len(text)} characters, over the limit of {settings.max_chars}"
                    )
        calls = budget(service.reward_work(body), "query")
        return await handle(
            request,
            "/get_reward",
            body,
            lambda: service.reward(body),
            calls=calls,
            holds_slot=service.collector is None,
        )

    async def probe() -> str | None:
        """The backend's state: ``None`` when ready, else why not. One probe at a time: callers
        that arrive while it runs share its answer, so a hanging backend is asked once."""
        try:
            await asyncio.wait_for(service.probe(), settings.health_timeout_s)
            reason = None
        except TimeoutError:
            reason = f"judge backend did not answer within {settings.health_timeout_s:g} s"
        except Exception as exc:  # any probe failure means "not ready"
            reason = f"judge backend failed: {exc}"
        if reason is not None:
            log.warning("/health: %s", reason)
        health_cache.update(at=time.monotonic(), reason=reason, probe=None)
        return reason

    @app.get("/health", summary="ready when the judge backend answers")
    async def health(request: Request) -> JSONResponse:
        reason = health_cache["reason"]
        if time.monotonic() - health_cache["at"] > settings.health_cache_s:
            if health_cache["probe"] is None:
                health_cache["probe"] = asyncio.ensure_future(probe())
            if health_cache["at"] < 0 or health_cache["probe"].done():
                reason = await asyncio.shield(health_cache["probe"])
            # else: answer from the last probe while the next one runs (behind the judge work in
            # the backend's queue, a probe can take long; /health itself must stay fast)
        status = 200 if reason is None else 503
        body: dict[str, Any] = {"status": "ready" if reason is None else "unavailable"}
        # Without auth everyone may see the details; with it, only callers with the token.
        if token is None or token_matches(request.headers.get("authorization"), token):
            body.update(model=service.model_id, active=admission.active, queued=admission.queued)
            if reason is not None:
                body["error"] = reason
        return JSONResponse(body, status_code=status)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus(request: Request) -> Response:
        _gauges()
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_Edge, settings=settings, metrics=metrics)
    return app


def _plain_error(error: dict[str, Any]) -> dict[str, Any]:
    """A pydantic error as JSON-safe ``loc``/``msg``/``type``, worded for people."""
    kind, msg = error.get("type", ""), str(error.get("msg", ""))
    if kind == "json_invalid":
        where = (error.get("ctx") or {}).get("error", "")
        return {
            "loc": ["body"],
            "msg": f"invalid JSON{f' ({where})' if where else ''}",
            "type": kind,
        }
    return {
        "loc": list(error.get("loc", ())),
        "msg": msg.removeprefix("Value error, "),
        "type": kind,
    }


class _Edge:
    """The ASGI layer that sees every request: body size limit and request metrics."""

    def __init__(self, app: Callable, settings: ServerSettings, metrics: ServerMetrics):
        self.app, self.settings, self.metrics = app, settings, metrics
        self.token = settings.token.get_secret_value() if settings.token is not None else None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.metrics.endpoint(scope.get("path", ""))
        started = time.perf_counter()
        status = {"code": 500}

        async def send_recorded(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            authorizations = [v for k, v in scope.get("headers", []) if k == b"authorization"]
            if len(authorizations) > 1:
                await _send_json(
                    send_recorded,
                    400,
                    {"error": "more than one Authorization header; send exactly one"},
                )
                return
            if self.token is not None and scope.get("path") not in OPEN_PATHS:
                header = (authorizations[0] if authorizations else b"").decode("latin-1")
                if not token_matches(header, self.token):
                    await _send_json(
                        send_recorded,
                        401,
                        {
                            "error": "missing or wrong bearer token (send 'Authorization: Bearer <token>')"
                        },
                        [(b"www-authenticate", b"Bearer")],
                    )
                    return
            try:
                body = await asyncio.wait_for(
                    _read_limited(scope, receive, self.settings.max_body_bytes),
                    self.settings.body_timeout_s,
                )
            except TimeoutError:
                await _send_json(
                    send_recorded,
                    408,
                    {
                        "error": "request body not received within "
                        f"{self.settings.body_timeout_s:g} s"
                    },
                    [(b"connection", b"close")],
                )
                return
            if body is None:
                await _send_json(
                    send_recorded,
                    413,
                    {
                        "error": f"request body over the limit of {self.settings.max_body_bytes} bytes"
                    },
                )
                return
            await self.app(scope, _replay(body), send_recorded)
        finally:
            self.metrics.requests.labels(endpoint=endpoint, status=str(status["code"])).inc()
            self.metrics.latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)


async def _read_limited(scope: dict, receive: Callable, limit: int) -> bytes | None:
    """The whole request body, or ``None`` when it is (or claims to be) over ``limit`` bytes."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Callable:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, the app only asks again to learn of a disconnect; never answer that.
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive


async def _send_json(
    send: Callable, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
