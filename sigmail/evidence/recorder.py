"""Watching one verification: which chains it validated with what, and which evidence it asked for.

Two seams of the core are enough, so the core itself knows nothing of bundles:

* :class:`RecordingRevocation` wraps the caller's :class:`RevocationSource` and remembers every
  lookup — certificate, issuer, the time asked about — and its answer (items *and* failures),
  whatever the inner source is (online, offline cache, none).
* :class:`RecordingChainCache` is the :class:`~sigmail.trust.chain_cache.ChainCache` the
  capture verifier is built with. It never answers from memory, so every chain is validated
  afresh and every revocation lookup really happens (a cache hit would skip it and the bundle
  would miss evidence), and it remembers what each validation was given — leaf, offered
  certificates, embedded CRLs/OCSP — and what it concluded: the path and the anchor.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from sigmail.revocation.evidence import (
    IssuerLookup,
    IssuerSource,
    RevocationItem,
    RevocationLookup,
    RevocationSource,
)
from sigmail.trust.chain_cache import ChainCache
from sigmail.trust.chain_types import ChainParams, ChainResult
from sigmail.trust.store import TrustStore

__all__ = [
    "RecordedLookup",
    "RecordedValidation",
    "RecordingChainCache",
    "RecordingRevocation",
]


@dataclass(frozen=True, slots=True)
class RecordedLookup:
    """One question asked of the revocation source, and its answer."""

    certificate: x509.Certificate
    issuer: x509.Certificate
    at: datetime
    answer: RevocationLookup


@dataclass(frozen=True, slots=True)
class RecordedValidation:
    """One chain validation: what it was given and what it found."""

    purpose: str  # "signature" | "timestamp"
    leaf: x509.Certificate
    offered: tuple[x509.Certificate, ...]  # certificates carried with the signature or token
    embedded: tuple[RevocationItem, ...]  # CRLs/OCSP responses carried with them
    result: ChainResult


class RecordingRevocation:
    """A :class:`RevocationSource` that asks ``inner`` (if any) and records every lookup, and
    every AIA caIssuers fetch (:class:`IssuerSource`) when ``inner`` can make them."""

    def __init__(self, inner: RevocationSource | None) -> None:
        self.inner = inner
        self.lookups: list[RecordedLookup] = []
        self.issuer_fetches: list[tuple[str, IssuerLookup]] = []
        self._lock = threading.Lock()

    def fetch_issuers(self, url: str) -> IssuerLookup:
        inner = self.inner
        answer = inner.fetch_issuers(url) if isinstance(inner, IssuerSource) else IssuerLookup()
        with self._lock:
            self.issuer_fetches.append((url, answer))
        return answer

    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        answer = self.inner.lookup(cert, issuer, at=at) if self.inner is not None else None
        answer = answer if answer is not None else RevocationLookup()
        with self._lock:
            self.lookups.append(RecordedLookup(cert, issuer, at, answer))
        return answer


class RecordingChainCache(ChainCache):
    """A chain cache that never hits and records every validation made through it.

    It relies on the cache protocol of :meth:`VerificationContext.validate_chain`: ``key`` is
    computed from the validation's inputs, then ``get``, then ``put(key, result)`` with the
    result of that same validation.
    """

    def __init__(self) -> None:
        super().__init__(max_entries=1)
        self.validations: list[RecordedValidation] = []
        self._pending: dict[bytes, list[tuple]] = {}
        self._record_lock = threading.Lock()

    def key(  # type: ignore[override]  # an instance method here: it records its inputs
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        revocation_items: Sequence[RevocationItem],
        trust: TrustStore,
        params: ChainParams,
    ) -> bytes:
        key = ChainCache.key(leaf, intermediates, revocation_items, trust, params)
        purpose = "timestamp" if "time_stamping" in params.required_leaf_eku else "signature"
        with self._record_lock:
            self._pending.setdefault(key, []).append(
                (purpose, leaf, tuple(intermediates), tuple(revocation_items))
            )
        return key

    def get(self, key: bytes, at: datetime) -> ChainResult | None:
        with self._record_lock:
            self.misses += 1
        return None

    def put(self, key: bytes, result: ChainResult) -> None:
        with self._record_lock:
            waiting = self._pending.get(key)
            if not waiting:
                return
            purpose, leaf, offered, embedded = waiting.pop(0)
            self.validations.append(RecordedValidation(purpose, leaf, offered, embedded, result))
