"""Stand-alone CMS files: ``.p7m`` (content inside) and ``.p7s`` (detached, content apart)."""

from __future__ import annotations

from sigmail.cms.context import VerificationContext
from sigmail.cms.signed_data import parse_signed_data
from sigmail.cms.verify import verify_signed_data
from sigmail.verdict.model import Finding, SignatureReport

__all__ = ["verify_cms_file"]


def verify_cms_file(
    data: bytes, *, content: bytes | None, ctx: VerificationContext
) -> tuple[str, list[Finding], tuple[SignatureReport, ...]]:
    """(kind, document findings, signature reports) for one CMS file."""
    parsed = parse_signed_data(data, ctx.budget)
    kind = "p7m" if parsed.econtent is not None else "p7s"
    findings: list[Finding] = []
    if not parsed.signer_infos:
        findings.append(Finding.of("no_signature", "document", "SignedData has no signer infos"))
        return kind, findings, ()
    return kind, findings, verify_signed_data(parsed, content=content, ctx=ctx)
