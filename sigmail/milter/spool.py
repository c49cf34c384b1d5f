"""Where a message waits while the MTA streams it: memory up to a limit, then a temp file.

Bounded twice: up to ``memory_bytes`` a message is kept in memory, beyond that in an
anonymous temporary file (deleted when closed, and by the OS if the process dies); beyond
``max_bytes`` nothing more is kept and the message is marked oversize, so a huge message costs
neither memory nor disk, only the fail-safe verdict.
"""

from __future__ import annotations

import tempfile

__all__ = ["Spool"]


class Spool:
    __slots__ = ("_file", "max_bytes", "oversize", "size")

    def __init__(self, *, memory_bytes: int, max_bytes: int, directory: str | None = None):
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by close()
            max_size=memory_bytes, mode="w+b", dir=directory, prefix="sigmail-"
        )
        self.max_bytes = max_bytes
        self.size = 0  # bytes offered, kept or not
        self.oversize = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.oversize:
            return
        if self.size > self.max_bytes:
            self.oversize = True
            self._file.truncate(0)  # give the memory or disk back at once
            return
        self._file.write(data)

    @property
    def on_disk(self) -> bool:
        return bool(getattr(self._file, "_rolled", False))

    def read(self) -> bytes:
        """The whole message (not for an oversize one, whose bytes were not kept)."""
        if self.oversize:
            raise ValueError("the message was larger than the spool keeps")
        self._file.seek(0)
        return self._file.read()

    def read_from(self, offset: int) -> bytes:
        """The kept bytes from ``offset`` on (the body, after the header block)."""
        if self.oversize:
            raise ValueError("the message was larger than the spool keeps")
        self._file.seek(offset)
        return self._file.read()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
