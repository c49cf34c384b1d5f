"""Revocation evidence over HTTP: OCSP first, then CRLs, and AIA caIssuers certificates.

Responses are cached in memory and on disk until their ``nextUpdate``; failures are cached until
a retry time, so a dead responder costs one timeout, not one per message. Concurrent lookups of
one URL share one fetch (single-flight). Each fetch is charged to the running verification's
:mod:`allowance <sigmail.revocation.allowance>`, and goes only to addresses the
:class:`~sigmail.revocation.addresses.NetworkPolicy` allows.

The source only *collects* evidence: judging it (signatures, scope, freshness at the wanted
time) is the chain validator's job, so a wrong or stale answer here can never make a
certificate good.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeGuard

from asn1crypto import x509

from sigmail.bounded_cache import BoundedCache
from sigmail.errors import ConfigError
from sigmail.revocation.addresses import IPNetwork, NetworkPolicy
from sigmail.revocation.allowance import FetchAllowance, current_allowance
from sigmail.revocation.cache import DiskCache, Entry, cached_issuers, ocsp_cache_key
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    IssuerLookup,
    RevocationItem,
    RevocationLookup,
)
from sigmail.revocation.failures import FetchDenied
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

_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def _weigh_entry(key: str, entry: Entry) -> int:
    return len(key) + len(entry.item.der)


def _weigh_failure(key: str, value: tuple[datetime, FetchFailure]) -> int:
    return len(key) + len(value[1].url) + len(value[1].error) + 200


def _weigh_issuers(key: str, value: tuple[datetime, IssuerLookup]) -> int:
    # parsed certificates hold about 27 times their encoding
    return len(key) + 27 * sum(len(c.dump()) for c in value[1].certificates) + 200


class _Flight:
    """One fetch in progress; the callers that arrive meanwhile wait for its result."""

    __slots__ = ("done", "result", "shared")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.shared = False  # False: the result was about the leader's own budget


class OnlineRevocation:
    """Fetches OCSP (preferred) and CRLs over HTTP, caching each until its ``nextUpdate``.

    ``clock`` is the real time by default; cache freshness is a question about *now*, not
    about the validation time. ``timeout`` bounds one fetch, redirects included.

    Where it may connect: the public Internet only by default; ``allow_networks`` opens
    networks the deny-list closes (e.g. ``["10.20.0.0/16"]`` for an internal CRL mirror,
    ``["127.0.0.1/32"]`` for the test PKI), ``deny_networks`` closes more (see
    :mod:`sigmail.revocation.addresses`). Both configure the default transport; a
    ``transport`` given instead (unit tests need no server) brings its own.
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
        allow_networks: Iterable[str | IPNetwork] = (),
        deny_networks: Iterable[str | IPNetwork] = (),
        max_redirects: int = 3,
        max_cached_urls: int = 10_000,
        max_cached_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        if max_redirects < 0:
            raise ConfigError("max_redirects must not be negative")
        allow, deny = tuple(_listed(allow_networks)), tuple(_listed(deny_networks))
        if transport is not None and (allow or deny):
            raise ConfigError("allow_networks/deny_networks configure the default transport only")
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.default_ttl = default_ttl
        self.clock = clock or (lambda: datetime.now(UTC))
        self.transport = transport or HttpTransport(
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            network=NetworkPolicy.parse(allow=allow, deny=deny),
        )
        self._disk = DiskCache(cache_dir) if cache_dir is not None else None
        # URLs come from certificates anyone can make, and a response may be up to max_bytes:
        # bounded by count and by bytes (the cached DER, parsed issuer certificates).
        self._memory: BoundedCache[str, Entry] = BoundedCache(
            max_entries=max_cached_urls, max_weight=max_cached_bytes, weigh=_weigh_entry
        )
        self._failures: BoundedCache[str, tuple[datetime, FetchFailure]] = BoundedCache(
            max_entries=max_cached_urls, max_weight=16 * 1024 * 1024, weigh=_weigh_failure
        )
        self._issuers: BoundedCache[str, tuple[datetime, IssuerLookup]] = BoundedCache(
            max_entries=max_cached_urls, max_weight=max_cached_bytes, weigh=_weigh_issuers
        )
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # network fetches made, for tests and logs

    # -- caches (call with the lock held) --------------------------------------------------
    def _fresh(self, entry: Entry | None, now: datetime) -> TypeGuard[Entry]:
        return entry is not None and (entry.next_update is None or now < entry.next_update)

    def _failure(self, key: str, now: datetime) -> FetchFailure | None:
        cached = self._failures.get(key)
        return cached[1] if cached is not None and now < cached[0] else None

    def _remember_failure(self, key: str, failure: FetchFailure, now: datetime) -> None:
        # A denied URL has no retry time (retrying will not help), but is remembered as long
        # as a failed one, so a message naming it again costs no DNS lookup.
        with self._lock:
            self._failures.replace(key, (failure.retry_after or now + self.retry_delay, failure))

    # -- one URL, once for all concurrent callers ------------------------------------------
    def _fetch(
        self,
        key: str,
        url: str,
        kind: EvidenceKind,
        body: Callable[[], bytes] | None,
        accept: Callable[[bytes], Any],
        cached: Callable[[], Any],
        now: datetime,
    ) -> Any:
        """``accept`` turns the response into the result (and caches it), raising a parse
        error when it is no evidence; ``cached`` (called with the lock held) answers from the
        caches, if they can. Returns what they return, or a FetchFailure."""
        allowance = current_allowance()
        while True:
            with self._lock:
                hit = cached()
                if hit is not None:
                    return hit
                flight = self._flights.get(key)
                leading = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
            if leading:
                try:
                    flight.result, flight.shared = self._lead(
                        key, url, kind, body, accept, now, allowance
                    )
                finally:
                    with self._lock:
                        del self._flights[key]
                    flight.done.set()
                return flight.result
            wait = allowance.remaining_seconds() if allowance is not None else None
            if allowance is not None and wait is not None and wait <= 0:
                return FetchFailure(url, kind, allowance.exhausted_time())
            started = time.monotonic()
            finished = flight.done.wait(wait)
            if allowance is not None:
                allowance.spend(time.monotonic() - started)
            if not finished and allowance is not None:  # only a wait with a timeout ends so
                return FetchFailure(url, kind, allowance.exhausted_time())
            if flight.shared:
                return flight.result
            # The leader ran out of its own budget: nothing was learnt; look again, or lead.

    def _lead(
        self,
        key: str,
        url: str,
        kind: EvidenceKind,
        body: Callable[[], bytes] | None,
        accept: Callable[[bytes], Any],
        now: datetime,
        allowance: FetchAllowance | None,
    ) -> tuple[Any, bool]:
        """The fetch itself: (result, shared). A result that only says this verification's
        allowance ran out is not shared with waiters nor cached."""
        timeout, squeezed = self.timeout, False
        if allowance is not None:
            grant = allowance.begin_fetch()
            if isinstance(grant, str):
                return FetchFailure(url, kind, grant), False
            if grant < timeout:
                timeout, squeezed = grant, True
        with self._lock:
            self.fetches += 1
        started = time.monotonic()
        try:
            return accept(self.transport(url, body() if body is not None else None, timeout)), True
        except FetchDenied as exc:
            failure = FetchFailure(url, kind, describe(exc))
        except (OSError, *_PARSE_ERRORS) as exc:
            if squeezed and allowance is not None and isinstance(exc, TimeoutError):
                # Timed out on what was left of this message's allowance, not on the
                # responder's own timeout: say so, and do not hold it against the responder.
                return FetchFailure(url, kind, allowance.exhausted_time()), False
            failure = FetchFailure(url, kind, describe(exc), retry_after=now + self.retry_delay)
        finally:
            if allowance is not None:
                allowance.spend(time.monotonic() - started)
        self._remember_failure(key, failure, now)
        return failure, True

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

        def cached() -> RevocationItem | FetchFailure | None:
            entry = self._memory.get(key)
            if self._fresh(entry, now):
                return entry.item
            return self._failure(key, now)

        with self._lock:
            hit = cached()
        if hit is not None:
            return hit
        parse_next = crl_next_update if kind is EvidenceKind.CRL else ocsp_next_update
        if disk_path is not None and self._disk is not None:
            der = self._disk.read(disk_path)
            if der:
                entry: Entry | None
                try:
                    entry = Entry(RevocationItem(kind, der, "cache", url), parse_next(der))
                except _PARSE_ERRORS:
                    entry = None
                if self._fresh(entry, now):
                    with self._lock:
                        self._memory.replace(key, entry)
                    return entry.item

        def accept(data: bytes) -> RevocationItem:
            der = to_der_crl(data) if kind is EvidenceKind.CRL else data
            next_update = parse_next(der)
            entry = Entry(
                RevocationItem(kind, der, "fetched", url), next_update or now + self.default_ttl
            )
            with self._lock:
                self._memory.replace(key, entry)
                self._failures.pop(key, None)
            if disk_path is not None and self._disk is not None:
                self._disk.write(disk_path, der)
            return entry.item

        return self._fetch(key, url, kind, body, accept, cached, now)

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
            if isinstance(got, RevocationItem):
                items.append(got)
                return RevocationLookup(items=tuple(items))
            failures.append(got)
        for url in crl_urls(cert):
            disk = self._disk.crl_path(url) if self._disk else None
            got = self._get("crl:" + url, url, EvidenceKind.CRL, None, disk)
            if isinstance(got, RevocationItem):
                items.append(got)
                break
            failures.append(got)
        return RevocationLookup(items=tuple(items), failures=tuple(failures))

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """The certificates at an AIA caIssuers URL, cached in memory and on disk."""
        now = self.clock()
        key = "aia:" + url

        def cached() -> IssuerLookup | None:
            found = self._issuers.get(key)
            if found is not None and now < found[0]:
                return found[1]
            failure = self._failure(key, now)
            return IssuerLookup(failure=failure) if failure is not None else None

        def keep(found: IssuerLookup) -> IssuerLookup:
            with self._lock:
                # Issuer certificates change rarely; a day is how long a fetched one is reused.
                self._issuers.replace(key, (now + timedelta(days=1), found))
                self._failures.pop(key, None)
            return found

        with self._lock:
            hit = cached()
        if hit is not None:
            return hit
        on_disk = cached_issuers(self._disk, url)
        if on_disk.certificates:
            return keep(on_disk)

        def accept(data: bytes) -> IssuerLookup:
            found = IssuerLookup(tuple(published_certificates(data)))
            if self._disk is not None:
                self._disk.write(self._disk.issuer_path(url), data)
            return keep(found)

        got = self._fetch(key, url, EvidenceKind.ISSUER, None, accept, cached, now)
        return IssuerLookup(failure=got) if isinstance(got, FetchFailure) else got


def _listed(networks: Iterable[str | IPNetwork]) -> list[str | IPNetwork]:
    if isinstance(networks, str):
        raise ConfigError(f"a list of networks is needed, not the string {networks!r}")
    return list(networks)
