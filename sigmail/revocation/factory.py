"""The one place a revocation source is made from configuration: the CLI's ``verify`` and
``audit``, the mail filter and the audit workers all call :func:`revocation_source`, so a new
fetching option (the SSRF allow-list, a timeout) reaches every front-end at once.

The online source is imported only when asked for: an offline run never imports urllib3.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from sigmail.revocation.evidence import RevocationSource

__all__ = ["revocation_source"]


def revocation_source(
    *,
    offline: bool,
    cache_dir: str | os.PathLike[str] | None = None,
    timeout: float = 5.0,
    fetch_allow: Iterable[str] = (),
) -> RevocationSource:
    """Offline (the cache directory only) or online (fetching, to the public Internet plus the
    ``fetch_allow`` networks). Raises ConfigError for a bad network or timeout."""
    allow = fetch_allow if isinstance(fetch_allow, str) else tuple(fetch_allow)
    if offline:
        from sigmail.revocation.offline import OfflineRevocation

        if allow != ():  # a bad entry is refused now, not at the first online run
            from sigmail.revocation.addresses import NetworkPolicy

            NetworkPolicy(allow=allow)
        return OfflineRevocation(cache_dir)
    from sigmail.revocation.online import OnlineRevocation

    return OnlineRevocation(cache_dir=cache_dir, timeout=timeout, allow_networks=allow)
