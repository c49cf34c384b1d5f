"""Signed PDF documents (PAdES): the handler behind ``InputKind.PDF``.

The work is in :mod:`sigmail.pdf` (see docs/pdf.md); this module only adapts it to the
format-handler contract (:mod:`sigmail.contract`).
"""

from __future__ import annotations

import re

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.pdf.source import Source
from sigmail.pdf.verify import verify_pdf_bytes
from sigmail.problems import UnsupportedInput
from sigmail.verdict.model import Finding

# A signature needs a /ByteRange and a /Sig (a field type or a dictionary type); object streams
# and escaped names (/By#74eRange) could hide them from a byte search, so they count too.
_SIGNATURE_TRACE = re.compile(rb"/(?:ByteRange|Sig|ObjStm|[A-Za-z0-9]*#[0-9A-Fa-f]{2})")

__all__ = ["verify_pdf"]


def verify_pdf(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    """Every signature and document timestamp of the PDF ``data`` (bytes, memoryview or a
    read-only mmap), what each covers and what changed after it. ``content`` is not used: a
    PDF carries what it signs."""
    try:
        doc = PdfDocument(data, ctx.budget)
    except PdfSyntaxError as exc:
        return _damaged(data, exc)
    try:
        result = verify_pdf_bytes(doc, ctx)
    except PdfSyntaxError as exc:
        if "Encrypt" in doc.revision(doc.last).trailer:
            # Encrypted strings and streams are not decrypted: say so rather than "malformed".
            raise UnsupportedInput(f"encrypted PDF: {exc.detail}") from exc
        return _damaged(data, exc)
    return FormatResult(
        kind="pdf",
        findings=result.findings,
        signatures=result.signatures,
        modifications=result.modifications,
        sha256=result.sha256,
    )


def _damaged(data: bytes, exc: PdfSyntaxError) -> FormatResult:
    """A PDF that does not parse. With no trace of a signature anywhere in its bytes it is an
    unsigned document that happens to be damaged (a reference copy, like any unsigned one);
    otherwise the damage may hide a signature, and it stays ``malformed`` (or
    ``unsupported``)."""
    if exc.code != "malformed" or _SIGNATURE_TRACE.search(Source(data).buf) is not None:
        raise exc
    note = f"a damaged PDF that holds no signature ({exc.detail})"
    return FormatResult(kind="pdf", findings=[Finding.of("no_signature", "document", note)])
