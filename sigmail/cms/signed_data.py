"""Parsing CMS SignedData (RFC 5652) into what verification needs, within budgets.

Accepts DER/BER, PEM (``PKCS7``/``CMS`` blocks) and bare base64, the forms .p7m/.p7s files
come in. Anything that does not parse is :class:`MalformedInput`; the caller makes a verdict.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from asn1crypto import cms, core, crl, ocsp, pem, x509
from asn1crypto import pdf as _asn1_pdf  # noqa: F401 - registers Adobe's revocation-archival attribute

from sigmail.limits import Budget
from sigmail.problems import ASN1_ERRORS, MalformedInput
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.certificates import load_certificate

__all__ = [
    "NotSignedData",
    "ParsedSignedData",
    "certificates_of",
    "decode_cms_bytes",
    "parse_signed_data",
    "signed_data_revocation",
    "signer_revocation",
]

_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")

# CAdES revocation values and Adobe's archival attribute also carry evidence (PDF signatures).
_REVOCATION_VALUES_OID = "1.2.840.113549.1.9.16.2.24"
_ADOBE_REVINFO_OID = "1.2.840.113583.1.1.8"


class NotSignedData(MalformedInput):
    """A well-formed ContentInfo of another type (EnvelopedData, Data, …): not malformed in
    itself, but not a signature either. The caller says what it is."""

    def __init__(self, content_type: str, locator: str = "document") -> None:
        self.content_type = content_type  # asn1crypto's name, or the dotted OID
        super().__init__(f"CMS content type is {content_type}, not signed-data", locator)


@dataclass(frozen=True, slots=True)
class ParsedSignedData:
    content_info: cms.ContentInfo
    signed_data: cms.SignedData
    econtent_type: str  # dotted OID
    econtent: bytes | None = field(repr=False)  # None: detached signature
    certificates: tuple[x509.Certificate, ...]
    signer_infos: tuple[cms.SignerInfo, ...]
    revocation: tuple[RevocationItem, ...]


def decode_cms_bytes(data: bytes) -> bytes:
    """DER/BER bytes of a CMS object given as binary, PEM or base64 text."""
    head = data.lstrip()[:1]
    if head == b"0":  # 0x30, a SEQUENCE: already binary
        return data
    if pem.detect(data):
        try:
            _kind, _headers, der = pem.unarmor(data)
        except ValueError as exc:
            raise MalformedInput(f"bad PEM armour: {exc}") from exc
        return der
    if data and len(data) < 512 * 1024 * 1024 and _BASE64_TEXT.match(data):
        try:
            return base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedInput(f"not DER, PEM or base64: {exc}") from exc
    return data


def _wrap_basic_ocsp(basic: ocsp.BasicOCSPResponse) -> bytes:
    return ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    ).dump()


def _items_from_revocation_values(values, origin: str) -> list[RevocationItem]:
    items = []
    for c in values["crl_vals"] or ():
        items.append(RevocationItem(EvidenceKind.CRL, c.dump(), origin))
    for o in values["ocsp_vals"] or ():
        items.append(RevocationItem(EvidenceKind.OCSP, _wrap_basic_ocsp(o), origin))
    return items


def signed_data_revocation(signed_data: cms.SignedData) -> list[RevocationItem]:
    """CRLs and OCSP responses (RFC 5940) carried in SignedData.crls."""
    items: list[RevocationItem] = []
    for choice in signed_data["crls"] or ():
        if choice.name == "crl":
            items.append(RevocationItem(EvidenceKind.CRL, choice.chosen.dump(), "embedded"))
        elif choice.name == "other":
            other = choice.chosen
            if other["other_rev_info_format"].dotted == "1.3.6.1.5.5.7.16.2":
                value = other["other_rev_info"]
                der = value.dump() if not isinstance(value, bytes) else value
                items.append(RevocationItem(EvidenceKind.OCSP, der, "embedded"))
    return items


def signer_revocation(signer_info: cms.SignerInfo) -> list[RevocationItem]:
    """Evidence in a signer's CAdES revocation-values and Adobe revocation-archival attributes."""
    items: list[RevocationItem] = []
    for attrs_name in ("unsigned_attrs", "signed_attrs"):
        for attr in signer_info[attrs_name] or ():
            oid = attr["type"].dotted
            if oid == _REVOCATION_VALUES_OID:
                for values in attr["values"]:
                    items.extend(_items_from_revocation_values(values, "embedded"))
            elif oid == _ADOBE_REVINFO_OID:
                for archival in attr["values"]:
                    for c in archival["crl"] or ():
                        items.append(RevocationItem(EvidenceKind.CRL, c.dump(), "embedded"))
                    for o in archival["ocsp"] or ():
                        items.append(RevocationItem(EvidenceKind.OCSP, o.dump(), "embedded"))
    return items


def certificates_of(signed_data: cms.SignedData, budget: Budget) -> tuple[x509.Certificate, ...]:
    """The X.509 certificates of a SignedData (other certificate formats are ignored)."""
    choices = signed_data["certificates"] or ()
    budget.check_size("max_certificates", len(choices))
    out = []
    for choice in choices:
        if choice.name != "certificate":
            continue
        try:
            out.append(load_certificate(choice.chosen.dump()))
        except ASN1_ERRORS:
            # A certificate we cannot read identifies nobody; if it was the signer's, that
            # shows as signer_certificate_missing.
            continue
    return tuple(out)


def parse_signed_data(data: bytes, budget: Budget, locator: str = "document") -> ParsedSignedData:
    """Parse a ContentInfo holding SignedData; every structural problem is MalformedInput."""
    der = decode_cms_bytes(data)
    try:
        content_info = cms.ContentInfo.load(der, strict=True)
        content_type = content_info["content_type"].native
        if content_type != "signed_data":
            raise NotSignedData(content_type, locator)
        signed_data: cms.SignedData = content_info["content"]
        encap = signed_data["encap_content_info"]
        econtent_type = encap["content_type"].dotted
        econtent_value = encap["content"]
        # An absent eContent (detached signature) comes back as core.Void.
        econtent = None if isinstance(econtent_value, core.Void) else bytes(econtent_value)

        certificates = certificates_of(signed_data, budget)

        signer_infos = tuple(signed_data["signer_infos"])
        budget.check_size("max_signatures", len(signer_infos))
        for si in signer_infos:
            # Parse what identifies the signer; the attributes are read (and checked) later,
            # after their signed encoding has been taken (signer_info.signed_attrs_as_signed).
            si["sid"].chosen  # noqa: B018
            si["signature"].native  # noqa: B018

        revocation = signed_data_revocation(signed_data)
        budget.check_size("max_revocation_items", len(revocation))
        for item in revocation:
            if item.kind is EvidenceKind.CRL:
                budget.check_size("max_crl_bytes", len(item.der))
                crl.CertificateList.load(item.der)
    except MalformedInput:
        raise
    except ASN1_ERRORS as exc:
        raise MalformedInput(f"CMS structure does not parse: {exc}", locator) from exc
    return ParsedSignedData(
        content_info=content_info,
        signed_data=signed_data,
        econtent_type=econtent_type,
        econtent=econtent,
        certificates=certificates,
        signer_infos=signer_infos,
        revocation=tuple(revocation),
    )
