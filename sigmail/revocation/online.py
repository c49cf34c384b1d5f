"""Revocation evidence over HTTP: OCSP first, then CRLs, and AIA caIssuers certificates.

Responses are cached in memory and on disk until their ``nextUpdate``; failures are cached until
a retry time, so a dead responder costs one timeout, not one per message. The source only
*collects* evidence: judging it (signatures, scope, freshness at the wanted time) is the chain
validator's job, so a wrong or stale answer here can never make a certificate good.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509

from sigmail.errors import ConfigError
from sigmail.revocation.cache import DiskCache, Entry, cached_issuers, ocsp_cache_key
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    IssuerLookup,
    RevocationItem,
    RevocationLookup,
)
from sigmail.revocation.responses import (
    crl_next_update,
    ocsp_next_update,
    ocsp_request,
    published_certificates,
    to_der_crl,
)
from sigmail.revocation.transport import HttpTransport, Transport, describe
from sigmail.revocation.urls import crl_urls, ocsp_urls

__all__ = ["OnlineRevocation"]


class OnlineRevocation:
    """Fetches OCSP (preferred) and CRLs over HTTP, caching each until its ``nextUpdate``.

    ``clock`` is the real time by default; cache freshness is a question about *now*, not
    about the validation time. ``transport`` is injectable so unit tests need no server.
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
        retry_delay: timedelta = timedelta(minutes=15),
        default_ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] | None = None,
        transport: Transport | None = None,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.default_ttl = default_ttl
        self.clock = clock or (lambda: datetime.now(UTC))
        self.transport = transport or HttpTransport(max_bytes=max_bytes)
        self._disk = DiskCache(cache_dir) if cache_dir is not None else None
        self._memory: dict[str, Entry] = {}
        self._failures: dict[str, FetchFailure] = {}
        self._issuers: dict[str, tuple[datetime, IssuerLookup]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # network requests made, for tests and logs

    # -- one URL ---------------------------------------------------------------------------
    def _fresh(self, entry: Entry | None, now: datetime) -> bool:
        return entry is not None and (entry.next_update is None or now < entry.next_update)

    def _get(
        self,
        key: str,
        url: str,
        kind: EvidenceKind,
        body: Callable[[], bytes] | None,
        disk_path: Path | None,
    ) -> RevocationItem | FetchFailure:
        """``body`` makes the POST body (an OCSP request) only when a fetch is needed."""
        now = self.clock()
        with self._lock:
            entry = self._memory.get(key)
            if self._fresh(entry, now):
                return entry.item
            failure = self._failures.get(key)
            if (
                failure is not None
                and failure.retry_after is not None
                and now < failure.retry_after
            ):
                return failure
        parse_next = crl_next_update if kind is EvidenceKind.CRL else ocsp_next_update
        if disk_path is not None and self._disk is not None:
            der = self._disk.read(disk_path)
            if der:
                try:
                    entry = Entry(RevocationItem(kind, der, "cache", url), parse_next(der))
                except (ValueError, TypeError, KeyError, IndexError):
                    entry = None
                if self._fresh(entry, now):
                    with self._lock:
                        self._memory[key] = entry
                    return entry.item
        try:
            with self._lock:
                self.fetches += 1
            der = self.transport(url, body() if body is not None else None, self.timeout)
            if kind is EvidenceKind.CRL:
                der = to_der_crl(der)
            next_update = parse_next(der)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:  # URLError is OSError
            failure = FetchFailure(url, kind, describe(exc), retry_after=now + self.retry_delay)
            with self._lock:
                self._failures[key] = failure
            return failure
        entry = Entry(
            RevocationItem(kind, der, "fetched", url), next_update or now + self.default_ttl
        )
        with self._lock:
            self._memory[key] = entry
            self._failures.pop(key, None)
        if disk_path is not None and self._disk is not None:
            self._disk.write(disk_path, der)
        return entry.item

    # -- RevocationSource ------------------------------------------------------------------
    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        items: list[RevocationItem] = []
        failures: list[FetchFailure] = []
        for url in ocsp_urls(cert):
            key = "ocsp:" + ocsp_cache_key(url, cert, issuer)
            disk = self._disk.ocsp_path(key[5:]) if self._disk else None
            got = self._get(key, url, EvidenceKind.OCSP, lambda: ocsp_request(cert, issuer), disk)
            (items if isinstance(got, RevocationItem) else failures).append(got)
            if isinstance(got, RevocationItem):
                return RevocationLookup(items=tuple(items))
        for url in crl_urls(cert):
            disk = self._disk.crl_path(url) if self._disk else None
            got = self._get("crl:" + url, url, EvidenceKind.CRL, None, disk)
            (items if isinstance(got, RevocationItem) else failures).append(got)
            if isinstance(got, RevocationItem):
                break
        return RevocationLookup(items=tuple(items), failures=tuple(failures))

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """The certificates at an AIA caIssuers URL, cached in memory and on disk."""
        now = self.clock()
        key = "aia:" + url
        with self._lock:
            cached = self._issuers.get(key)
            if cached is not None and now < cached[0]:
                return cached[1]
            failure = self._failures.get(key)
            if (
                failure is not None
                and failure.retry_after is not None
                and now < failure.retry_after
            ):
                return IssuerLookup(failure=failure)
        on_disk = cached_issuers(self._disk, url)
        if on_disk.certificates:
            found = on_disk
        else:
            try:
                with self._lock:
                    self.fetches += 1
                data = self.transport(url, None, self.timeout)
                found = IssuerLookup(tuple(published_certificates(data)))
            except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
                failure = FetchFailure(
                    url, EvidenceKind.ISSUER, describe(exc), now + self.retry_delay
                )
                with self._lock:
                    self._failures[key] = failure
                return IssuerLookup(failure=failure)
            if self._disk is not None:
                self._disk.write(self._disk.issuer_path(url), data)
        with self._lock:
            # Issuer certificates change rarely; a day is how long a fetched one is reused.
            self._issuers[key] = (now + timedelta(days=1), found)
        return found
