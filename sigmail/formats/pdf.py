"""Signed PDF documents (PAdES): the handler behind ``InputKind.PDF``.

The work is in :mod:`sigmail.pdf` (see docs/pdf.md); this module only adapts it to the
format-handler contract (:mod:`sigmail.contract`).
"""

from __future__ import annotations

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.pdf.verify import verify_pdf_bytes
from sigmail.problems import UnsupportedInput

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
    doc = PdfDocument(data, ctx.budget)
    try:
        result = verify_pdf_bytes(doc, ctx)
    except PdfSyntaxError as exc:
        if "Encrypt" in doc.revision(doc.last).trailer:
            # Encrypted strings and streams are not decrypted: say so rather than "malformed".
            raise UnsupportedInput(f"encrypted PDF: {exc.detail}") from exc
        raise
    return FormatResult(
        kind="pdf",
        findings=result.findings,
        signatures=result.signatures,
        modifications=result.modifications,
        sha256=result.sha256,
    )
