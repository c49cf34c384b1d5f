"""Reuse of successful chain validations across documents from the same signer.

A success at time *t* stays a success for every *t'* inside the window where nothing it
relied on changes: all certificates in validity, all revocation evidence before its
``nextUpdate``, and before any revocation the evidence announces for later. The cache keeps
that window with the result and answers only inside it, so an explicit validation time is
honoured exactly. Failures are not cached.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from asn1crypto import x509

from sigmail.frozen_copy import changed
from sigmail.revocation.evidence import RevocationItem
from sigmail.trust.certificates import der_sha256
from sigmail.trust.chain_types import ChainParams, ChainResult
from sigmail.trust.store import TrustStore

__all__ = ["ChainCache"]


def _window(result: ChainResult) -> tuple[datetime, datetime]:
    lo = max(c["tbs_certificate"]["validity"]["not_before"].native for c in result.path)
    hi = min(c["tbs_certificate"]["validity"]["not_after"].native for c in result.path)
    for status in result.revocation:
        if status is None:
            continue
        if status.next_update is not None:
            hi = min(hi, status.next_update)
        if status.revoked_at is not None:
            hi = min(hi, status.revoked_at)
    return lo, hi


def _params_text(params: ChainParams) -> bytes:
    """repr(params), for the key: a few parameter sets recur (documents, timestamps), and a
    frozen dataclass's repr is built field by field every time."""
    try:
        return _remembered_params_text(params)
    except TypeError:  # a caller's ChainParams holding a list: not hashable, not remembered
        return repr(params).encode()


@functools.lru_cache(maxsize=64)
def _remembered_params_text(params: ChainParams) -> bytes:
    return repr(params).encode()


class ChainCache:
    """A bounded, thread-safe LRU of successful :class:`ChainResult` with validity windows."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[bytes, tuple[datetime, datetime, ChainResult]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        revocation_items: Sequence[RevocationItem],
        trust: TrustStore,
        params: ChainParams,
    ) -> bytes:
        h = hashlib.sha256()
        h.update(der_sha256(leaf))
        for cert_digest in sorted(der_sha256(c) for c in intermediates):
            h.update(cert_digest)
        h.update(b"|")
        for digest in sorted(item.sha256 for item in revocation_items):
            h.update(digest.encode())
        h.update(b"|" + trust.identity.encode() + b"|" + _params_text(params))
        return h.digest()

    def get(self, key: bytes, at: datetime) -> ChainResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                lo, hi, result = entry
                if lo <= at < hi:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return changed(result, at=at)
            self.misses += 1
            return None

    def put(self, key: bytes, result: ChainResult) -> None:
        if not result.ok or not result.path:
            return
        lo, hi = _window(result)
        with self._lock:
            self._entries[key] = (lo, hi, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
