"""Parsing CMS SignedData (RFC 5652) into what verification needs, within budgets.

Accepts DER/BER, PEM (``PKCS7``/``CMS`` blocks) and bare base64, the forms .p7m/.p7s files
come in. Anything that does not parse is :class:`MalformedInput`; the caller makes a verdict.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from asn1crypto import cms, core, crl, ocsp, pem, x509
from asn1crypto import pdf as _asn1_pdf  # noqa: F401 - registers Adobe's revocation-archival attribute

from sigmail.cms.attributes import Values, attribute_values
from sigmail.cms.ber import bounded, octets, plain_elements
from sigmail.cms.plain_signed_data import PlainSignedData, certificate_ders, read_plain
from sigmail.cms.plain_signer_info import PlainSignerInfo, read_signer_info, shared_field
from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import ASN1_ERRORS, MalformedInput
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.certificates import load_certificate

__all__ = [
    "MAX_SIGNED_ATTRIBUTES",
    "MAX_UNSIGNED_ATTRIBUTES",
    "NotSignedData",
    "ParsedSignedData",
    "certificates_of",
    "decode_cms_bytes",
    "parse_signed_data",
    "signed_data_revocation",
    "signer_revocation",
]

_BASE64_TEXT = re.compile(rb"^[A-Za-z0-9+/=\s]+$")

# A signer states a handful of signed attributes (CAdES-B-LTA about ten); archive timestamps
# pile up unsigned ones over the years, a few dozen at the most. More is not a signature any
# tool made, and each costs a parse.
MAX_SIGNED_ATTRIBUTES = 64
MAX_UNSIGNED_ATTRIBUTES = 256
_UNBUDGETED = 1 << 20  # revocation evidence read outside a verification (evidence bundles)

# CAdES revocation values and Adobe's archival attribute also carry evidence (PDF signatures).
_REVOCATION_VALUES_OID = "1.2.840.113549.1.9.16.2.24"
_ADOBE_REVINFO_OID = "1.2.840.113583.1.1.8"


class _CRLValues(core.SequenceOf):
    _child_spec = crl.CertificateList


class _OCSPValues(core.SequenceOf):
    _child_spec = ocsp.BasicOCSPResponse


class RevocationValues(core.Sequence):
    """CAdES RevocationValues (ETSI EN 319 122-1, 5.3.4; RFC 5126, 6.3.4; explicit tags),
    which asn1crypto does not know: without this spec the attribute's value is a bare Any."""

    _fields = [  # noqa: RUF012 - asn1crypto reads the class attribute
        ("crl_vals", _CRLValues, {"explicit": 0, "optional": True}),
        ("ocsp_vals", _OCSPValues, {"explicit": 1, "optional": True}),
        ("other_rev_vals", core.Any, {"explicit": 2, "optional": True}),
    ]


class NotSignedData(MalformedInput):
    """A well-formed ContentInfo of another type (EnvelopedData, Data, …): not malformed in
    itself, but not a signature either. The caller says what it is."""

    def __init__(self, content_type: str, locator: str = "document") -> None:
        self.content_type = content_type  # asn1crypto's name, or the dotted OID
        super().__init__(f"CMS content type is {content_type}, not signed-data", locator)


@dataclass(frozen=True, slots=True)
class ParsedSignedData:
    content_info: cms.ContentInfo
    econtent_type: str  # dotted OID
    econtent: bytes | None = field(repr=False)  # None: detached signature
    certificates: tuple[x509.Certificate, ...]
    # Each as asn1crypto parses it, or read from its plain encoding (same answers to si[name]).
    signer_infos: tuple[cms.SignerInfo | PlainSignerInfo, ...]
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


def _items_from_revocation_values(values, origin: str, limit: int) -> list[RevocationItem]:
    items = []
    for c in bounded(values["crl_vals"], limit, "max_revocation_items"):
        items.append(RevocationItem(EvidenceKind.CRL, c.dump(), origin))
    for o in bounded(values["ocsp_vals"], limit, "max_revocation_items"):
        items.append(RevocationItem(EvidenceKind.OCSP, _wrap_basic_ocsp(o), origin))
    return items


def signed_data_revocation(
    signed_data: cms.SignedData, budget: Budget | None = None
) -> list[RevocationItem]:
    """CRLs and OCSP responses (RFC 5940) carried in SignedData.crls (counted against
    ``max_revocation_items`` before any is read, when a budget is given)."""
    items: list[RevocationItem] = []
    limit = budget.limits.max_revocation_items if budget is not None else _UNBUDGETED
    for choice in bounded(signed_data["crls"], limit, "max_revocation_items"):
        if choice.name == "crl":
            items.append(RevocationItem(EvidenceKind.CRL, choice.chosen.dump(), "embedded"))
        elif choice.name == "other":
            other = choice.chosen
            if other["other_rev_info_format"].dotted == "1.3.6.1.5.5.7.16.2":
                value = other["other_rev_info"]
                der = value.dump() if not isinstance(value, bytes) else value
                items.append(RevocationItem(EvidenceKind.OCSP, der, "embedded"))
    return items


def signer_revocation(
    signer_info: cms.SignerInfo,
    budget: Budget | None = None,
    signed_attributes: list[tuple[str, Values]] | None = None,
) -> list[RevocationItem]:
    """Evidence in a signer's CAdES revocation-values and Adobe revocation-archival attributes
    (counted against ``max_revocation_items`` as it is read, when a budget is given).
    ``signed_attributes``: the signed attributes as check_signer_info read them already."""
    items: list[RevocationItem] = []
    limit = budget.limits.max_revocation_items if budget is not None else _UNBUDGETED
    for attrs_name, most, name in (
        ("unsigned_attrs", MAX_UNSIGNED_ATTRIBUTES, "max_unsigned_attributes"),
        ("signed_attrs", MAX_SIGNED_ATTRIBUTES, "max_signed_attributes"),
    ):
        if attrs_name == "signed_attrs" and signed_attributes is not None:
            found = signed_attributes
        else:
            found = attribute_values(bounded(signer_info[attrs_name], most, name))
        for oid, attr_values in found:
            if oid == _REVOCATION_VALUES_OID:
                for values in bounded(attr_values, limit, "max_revocation_items"):
                    if isinstance(values, core.Any):  # asn1crypto has no spec for it
                        values = values.parse(RevocationValues)
                    items.extend(_items_from_revocation_values(values, "embedded", limit))
                    _count(budget, items)
            elif oid == _ADOBE_REVINFO_OID:
                for archival in bounded(attr_values, limit, "max_revocation_items"):
                    for c in bounded(archival["crl"], limit, "max_revocation_items"):
                        items.append(RevocationItem(EvidenceKind.CRL, c.dump(), "embedded"))
                    for o in bounded(archival["ocsp"], limit, "max_revocation_items"):
                        items.append(RevocationItem(EvidenceKind.OCSP, o.dump(), "embedded"))
                    _count(budget, items)
    return items


def _count(budget: Budget | None, items: list[RevocationItem]) -> None:
    if budget is not None:
        budget.check_size("max_revocation_items", len(items))


def certificates_of(signed_data: cms.SignedData, budget: Budget) -> tuple[x509.Certificate, ...]:
    """The X.509 certificates of a SignedData (other certificate formats are ignored)."""
    limit = budget.limits.max_certificates
    field = bounded(signed_data["certificates"], limit, "max_certificates")
    found: Iterable[bytes | cms.CertificateChoices] | None = _certificate_ders(field)
    if found is None:  # an encoding the fast reader does not take: asn1crypto reads it
        found = (choice for choice in field if choice.name == "certificate")
    return _loaded(found)


def _loaded(found: Iterable[bytes | cms.CertificateChoices]) -> tuple[x509.Certificate, ...]:
    out = []
    for item in found:
        try:
            der = item if isinstance(item, bytes) else _certificate_der(item)
            out.append(load_certificate(der))
        except ASN1_ERRORS:
            # A certificate we cannot read identifies nobody; if it was the signer's, that
            # shows as signer_certificate_missing.
            continue
    return tuple(out)


def _certificate_ders(field) -> tuple[bytes, ...] | None:
    """The encodings of the X.509 certificates of SignedData.certificates read from the
    field's encoding, without an asn1crypto object per choice; None (asn1crypto decides)
    unless every element is a plain definite-length certificate."""
    if not isinstance(field, core.SetOf) or field.children is not None:
        return () if isinstance(field, tuple) else None  # () when absent
    header, data = field._header, field.contents
    if not header or header[-1:] == b"\x80" or data is None:
        return None
    elements = plain_elements(data, 0, len(data))
    return None if elements is None else certificate_ders(data, elements)


def _certificate_der(choice: cms.CertificateChoices) -> bytes:
    """The encoding of the chosen certificate, as ``choice.chosen.dump()`` gives it, without
    building the certificate object that load_certificate (cached) builds anyway.

    The choice keeps the alternative's whole encoding; asn1crypto's dump() returns exactly
    those bytes unless the length octets end in 0x80 (then it re-encodes): that case keeps
    going through dump(), so the bytes are the same either way.
    """
    der = choice._contents
    if isinstance(der, bytes) and len(der) > 2 and der[0] == 0x30:
        size = der[1]
        header = 2 if size < 0x80 else 2 + (size & 0x7F)
        if size != 0x80 and der[header - 1] != 0x80 and len(der) >= header:
            return der
    return choice.chosen.dump()


def parse_signed_data(data: bytes, budget: Budget, locator: str = "document") -> ParsedSignedData:
    """Parse a ContentInfo holding SignedData; every structural problem is MalformedInput."""
    der = decode_cms_bytes(data)
    plain = read_plain(der)
    try:
        if plain is not None:
            return _from_plain(der, plain, budget)
        return _from_asn1crypto(der, budget, locator)
    except MalformedInput:
        raise
    except ASN1_ERRORS as exc:
        raise MalformedInput(f"CMS structure does not parse: {exc}", locator) from exc


_ID_DATA = "1.2.840.113549.1.7.1"  # the only eContentType read_plain takes


def _from_plain(der: bytes, plain: PlainSignedData, budget: Budget) -> ParsedSignedData:
    """What :func:`_from_asn1crypto` gives, in its order of checks, from the fields
    :func:`~sigmail.cms.plain_signed_data.read_plain` read (no crls: no revocation)."""
    content_info = cms.ContentInfo.load(der, strict=True)  # its header only, for the caller
    limit = budget.limits.max_certificates
    if len(plain.certificates) > limit:  # every element is one (read_plain)
        raise LimitExceeded("max_certificates", limit)
    certificates = _loaded(plain.certificates)
    limit = budget.limits.max_signatures
    if len(plain.signer_infos) > limit:
        raise LimitExceeded("max_signatures", limit)
    signer_infos = tuple(_signer_info(d) for d in plain.signer_infos)
    _identify(signer_infos)
    return ParsedSignedData(
        content_info=content_info,
        econtent_type=_ID_DATA,
        econtent=plain.econtent,
        certificates=certificates,
        signer_infos=signer_infos,
        revocation=(),
    )


def _from_asn1crypto(der: bytes, budget: Budget, locator: str) -> ParsedSignedData:
    content_info = cms.ContentInfo.load(der, strict=True)
    content_type = content_info["content_type"].native
    if content_type != "signed_data":
        raise NotSignedData(content_type, locator)
    signed_data: cms.SignedData = content_info["content"]
    encap = signed_data["encap_content_info"]
    econtent_type = encap["content_type"].dotted
    econtent_value = encap["content"]
    # An absent eContent (detached signature) comes back as core.Void.
    econtent = None if isinstance(econtent_value, core.Void) else octets(econtent_value)

    certificates = certificates_of(signed_data, budget)

    limit = budget.limits.max_signatures
    signer_infos = tuple(bounded(signed_data["signer_infos"], limit, "max_signatures"))
    _identify(signer_infos)

    revocation = signed_data_revocation(signed_data, budget)
    for item in revocation:
        if item.kind is EvidenceKind.CRL:
            budget.check_size("max_crl_bytes", len(item.der))
            crl.CertificateList.load(item.der)
    return ParsedSignedData(
        content_info=content_info,
        econtent_type=econtent_type,
        econtent=econtent,
        certificates=certificates,
        signer_infos=signer_infos,
        revocation=tuple(revocation),
    )


def _signer_info(der: bytes) -> cms.SignerInfo | PlainSignerInfo:
    plain = read_signer_info(der)
    if plain is not None:
        return plain
    # As SetOf builds its children (core._parse_build with the child spec).
    return core._parse_build(der, spec=cms.SignerInfo)[0]


def _identify(signer_infos: tuple[cms.SignerInfo | PlainSignerInfo, ...]) -> None:
    """Parse what identifies each signer (a signer info that cannot say is malformed); the
    attributes are read (and checked) later, after their signed encoding has been taken
    (signer_info.signed_attrs_as_signed)."""
    for si in signer_infos:
        if isinstance(si, PlainSignerInfo):  # its signature is an OCTET STRING (read_plain)
            shared_field(si, "sid").chosen  # noqa: B018
            continue
        si["sid"].chosen  # noqa: B018
        si["signature"]  # its header; the value is read when it is checked
