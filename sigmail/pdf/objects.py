"""The PDF object model sigmail reads: plain Python values with a few thin types.

=============  ==========================================================================
PDF            Python
=============  ==========================================================================
null           ``None``
boolean        ``bool``
integer/real   ``int`` / ``float``
name           :class:`Name` (a ``str`` without the leading slash, ``#xx`` decoded)
string         :class:`PdfString` (``bytes``; ``.text()`` decodes PDFDocEncoding/UTF-16)
array          ``list``
dictionary     :class:`PdfDict` (a ``dict`` keyed by ``str``; remembers duplicate keys and,
               when parsed from the file itself, where each value sits)
stream         :class:`Stream` (its dictionary and where its raw data sits)
reference      :class:`Ref` (``num``, ``gen``)
=============  ==========================================================================

Nothing here resolves references or decodes data: see :mod:`sigmail.pdf.document` and
:mod:`sigmail.pdf.filters`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Name", "PdfDict", "PdfString", "Ref", "Stream", "pdf_equal"]


class Name(str):
    """A PDF name, without the slash: ``/Type`` is ``Name("Type")`` and equals ``"Type"``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "/" + str(self)


class PdfString(bytes):
    """A PDF string (literal or hexadecimal), as its decoded bytes."""

    def text(self) -> str:
        """The string as text: UTF-16BE/UTF-8 with their BOM, else PDFDocEncoding (≈ Latin-1)."""
        raw = bytes(self)
        if raw[:2] == b"\xfe\xff":
            return raw[2:].decode("utf-16-be", errors="replace")
        if raw[:3] == b"\xef\xbb\xbf":
            return raw[3:].decode("utf-8", errors="replace")
        return raw.decode("latin-1")


class Ref(NamedTuple):
    """An indirect reference ``num gen R``."""

    num: int
    gen: int = 0

    def __str__(self) -> str:
        return f"{self.num} {self.gen}"


class PdfDict(dict):
    """A dictionary. ``duplicates`` lists keys given more than once (the last value wins, as
    most readers do); ``spans`` maps a key to the file offsets ``(start, end)`` of its value
    when the dictionary was parsed from the file (not from an object stream)."""

    __slots__ = ("duplicates", "spans")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.duplicates: tuple[str, ...] = ()
        self.spans: dict[str, tuple[int, int]] | None = None


class Stream:
    """A stream object: its dictionary and where its (still encoded) data is."""

    __slots__ = ("data_length", "data_start", "dict", "inline")

    def __init__(
        self, dictionary: PdfDict, data_start: int, data_length: int, inline: bytes | None = None
    ) -> None:
        self.dict = dictionary
        self.data_start = data_start  # offset in the file
        self.data_length = data_length
        self.inline = inline  # data held in memory (only for streams built in tests)

    def get(self, key: str, default: Any = None) -> Any:
        return self.dict.get(key, default)

    def __repr__(self) -> str:
        return f"Stream({self.dict!r}, {self.data_length} bytes at {self.data_start})"


def pdf_equal(a: Any, b: Any, raw: Any = None) -> bool:
    """Structural equality of two values; streams compare dictionaries and raw data.

    ``raw(stream) -> bytes`` reads a stream's raw data (needed only when two streams differ
    in place but not in length).
    """
    if type(a) is not type(b):
        # 1 and 1.0 are the same number; a Name and a str are the same name.
        if isinstance(a, int | float) and isinstance(b, int | float):
            return not isinstance(a, bool) and not isinstance(b, bool) and a == b
        if isinstance(a, str) and isinstance(b, str):
            return a == b
        return False
    if isinstance(a, PdfDict | dict):
        if a.keys() != b.keys():
            return False
        return all(pdf_equal(a[k], b[k], raw) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(pdf_equal(x, y, raw) for x, y in zip(a, b, strict=True))
    if isinstance(a, Stream):
        if not pdf_equal(a.dict, b.dict, raw) or a.data_length != b.data_length:
            return False
        if a.data_start == b.data_start and a.inline is None and b.inline is None:
            return True
        return raw is not None and raw(a) == raw(b)
    return a == b
