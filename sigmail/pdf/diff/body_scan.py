"""The revision's own bytes, read as a rebuilding reader would: objects its cross-reference
data does not list (``appended_without_xref``) and bytes that are no PDF object
(``trailing_data``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sigmail.pdf.diff.change import Change, code_for_roles, pages_of, suspicious_change
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.objects import Stream
from sigmail.pdf.parser import ObjectParser, PdfSyntaxError
from sigmail.pdf.structure import StructureIndex

_XREF_OR_TRAILER = re.compile(rb"(?:xref|trailer|startxref)(?=[\x00\t\n\x0c\r <%])")


_OBJ_HEADER = re.compile(rb"(?<![0-9])\d+[\x00\t\n\x0c\r ]+\d+[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")


@dataclass(slots=True)
class RevisionBody:
    objects: list[tuple[int, int, Any]] = field(default_factory=list)  # (num, offset, value)
    junk: list[tuple[int, int]] = field(default_factory=list)


def _walk_body(doc: PdfDocument, start: int, end: int) -> RevisionBody:
    """Every object written in ``[start, end)``, read sequentially as a rebuilding reader
    would, and the bytes that are neither objects, whitespace, comments nor xref data."""
    src = doc.src
    parser = ObjectParser(src.buf, end=end, max_string=doc.max_decoded)
    body = RevisionBody()
    pos = start
    guard = 0
    while True:
        pos = parser.skip_ws(pos)
        if pos >= end:
            return body
        guard += 1
        if guard % 256 == 0:
            doc.budget.check_time()
        kw = _XREF_OR_TRAILER.match(src.buf, pos, end)
        if kw is not None:
            pos = _skip_xref_data(doc, parser, kw.group(0), kw.end(), end)
            continue
        try:
            ref, value, after = parser.indirect(pos)
            body.objects.append((ref.num, pos, value))
            pos = after
        except PdfSyntaxError:
            nxt = _OBJ_HEADER.search(src.buf, pos + 1, end)
            kw_next = _XREF_OR_TRAILER.search(src.buf, pos + 1, end)
            stop = (
                min(m.start() for m in (nxt, kw_next) if m is not None) if (nxt or kw_next) else end
            )
            body.junk.append((pos, stop))
            pos = stop


def _skip_xref_data(doc: PdfDocument, parser: ObjectParser, word: bytes, pos: int, end: int):
    src = doc.src
    if word == b"startxref":
        m = re.compile(rb"[\x00\t\n\x0c\r ]*\d+").match(src.buf, pos, end)
        return m.end() if m else pos
    if word == b"trailer":
        try:
            _value, after = parser.parse(pos)
            return after
        except PdfSyntaxError:
            return pos
    # "xref": subsection headers and 20-byte entries, up to "trailer"
    at = src.find(b"trailer", pos, end)
    return at if at >= 0 else end


def appended(doc: PdfDocument, start: int, end: int, revision: int, listed: dict[int, int]):
    """Objects in ``[start, end)`` that the cross-reference data does not list there, and
    junk, as changes (``revision`` = the revision the bytes belong to; last + 1 for bytes
    after the last %%EOF)."""
    changes: list[Change] = []
    if end <= start:
        return changes
    body = _walk_body(doc, start, end)
    after_eof = revision > doc.last
    base = doc.last if after_eof else revision - 1
    index: StructureIndex | None = None
    for num, offset, value in body.objects:
        if listed.get(num) == offset:
            continue
        if isinstance(value, Stream) and value.dict.get("Type") in ("XRef", "ObjStm"):
            continue
        if index is None:
            index = StructureIndex.build(doc, base)
        roles = index.roles.get(num, set()) | index.dangling.get(num, set())
        code, what = code_for_roles(roles)
        where = "after the last %%EOF" if after_eof else f"in revision {revision}"
        changes.append(
            suspicious_change(
                "appended_without_xref",
                f"object {num} at byte {offset} {where} is not in any cross-reference section; "
                "readers that rebuild the cross-reference table use it",
                [num],
                pages_of(roles),
            )
        )
        if roles:
            changes.append(
                suspicious_change(
                    code,
                    f"object {num} ({what}) is redefined {where} without a cross-reference entry",
                    [num],
                    pages_of(roles),
                )
            )
    for a, b in body.junk:
        changes.append(
            suspicious_change(
                "trailing_data",
                f"{b - a} byte(s) at {a} {'after the last %%EOF' if after_eof else ''} are not "
                "PDF objects".replace("  ", " "),
            )
        )
    return changes
