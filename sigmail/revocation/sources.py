"""The old home of the revocation sources (before sigmail.revocation was split), kept
importable: every name resolves as :mod:`sigmail.revocation` resolves it, on first use, so an
offline run still never imports the HTTP stack."""

from __future__ import annotations

from sigmail.revocation import __all__, __dir__, __getattr__  # noqa: F401
