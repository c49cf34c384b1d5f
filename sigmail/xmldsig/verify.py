"""One ``ds:Signature`` → a :class:`SignatureReport`, through the same time, chain and
revocation path as a CMS signer (:mod:`sigmail.cms.verify`).

Order: the structure and the policy first (algorithms, transforms, what each reference
resolves to — nothing is hashed for a reference sigmail would refuse), then signxml's
cryptographic check with the signer certificate sigmail chose, then XAdES (the certificate
binding, the claimed time, the signature timestamp, embedded evidence), then the chain at the
proven time, or at the validation time when no time is proven.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from asn1crypto import cms as asn1_cms
from asn1crypto import x509
from lxml import etree

from sigmail.cms.algorithms import AlgorithmProblem
from sigmail.cms.timestamp import proven_time, verify_timestamp_token
from sigmail.cms.verify import (
    _chain_elements,
    _claimed_time_findings,
    chain_findings,
    signature_status,
)
from sigmail.contract import VerificationContext
from sigmail.errors import InputSignal
from sigmail.limits import LimitExceeded
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import RevocationItem
from sigmail.trust.certificates import load_certificate, summarize
from sigmail.verdict.model import Finding, SignatureReport, TimeSource, TimestampReport
from sigmail.xmldsig.crypto import UriResolver, check_signature_crypto
from sigmail.xmldsig.names import (
    BASE64,
    C14N_METHODS,
    DIGESTS,
    ENVELOPED,
    SIGNATURES,
    canonical,
    ds,
    xades,
)
from sigmail.xmldsig.references import (
    IdIndex,
    Wrapping,
    describe,
    describe_covered,
    is_covered,
)
from sigmail.xmldsig.xades import XadesProperties, b64, read_xades

__all__ = ["XmlSignature", "order_countersignatures", "verify_xml_signature"]

# A reference to something outside the document (a package part, a file): the caller says
# whether it knows the URI (a package's Manifest does), else it is not fetched.
ExternalCheck = Callable[[etree._Element], str | None]


@dataclass(slots=True)
class XmlSignature:
    """A signature's report and what it covers (the elements its references resolved to)."""

    report: SignatureReport
    covered: list[etree._Element] = field(default_factory=list)
    # (element, comments_signed): comments inside an element signed without them are not
    # signed text (the comment game).
    covered_without_comments: list[etree._Element] = field(default_factory=list)


class _Stop(InputSignal):
    pass


def _c14n(element: etree._Element, uri: str) -> bytes:
    exclusive, comments = C14N_METHODS[uri]
    return canonical(element, exclusive, comments)


def _certificates(signature: etree._Element, budget) -> tuple[list[x509.Certificate], int]:
    """The KeyInfo certificates that parse, and how many did not."""
    out = []
    broken = 0
    for data in signature.iterfind(f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"):
        der = b64(data)
        if der is None:
            continue
        try:
            out.append(load_certificate(der))
        except ASN1_ERRORS:
            broken += 1
            continue
        if len(out) > budget.limits.max_certificates:
            raise LimitExceeded("max_certificates", budget.limits.max_certificates, len(out))
    return out, broken


def _leaf(
    certs: list[x509.Certificate],
    props: XadesProperties | None,
    values: Sequence[x509.Certificate] = (),
):
    """The signer: the certificate XAdES SigningCertificate names — in KeyInfo, else in
    XAdES CertificateValues (EN 319 132-1 lets the signer's certificate travel there only) —
    else the one in KeyInfo that issued no other (KeyInfo is not ordered by any rule signers
    keep)."""
    if props is not None:
        for cert in (*certs, *values):
            if _bound(cert, props):
                return cert
    if not certs:
        return None
    # asn1crypto's self_signed is "no", "maybe" or "yes": a string, never to be tested for truth
    leaves = [c for c in certs if not any(o is not c and _issued(c, o) for o in certs)]
    return (leaves or certs)[0]


def _issued(issuer: x509.Certificate, cert: x509.Certificate) -> bool:
    return cert.issuer.dump() == issuer.subject.dump() and cert.self_signed == "no"


def _bound(cert: x509.Certificate, props: XadesProperties) -> bool:
    der = cert.dump()
    for digest in props.cert_digests:
        if digest.digest_algorithm is None:
            continue
        if hmac.compare_digest(hashlib.new(digest.digest_algorithm, der).digest(), digest.value):
            return True
    return False


class _Check:
    def __init__(self, root, signature, index, locator, ctx, ids, external):
        self.root = root
        self.signature = signature
        self.index = index
        self.loc = locator
        self.ctx = ctx
        self.ids = ids
        self.external = external
        self.findings: list[Finding] = []
        self.covered: list[etree._Element] = []
        self.without_comments: list[etree._Element] = []
        self.signature_algorithm: str | None = None
        self.digest_algorithm: str | None = None

    def finding(self, code: str, detail: str, where: str | None = None) -> None:
        if any(f.code == code and f.detail == detail for f in self.findings):
            return  # e.g. SHA-1 on every reference: said once
        self.findings.append(Finding.of(code, where or self.loc, detail))

    def algorithm(self, problem: AlgorithmProblem) -> None:
        self.finding(problem.code, problem.detail)

    def structure(self) -> list[etree._Element]:
        signed_info = self.signature.find(ds("SignedInfo"))
        if signed_info is None or self.signature.find(ds("SignatureValue")) is None:
            self.finding("malformed", "ds:Signature without SignedInfo or SignatureValue")
            raise _Stop
        method = signed_info.find(ds("CanonicalizationMethod"))
        c14n = method.get("Algorithm") if method is not None else None
        if c14n not in C14N_METHODS:
            self.finding("unsupported_transform", f"SignedInfo canonicalisation {c14n}")
            raise _Stop
        sig_method = signed_info.find(ds("SignatureMethod"))
        uri = sig_method.get("Algorithm") if sig_method is not None else None
        if uri not in SIGNATURES:
            self.finding("unsupported_algorithm", f"signature method {uri}")
            raise _Stop
        family, hash_name = SIGNATURES[uri]
        self.signature_algorithm = f"{hash_name}_{family}"
        try:
            self.ctx.algorithms.check_digest(hash_name)
        except AlgorithmProblem as exc:
            self.algorithm(exc)
        references = list(signed_info.iterchildren(ds("Reference")))
        if not references:
            self.finding("malformed", "SignedInfo has no Reference")
            raise _Stop
        limit = self.ctx.budget.limits.max_xml_references
        if len(references) > limit:
            raise LimitExceeded("max_xml_references", limit, len(references))
        for n, reference in enumerate(references):
            self.reference(n, reference)
        return references

    def reference(self, n: int, reference: etree._Element) -> None:
        where = f"{self.loc} reference {n}"
        digest = reference.find(ds("DigestMethod"))
        uri = digest.get("Algorithm") if digest is not None else None
        name = DIGESTS.get(uri or "")
        if name is None:
            self.finding("unsupported_algorithm", f"digest method {uri}", where)
            raise _Stop
        self.digest_algorithm = self.digest_algorithm or name
        try:
            self.ctx.algorithms.check_digest(name)
        except AlgorithmProblem as exc:
            self.finding(exc.code, exc.detail, where)
        transforms = reference.find(ds("Transforms"))
        steps = [] if transforms is None else list(transforms.iterchildren(ds("Transform")))
        limit = self.ctx.budget.limits.max_xml_transforms
        if len(steps) > limit:
            raise LimitExceeded("max_xml_transforms", limit, len(steps))
        comments = False
        algorithms = [step.get("Algorithm") for step in steps]
        decoded = algorithms == [BASE64]
        for algorithm in algorithms:
            if algorithm in C14N_METHODS:
                comments = comments or C14N_METHODS[algorithm][1]
            elif algorithm != ENVELOPED and not decoded:
                # base64 is let through alone only: signxml runs transforms in a fixed order
                # (enveloped, base64, C14N), which is XMLDSig's only when base64 is the one.
                self.finding("unsupported_transform", f"transform {algorithm}", where)
                raise _Stop
        target = reference.get("URI")
        if target is None:
            self.finding("unsupported", "a Reference without URI (the application's data)", where)
            raise _Stop
        if target == "":
            if decoded:  # base64 of the whole document: signxml would decode its first text
                self.finding("unsupported_transform", "base64 transform over the document", where)
                raise _Stop
            self.covered.append(self.root)
            self.without_comments.append(self.root)  # URI="" drops comments (XMLDSig §4.4.3.3)
            return
        if target.startswith("#xpointer(") or not target.startswith("#"):
            if decoded:  # signxml decodes an element's text; an external stream has none
                detail = f"base64 transform over {target!r}, outside the document"
                self.finding("unsupported_transform", detail, where)
                raise _Stop
            problem = self.external(reference) if self.external else "not fetched"
            if problem is not None:
                self.finding("unsupported", f"reference to {target!r}: {problem}", where)
                raise _Stop
            return
        try:
            element = self.ids.resolve(target[1:])
        except Wrapping as exc:
            self.finding("signature_wrapping", str(exc), where)
            raise _Stop from None
        except LookupError as exc:
            self.finding("malformed", str(exc), where)
            raise _Stop from None
        if decoded and len(element):
            # The transform's input is the element's string value (XMLDSig §6.6.2); signxml
            # decodes its first text node only, so an element with children is refused.
            detail = f"base64 transform over {describe(element)}, which holds elements"
            self.finding("unsupported_transform", detail, where)
            raise _Stop
        self.covered.append(element)
        if not comments:
            self.without_comments.append(element)

    def countersigned(self) -> None:
        """A XAdES CounterSignature counts only when it signs the countersigned signature's
        ds:SignatureValue (EN 319 132-1 §5.2.7): a valid signature over something else — the
        countersigned data, an object of its own, another signature — is no countersignature."""
        target = next(self.signature.iterancestors(ds("Signature")), None)
        value = target.find(ds("SignatureValue")) if target is not None else None
        if value is None or not is_covered(value, self.covered):
            what = describe(value) if value is not None else "the countersigned signature"
            covers = ", ".join(describe(e) for e in self.covered) or "nothing"
            self.finding(
                "countersignature_not_bound",
                f"the countersignature does not sign {what}; it covers {covers}",
            )

    def signature_value_c14n(self, uri: str) -> bytes | None:
        value = self.signature.find(ds("SignatureValue"))
        if value is None or uri not in C14N_METHODS:
            return None
        return _c14n(value, uri)


def _timestamps(check: _Check, props: XadesProperties, evidence: list[RevocationItem]):
    reports: list[TimestampReport] = []
    for n, (token_der, c14n) in enumerate(props.timestamps):
        where = f"{check.loc} timestamp" + (f" {n}" if len(props.timestamps) > 1 else "")
        imprinted = check.signature_value_c14n(c14n)
        if imprinted is None:
            check.finding("unsupported_transform", f"SignatureTimeStamp canonicalisation {c14n}")
            continue
        try:
            token = asn1_cms.ContentInfo.load(token_der)
        except ASN1_ERRORS as exc:
            check.finding("timestamp_invalid", f"EncapsulatedTimeStamp: {exc}", where)
            continue
        reports.append(
            verify_timestamp_token(
                token, imprinted=imprinted, ctx=check.ctx, revocation=evidence, locator=where
            )
        )
    passed = [r for r in reports if proven_time(r) is not None]
    best = (
        min(passed, key=lambda r: proven_time(r) or datetime.max.replace(tzinfo=UTC))
        if passed
        else (reports[0] if reports else None)
    )
    check.findings.extend(f for r in reports if r is not best for f in r.findings)
    return best


def verify_xml_signature(
    root: etree._Element,
    signature: etree._Element,
    *,
    index: int,
    position: int,
    ctx: VerificationContext,
    ids: IdIndex,
    locator: str | None = None,
    external: ExternalCheck | None = None,
    kind: str | None = None,
    uri_resolver: UriResolver | None = None,
) -> XmlSignature:
    """Check the ``position``-th ds:Signature of ``root`` (document order), reported as
    signature ``index``. ``external`` accepts references outside the document (their URIs
    are the caller's to know), ``uri_resolver`` gives signxml their content."""
    loc = locator or f"signature {index}"
    check = _Check(root, signature, index, loc, ctx, ids, external)
    props = read_xades(signature, ctx.budget)
    certs, broken = _certificates(signature, ctx.budget)
    if broken:
        check.finding("malformed", f"ds:KeyInfo: {broken} certificate(s) do not parse")
    values: list[x509.Certificate] = []
    for der in props.certificates if props is not None else ():
        try:
            values.append(load_certificate(der))
        except ASN1_ERRORS:
            check.finding("malformed", "XAdES CertificateValues: a certificate does not parse")
    leaf = _leaf(certs, props, values)
    valid = intact = None
    try:
        check.structure()
        key_info = signature.find(ds("KeyInfo"))
        if leaf is None and key_info is not None and key_info.find(ds("PGPData")) is not None:
            # An OpenPGP key (LibreOffice signs so with GnuPG): not X.509, not judged here.
            check.finding("unsupported", "the key is OpenPGP (ds:PGPData): not verified")
            raise _Stop
        if leaf is None:
            check.finding(
                "signer_certificate_missing",
                "no X509Certificate in KeyInfo, none in CertificateValues that "
                "SigningCertificate names",
            )
            raise _Stop
        if signature.getparent() is not None and signature.getparent().tag == xades(
            "CounterSignature"
        ):
            check.countersigned()
        try:
            ctx.algorithms.check_key(leaf.public_key)
        except AlgorithmProblem as exc:
            check.algorithm(exc)
        ctx.budget.spend_signature_check()
        crypto = check_signature_crypto(root, position, leaf.dump(), uri_resolver=uri_resolver)
        valid, intact = crypto.valid, crypto.intact
        if crypto.code is not None:
            check.finding(crypto.code, crypto.detail or crypto.code)
    except _Stop:
        pass

    claimed = None
    evidence: list[RevocationItem] = []
    intermediates = list(certs)
    timestamp = None
    if props is not None:
        for problem in props.problems:
            check.finding("malformed", f"XAdES: {problem}")
        # The properties count only when a reference covers them (their Type is not needed:
        # what is hashed is what counts).
        signed = props.signed_properties is not None and any(
            props.signed_properties is e for e in check.covered
        )
        if signed:
            claimed = props.signing_time
            if props.signing_time_text and claimed is None:
                check.finding("malformed", f"XAdES SigningTime {props.signing_time_text!r}")
            if leaf is not None and props.has_signing_certificate and not _bound(leaf, props):
                check.finding(
                    "signer_certificate_mismatch",
                    "XAdES SigningCertificate does not name the KeyInfo certificate",
                )
        if not (signed and props.has_signing_certificate):
            check.finding(
                "signing_certificate_attr_missing",
                "no signed XAdES SigningCertificate binds the signer certificate",
            )
        intermediates.extend(values)
        evidence.extend(props.revocation)
        if valid:
            timestamp = _timestamps(check, props, evidence)
    else:
        key_info = signature.find(ds("KeyInfo"))
        if key_info is None or not any(key_info is e for e in check.covered):
            check.finding(
                "signing_certificate_attr_missing",
                "the signature does not sign its KeyInfo (no XAdES SigningCertificate)",
            )

    findings = check.findings
    stamped = proven_time(timestamp)
    proofs = [
        (t, src)
        for t, src in ((stamped, TimeSource.TIMESTAMP), (ctx.receipt_time, TimeSource.RECEIPT))
        if t is not None
    ]
    proven_at, proven_by = min(proofs, key=lambda p: p[0]) if proofs else (None, None)
    findings.extend(_claimed_time_findings(claimed, stamped, ctx.tz_quirk, loc))
    chain = None
    checked_at = proven_at or ctx.validation_time
    if leaf is not None:
        chain = ctx.validate_chain(
            leaf, at=checked_at, intermediates=intermediates, revocation_items=evidence
        )
        findings.extend(chain_findings(chain, time_proven=proven_at is not None, locator=loc))
        if proven_at is None:
            findings.append(Finding.of("no_proven_signing_time", loc))
    status = signature_status(findings + list(timestamp.findings if timestamp else ()))
    report = SignatureReport(
        index=index,
        locator=loc,
        status=status,
        intact=intact,
        valid=valid,
        kind=kind or ("xades" if props is not None else "xmldsig"),
        signer=summarize(leaf) if leaf is not None else None,
        anchor_class=str(chain.anchor.anchor_class) if chain and chain.anchor else None,
        anchor=summarize(chain.anchor.certificate).subject if chain and chain.anchor else None,
        chain=_chain_elements(chain) if chain else (),
        digest_algorithm=check.digest_algorithm,
        signature_algorithm=check.signature_algorithm,
        claimed_signing_time=claimed,
        proven_signing_time=proven_at,
        proven_by=proven_by,
        checked_at=checked_at,
        timestamp=timestamp,
        findings=tuple(findings),
        covers=tuple(describe_covered(e) for e in check.covered),
    )
    return XmlSignature(report, check.covered, check.without_comments)


def order_countersignatures(
    signatures: list[etree._Element], reports: list[SignatureReport]
) -> list[SignatureReport]:
    """``reports`` (one per element of ``signatures``, same order) with the signing order a
    XAdES CounterSignature proves: a countersignature that verifies and signs the SignatureValue
    of the signature it sits in was made after it (``earlier_signatures``)."""
    position = {id(element): n for n, element in enumerate(signatures)}
    out = []
    for element, report in zip(signatures, reports, strict=True):
        parent = element.getparent()
        target = next(element.iterancestors(ds("Signature")), None)
        bound = not any(f.code == "countersignature_not_bound" for f in report.findings)
        if (
            parent is not None
            and parent.tag == xades("CounterSignature")
            and target is not None
            and id(target) in position
            and report.valid
            and bound
        ):
            earlier = reports[position[id(target)]].index
            report = replace(report, earlier_signatures=(earlier,))
        out.append(report)
    return out
