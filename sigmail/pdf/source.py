"""The file's bytes, read in place: ``bytes``, a ``memoryview`` or an ``mmap``, never copied.

A 100 MB PDF is hashed once and otherwise only touched where the cross-reference data and
the objects the checks need are. When the caller hands an ``mmap`` opened read-only
(``access=mmap.ACCESS_READ``), pages already hashed are given back to the kernel
(``MADV_DONTNEED``: they stay in the page cache, only this process stops holding them), so
the peak resident size does not grow with the file.
"""

from __future__ import annotations

import mmap
import re

__all__ = ["Source"]

_Bytes = bytes  # the builtin, under a name Source.bytes does not hide in the class body
_PAGE = mmap.PAGESIZE
_WINDOW = 1 << 16


class Source:
    """Random access to the input bytes without copying them."""

    __slots__ = ("_can_release", "_flat", "_mmap", "buf", "size", "view")

    def __init__(self, data: bytes | bytearray | memoryview | mmap.mmap) -> None:
        self.buf = data  # what regular expressions search (any buffer works with `re`)
        self.view = memoryview(data)
        if self.view.ndim != 1 or self.view.itemsize != 1:
            self.view = self.view.cast("B")
        self.size = len(self.view)
        # An object with .find/.rfind over exactly these bytes, when there is one.
        self._flat = data if isinstance(data, bytes | bytearray | mmap.mmap) else None
        if self._flat is None:
            inner = self.view.obj
            if isinstance(inner, bytes | bytearray | mmap.mmap) and len(inner) == self.size:
                self._flat = inner
        self._mmap = self._flat if isinstance(self._flat, mmap.mmap) else None
        # Only a read-only shared mapping may drop pages: a private (ACCESS_COPY) mapping
        # would lose the caller's modifications.
        self._can_release = (
            self._mmap is not None and self.view.readonly and hasattr(mmap, "MADV_DONTNEED")
        )

    def __len__(self) -> int:
        return self.size

    def bytes(self, start: int, end: int) -> bytes:
        """A copy of ``[start, end)``, clipped to the file (for small pieces only)."""
        start = max(0, start)
        end = min(self.size, end)
        return self.view[start:end].tobytes() if end > start else b""

    def find(self, needle: _Bytes, start: int = 0, end: int | None = None) -> int:
        end = self.size if end is None else min(end, self.size)
        if self._flat is not None:
            return self._flat.find(needle, start, end)
        m = re.compile(re.escape(needle)).search(self.view, start, end)
        return m.start() if m else -1

    def rfind(self, needle: _Bytes, start: int = 0, end: int | None = None) -> int:
        end = self.size if end is None else min(end, self.size)
        if self._flat is not None:
            return self._flat.rfind(needle, start, end)
        hi = end
        while hi > start:  # search backwards in windows, copying one window at a time
            lo = max(start, hi - _WINDOW)
            found = self.view[lo:hi].tobytes().rfind(needle)
            if found >= 0:
                return lo + found
            if lo == start:
                break
            hi = lo + len(needle) - 1
        return -1

    def release(self, start: int, end: int) -> None:
        """Tell the kernel this process no longer needs the pages inside ``[start, end)``."""
        if not self._can_release:
            return
        lo = -(-start // _PAGE) * _PAGE
        hi = (end // _PAGE) * _PAGE if end < self.size else self.size
        if hi > lo and self._mmap is not None:
            try:
                self._mmap.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):
                self._can_release = False
