"""Standalone signed XML (XMLDSig enveloped, enveloping, detached; XAdES B-B/B-T/B-LT): the
handler behind ``InputKind.XML``.

The signatures are checked by :mod:`sigmail.xmldsig`; this module decides what the verdict
speaks for. What a consumer of an XML document reads is its root element, so the document is
signed only when a signature covers the root (an enveloped signature with ``URI=""``, or the
root's Id), or — the signature beside the data — every child of the root but the signatures
themselves; an enveloping signature (the root is ``ds:Signature``) must cover each of its
``ds:Object`` elements that holds data. Anything else is ``content_not_covered``, naming what the
signatures do cover: a valid signature over a moved or wrapped element (XSW) never makes the
document ``official``. So do comments inside an element signed without comments: a reader
sees them, the signature does not.
"""

from __future__ import annotations

from lxml import etree

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.formats.detect import detect
from sigmail.limits import LimitExceeded
from sigmail.verdict.model import Finding
from sigmail.xmldsig.names import ds, xades
from sigmail.xmldsig.parse import parse_xml
from sigmail.xmldsig.references import IdIndex, describe, is_covered
from sigmail.xmldsig.verify import XmlSignature, order_countersignatures, verify_xml_signature

__all__ = ["uncovered_content", "verify_xml"]

_SIGNATURE = ds("Signature")


def verify_xml(
    data: bytes,
    *,
    name: str | None,
    content: bytes | None,
    ctx: VerificationContext,
    nested: NestedVerifier,
) -> FormatResult:
    """Every ds:Signature of the XML ``data`` and whether together they cover the document.
    ``content`` is not used: a reference outside the document is not fetched."""
    root = parse_xml(data, ctx.budget)
    signatures = list(root.iter(_SIGNATURE))
    if not signatures:
        label = detect(data, name).label
        problem = f"{label} with no XML signature (ds:Signature): sigmail verifies signed XML"
        return FormatResult(kind="xml", findings=[Finding.of("unsupported", "document", problem)])
    limit = ctx.budget.limits.max_xml_signatures
    if len(signatures) > limit:
        raise LimitExceeded("max_xml_signatures", limit, len(signatures))
    ids = IdIndex(root)
    checked = [
        verify_xml_signature(root, signature, index=n, position=n, ctx=ctx, ids=ids)
        for n, signature in enumerate(signatures)
    ]
    reports = order_countersignatures(signatures, [c.report for c in checked])
    result = FormatResult(kind="xml", signatures=tuple(reports))
    result.findings.extend(uncovered_content(root, checked))
    return result


def uncovered_content(root: etree._Element, checked: list[XmlSignature]) -> list[Finding]:
    """``content_not_covered`` findings for what a reader of ``root`` sees and no signature
    covers."""
    covered = [e for c in checked for e in c.covered]
    out = []
    missing = [describe(e) for e in _uncovered(root, covered)]
    if missing:
        signed = sorted({describe(e) for e in covered}) or ["nothing"]
        out.append(
            Finding.of(
                "content_not_covered",
                "document",
                f"not covered by any signature: {', '.join(missing[:5])}"
                + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
                + f"; the signatures cover {', '.join(signed[:5])}",
            )
        )
    for element in (e for c in checked for e in c.covered_without_comments):
        comments = [c for c in element.iter(etree.Comment) if next(_in_signature(c), None) is None]
        if comments:
            out.append(
                Finding.of(
                    "content_not_covered",
                    "document",
                    f"{describe(element)} holds {len(comments)} comment(s) the signature does not "
                    "sign (canonicalised without comments): a reader may see other text",
                )
            )
            break
    return out


def _in_signature(node: etree._Element):
    return (a for a in node.iterancestors(_SIGNATURE))


_WRAPPER_ATTRIBUTES = {"Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id"}


def _uncovered(root: etree._Element, covered: list[etree._Element]) -> list[etree._Element]:
    """What a reader sees and no signature covers: the root — or, when the root only wraps
    the data and the signature (no text, no attributes but an Id), each of its element
    children; for an enveloping signature, its data objects."""
    if root.tag == _SIGNATURE:
        objects = [
            obj
            for obj in root.iterchildren(ds("Object"))
            if len(obj) == 0 or any(child.tag != xades("QualifyingProperties") for child in obj)
        ]
        return [obj for obj in objects if not is_covered(obj, covered)]
    if is_covered(root, covered):
        return []
    wrapper = (
        not set(root.attrib) - _WRAPPER_ATTRIBUTES
        and not (root.text or "").strip()
        and all(not (child.tail or "").strip() for child in root)
    )
    if not wrapper:
        return [root]
    data = [c for c in root.iterchildren(etree.Element) if c.tag != _SIGNATURE]
    if not data:
        return [root]
    return [c for c in data if not is_covered(c, covered)]
