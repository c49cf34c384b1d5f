"""Revocation evidence: the CRLs and OCSP responses a chain is judged with.

The core never fetches anything. Evidence reaches it in two ways: embedded in the signed object
(CMS ``crls``/RFC 5940 OCSP, PDF DSS) and from a :class:`RevocationSource` the caller injects —
:class:`sigmail.revocation.offline.OfflineRevocation` (a local CRL cache directory, no network)
or :class:`sigmail.revocation.online.OnlineRevocation` (HTTP, cached by ``nextUpdate``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from asn1crypto import x509

__all__ = [
    "EvidenceKind",
    "FetchFailure",
    "IssuerLookup",
    "IssuerSource",
    "RevocationItem",
    "RevocationLookup",
    "RevocationSource",
]


class EvidenceKind(StrEnum):
    CRL = "crl"
    OCSP = "ocsp"
    ISSUER = "issuer"  # an AIA caIssuers certificate (only in FetchFailure)


@dataclass(frozen=True, slots=True)
class RevocationItem:
    """One DER-encoded CRL or OCSPResponse, with where it came from."""

    kind: EvidenceKind
    der: bytes = field(repr=False)
    origin: str  # "embedded" | "fetched" | "cache" | "supplied"
    url: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A responder that could not be used; ``retry_after`` says when to try again."""

    url: str
    kind: EvidenceKind
    error: str
    retry_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class RevocationLookup:
    items: tuple[RevocationItem, ...] = ()
    failures: tuple[FetchFailure, ...] = ()


@runtime_checkable
class RevocationSource(Protocol):
    """Supplies revocation evidence for one certificate, given its issuer.

    ``at`` is the time the status is wanted for (the proven signing time, or the validation
    time). Implementations must not raise for network problems: they report them as
    :class:`FetchFailure` so the verdict can be ``indeterminate`` with a retry time.
    """

    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup: ...


@dataclass(frozen=True, slots=True)
class IssuerLookup:
    """Certificates published at a caIssuers URL (RFC 5280 §4.2.2.1), or why not."""

    certificates: tuple[x509.Certificate, ...] = ()
    failure: FetchFailure | None = None


@runtime_checkable
class IssuerSource(Protocol):
    """Fetches the issuer certificates a certificate's AIA caIssuers URL points to, so a chain
    whose intermediate was not sent can still be built. What it returns is only a candidate:
    the chain validator checks every signature."""

    def fetch_issuers(self, url: str) -> IssuerLookup: ...
