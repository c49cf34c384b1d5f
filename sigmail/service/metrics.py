"""Prometheus series of the service (``GET /metrics``), all prefixed ``sigmail_``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "sigmail_http_requests",
            "HTTP requests answered, by route and status",
            ["route", "status"],
            registry=r,
        )
        self.verdicts = Counter(
            "sigmail_verdicts", "Verdicts given, by verdict", ["verdict"], registry=r
        )
        self.latency = Histogram(
            "sigmail_verify_seconds",
            "Time from the end of the upload to the answer of one verification",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.upload_bytes = Histogram(
            "sigmail_upload_bytes",
            "Size of the documents verified",
            buckets=(1e3, 1e4, 1e5, 1e6, 1e7, 6.4e7),
            registry=r,
        )
        self.in_flight = Gauge(
            "sigmail_verifications_in_flight", "Verifications running or waiting", registry=r
        )
        self.queue_depth = Gauge(
            "sigmail_queue_depth", "Verifications waiting for a worker", registry=r
        )
        self.rejected = Counter(
            "sigmail_rejected",
            "Requests refused before verification, by reason",
            ["reason"],
            registry=r,
        )
        self.revocation_fetches = Counter(
            "sigmail_revocation_fetches",
            "CRL/OCSP/AIA network requests made by the workers",
            registry=r,
        )
        self.revocation_cache_hits = Counter(
            "sigmail_revocation_cache_hits",
            "Revocation lookups answered from the cache (memory or disk) without a fetch",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
