"""Finding every signature in a PDF: signature fields of *every* revision, each signature
dictionary version once.

A signature removed from the form in a later revision is still found (and its removal is a
modification the analysis reports); a signature dictionary rewritten in a later revision is
found twice — the version that was signed and the rewrite — so a spoofed /Name or /Reason
cannot stand in for the signed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigmail.limits import LimitExceeded
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.fields import walk_fields
from sigmail.pdf.objects import PdfDict, PdfString, Ref

__all__ = ["PdfSignature", "find_signatures", "revision_at"]

DOC_TIMESTAMP_SUBFILTER = "ETSI.RFC3161"


@dataclass(slots=True)
class PdfSignature:
    """One signature dictionary (a version of it) and where it sits in the file."""

    ref: Ref | None  # the signature dictionary object (None: direct in its field)
    dict: PdfDict
    home: int  # the revision whose bytes hold the dictionary (and its /Contents)
    offset: int  # where the dictionary's object (or its field) starts in the file
    fields: list[str] = field(default_factory=list)
    field_refs: list[Ref] = field(default_factory=list)
    index: int = -1

    @property
    def kind(self) -> str:
        if self.dict.get("Type") == "DocTimeStamp" or self.subfilter == DOC_TIMESTAMP_SUBFILTER:
            return "doc_timestamp"
        return "pades"

    @property
    def subfilter(self) -> str | None:
        value = self.dict.get("SubFilter")
        return str(value) if isinstance(value, str) else None

    @property
    def contents(self) -> bytes | None:
        value = self.dict.get("Contents")
        return bytes(value) if isinstance(value, PdfString) else None

    @property
    def contents_span(self) -> tuple[int, int] | None:
        spans = self.dict.spans
        return spans.get("Contents") if spans else None

    def text(self, key: str) -> str | None:
        value = self.dict.get(key)
        return value.text() if isinstance(value, PdfString) else None

    @property
    def label(self) -> str:
        return self.fields[0] if self.fields else (f"object {self.ref}" if self.ref else "?")


def revision_at(doc: PdfDocument, offset: int) -> int:
    """The revision whose bytes contain ``offset`` (the last one for trailing bytes)."""
    for rev in doc.revisions:
        if offset < rev.end:
            return rev.number
    return doc.last


def find_signatures(doc: PdfDocument) -> list[PdfSignature]:
    """Every distinct signature-dictionary version reachable from a signature field in any
    revision, in file order."""
    found: dict[tuple, PdfSignature] = {}
    limit = doc.budget.limits.max_signatures
    for revision in range(1, doc.last + 1):
        for f in walk_fields(doc, revision):
            if f.field_type != "Sig" or f.value is None:
                continue
            value: Any = f.value
            if isinstance(value, Ref):
                sig = doc.dict_at(value, revision)
                location = doc.location(value.num, revision)
                key: tuple = ("ref", value.num, doc.entry(value.num, revision))
                ref: Ref | None = value
            else:
                sig = value if isinstance(value, PdfDict) else None
                location = doc.location(f.ref.num, revision) if f.ref else None
                key = ("direct", f.ref.num if f.ref else id(value), location)
                ref = None
            if sig is None or ("ByteRange" not in sig and "Contents" not in sig):
                continue
            entry = found.get(key)
            if entry is None:
                if len(found) >= limit:
                    raise LimitExceeded("max_signatures", limit, len(found) + 1)
                offset = location if location is not None else -1
                home = revision_at(doc, offset) if offset >= 0 else revision
                entry = PdfSignature(ref=ref, dict=sig, home=home, offset=offset)
                found[key] = entry
            if f.name not in entry.fields:
                entry.fields.append(f.name)
                if f.ref is not None:
                    entry.field_refs.append(f.ref)
    ordered = sorted(
        found.values(),
        key=lambda s: (s.contents_span or (s.offset, s.offset))[0] if s.offset >= 0 else 1 << 62,
    )
    for i, signature in enumerate(ordered):
        signature.index = i
    return ordered
