"""The signatures of an OPC package and what they cover.

Each signature part (``_xmlsignatures/sigN.xml``, named by the origin part's relationships)
is an XMLDSig checked by :func:`sigmail.xmldsig.verify.verify_xml_signature` — SignedInfo
covers the package object, Office's object and the XAdES properties. Its ``ds:Manifest``
then names the parts, each ``/part?ContentType=type``; sigmail hashes each itself: the
content type must be the package's, Relationships parts go through the relationship
transform and C14N, other parts are hashed as they are. A changed covered part is
``digest_mismatch`` naming it (invalid); a part no signature covers — the signature parts
and ``[Content_Types].xml`` aside — is ``content_not_covered`` naming it.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from urllib.parse import unquote

from lxml import etree

from sigmail.cms.algorithms import AlgorithmProblem, digest
from sigmail.cms.verify import signature_status
from sigmail.contract import VerificationContext
from sigmail.limits import LimitExceeded
from sigmail.ooxml.package import CONTENT_TYPES_PART, ORIGIN, SIGNATURE, Package, rels_part_of
from sigmail.ooxml.relationships import relationship_transform, transform_parameters
from sigmail.problems import InputProblem, MalformedInput
from sigmail.verdict.model import Finding, SignatureReport
from sigmail.xmldsig.names import C14N_METHODS, DIGESTS, OPC_RELATIONSHIP_TRANSFORM, ds
from sigmail.xmldsig.parse import parse_xml
from sigmail.xmldsig.references import IdIndex
from sigmail.xmldsig.verify import verify_xml_signature
from sigmail.xmldsig.xades import b64

__all__ = ["signature_parts", "verify_package"]


def signature_parts(package: Package) -> tuple[str | None, list[str], list[Finding]]:
    """The origin part, the signature parts it names, and findings for dangling names."""
    origins = [r for r in package.relationships("/") if r.type == ORIGIN]
    if not origins:
        return None, [], []
    origin = package.target("/", origins[0])
    parts, findings = [], []
    for relationship in package.relationships(origin):
        if relationship.type != SIGNATURE:
            continue
        part = package.target(origin, relationship)
        if package.get(part) is None:
            findings.append(
                Finding.of(
                    "malformed",
                    "document",
                    f"the signature origin names {part}, which is not in the package "
                    "(a signature part was removed)",
                )
            )
            continue
        parts.append(part)
    return origin, parts, findings


def verify_package(
    package: Package, ctx: VerificationContext
) -> tuple[list[SignatureReport], list[Finding]]:
    origin, parts, findings = signature_parts(package)
    limit = ctx.budget.limits.max_xml_signatures
    if len(parts) > limit:
        raise LimitExceeded("max_xml_signatures", limit, len(parts))
    reports: list[SignatureReport] = []
    covered: set[str] = set()
    digests: dict[tuple, bytes] = {}  # every signature hashes the same parts: once each
    for index, part in enumerate(parts):
        report, parts_covered = _one(package, part, index, ctx, digests)
        reports.append(report)
        if report.valid:  # a changed part stays "covered": its digest_mismatch names it
            covered |= parts_covered
    if origin is None:
        return reports, findings
    exempt = {CONTENT_TYPES_PART.lower(), origin.lower(), rels_part_of(origin).lower()}
    exempt |= _metadata_parts(package)
    exempt |= {p.lower() for p in parts} | {rels_part_of(p).lower() for p in parts}
    uncovered = sorted(
        package.names[p] for p in package.parts if p not in exempt and p not in covered
    )
    if reports and uncovered:
        shown = ", ".join(uncovered[:8]) + (
            f" (+{len(uncovered) - 8} more)" if len(uncovered) > 8 else ""
        )
        findings.append(
            Finding.of(
                "content_not_covered",
                "document",
                f"parts no signature covers (added after signing, or never signed): {shown}",
            )
        )
    return reports, findings


# Office leaves the package's metadata out of its signatures (core and extended properties,
# the thumbnail; PowerPoint's presentation and view properties): what a reader reads as the
# document is not in them, and every Office-signed file would be "not covered" otherwise.
_METADATA_RELATIONSHIPS = {
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
}
_METADATA_TYPES = {
    "application/vnd.openxmlformats-officedocument.presentationml.presProps+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.viewProps+xml",
}


def _metadata_parts(package: Package) -> set[str]:
    parts = {
        package.target("/", r).lower()
        for r in package.relationships("/")
        if r.type in _METADATA_RELATIONSHIPS and not r.external
    }
    parts |= {p for p in package.parts if package.content_type(p) in _METADATA_TYPES}
    return parts


def _one(package: Package, part: str, index: int, ctx: VerificationContext, digests: dict):
    locator = f"signature {index} ({package.names.get(part.lower(), part)})"
    try:
        root = parse_xml(package.get(part) or b"", ctx.budget, locator=locator)
    except InputProblem as exc:
        return _broken(index, locator, exc.code, exc.detail), set()
    signatures = list(root.iter(ds("Signature")))
    if len(signatures) != 1:
        detail = f"{len(signatures)} ds:Signature elements in a signature part, not 1"
        return _broken(index, locator, "malformed", detail), set()
    checked = verify_xml_signature(
        root,
        signatures[0],
        index=index,
        position=0,
        ctx=ctx,
        ids=IdIndex(root),
        locator=locator,
        kind="ooxml",
    )
    report = checked.report
    manifests = [
        m
        for element in checked.covered
        for m in ([element] if element.tag == ds("Manifest") else element.iter(ds("Manifest")))
    ]
    findings: list[Finding] = []
    covered: set[str] = set()
    if not manifests:
        findings.append(Finding.of("malformed", locator, "no signed ds:Manifest names the parts"))
    else:
        references = [r for m in manifests for r in m.iterchildren(ds("Reference"))]
        budget = ctx.budget.limits.max_xml_references
        if len(references) > budget:
            raise LimitExceeded("max_xml_references", budget, len(references))
        for n, reference in enumerate(references):
            where = f"{locator} part {n}"
            named = unquote((reference.get("URI") or "").partition("?")[0]).lower()
            if named in package.parts:
                covered.add(named)
            try:
                _check_part(package, reference, ctx, where, digests)
            except InputProblem as exc:
                findings.append(Finding.of(exc.code, exc.locator, exc.detail))
                continue
            except AlgorithmProblem as exc:
                findings.append(Finding.of(exc.code, where, exc.detail))
    if findings:
        all_findings = report.findings + tuple(findings)
        broken = any(f.code == "digest_mismatch" for f in findings)
        report = replace(
            report,
            findings=all_findings,
            intact=False if broken else report.intact,
            status=signature_status(list(all_findings)),
        )
    report = replace(report, covers=tuple(sorted(package.names.get(p, p) for p in covered)))
    return report, covered


class _Digest(InputProblem):
    code = "digest_mismatch"


class _Transform(InputProblem):
    code = "unsupported_transform"


def _check_part(
    package: Package, reference: etree._Element, ctx, where: str, digests: dict
) -> None:
    uri = reference.get("URI") or ""
    name, _, query = uri.partition("?")
    name = unquote(name)
    if not name.startswith("/"):
        raise MalformedInput(f"manifest reference {uri!r} is not a part name", where)
    if name.lower() not in package.parts:
        raise _Digest(f"{name}: a signed part is no longer in the package", where)
    declared = query.removeprefix("ContentType=") if query.startswith("ContentType=") else None
    actual = package.content_type(name)
    if declared is not None and declared != actual:
        raise _Digest(f"{name}: content type {actual!r}, signed as {declared!r}", where)
    method = reference.find(ds("DigestMethod"))
    algorithm = DIGESTS.get(method.get("Algorithm", "") if method is not None else "")
    if algorithm is None:
        raise AlgorithmProblem("unsupported_algorithm", f"{name}: digest method not known")
    ctx.algorithms.check_digest(algorithm)
    transforms = reference.find(ds("Transforms"))
    steps = [] if transforms is None else list(transforms.iterchildren(ds("Transform")))
    limit = ctx.budget.limits.max_xml_transforms
    if len(steps) > limit:
        raise LimitExceeded("max_xml_transforms", limit, len(steps))
    key = (name.lower(), algorithm, b"".join(etree.tostring(s) for s in steps))
    if key not in digests:
        if steps:
            data = package.get(name) or b""
            digests[key] = digest(algorithm, _transformed(data, steps, name, ctx, where))
        else:  # hashed as stored: straight from the inflater, never held whole
            digests[key] = package.digest(name, algorithm) or b""
    expected = b64(reference.find(ds("DigestValue")))
    if expected is None or not hmac.compare_digest(digests[key], expected):
        raise _Digest(f"{name} changed after signing (digest mismatch)", where)


def _transformed(data: bytes, steps, name: str, ctx, where: str) -> bytes:
    algorithms = [s.get("Algorithm") for s in steps]
    if algorithms[0] == OPC_RELATIONSHIP_TRANSFORM and all(
        a in C14N_METHODS for a in algorithms[1:]
    ):
        ids, types = transform_parameters(steps[0])
        element = relationship_transform(data, ids, types, ctx.budget, where)
        exclusive, comments = C14N_METHODS[algorithms[1]] if len(algorithms) > 1 else (False, False)
        return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)
    if all(a in C14N_METHODS for a in algorithms):
        element = parse_xml(data, ctx.budget, locator=where)
        exclusive, comments = C14N_METHODS[algorithms[-1]]
        return etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)
    unknown = next(a for a in algorithms if a not in C14N_METHODS)
    raise _Transform(f"{name}: transform {unknown}", where)


def _broken(index: int, locator: str, code: str, detail: str) -> SignatureReport:
    findings = (Finding.of(code, locator, detail),)
    return SignatureReport(
        index=index,
        locator=locator,
        status=signature_status(list(findings)),
        intact=None,
        valid=None,
        kind="ooxml",
        findings=findings,
    )
