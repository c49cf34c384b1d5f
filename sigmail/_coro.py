"""Drive a coroutine to completion without an event loop.

pyhanko-certvalidator's validation API is ``async`` because it *may* fetch CRLs, OCSP responses
and certificates over the network. sigmail never lets it fetch (``allow_fetching=False``), so its
coroutines never actually wait on anything: stepping them once with ``send(None)`` runs them to
the end. This works the same inside a running event loop (Jupyter, an asyncio mail filter), where
``asyncio.run`` would raise ``RuntimeError``; sigmail never calls ``asyncio.run``.

If a coroutine does suspend (a future version of the library awaiting real I/O), it is closed and
a ``RuntimeError`` says so, instead of blocking or silently returning nothing.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_coroutine"]

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` synchronously; it must complete without suspending.

    Exceptions raised by the coroutine propagate unchanged.
    """
    try:
        awaited = coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError(
        f"{getattr(coro, '__qualname__', coro)!s} suspended on {awaited!r}: sigmail drives "
        "pyhanko-certvalidator without an event loop and with fetching off, so it must never "
        "wait for I/O"
    )
