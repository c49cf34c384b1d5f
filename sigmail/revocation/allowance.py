"""The network one verification may use: at most ``max_network_fetches`` fetches and
``max_network_seconds`` of waiting on the network (:class:`sigmail.limits.Limits`).

A message can name as many OCSP, CRL and caIssuers URLs as its sender likes; without a
per-message allowance one message could keep the fetching layer busy for minutes. The
:class:`~sigmail.verifier.Verifier` opens an allowance around each verification
(:func:`fetch_allowance`); the online source charges it for every fetch it makes and for the
time it waits on another thread's fetch of the same URL, and answers "unreachable" once it is
spent. Cached answers cost nothing.

The allowance travels in a :mod:`contextvars` variable rather than as an argument, so every
wrapper between the verifier and the online source (the evidence recorder, a caller's own)
passes it on without knowing about it. Outside a verification there is none, and fetching is
limited only by the source's own timeouts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sigmail.limits import Limits

__all__ = ["FetchAllowance", "current_allowance", "fetch_allowance"]


class FetchAllowance:
    """What is left of one verification's network allowance. Thread-safe."""

    __slots__ = ("_lock", "fetches", "max_fetches", "max_seconds", "seconds")

    def __init__(self, max_fetches: int, max_seconds: float) -> None:
        self.max_fetches = max_fetches
        self.max_seconds = max_seconds
        self.fetches = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def remaining_seconds(self) -> float:
        with self._lock:
            return self.max_seconds - self.seconds

    def begin_fetch(self) -> float | str:
        """Count one fetch: the seconds it may take, or why it may not be made."""
        with self._lock:
            if self.fetches >= self.max_fetches:
                return f"fetch budget exhausted: max_network_fetches = {self.max_fetches}"
            left = self.max_seconds - self.seconds
            if left <= 0:
                return f"fetch budget exhausted: max_network_seconds = {self.max_seconds:g}"
            self.fetches += 1
            return left

    def spend(self, seconds: float) -> None:
        with self._lock:
            self.seconds += max(seconds, 0.0)

    def exhausted_time(self) -> str:
        return f"fetch budget exhausted: max_network_seconds = {self.max_seconds:g}"


_CURRENT: ContextVar[FetchAllowance | None] = ContextVar("sigmail_fetch_allowance", default=None)


def current_allowance() -> FetchAllowance | None:
    """The allowance of the verification running in this context, if any."""
    return _CURRENT.get()


@contextmanager
def fetch_allowance(limits: Limits) -> Iterator[FetchAllowance]:
    """One verification's allowance for the duration of the ``with`` block (an enclosing one,
    if a verification is already running in this context, is kept: it is the same message)."""
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    allowance = FetchAllowance(limits.max_network_fetches, limits.max_network_seconds)
    token = _CURRENT.set(allowance)
    try:
        yield allowance
    finally:
        _CURRENT.reset(token)
