"""The number and date of an official document, read from its text.

NĐ 30/2020/NĐ-CP (Phụ lục I) puts both at the top of every document: ``Số: 123/QĐ-STP`` under
the issuing agency, and ``<place>, ngày 20 tháng 5 năm 2026`` beside it. The register keeps
them (``doc_number``, ``doc_date``) so a clerk can find an entry by the number written on the
paper. The text comes from:

* a PDF: the page content streams of the first pages, decoded by sigmail's own PDF reader
  (:mod:`sigmail.audit.pdftext`);
* a ``.p7m``: its content (through every SignedData layer), itself a PDF or text;
* a ``.p7s``: the detached content it signs, when it is at hand;
* text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1258.

Matching ignores diacritics and the case of the words (``Số``/``So``/``SỐ``), so a PDF written
with a font that has no Vietnamese letters ("So: 123/QD-STTTT") is read too; the number itself
is returned as written. Only a ``Số:`` followed by a number counts — "căn cứ Nghị định số
30/2020/NĐ-CP" in the body is a reference to another document, not this one's number. The date
preferred is the first one after a comma (``Hà Nội, ngày …``), else the first one.

This is best effort: text that cannot be read (scans, encrypted PDFs, fonts without a Unicode
map, legacy TCVN3 fonts) gives ``None``, never an error.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date

from sigmail.formats.detect import InputKind, detect_kind
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.problems import InputProblem

__all__ = ["DocumentFields", "document_fields", "fields_from_text", "text_of"]

log = logging.getLogger("sigmail.audit")

_MAX_TEXT = 64 * 1024  # characters searched: both fields sit on the first page
_ID_DATA = "1.2.840.113549.1.7.1"


def _strip_char(char: str) -> str:
    """One character without its diacritics (đ → d); "" for a lone combining mark."""
    if char in "đĐ":
        return "d" if char == "đ" else "D"
    return "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))


_STRIPPED: dict[int, str] = {}  # code point → _strip_char, filled as characters are met


def _bare(text: str) -> tuple[str, list[int] | None]:
    """``text`` without diacritics (đ → d) and where each remaining character came from
    (None: from the same index, every character giving exactly one)."""
    if text.isascii():
        return text, None
    table = {}
    for char in set(text):
        point = ord(char)
        if point >= 0x80:
            stripped = _STRIPPED.get(point)
            if stripped is None:
                stripped = _STRIPPED[point] = _strip_char(char)
            table[point] = stripped
    bare = text.translate(table)
    if len(bare) == len(text) and all(len(v) == 1 for v in table.values()):
        return bare, None
    origin = [i for i, char in enumerate(text) for _ in range(len(table.get(ord(char), char)))]
    return bare, origin


_NUMBER = re.compile(
    r"\b(?i:so)(?:\s+(?i:(?:va\s+)?ky\s+hieu))?\s*:\s*"
    r"(\d{1,6}(?:\s*/\s*\d{4})?\s*/\s*[A-Z][A-Z0-9]*(?:\s*[-.&]\s*[A-Z0-9]+)*)"
)
_DATE_WORDS = re.compile(
    r"(?i:ngay)\s+(\d{1,2})\s+(?i:thang)\s+(\d{1,2})\s+(?i:nam)\s+(\d{4})", re.ASCII
)
_DATE_DIGITS = re.compile(r"(?i:ngay)\s+(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})", re.ASCII)


class DocumentFields(tuple):
    """``(doc_number, doc_date)``; either may be None."""

    __slots__ = ()

    def __new__(cls, number: str | None = None, when: date | None = None):
        return super().__new__(cls, (number, when))

    @property
    def number(self) -> str | None:
        return self[0]

    @property
    def date(self) -> date | None:
        return self[1]


def fields_from_text(text: str) -> DocumentFields:
    """The document number and date written in ``text`` (see the module's rules)."""
    text = unicodedata.normalize("NFC", text[:_MAX_TEXT])
    bare, origin = _bare(text)
    number = None
    match = _NUMBER.search(bare)
    if match is not None:
        start, end = match.span(1)
        if origin is not None:
            start, end = origin[start], origin[end - 1] + 1
        written = text[start:end]
        number = re.sub(r"\s+", "", written)
    candidates: list[tuple[bool, int, date]] = []
    for pattern in (_DATE_WORDS, _DATE_DIGITS):
        for m in pattern.finditer(bare):
            try:
                when = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            except ValueError:
                continue
            before = bare[max(0, m.start() - 3) : m.start()]
            candidates.append((not before.rstrip(" \t").endswith(","), m.start(), when))
    when = min(candidates)[2] if candidates else None
    return DocumentFields(number, when)


def _decode_text(data: bytes) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    head = data[:4096]
    if b"\x00" in head:
        return None  # binary, not text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1258", "replace")


def _cms_content(data: bytes, budget: Budget) -> tuple[bytes | None, bool]:
    """The innermost content of a CMS file and whether it is detached (no content)."""
    from sigmail.cms.signed_data import parse_signed_data

    layer = parse_signed_data(data, budget)
    for _ in range(budget.limits.max_cms_nesting):
        content = layer.econtent
        if content is None:
            return None, True
        if content[:1] == b"\x30":
            try:
                layer = parse_signed_data(content, budget)
                continue
            except InputProblem:
                if layer.econtent_type != _ID_DATA:
                    return None, False
        return content, False
    return None, False


def text_of(
    data: bytes,
    name: str | None = None,
    *,
    content: bytes | None = None,
    limits: Limits | None = None,
    max_pages: int = 2,
) -> str | None:
    """The text of a document (PDF, CMS file or text), or None when there is none to read.

    Input errors (malformed files, budgets) give None; bugs are raised.
    """
    budget = Budget(limits or Limits())
    try:
        kind = detect_kind(bytes(data[:1024]), name)
        if kind == InputKind.PDF:
            from sigmail.audit.pdftext import pdf_text

            return pdf_text(data, budget, max_pages=max_pages)
        if kind == InputKind.CMS:
            inner, detached = _cms_content(bytes(data), budget)
            if detached:
                inner = content
            if inner is None:
                return None
            inner_name = name[: -len(".p7m")] if name and name.lower().endswith(".p7m") else None
            if detect_kind(inner[:1024], inner_name) == InputKind.CMS:
                return None
            return text_of(inner, inner_name, limits=budget.limits, max_pages=max_pages)
        if kind == InputKind.EML:
            return None  # a message is not a document with a number
        return _decode_text(bytes(data[: _MAX_TEXT * 4]))
    except (InputProblem, LimitExceeded) as exc:  # the PDF reader's syntax errors included
        log.debug("no text from %s: %s", name or "<document>", exc)
        return None


def document_fields(
    data: bytes,
    name: str | None = None,
    *,
    content: bytes | None = None,
    limits: Limits | None = None,
) -> DocumentFields:
    """``(doc_number, doc_date)`` of a document file; ``(None, None)`` when unreadable."""
    text = text_of(data, name, content=content, limits=limits)
    return fields_from_text(text) if text else DocumentFields()
