"""Signed Office Open XML packages (.docx, .xlsx, .pptx): the handler behind
``InputKind.OOXML``. The work is in :mod:`sigmail.ooxml`; a package without a signature
origin is not something sigmail verifies, and is named as such (``unsupported``)."""

from __future__ import annotations

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.formats.detect import detect
from sigmail.ooxml.package import open_package
from sigmail.ooxml.verify import verify_package
from sigmail.ooxml.zipsafe import open_zip
from sigmail.verdict.model import Finding

__all__ = ["verify_ooxml"]


def verify_ooxml(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    package = open_package(open_zip(data, ctx.budget), ctx.budget)
    reports, findings = verify_package(package, ctx)
    if not reports and not findings:
        label = detect(data, name).label
        problem = f"{label} with no package signature: sigmail verifies signed Office files"
        return FormatResult(kind="ooxml", findings=[Finding.of("unsupported", "document", problem)])
    if not reports:
        findings.append(Finding.of("no_signature", "document", "no signature part is left"))
    return FormatResult(kind="ooxml", findings=findings, signatures=tuple(reports))
