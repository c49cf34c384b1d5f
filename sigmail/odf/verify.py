"""The signatures of an ODF package and what they cover (ODF 1.2 Part 3 §5, as LibreOffice
writes and checks them).

``META-INF/documentsignatures.xml`` holds one ``ds:Signature`` per signer, side by side (no
signature covers another, so no signing order is proven). Each SignedInfo references the
package's streams directly, by relative URI: XML streams through C14N, other streams as they
are, ``META-INF/manifest.xml`` among them; and, by ``#Id``, LibreOffice's SignatureProperty
(``dc:date``) and the XAdES SignedProperties. Each signature goes through
:func:`sigmail.xmldsig.verify.verify_xml_signature` — signxml checks the signature value and
every reference, the stream references through a resolver that hands it the stream; XAdES,
time, chain and revocation as for any XML signature.

Coverage, as LibreOffice's ``checkIfAllFilesAreSigned`` ("no more, no less"): every stream but
``mimetype`` and the document signature file itself must be covered by a valid document
signature — a stream added after signing is ``content_not_covered`` naming it; a covered
stream changed or removed is ``digest_mismatch`` naming it (every one of them, not only the
first signxml meets). ``META-INF/macrosignatures.xml`` is a stream like any other there: a
macro signature added after the document was signed is not covered.

Macro signatures (``META-INF/macrosignatures.xml``) are checked the same way and reported apart
(``kind = "odf_macro"``, "macro signature N"): they cover the macro streams (``Basic/``,
``Dialogs/``, ``Scripts/``), never count as a signer of the document (the policy's C1, C7–C10
skip them), and a broken one still breaks the document — its macros are what runs when it is
opened. Macro streams a macro signature leaves out are ``content_not_covered``.
"""

from __future__ import annotations

import hmac
import posixpath
from dataclasses import replace
from urllib.parse import unquote

from lxml import etree

from sigmail.cms.algorithms import AlgorithmProblem, digest
from sigmail.cms.verify import signature_status
from sigmail.contract import VerificationContext
from sigmail.limits import LimitExceeded
from sigmail.odf.package import DOCUMENT_SIGNATURES, MACRO_SIGNATURES, MIMETYPE, OdfPackage
from sigmail.problems import InputProblem, MalformedInput
from sigmail.verdict.model import Finding, SignatureReport
from sigmail.xmldsig.names import C14N_METHODS, DIGESTS, ds
from sigmail.xmldsig.parse import parse_xml
from sigmail.xmldsig.references import IdIndex
from sigmail.xmldsig.verify import verify_xml_signature
from sigmail.xmldsig.xades import b64

__all__ = ["DSIG_NS", "MACRO_FOLDERS", "stream_name", "verify_odf_package"]

DSIG_NS = "urn:oasis:names:tc:opendocument:xmlns:digitalsignature:1.0"
MACRO_FOLDERS = ("Basic/", "Dialogs/", "Scripts/")
_SHOWN = 8


def stream_name(uri: str) -> str | None:
    """The stream a Reference URI names ("Pictures/a%20b.png" → "Pictures/a b.png"), or None
    when it is not a relative path inside the package (a fragment, a scheme, an absolute or
    escaping path, a query)."""
    if not uri or uri.startswith(("#", "/")) or "?" in uri or "\\" in uri:
        return None
    first = uri.split("/", 1)[0]
    if ":" in first:  # a scheme: http:, file:, urn: …
        return None
    name = unquote(uri)
    if "\x00" in name:
        return None
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal == ".." or normal.startswith("/"):
        return None
    return normal.removeprefix("./")


def _shown(names: list[str]) -> str:
    extra = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" (+{extra} more)" if extra > 0 else "")


def verify_odf_package(
    package: OdfPackage, ctx: VerificationContext
) -> tuple[list[SignatureReport], list[Finding]]:
    """The document signatures' reports, then the macro signatures'; document-level findings
    (what no signature covers)."""
    documents, document_covered = _signature_file(
        package, DOCUMENT_SIGNATURES, ctx, first=0, kind="odf", label="signature"
    )
    macros, macro_covered = _signature_file(
        package,
        MACRO_SIGNATURES,
        ctx,
        first=len(documents),
        kind="odf_macro",
        label="macro signature",
    )
    findings: list[Finding] = []
    if documents:
        # Every stream of the ZIP, so every stream the manifest lists and one it does not (a
        # reader of the ZIP sees both); a listed stream the ZIP lacks has nothing to cover,
        # and if it was signed its reference says it is gone (digest_mismatch).
        required = set(package.streams) - {MIMETYPE, DOCUMENT_SIGNATURES}
        uncovered = sorted(required - document_covered)
        if uncovered:
            findings.append(
                Finding.of(
                    "content_not_covered",
                    "document",
                    "streams no document signature covers (added after signing, or never "
                    f"signed): {_shown(uncovered)}",
                )
            )
    if macros:
        macro_streams = {s for s in package.streams if s.startswith(MACRO_FOLDERS)}
        uncovered = sorted(macro_streams - macro_covered)
        if uncovered:
            findings.append(
                Finding.of(
                    "content_not_covered",
                    "macros",
                    f"macro streams no macro signature covers: {_shown(uncovered)}",
                )
            )
    return documents + macros, findings


def _signature_file(
    package: OdfPackage, name: str, ctx: VerificationContext, *, first: int, kind: str, label: str
) -> tuple[list[SignatureReport], set[str]]:
    data = package.get(name)
    if data is None:
        return [], set()
    root = parse_xml(data, ctx.budget, locator=name)
    if root.tag != f"{{{DSIG_NS}}}document-signatures":
        raise MalformedInput(f"{name} is not an ODF document-signatures file", name)
    signatures = list(root.iter(ds("Signature")))
    if any(s.getparent() is not root for s in signatures):
        raise MalformedInput(f"{name}: a ds:Signature that is not a child of the root", name)
    limit = ctx.budget.limits.max_xml_signatures
    if first + len(signatures) > limit:
        raise LimitExceeded("max_xml_signatures", limit, first + len(signatures))
    ids = IdIndex(root)
    reports: list[SignatureReport] = []
    covered: set[str] = set()
    for n, signature in enumerate(signatures):
        report, streams = _one(
            package,
            root,
            signature,
            n,
            ctx,
            ids,
            index=first + n,
            locator=f"{label} {n} ({name})",
            kind=kind,
            own=name,
        )
        reports.append(report)
        if report.valid:  # a changed stream stays "covered": its digest_mismatch names it
            covered |= streams
    return reports, covered


def _stream_references(signature: etree._Element) -> list[tuple[etree._Element, str | None]]:
    signed_info = signature.find(ds("SignedInfo"))
    if signed_info is None:
        return []
    out = []
    for reference in signed_info.iterchildren(ds("Reference")):
        uri = reference.get("URI") or ""
        if uri.startswith("#") or uri == "":
            continue
        out.append((reference, stream_name(uri)))
    return out


def _transforms(reference: etree._Element) -> list[str]:
    transforms = reference.find(ds("Transforms"))
    if transforms is None:
        return []
    return [t.get("Algorithm") or "" for t in transforms.iterchildren(ds("Transform"))]


class _Streams:
    """What signxml is given for a stream reference: the bytes, or — for a reference with a
    C14N transform — the stream parsed by sigmail's safe parser (never signxml's)."""

    def __init__(self, package: OdfPackage, ctx: VerificationContext, references, own: str):
        self.package = package
        self.own = own  # the signature file the signature is in
        self.ctx = ctx
        self.as_xml = {
            reference.get("URI"): any(a in C14N_METHODS for a in _transforms(reference))
            for reference, name in references
            if name is not None
        }
        self.parsed: dict[str, etree._Element] = {}

    def external(self, reference: etree._Element) -> str | None:
        """None when the reference names a stream sigmail will hand over, else the reason."""
        name = stream_name(reference.get("URI") or "")
        if name is None:
            return "not a stream of the package (nothing outside it is fetched)"
        if name == self.own:
            return "a signature file cannot be signed by the signatures it holds"
        return None

    def xml(self, name: str, data: bytes) -> etree._Element:
        if name not in self.parsed:
            try:
                # A macro signature's Basic and dialog streams name their DTD; nothing is read.
                self.parsed[name] = parse_xml(
                    data, self.ctx.budget, locator=name, external_dtd_name=True
                )
            except InputProblem:
                # Not (or no longer) well-formed: nothing canonicalises to the signed digest.
                self.parsed[name] = etree.Element("sigmail-unparseable-stream")
        return self.parsed[name]

    def resolve(self, uri: str):
        name = stream_name(uri)
        if name is None:
            return None
        data = self.package.get(name)
        if data is None:
            data = b""  # removed after signing: hashes to nothing that was signed
        if self.as_xml.get(uri):
            return self.xml(name, data)
        return data


def _one(package, root, signature, n, ctx, ids, *, index, locator, kind, own):
    references = _stream_references(signature)
    streams = _Streams(package, ctx, references, own)
    checked = verify_xml_signature(
        root,
        signature,
        index=index,
        position=n,
        ctx=ctx,
        ids=ids,
        locator=locator,
        external=streams.external,
        kind=kind,
        uri_resolver=streams.resolve,
    )
    report = checked.report
    names = {name for _, name in references if name is not None}
    findings: list[Finding] = []
    if report.valid and report.intact is not True:
        # SignedInfo verifies, a reference does not: name every stream that changed.
        limit = ctx.budget.limits.max_xml_references
        if len(references) > limit:
            raise LimitExceeded("max_xml_references", limit, len(references))
        for reference, name in references:
            if name is None:
                continue
            try:
                _check_stream(streams, reference, name, ctx, f"{locator} stream {name}")
            except InputProblem as exc:
                findings.append(Finding.of(exc.code, exc.locator, exc.detail))
            except AlgorithmProblem as exc:
                findings.append(Finding.of(exc.code, f"{locator} stream {name}", exc.detail))
    if findings:
        kept = report.findings
        if any(f.code == "digest_mismatch" for f in findings):
            # signxml's "reference N" (the first it met) gives way to the streams, each named.
            kept = tuple(
                f for f in kept if not (f.code == "digest_mismatch" and f.locator == locator)
            )
        all_findings = kept + tuple(findings)
        report = replace(
            report,
            findings=all_findings,
            intact=False if any(f.code == "digest_mismatch" for f in findings) else report.intact,
            status=signature_status(list(all_findings)),
        )
    return replace(report, covers=tuple(sorted(names))), names


class _Digest(InputProblem):
    code = "digest_mismatch"


def _check_stream(streams: _Streams, reference, name: str, ctx, where: str) -> None:
    data = streams.package.get(name)
    if data is None:
        raise _Digest(f"{name}: a signed stream is no longer in the package", where)
    method = reference.find(ds("DigestMethod"))
    algorithm = DIGESTS.get(method.get("Algorithm", "") if method is not None else "")
    if algorithm is None:
        raise AlgorithmProblem("unsupported_algorithm", f"{name}: digest method not known")
    algorithms = _transforms(reference)
    if algorithms:
        exclusive, comments = C14N_METHODS.get(algorithms[-1], (False, False))
        element = streams.xml(name, data)
        # The root element, as signxml canonicalises what the resolver hands it.
        data = etree.tostring(element, method="c14n", exclusive=exclusive, with_comments=comments)
    expected = b64(reference.find(ds("DigestValue")))
    if expected is None or not hmac.compare_digest(digest(algorithm, data), expected):
        raise _Digest(f"{name} changed after signing (digest mismatch)", where)
