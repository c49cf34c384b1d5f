"""Cross-reference data and revisions (ISO 32000-1 §7.5.4–7.5.8).

Reading starts at the last ``startxref`` and follows ``/Prev`` (and a hybrid file's
``/XRefStm``) back to the first section; nothing else in the file is scanned. Each section
ends at its own ``startxref … %%EOF`` line: that offset is where its *revision* ends and what
a signature over that revision must cover. A linearized file's first-page section (whose
``/Prev`` points forward, to the main section) belongs to the same revision as the main one.

An entry is a tuple ``(kind, a, b)``: ``(0, next_free, gen)`` free, ``(1, offset, gen)`` in
the file, ``(2, stream_number, index)`` inside an object stream.
"""

from __future__ import annotations

import itertools
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from sigmail.limits import Budget, LimitExceeded
from sigmail.pdf.filters import DecodeAllowance, decode_stream_data
from sigmail.pdf.objects import PdfDict, Ref, Stream
from sigmail.pdf.parser import ObjectParser, PdfSyntaxError, integer
from sigmail.pdf.source import Source

__all__ = ["Entry", "Revision", "XrefSection", "read_revisions"]

Entry = tuple[int, int, int]

_WS = rb"[\x00\t\n\x0c\r ]"
_STARTXREF = re.compile(rb"startxref" + _WS + rb"*(\d+)" + _WS + rb"*")
_EOF_LINE = re.compile(rb"%%EOF(\r\n|\n|\r)?")
_XREF_KW = re.compile(_WS + rb"*xref(?=" + _WS + rb")")
_SUBSECTION = re.compile(_WS + rb"*(\d+)" + _WS + rb"+(\d+)" + _WS + rb"*(?:\r\n|\n|\r)")
_ENTRY = re.compile(rb"[ ]*(\d{1,10})[ ]+(\d{1,5})[ ]+([nf])" + _WS + rb"*")
_TRAILER = re.compile(_WS + rb"*trailer" + _WS + rb"*")
_TAIL_WINDOW = 2048
_SLACK = 16
_OBJ_START = re.compile(_WS + rb"*\d+" + _WS + rb"+\d+" + _WS + rb"+obj")
# Whitespace, then an object header: where an offset that points a little early meant.
_EARLY = re.compile(_WS + rb"{1,16}(?=\d+" + _WS + rb"+\d+" + _WS + rb"+obj)")
_WS_BYTES = frozenset(b"\x00\t\n\x0c\r ")


@dataclass(slots=True)
class XrefSection:
    """One cross-reference section (a table with its trailer, or an xref stream)."""

    offset: int
    kind: str  # "table" | "stream"
    entries: dict[int, Entry]
    trailer: PdfDict
    end: int  # offset just after this section's "%%EOF" line
    prev: int | None
    stream_ref: Ref | None = None  # the xref stream's own object


@dataclass(slots=True)
class Revision:
    """A document revision: the bytes ``[start, end)`` and the xref entries it wrote."""

    number: int  # 1 = the first
    start: int
    end: int
    trailer: PdfDict
    entries: dict[int, Entry]
    sections: list[XrefSection] = field(default_factory=list)

    @property
    def section_offsets(self) -> tuple[int, ...]:
        return tuple(s.offset for s in self.sections)


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _object_start(src: Source, offset: int) -> int:
    """``offset``, or where the object header is when ``offset`` points at whitespace just
    before one (producers that count the line end before ``N 0 obj``; pyHanko and DSS accept
    them). Whitespace only, at most 16 bytes: a comment or other bytes there stay unexplained,
    and the modification analysis reports what it finds."""
    if 0 <= offset < src.size and src.view[offset] in _WS_BYTES:
        m = _EARLY.match(src.buf, offset, min(src.size, offset + 64))
        if m is not None:
            return m.end()
    return offset


def _section_end(src: Source, pos: int) -> tuple[int, int | None]:
    """After a section body: ``startxref N %%EOF[EOL]`` → (end offset, N)."""
    parser = ObjectParser(src.buf, end=src.size)
    pos = parser.skip_ws(pos)
    m = _STARTXREF.match(src.buf, pos, src.size)
    if m is not None:
        e = _EOF_LINE.match(src.buf, m.end(), src.size)
        if e is not None:
            return e.end(), integer(m.group(1), pos)
    # Tolerate junk between the section and its end marker, as readers do.
    at = src.find(b"%%EOF", pos, min(src.size, pos + 4096))
    if at < 0:
        raise PdfSyntaxError("cross-reference section without %%EOF", pos)
    e = _EOF_LINE.match(src.buf, at, src.size)
    return (e.end() if e is not None else at + 5), None


def _read_table(src: Source, offset: int, budget: Budget) -> XrefSection:
    buf = src.buf
    m = _XREF_KW.match(buf, offset, src.size)
    if m is None:
        raise PdfSyntaxError("no 'xref' keyword where startxref points", offset)
    pos = m.end()
    entries: dict[int, Entry] = {}
    while True:
        sub = _SUBSECTION.match(buf, pos, src.size)
        if sub is None:
            break
        first, count = integer(sub.group(1), pos), integer(sub.group(2), pos)
        budget.check_size("max_pdf_objects", len(entries) + count)
        pos = sub.end()
        for num in range(first, first + count):
            e = _ENTRY.match(buf, pos, src.size)
            if e is None:
                raise PdfSyntaxError("bad cross-reference entry", pos)
            pos = e.end()
            a, gen = int(e.group(1)), int(e.group(2))
            if e.group(3) == b"n":
                entries.setdefault(num, (1, _object_start(src, a), gen))
            else:
                entries.setdefault(num, (0, a, gen))
    t = _TRAILER.match(buf, pos, src.size)
    if t is None:
        raise PdfSyntaxError("no trailer after the cross-reference table", pos)
    parser = ObjectParser(buf, end=src.size)
    trailer, pos = parser.parse(t.end())
    if not isinstance(trailer, PdfDict):
        raise PdfSyntaxError("the trailer is not a dictionary", t.end())
    end, _ = _section_end(src, pos)
    # The table's own "n" entries for free-list head etc. are fine; object 0 is always free.
    return XrefSection(offset, "table", entries, trailer, end, _int_or_none(trailer.get("Prev")))


def _read_stream(
    src: Source, offset: int, budget: Budget, allowance: DecodeAllowance, *, hybrid: bool = False
) -> XrefSection:
    parser = ObjectParser(src.buf, end=src.size)
    ref, obj, pos = parser.indirect(offset)
    if not isinstance(obj, Stream) or obj.dict.get("Type") != "XRef":
        raise PdfSyntaxError("startxref does not point at a cross-reference stream", offset)
    entries = _stream_entries(src, obj, budget, allowance)
    # A hybrid file's /XRefStm stream sits in the body; the table section has the %%EOF.
    end = pos if hybrid else _section_end(src, pos)[0]
    return XrefSection(
        offset, "stream", entries, obj.dict, end, _int_or_none(obj.dict.get("Prev")), ref
    )


def _stream_entries(
    src: Source, obj: Stream, budget: Budget, allowance: DecodeAllowance
) -> dict[int, Entry]:
    d = obj.dict
    widths = d.get("W")
    size = _int_or_none(d.get("Size"))
    if (
        not isinstance(widths, list)
        or len(widths) != 3
        or not all(isinstance(w, int) and 0 <= w <= 8 for w in widths)
        or size is None
        or size < 0
    ):
        raise PdfSyntaxError("cross-reference stream with bad /W or /Size")
    index = d.get("Index", [0, size])
    if (
        not isinstance(index, list)
        or len(index) % 2
        or not all(isinstance(v, int) and v >= 0 for v in index)
    ):
        raise PdfSyntaxError("cross-reference stream with bad /Index")
    total = sum(index[1::2])
    budget.check_size("max_pdf_objects", total)
    raw = src.bytes(obj.data_start, obj.data_start + obj.data_length)
    row = sum(widths)
    # Before a PNG predictor is applied each row has one more byte, its row type.
    allowed = max(total * (row + 1), 1) + 4096
    data = decode_stream_data(raw, d, max_output=allowed, allowance=allowance)
    if row == 0 or len(data) < total * row:
        raise PdfSyntaxError("cross-reference stream data is shorter than /Index says")
    entries: dict[int, Entry] = {}
    numbers = itertools.chain.from_iterable(
        range(index[i], index[i] + index[i + 1]) for i in range(0, len(index), 2)
    )
    for num, (kind, a, b) in zip(numbers, _rows(data[: total * row], widths), strict=False):
        if kind == 1:
            entries.setdefault(num, (1, _object_start(src, a), b))
        elif kind in (0, 2):
            entries.setdefault(num, (kind, a, b))
        # Other types are reserved: "treat as a null object" (§7.5.8.3) — left out.
    return entries


_STRUCT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def _rows(data: bytes, widths: list[int]) -> Iterator[tuple[int, int, int]]:
    """The (type, field 2, field 3) of each row; a missing type is 1, a missing field 0."""
    w0, w1, w2 = widths
    if all(w in _STRUCT_CODES for w in widths):  # the usual widths: unpacked in C
        yield from struct.iter_unpack(">" + "".join(_STRUCT_CODES[w] for w in widths), data)
        return
    if all(w == 0 or w in _STRUCT_CODES for w in widths):
        fmt = ">" + "".join(_STRUCT_CODES[w] for w in widths if w)
        for values in struct.iter_unpack(fmt, data):
            it = iter(values)
            yield (next(it) if w0 else 1, next(it) if w1 else 0, next(it) if w2 else 0)
        return
    frm = int.from_bytes
    row = w0 + w1 + w2
    for pos in range(0, len(data), row):
        yield (
            frm(data[pos : pos + w0], "big") if w0 else 1,
            frm(data[pos + w0 : pos + w0 + w1], "big"),
            frm(data[pos + w0 + w1 : pos + row], "big") if w2 else 0,
        )


def _near_xref(src: Source, offset: int) -> int | None:
    """Where the ``xref`` keyword a slightly wrong offset meant is, as lenient readers find
    it (writers that miscount line ends are common). Never ``startxref``."""
    stop = min(src.size, offset + _SLACK + 4)
    at = src.find(b"xref", max(0, offset - _SLACK), stop)
    while at >= 0:
        if src.bytes(at - 5, at) != b"start" and _XREF_KW.match(src.buf, at, src.size):
            return at
        at = src.find(b"xref", at + 1, stop)
    return None


def _read_section(
    src: Source, offset: int, budget: Budget, allowance: DecodeAllowance
) -> XrefSection:
    if not 0 <= offset < src.size:
        raise PdfSyntaxError(f"cross-reference offset {offset} is outside the file")
    if _XREF_KW.match(src.buf, offset, src.size) is None and not _OBJ_START.match(
        src.buf, offset, src.size
    ):
        near = _near_xref(src, offset)
        if near is not None:
            offset = near
    if _XREF_KW.match(src.buf, offset, src.size) is not None:
        section = _read_table(src, offset, budget)
        stm = _int_or_none(section.trailer.get("XRefStm"))
        if stm is not None and 0 <= stm < src.size:
            hybrid = _read_stream(src, stm, budget, allowance, hybrid=True)
            for num, entry in hybrid.entries.items():
                # A hybrid file's table lists compressed objects as free (or not at all).
                if num not in section.entries or section.entries[num][0] == 0:
                    section.entries[num] = entry
        return section
    return _read_stream(src, offset, budget, allowance)


def _last_startxref(src: Source) -> int:
    """The offset the file's last ``startxref`` names."""
    eof = src.rfind(b"%%EOF")
    if eof < 0:
        raise PdfSyntaxError("no %%EOF marker: not a complete PDF file")
    while eof >= 0:
        at = src.rfind(b"startxref", max(0, eof - _TAIL_WINDOW), eof)
        if at >= 0:
            m = _STARTXREF.match(src.buf, at, src.size)
            if m is not None:
                return integer(m.group(1), at)
        eof = src.rfind(b"%%EOF", 0, eof)
    raise PdfSyntaxError("no startxref before %%EOF")


def read_revisions(
    src: Source, budget: Budget, allowance: DecodeAllowance | None = None
) -> list[Revision]:
    """Every revision of the file, oldest first. Decoding xref streams spends ``allowance``
    (the document's; a fresh one from ``budget`` by default)."""
    if allowance is None:
        allowance = DecodeAllowance(budget.limits)
    if src.find(b"%PDF-", 0, 1024) < 0:
        raise PdfSyntaxError("no %PDF- header")
    sections: dict[int, XrefSection] = {}
    chain: list[int] = []
    offset: int | None = _last_startxref(src)
    read = 0  # entries in all sections so far: small xref streams can list many each
    while offset is not None:
        if offset in sections:
            raise PdfSyntaxError("the /Prev chain of cross-reference sections loops", offset)
        if len(sections) >= 2 * budget.limits.max_pdf_revisions:
            raise LimitExceeded("max_pdf_revisions", budget.limits.max_pdf_revisions)
        budget.check_time()
        section = _read_section(src, offset, budget, allowance)
        read += len(section.entries)
        budget.check_size("max_pdf_objects", read)
        sections[offset] = section
        chain.append(offset)
        offset = section.prev
    # Readers apply sections in /Prev-chain order; sigmail reasons in file order. The two
    # agree when each /Prev points backwards, except a linearized file's first-page section,
    # whose /Prev points forward to the last section of the chain.
    for i in range(len(chain) - 1):
        if chain[i + 1] > chain[i] and i + 2 != len(chain):
            raise PdfSyntaxError("cross-reference sections are chained out of file order")
    ordered = sorted(sections.values(), key=lambda s: s.offset)

    # Group sections into revisions: a linearized first-page section (its /Prev points
    # forward) joins the section it points at.
    groups: list[list[XrefSection]] = []
    joined: dict[int, list[XrefSection]] = {}
    for section in ordered:
        if section.offset in joined:
            joined[section.offset].append(section)
            continue
        group = [section]
        groups.append(group)
        if section.prev is not None and section.prev > section.offset:
            joined[section.prev] = group
    budget.check_size("max_pdf_revisions", len(groups))

    revisions: list[Revision] = []
    start = 0
    for n, group in enumerate(groups, 1):
        end = max(s.end for s in group)
        # Later-in-the-chain sections have lower precedence; within a linearized revision
        # the sections do not overlap, so the order only matters for broken files.
        entries: dict[int, Entry] = {}
        for section in sorted(group, key=lambda s: s.offset, reverse=True):
            entries.update(section.entries)
        main = max(group, key=lambda s: s.offset)
        trailer = PdfDict(main.trailer)
        for s in group:
            for key, value in s.trailer.items():
                trailer.setdefault(key, value)
        revisions.append(Revision(n, start, end, trailer, entries, group))
        start = end
    return revisions
