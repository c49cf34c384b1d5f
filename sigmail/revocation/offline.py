"""Revocation evidence from a local directory only; never touches the network."""

from __future__ import annotations

import os
import threading
from datetime import datetime

from asn1crypto import x509

from sigmail.revocation.cache import DiskCache, cached_issuers, ocsp_cache_key
from sigmail.revocation.evidence import (
    EvidenceKind,
    IssuerLookup,
    RevocationItem,
    RevocationLookup,
)
from sigmail.revocation.responses import to_der_crl
from sigmail.revocation.urls import ocsp_urls

__all__ = ["OfflineRevocation"]


class OfflineRevocation:
    """Evidence from a local directory only; never touches the network.

    The directory is the one :class:`~sigmail.revocation.online.OnlineRevocation` fills, plus
    any ``*.crl`` dropped anywhere in it.
    """

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._disk = DiskCache(cache_dir) if cache_dir is not None else None
        self._by_issuer: dict[str, list[bytes]] | None = None
        self._lock = threading.Lock()

    def _loose_crls(self) -> dict[str, list[bytes]]:
        """CRLs dropped anywhere in the directory, indexed by issuer name (loaded once)."""
        with self._lock:
            if self._by_issuer is None:
                # Parsed with the names normalised once per encoding (trust/certificates.py):
                # the CRLs of one CA share its name.
                from sigmail.trust.certificates import stable_crl

                index: dict[str, list[bytes]] = {}
                if self._disk is not None:
                    for path in sorted(self._disk.root.rglob("*.crl")):
                        try:
                            der = to_der_crl(path.read_bytes())
                            issuer = stable_crl(der).issuer.hashable
                        except (OSError, ValueError, TypeError, KeyError):
                            continue
                        index.setdefault(issuer, []).append(der)
                self._by_issuer = index
            return self._by_issuer

    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        if self._disk is None:
            return RevocationLookup()
        items: dict[bytes, RevocationItem] = {}
        for url in ocsp_urls(cert):
            der = self._disk.read(self._disk.ocsp_path(ocsp_cache_key(url, cert, issuer)))
            if der:
                items[der] = RevocationItem(EvidenceKind.OCSP, der, "cache", url)
        for der in self._loose_crls().get(cert.issuer.hashable, ()):
            items.setdefault(der, RevocationItem(EvidenceKind.CRL, der, "cache"))
        return RevocationLookup(items=tuple(items.values()))

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """Issuer certificates fetched earlier into the cache directory (never the network)."""
        return cached_issuers(self._disk, url)
