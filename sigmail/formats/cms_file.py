"""Stand-alone CMS files: ``.p7m`` (content inside) and ``.p7s`` (detached, content apart).

A .p7m may carry another signed .p7m as its content — the way a CMS document is sealed by the
agency after the person signed it. Each layer's signatures are verified over that layer's own
content, innermost first, and every outer signature records the inner ones as signed before it
(``earlier_signatures``: the signing order NĐ 30/2020 Art 32(2)(d) asks about).
"""

from __future__ import annotations

from dataclasses import replace

from sigmail.cms.signed_data import NotSignedData, ParsedSignedData, parse_signed_data
from sigmail.cms.verify import verify_signed_data
from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.limits import LimitExceeded
from sigmail.problems import MalformedInput
from sigmail.verdict.model import Finding, SignatureReport

__all__ = ["verify_cms_file"]

_ID_DATA = "1.2.840.113549.1.7.1"
_ID_SIGNED_DATA = "1.2.840.113549.1.7.2"

# What a .p7m that is not SignedData holds, as a clerk is told it (RFC 5652, RFC 5083).
_ENCRYPTED = {
    "enveloped_data": "EnvelopedData",
    "authenticated_enveloped_data": "AuthEnvelopedData",
    "encrypted_data": "EncryptedData",
}


def _not_signed_data(content_type: str) -> FormatResult:
    """The verdict's findings for a ContentInfo that is not SignedData: encrypted content is
    indeterminate (as an encrypted part of a message is), plain id-data is unsigned, and the
    rest (compressed, digested, authenticated data) is not something sigmail reads."""
    if content_type in _ENCRYPTED:
        finding = Finding.of(
            "encrypted", "document", f"the file holds {_ENCRYPTED[content_type]}: not decrypted"
        )
    elif content_type == "data":
        finding = Finding.of(
            "no_signature", "document", "the file is a CMS Data ContentInfo: nothing is signed"
        )
    else:
        finding = Finding.of(
            "unsupported", "document", f"CMS {content_type} is not supported (not SignedData)"
        )
    return FormatResult(kind="p7m", findings=[finding])


def _inner_signed_data(layer: ParsedSignedData, ctx: VerificationContext):
    """The SignedData carried as this layer's content, if it is one."""
    content = layer.econtent
    if content is None or layer.econtent_type not in (_ID_DATA, _ID_SIGNED_DATA):
        return None
    if content[:1] != b"\x30":
        return None
    try:
        return parse_signed_data(content, ctx.budget, locator="document")
    except MalformedInput:
        if layer.econtent_type == _ID_SIGNED_DATA:
            raise
        return None  # ordinary data that happens to start like DER


def verify_cms_file(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    try:
        layers = [parse_signed_data(data, ctx.budget)]
    except NotSignedData as exc:
        return _not_signed_data(exc.content_type)
    while (inner := _inner_signed_data(layers[-1], ctx)) is not None:
        layers.append(inner)
        if len(layers) > ctx.budget.limits.max_cms_nesting:
            raise LimitExceeded("max_cms_nesting", ctx.budget.limits.max_cms_nesting, len(layers))
    result = FormatResult(kind="p7m" if layers[0].econtent is not None else "p7s")

    reports: list[SignatureReport] = []
    for layer in reversed(layers):  # innermost first: it was signed first
        earlier = tuple(r.index for r in reports)
        made = verify_signed_data(
            layer,
            content=content if layer is layers[-1] else None,
            ctx=ctx,
            first_index=len(reports),
        )
        reports.extend(
            replace(r, earlier_signatures=tuple(sorted({*earlier, *r.earlier_signatures})))
            if earlier
            else r
            for r in made
        )
    if not reports:
        result.findings.append(
            Finding.of("no_signature", "document", "SignedData has no signer infos")
        )
    result.signatures = tuple(reports)
    return result
