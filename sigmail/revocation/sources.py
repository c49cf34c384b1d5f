"""Where revocation evidence comes from besides the signed object itself (the names of the
modules below, kept importable from here).

* :class:`OfflineRevocation` (:mod:`.offline`) — no network: CRLs (and OCSP responses) from a
  local cache directory (:mod:`.cache`), the one :class:`OnlineRevocation` fills, plus any
  ``*.crl`` dropped into it.
* :class:`OnlineRevocation` (:mod:`.online`) — OCSP first, then CRLs, and AIA caIssuers
  certificates over HTTP (:mod:`.transport`).

Names are imported on first use, so an offline run never imports the HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "HttpTransport",
    "OfflineRevocation",
    "OnlineRevocation",
    "ca_issuer_urls",
    "crl_urls",
    "ocsp_urls",
    "published_certificates",
]

_HOMES = {
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
    from sigmail.revocation.offline import OfflineRevocation
    from sigmail.revocation.online import OnlineRevocation
    from sigmail.revocation.responses import published_certificates
    from sigmail.revocation.transport import HttpTransport
    from sigmail.revocation.urls import ca_issuer_urls, crl_urls, ocsp_urls
