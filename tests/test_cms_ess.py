"""The ESS signing-certificate check (RFC 5035) on its own: the certificate hash and the
issuerSerial, decided from the received bytes when they are exactly the expected encoding
(the common case, no parse) and field by field otherwise — with the same answer."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from milter_support import _cert

from sigmail.cms.attributes import SignedAttributes
from sigmail.cms.signer_info import SignerCheck, _check_signing_certificate
from sigmail.problems import ASN1_ERRORS
from sigmail.trust.certificates import load_certificate


def _der(name: str) -> bytes:
    return _cert(name).public_bytes(Encoding.DER)


def _attrs(cert_der: bytes, *, serial=None, issuer_of=None, extra_name=False, omit=False):
    cert = asn1_x509.Certificate.load(cert_der)
    issuer = asn1_x509.Certificate.load(issuer_of).subject if issuer_of else cert.issuer
    names = [asn1_x509.GeneralName(name="directory_name", value=issuer)]
    if extra_name:
        names.insert(0, asn1_x509.GeneralName(name="rfc822_name", value="ca@example.vn"))
    ess = {"cert_hash": hashlib.sha256(cert_der).digest()}
    if not omit:
        ess["issuer_serial"] = {
            "issuer": names,
            "serial_number": cert.serial_number if serial is None else serial,
        }
    value = tsp.SigningCertificateV2({"certs": [ess]})
    attrs = cms.CMSAttributes([{"type": "signing_certificate_v2", "values": [value]}])
    return SignedAttributes(cms.CMSAttributes.load(attrs.dump()))


@pytest.mark.parametrize(
    ("changes", "mismatch"),
    [
        ({}, False),
        ({"omit": True}, False),  # issuerSerial is optional
        ({"extra_name": True}, False),  # another encoding: compared field by field
        ({"serial": 12345}, True),
        ({"issuer_of": "person-an"}, True),  # its subject named as the issuer
    ],
)
def test_issuer_serial(changes, mismatch):
    der = _der("person-an")
    if changes.get("issuer_of"):
        changes = {**changes, "issuer_of": der}
    cert = load_certificate(der)
    for _ in range(2):  # the second time from the per-certificate caches
        check = SignerCheck()
        _check_signing_certificate(_attrs(der, **changes), cert, check, "signature 0")
        codes = [f.code for f in check.findings]
        assert codes == (["signer_certificate_mismatch"] if mismatch else [])


def test_a_hash_of_another_certificate_is_a_mismatch():
    check = SignerCheck()
    other = _der("person-ec")
    _check_signing_certificate(_attrs(other), load_certificate(_der("person-an")), check, "s 0")
    assert [f.code for f in check.findings] == ["signer_certificate_mismatch"]


def test_what_an_attribute_proves_is_remembered_per_certificate_with_each_call_s_locator():
    """The memo of a (signing-certificate attribute, certificate) pair: a later message gets
    the same finding at its own locator, and the same attribute against another certificate
    is decided afresh."""
    der, other = _der("person-an"), _der("person-ec")
    cert = load_certificate(der)
    first, again, elsewhere = SignerCheck(), SignerCheck(), SignerCheck()
    _check_signing_certificate(_attrs(der, serial=12345), cert, first, "signature 0")
    _check_signing_certificate(_attrs(der, serial=12345), cert, again, "signature 3")
    assert [(f.code, f.detail) for f in again.findings] == [
        (f.code, f.detail) for f in first.findings
    ]
    assert [f.locator for f in again.findings] == ["signature 3"]
    fine = SignerCheck()
    _check_signing_certificate(_attrs(der), cert, fine, "signature 0")
    assert fine.findings == []
    _check_signing_certificate(_attrs(der), load_certificate(other), elsewhere, "signature 0")
    assert [f.code for f in elsewhere.findings] == ["signer_certificate_mismatch"]


def test_an_attribute_that_does_not_parse_raises_every_time():
    """Not remembered: the caller reports it as malformed, each time it is met."""
    der = _der("person-an")
    oid = core.ObjectIdentifier("1.2.840.113549.1.9.16.2.47").dump()
    value = b"\x30\x03\x02\x01\x05"  # SigningCertificateV2 holding an INTEGER, not certs
    values = b"\x31" + bytes([len(value)]) + value
    attribute = b"\x30" + bytes([len(oid) + len(values)]) + oid + values
    broken = b"\x31" + bytes([len(attribute)]) + attribute
    for _ in range(2):
        attrs = SignedAttributes(cms.CMSAttributes.load(broken))
        with pytest.raises(ASN1_ERRORS):
            _check_signing_certificate(attrs, load_certificate(der), SignerCheck(), "s 0")
