"""Revocation evidence and where it comes from.

* :mod:`.evidence` — the types the core judges with (no I/O);
* :mod:`.urls`, :mod:`.responses` — what certificates point at and what responders serve
  (pure functions);
* :mod:`.cache`, :mod:`.offline` — the cache directory and the source that only reads it;
* :mod:`.online`, :mod:`.transport` — the source that fetches, and its HTTP client.

Names are imported on first use: importing the package (or the chain validator, which needs
only :mod:`.evidence` and :mod:`.urls`) never imports the HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "EvidenceKind",
    "FetchFailure",
    "HttpTransport",
    "IssuerLookup",
    "IssuerSource",
    "OfflineRevocation",
    "OnlineRevocation",
    "RevocationItem",
    "RevocationLookup",
    "RevocationSource",
    "ca_issuer_urls",
    "crl_urls",
    "ocsp_urls",
    "published_certificates",
]

_HOMES = {
    **dict.fromkeys(
        (
            "EvidenceKind",
            "FetchFailure",
            "IssuerLookup",
            "IssuerSource",
            "RevocationItem",
            "RevocationLookup",
            "RevocationSource",
        ),
        "sigmail.revocation.evidence",
    ),
    "HttpTransport": "sigmail.revocation.transport",
    "OfflineRevocation": "sigmail.revocation.offline",
    "OnlineRevocation": "sigmail.revocation.online",
    "ca_issuer_urls": "sigmail.revocation.urls",
    "crl_urls": "sigmail.revocation.urls",
    "ocsp_urls": "sigmail.revocation.urls",
    "published_certificates": "sigmail.revocation.responses",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


if TYPE_CHECKING:
    from sigmail.revocation.evidence import (
        EvidenceKind,
        FetchFailure,
        IssuerLookup,
        IssuerSource,
        RevocationItem,
        RevocationLookup,
        RevocationSource,
    )
    from sigmail.revocation.offline import OfflineRevocation
    from sigmail.revocation.online import OnlineRevocation
    from sigmail.revocation.responses import published_certificates
    from sigmail.revocation.transport import HttpTransport
    from sigmail.revocation.urls import ca_issuer_urls, crl_urls, ocsp_urls
