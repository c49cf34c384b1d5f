"""XAdES qualifying properties (ETSI EN 319 132-1) of one ``ds:Signature``, read, not judged.

What they feed is judged elsewhere, as for CMS: SigningCertificate(V2) against the signer
(:mod:`.verify`), SigningTime as a claim, SignatureTimeStamp through the RFC 3161 code
(:mod:`sigmail.cms.timestamp`), CertificateValues and RevocationValues as embedded evidence
for ``ctx.validate_chain`` (as a PDF's DSS is).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from sigmail.limits import Budget, LimitExceeded
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.xmldsig.names import DIGESTS, ds, xades

__all__ = ["CertDigest", "XadesProperties", "b64", "read_xades"]

# Where SignatureTimeStamp says nothing, its input is canonicalised with C14N 1.0 (EN 319 132-1
# §5.3, XAdES "ds:CanonicalizationMethod" absent → the XMLDSig default).
DEFAULT_TIMESTAMP_C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
MAX_TIMESTAMPS = 8


@dataclass(frozen=True, slots=True)
class CertDigest:
    digest_uri: str | None
    digest_algorithm: str | None  # sigmail's name, None for a URI it does not know
    value: bytes


@dataclass(slots=True)
class XadesProperties:
    signed_properties: etree._Element | None = None
    signing_time: datetime | None = None
    signing_time_text: str | None = None
    cert_digests: list[CertDigest] = field(default_factory=list)
    has_signing_certificate: bool = False
    timestamps: list[tuple[bytes, str]] = field(default_factory=list)  # (token DER, c14n URI)
    certificates: list[bytes] = field(default_factory=list)
    revocation: list[RevocationItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unreadable items, named


def b64(element: etree._Element | None) -> bytes | None:
    """The base64 text of ``element`` (whitespace ignored), ``None`` when it does not decode."""
    if element is None or not element.text:
        return None
    try:
        return base64.b64decode("".join(element.text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        # xs:dateTime allows no zone, and LibreOffice writes the signer's local time so
        # (2016-11-30T10:51:10.493159199). The claim proves nothing either way: it is read as
        # UTC, as a CMS signingTime in local time is, and the +7 h check then explains it.
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def read_xades(signature: etree._Element, budget: Budget) -> XadesProperties | None:
    """The QualifyingProperties in ``signature``'s ds:Object elements; ``None`` when none."""
    found = [
        q
        for obj in signature.iterchildren(ds("Object"))
        for q in obj.iterchildren(xades("QualifyingProperties"))
    ]
    if not found:
        return None
    props = XadesProperties()
    if len(found) > 1:
        props.problems.append(f"{len(found)} QualifyingProperties; the first is read")
    qualifying = found[0]
    signed = qualifying.find(xades("SignedProperties"))
    props.signed_properties = signed
    ssp = signed.find(xades("SignedSignatureProperties")) if signed is not None else None
    if ssp is not None:
        props.signing_time_text = ssp.findtext(xades("SigningTime"))
        props.signing_time = _time(props.signing_time_text)
        for tag in ("SigningCertificateV2", "SigningCertificate"):
            for holder in ssp.iterchildren(xades(tag)):
                props.has_signing_certificate = True
                for cert in holder.iterchildren(xades("Cert")):
                    digest = cert.find(xades("CertDigest"))
                    if digest is None:
                        continue
                    uri = digest.find(ds("DigestMethod"))
                    uri = uri.get("Algorithm") if uri is not None else None
                    value = b64(digest.find(ds("DigestValue")))
                    if value is not None:
                        props.cert_digests.append(CertDigest(uri, DIGESTS.get(uri or ""), value))
    usp = qualifying.find(f"{xades('UnsignedProperties')}/{xades('UnsignedSignatureProperties')}")
    if usp is not None:
        _unsigned(usp, props, budget)
    return props


def _unsigned(usp: etree._Element, props: XadesProperties, budget: Budget) -> None:
    limits = budget.limits
    for stamp in usp.iterchildren(xades("SignatureTimeStamp")):
        method = stamp.find(ds("CanonicalizationMethod"))
        c14n = method.get("Algorithm") if method is not None else DEFAULT_TIMESTAMP_C14N
        for encapsulated in stamp.iterchildren(xades("EncapsulatedTimeStamp")):
            token = b64(encapsulated)
            if token is None:
                props.problems.append("an EncapsulatedTimeStamp is not base64")
                continue
            props.timestamps.append((token, c14n or DEFAULT_TIMESTAMP_C14N))
            if len(props.timestamps) > MAX_TIMESTAMPS:
                raise LimitExceeded("max_timestamp_tokens", MAX_TIMESTAMPS, len(props.timestamps))
    for values in usp.iterchildren(xades("CertificateValues")):
        for encapsulated in values.iterchildren(xades("EncapsulatedX509Certificate")):
            der = b64(encapsulated)
            if der is not None:
                props.certificates.append(der)
            if len(props.certificates) > limits.max_certificates:
                raise LimitExceeded(
                    "max_certificates", limits.max_certificates, len(props.certificates)
                )
    for values in usp.iterchildren(xades("RevocationValues")):
        pairs = (
            ("CRLValues", "EncapsulatedCRLValue", EvidenceKind.CRL),
            ("OCSPValues", "EncapsulatedOCSPValue", EvidenceKind.OCSP),
        )
        for group, item, kind in pairs:
            for holder in values.iterchildren(xades(group)):
                for encapsulated in holder.iterchildren(xades(item)):
                    der = b64(encapsulated)
                    if der is not None:
                        props.revocation.append(RevocationItem(kind, der, "embedded"))
                    if len(props.revocation) > limits.max_revocation_items:
                        raise LimitExceeded(
                            "max_revocation_items",
                            limits.max_revocation_items,
                            len(props.revocation),
                        )
