"""Stand-alone CMS files: ``.p7m`` (content inside) and ``.p7s`` (detached, content apart)."""

from __future__ import annotations

from sigmail.cms.context import VerificationContext
from sigmail.cms.signed_data import parse_signed_data
from sigmail.cms.verify import verify_signed_data
from sigmail.formats.result import FormatResult, NestedVerifier
from sigmail.verdict.model import Finding

__all__ = ["verify_cms_file"]


def verify_cms_file(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    parsed = parse_signed_data(data, ctx.budget)
    result = FormatResult(kind="p7m" if parsed.econtent is not None else "p7s")
    if not parsed.signer_infos:
        result.findings.append(
            Finding.of("no_signature", "document", "SignedData has no signer infos")
        )
        return result
    result.signatures = verify_signed_data(parsed, content=content, ctx=ctx)
    return result
