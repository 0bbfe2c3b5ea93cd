"""The reward server's limits and options (one object, filled from ``rmr1 serve``'s flags)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ServerSettings(BaseModel):
    """Limits, deadlines, idempotency and auth of the reward server.

    >>> ServerSettings(max_active=2).max_queued
    64
    """

    model_config = ConfigDict(frozen=True)

    max_active: int = Field(4, ge=1, description="requests judged at once")
    max_queued: int = Field(64, ge=0, description="requests waiting for a slot; the next gets 429")
    max_body_bytes: int = Field(16 * 2**20, ge=1024, description="largest request body")
    max_items: int = Field(512, ge=1, description="pairs, groups or queries per request")
    max_group: int = Field(64, ge=2, description="completions per group")
    max_chars: int = Field(200_000, ge=1, description="characters per text field")
    timeout_s: float = Field(
        600.0, gt=0, description="deadline of a request without X-Request-Timeout"
    )
    max_timeout_s: float = Field(3600.0, gt=0, description="largest deadline a client may ask for")
    idempotency_ttl_s: float = Field(
        3600.0, gt=0, description="how long answers are kept for retries"
    )
    idempotency_max_entries: int = Field(100_000, ge=1)
    health_timeout_s: float = Field(
        30.0, gt=0, description="how long /health waits for the backend"
    )
    health_cache_s: float = Field(
        2.0, ge=0, description="how long a health probe's answer is reused"
    )
    max_request_calls: int = Field(
        32_768,
        ge=1,
        description="judge calls one request may need at most, summed over its pairs or groups",
    )
    calls_per_slot: int = Field(
        256, ge=1, description="expected judge calls per admission slot a request takes"
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="deadline for receiving a request body (then 408)"
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="deadline for receiving a request's headers (then the connection closes)"
    )
    max_connections: int = Field(
        1024, ge=1, description="open connections; more are answered 503 and closed"
    )
    token: SecretStr | None = Field(None, description="bearer token; auth is off when unset")
