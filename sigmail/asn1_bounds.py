"""Bounds on asn1crypto's decoders where their cost grows faster than their input.

asn1crypto decodes an OBJECT IDENTIFIER arc by arc with ``part = part * 128 + byte``: one arc
of n continuation bytes costs O(n²) big-integer work (900 kB took 230 s in one fuzzed CMS
file) before Python refuses to print the number. Real OIDs are a few dozen bytes (a UUID arc,
2.25.<128 bits>, is 19); one longer than :data:`MAX_OID_BYTES` is refused with ValueError,
which every caller already reads as bad input. asn1crypto's state is global, so the bound is
installed once, on import of :mod:`sigmail.problems`, which every parser imports.
"""

from __future__ import annotations

from asn1crypto import core

from sigmail.bounded_cache import BoundedCache

__all__ = ["MAX_OID_BYTES", "dotted_of", "install"]

MAX_OID_BYTES = 256

_unbounded_dotted = core.ObjectIdentifier.dotted

# The dotted form by encoding: a small message names ~34 OIDs, nearly all the same few dozen
# (algorithms, attribute types), and asn1crypto decodes each arc by arc in Python every time
# an object is parsed again.
_DOTTED_MAX = 4096
_dotted_by_contents: BoundedCache[bytes, str] = BoundedCache(
    max_entries=_DOTTED_MAX,
    max_weight=2 * 1024 * 1024,
    weigh=lambda key, value: len(key) + len(value),
)


def _bounded_dotted(self: core.ObjectIdentifier) -> str:
    contents = self.contents
    if self._dotted is None and contents is not None:
        if len(contents) > MAX_OID_BYTES:
            raise ValueError(
                f"an object identifier of {len(contents)} bytes (more than {MAX_OID_BYTES})"
            )
        known = _dotted_by_contents.get(contents)
        if known is not None:
            self._dotted = known
            return known
        return _dotted_by_contents.put(bytes(contents), _unbounded_dotted.fget(self))
    return _unbounded_dotted.fget(self)


def dotted_of(contents: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's contents octets, as asn1crypto decodes them
    (the memo above; ValueError beyond :data:`MAX_OID_BYTES`)."""
    known = _dotted_by_contents.get(contents)
    if known is not None:
        return known
    return _bounded_dotted(core.ObjectIdentifier(contents=contents))


def install() -> None:
    """Put the bounds in place (idempotent)."""
    if core.ObjectIdentifier.dotted is not _bounded:
        core.ObjectIdentifier.dotted = _bounded


_bounded = property(_bounded_dotted, doc=_unbounded_dotted.__doc__)
install()
