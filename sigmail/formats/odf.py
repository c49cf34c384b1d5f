"""Signed OpenDocument packages (.odt, .ods, .odp, .odg): the handler behind
``InputKind.ODF``, recognised by content (a ``mimetype`` stream of
``application/vnd.oasis.opendocument.*``). The work is in :mod:`sigmail.odf`; a package with
no signature file is not something sigmail verifies, and is named as such (``unsupported``)."""

from __future__ import annotations

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.formats.detect import detect
from sigmail.odf.package import open_odf
from sigmail.odf.verify import verify_odf_package
from sigmail.verdict.model import Finding

__all__ = ["verify_odf"]


def verify_odf(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    package = open_odf(data, ctx.budget)
    reports, findings = verify_odf_package(package, ctx)
    if not reports and not findings:
        label = detect(data, name).label
        problem = f"{label} with no signature: sigmail verifies signed OpenDocument files"
        return FormatResult(kind="odf", findings=[Finding.of("unsupported", "document", problem)])
    return FormatResult(kind="odf", findings=findings, signatures=tuple(reports))
