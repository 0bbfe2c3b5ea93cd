"""Prometheus metrics of the reward server, in a registry of their own (one per app, so tests and
several apps in one process do not collide).

Verdict-error rate in PromQL::

    rate(rmr1_verdicts_total{outcome="error"}[5m]) / rate(rmr1_verdicts_total[5m])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily

#: Paths with their own label; anything else is counted as "other" (bounded label cardinality).
ENDPOINTS = ("/judge", "/score", "/get_reward", "/health", "/metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ServerMetrics:
    """The counters, gauges and histograms the server keeps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rmr1_requests", "HTTP requests answered", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "rmr1_request_latency_seconds",
            "time from request to response",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "rmr1_rejected", "requests refused before any work", ["reason"], registry=r
        )
        self.replayed = Counter(
            "rmr1_idempotent_replays",
            "requests answered from an earlier request with the same Idempotency-Key",
            registry=r,
        )
        self.judge_calls = Counter(
            "rmr1_judge_calls", "judge generations sent to the backend", registry=r
        )
        self.backend_errors = Counter(
            "rmr1_backend_errors", "judge generations the backend failed", registry=r
        )
        self.verdicts = Counter(
            "rmr1_verdicts",
            "judge verdicts: A or B (/judge), decided (comparisons of ranked groups) or error",
            ["outcome"],
            registry=r,
        )
        self.verdict_error_ratio = Gauge(
            "rmr1_verdict_error_ratio", "share of verdicts without a winner since start", registry=r
        )
        self.active = Gauge("rmr1_requests_active", "requests being judged", registry=r)
        self.queued = Gauge("rmr1_requests_queued", "requests waiting for a judge slot", registry=r)
        self._verdict_total = 0
        self._verdict_errors = 0

    def track_cache_hits(self, hits: Callable[[], int]) -> None:
        """Export ``hits()`` (the judge cache's own counter) as ``rmr1_cache_hits_total``."""
        self.registry.register(_CacheHits(hits))

    def endpoint(self, path: str) -> str:
        return path if path in ENDPOINTS else "other"

    def observe_verdicts(self, winners: list[str | None]) -> None:
        """Count verdicts by outcome: ``A``, ``B`` or ``error`` (no winner)."""
        for winner in winners:
            self.verdicts.labels(outcome=winner or "error").inc()
        self._verdict_total += len(winners)
        self._verdict_errors += sum(w is None for w in winners)
        if self._verdict_total:
            self.verdict_error_ratio.set(self._verdict_errors / self._verdict_total)

    def observe_counts(self, decided: int, errors: int) -> None:
        """Count the comparisons of a ranked group (``/score``, ``/get_reward``): ``decided`` by
        the judge (``outcome="decided"``: the slot is not reported per group) and without a
        verdict (``outcome="error"``)."""
        if decided:
            self.verdicts.labels(outcome="decided").inc(decided)
        if errors:
            self.verdicts.labels(outcome="error").inc(errors)
        self._verdict_total += decided + errors
        self._verdict_errors += errors
        if self._verdict_total:
            self.verdict_error_ratio.set(self._verdict_errors / self._verdict_total)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CacheHits:
    """A collector reading the cache's counter at scrape time, so no code path can forget it."""

    def __init__(self, hits: Callable[[], int]):
        self._hits = hits

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "rmr1_cache_hits", "judge generations answered from the cache", value=self._hits()
        )
