"""Why a fetch failed. Internal: the online source turns these into
:class:`~sigmail.revocation.evidence.FetchFailure` records; they never reach a caller.

They are ``OSError``s, like the socket errors an injected transport may raise, and
:class:`~sigmail.errors.InputSignal`s: what a certificate points at is input, handled inside."""

from __future__ import annotations

from sigmail.errors import InputSignal

__all__ = ["FetchDenied", "FetchError", "FetchTimeout"]


class FetchError(InputSignal, OSError):
    """A fetch that failed; the message is the reason shown in the finding."""


class FetchDenied(FetchError):
    """The URL's scheme, or an address its host is or resolves to, is not allowed: no
    connection was made."""


class FetchTimeout(FetchError, TimeoutError):
    """The fetch did not finish within its deadline."""
