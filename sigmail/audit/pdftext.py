"""The text of a PDF's first pages, read with sigmail's own PDF reader.

Enough to find a document's number and date, not a layout engine: the content streams of the
first pages (and the form XObjects they draw) are interpreted for their text operators only.
Strings are turned into text through the font's ``/ToUnicode`` CMap when it has one (what
Word, LibreOffice and the signing tools write for Vietnamese text, usually with Identity-H
fonts), else, for simple fonts, as Windows-1252 (WinAnsiEncoding, which standard fonts such as
Helvetica use). A composite font without a ``/ToUnicode`` map gives no text. A line break is
emitted where the text moves to a new line, a space where it moves along the line.

Bounded like the rest of the reader: the document's :class:`~sigmail.limits.Budget`
(decoded sizes, time), at most ``_MAX_OPERATORS`` operators, form XObjects to a depth of 4,
and CMaps of at most ``_MAX_CMAP_ENTRIES`` entries.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from sigmail.limits import Budget
from sigmail.pdf.content import OperationCount, operations
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.filters import UnsupportedFilter
from sigmail.pdf.objects import PdfDict, Stream
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.pdf.structure import inherited, page_list

__all__ = ["ToUnicode", "pdf_text"]

_MAX_OPERATORS = 200_000
_MAX_FORM_DEPTH = 4
_MAX_CMAP_ENTRIES = 70_000
_HEX = rb"<([0-9A-Fa-f\s]*)>"
_SECTION = re.compile(rb"begin(codespacerange|bfchar|bfrange)(.*?)end\1", re.S)
_PAIR = re.compile(_HEX + rb"\s*" + _HEX)
_RANGE = re.compile(_HEX + rb"\s*" + _HEX + rb"\s*(?:" + _HEX + rb"|\[([^\]]*)\])")


def _hex(text: bytes) -> bytes:
    digits = re.sub(rb"\s+", b"", text)
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


def _utf16(data: bytes) -> str:
    return data.decode("utf-16-be", "replace") if len(data) % 2 == 0 else data.decode("latin-1")


class ToUnicode:
    """A ``/ToUnicode`` CMap: ``bfchar`` and ``bfrange`` entries (ISO 32000-1 §9.10.3)."""

    __slots__ = ("chars", "lengths", "ranges")

    def __init__(self, cmap: bytes, default_length: int = 1) -> None:
        self.chars: dict[tuple[int, int], str] = {}
        self.ranges: list[tuple[int, int, int, Any]] = []  # (length, lo, hi, dst bytes|list)
        lengths: set[int] = set()
        entries = 0
        for m in _SECTION.finditer(cmap):
            kind, body = m.group(1), m.group(2)
            if kind == b"codespacerange":
                for lo, _hi in _PAIR.findall(body):
                    lengths.add(len(_hex(lo)) or default_length)
            elif kind == b"bfchar":
                for src, dst in _PAIR.findall(body):
                    entries += 1
                    if entries > _MAX_CMAP_ENTRIES:
                        break
                    code = _hex(src)
                    self.chars[(len(code), int.from_bytes(code, "big"))] = _utf16(_hex(dst))
                    lengths.add(len(code))
            else:
                for lo, hi, dst, array in _RANGE.findall(body):
                    entries += 1
                    if entries > _MAX_CMAP_ENTRIES:
                        break
                    lo_b, hi_b = _hex(lo), _hex(hi)
                    target: Any = (
                        [_hex(x) for x in re.findall(rb"<([0-9A-Fa-f\s]*)>", array)]
                        if array
                        else _hex(dst)
                    )
                    self.ranges.append(
                        (
                            len(lo_b),
                            int.from_bytes(lo_b, "big"),
                            int.from_bytes(hi_b, "big"),
                            target,
                        )
                    )
                    lengths.add(len(lo_b))
        self.lengths = tuple(sorted(lengths or {default_length}))

    def _lookup(self, length: int, code: int) -> str | None:
        found = self.chars.get((length, code))
        if found is not None:
            return found
        for n, lo, hi, target in self.ranges:
            if n == length and lo <= code <= hi:
                if isinstance(target, list):
                    i = code - lo
                    return _utf16(target[i]) if i < len(target) else None
                if not target:
                    return None
                value = int.from_bytes(target, "big") + (code - lo)
                try:
                    return _utf16(value.to_bytes(len(target), "big"))
                except OverflowError:
                    return None
        return None

    def decode(self, data: bytes) -> str:
        out: list[str] = []
        i = 0
        shortest = self.lengths[0]
        while i < len(data):
            for n in self.lengths:
                if i + n > len(data):
                    continue
                text = self._lookup(n, int.from_bytes(data[i : i + n], "big"))
                if text is not None:
                    out.append(text)
                    i += n
                    break
            else:
                i += shortest
        return "".join(out)


class _Font:
    __slots__ = ("decode",)

    def __init__(self, doc: PdfDocument, value: Any, revision: int) -> None:
        d = doc.dict_at(value, revision) or PdfDict()
        composite = d.get("Subtype") == "Type0"
        cmap = doc.resolve(d.get("ToUnicode"), revision)
        if isinstance(cmap, Stream):
            try:
                to_unicode = ToUnicode(doc.decoded(cmap), 2 if composite else 1)
                self.decode = to_unicode.decode
                return
            except (UnsupportedFilter, PdfSyntaxError, ValueError):
                pass
        if composite:
            self.decode = lambda data: ""
        else:
            self.decode = lambda data: data.decode("cp1252", "replace")


class _TextReader:
    def __init__(self, doc: PdfDocument, revision: int) -> None:
        self.doc = doc
        self.revision = revision
        self.out: list[str] = []
        self.count = OperationCount(_MAX_OPERATORS, doc.budget.check_time)

    def newline(self) -> None:
        if self.out and self.out[-1] != "\n":
            self.out.append("\n")

    def space(self) -> None:
        if self.out and self.out[-1] not in ("\n", " "):
            self.out.append(" ")

    def run(self, data: bytes, resources: PdfDict | None, depth: int) -> None:
        doc, rev = self.doc, self.revision
        fonts: dict[str, _Font] = {}
        font: _Font | None = None
        for op, args in operations(data, self.count):
            if op == b"Tf" and len(args) == 2 and isinstance(args[0], str):
                key = args[0]
                if key not in fonts:
                    table = doc.dict_at(resources.get("Font"), rev) if resources else None
                    fonts[key] = _Font(doc, table.get(key) if table else None, rev)
                font = fonts[key]
            elif op in (b"BT", b"ET", b"T*"):
                self.newline()
            elif op in (b"Td", b"TD") and len(args) == 2:
                dy = args[1] if isinstance(args[1], int | float) else 0
                if dy:
                    self.newline()
                else:
                    self.space()
            elif op == b"Tm":
                self.newline()
            elif op in (b"Tj", b"'", b'"') and args and isinstance(args[-1], bytes):
                if op != b"Tj":
                    self.newline()
                self.out.append(font.decode(args[-1]) if font else "")
            elif op == b"TJ" and args and isinstance(args[-1], list):
                for piece in args[-1]:
                    if isinstance(piece, bytes):
                        self.out.append(font.decode(piece) if font else "")
                    elif isinstance(piece, int | float) and piece <= -250:
                        self.space()
            elif op == b"Do" and args and isinstance(args[-1], str) and depth < _MAX_FORM_DEPTH:
                xobjects = doc.dict_at(resources.get("XObject"), rev) if resources else None
                target = doc.resolve(xobjects.get(str(args[-1])), rev) if xobjects else None
                if isinstance(target, Stream) and target.dict.get("Subtype") == "Form":
                    inner = doc.dict_at(target.dict.get("Resources"), rev) or resources
                    with contextlib.suppress(UnsupportedFilter):
                        self.run(doc.decoded(target), inner, depth + 1)


def pdf_text(data: Any, budget: Budget, *, max_pages: int = 2) -> str:
    """The text of the first ``max_pages`` pages of the PDF in ``data`` (bytes or mmap), as of
    its last revision."""
    doc = PdfDocument(data, budget)
    revision = doc.last
    reader = _TextReader(doc, revision)
    for page_ref in page_list(doc, revision)[:max_pages]:
        page = doc.dict_at(page_ref, revision)
        if page is None:
            continue
        resources = doc.dict_at(inherited(doc, page, "Resources", revision), revision)
        contents = doc.resolve(page.get("Contents"), revision)
        streams = contents if isinstance(contents, list) else [contents]
        for item in streams:
            stream = doc.resolve(item, revision)
            if not isinstance(stream, Stream):
                continue
            try:
                reader.run(doc.decoded(stream), resources, 0)
            except UnsupportedFilter:
                continue
            except PdfSyntaxError:  # past the operation ceiling: keep the text read so far
                return "".join(reader.out)
        reader.newline()
    return "".join(reader.out)
