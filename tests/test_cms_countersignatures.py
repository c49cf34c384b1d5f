"""CMS countersignatures (RFC 5652 §11.4): a SignerInfo in a signer's counter-signature
attribute, over that signer's signature value. Each is verified as a signature of its own,
numbered after the signers, and proves it was made after the one it countersigns. They were
not read at all: DSS's ``cades-double-signing-time.p7m`` (peer suite dss-cades), whose
countersignature is broken, was official.

The countersignatures here are made by the test PKI's agency key over the person's
``person-official.p7m``: the person signs, the agency countersigns — the order NĐ 30/2020
asks for, which parallel SignerInfos cannot prove."""

from __future__ import annotations

import hashlib

from asn1crypto import algos, cms, core, tsp, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from test_xml_signatures import AT, VECTORS, pki, trust

from sigmail import OnlineRevocation, Verifier
from sigmail.limits import Limits

PERSON = VECTORS / "cms" / "person-official.p7m"


def verifier(**limits) -> Verifier:
    return Verifier(
        trust=trust(),
        policy="vn-gov",
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        limits=Limits().with_(**limits) if limits else None,
        strict=True,
    )


def countersignature(value: bytes, *, signer="agency-stttt", content_type=False) -> cms.SignerInfo:
    test_pki = pki()
    der = test_pki.certificates[signer].public_bytes(serialization.Encoding.DER)
    cert = x509.Certificate.load(der)
    attrs = [
        {"type": "message_digest", "values": [hashlib.sha256(value).digest()]},
        {
            "type": "signing_certificate_v2",
            "values": [
                tsp.SigningCertificateV2({"certs": [{"cert_hash": hashlib.sha256(der).digest()}]})
            ],
        },
    ]
    if content_type:
        attrs.insert(0, {"type": "content_type", "values": ["data"]})
    signed = cms.CMSAttributes(attrs)
    key = test_pki.keys[signer]
    signature = key.sign(signed.dump(), padding.PKCS1v15(), hashes.SHA256())
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": cert.issuer, "serial_number": cert.serial_number},
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": signature,
        }
    )


def countersigned(*counters_of_value) -> bytes:
    """person-official.p7m with the given countersignature makers applied to its signature."""
    info = cms.ContentInfo.load(PERSON.read_bytes())
    signed = info["content"]
    si = signed["signer_infos"][0]
    value = si["signature"].native
    counters = [make(value) for make in counters_of_value]
    si["unsigned_attrs"] = cms.CMSAttributes([{"type": "counter_signature", "values": counters}])
    agency = pki().certificates["agency-stttt"].public_bytes(serialization.Encoding.DER)
    agency_choice = cms.CertificateChoices(name="certificate", value=x509.Certificate.load(agency))
    certs = [*signed["certificates"], agency_choice]
    signed["certificates"] = cms.CertificateSet(certs)
    return info.dump(force=True)


def _broken(value: bytes) -> cms.SignerInfo:
    counter = countersignature(value)
    sig = bytearray(counter["signature"].native)
    sig[-1] ^= 1
    counter["signature"] = core.OctetString(bytes(sig))
    return counter


def test_the_person_alone_is_not_the_issued_version(responder):
    verdict = verifier().verify(PERSON.read_bytes(), at=AT, name="x.p7m")
    assert (verdict.verdict.value, verdict.reasons) == (
        "not_official",
        ("missing_agency_signature",),
    )


def test_an_agency_countersignature_is_a_signature_made_after_the_persons(responder):
    verdict = verifier().verify(countersigned(countersignature), at=AT, name="x.p7m")
    assert verdict.verdict.value == "official", verdict.to_json()
    person, agency = verdict.signatures
    assert agency.locator == "signature 0 countersignature 0"
    assert agency.valid and agency.intact and agency.earlier_signatures == (person.index,)
    assert "agency" in str(agency.role)


def test_a_broken_countersignature_is_a_signature_that_failed(responder):
    verdict = verifier().verify(countersigned(_broken), at=AT, name="x.p7m")
    assert verdict.verdict.value == "invalid"
    person, agency = verdict.signatures
    assert person.valid and not agency.valid
    assert "signature_invalid" in {f.code for f in agency.findings}


def test_a_countersignature_over_other_bytes_does_not_verify(responder):
    verdict = verifier().verify(
        countersigned(lambda value: countersignature(value[::-1])), at=AT, name="x.p7m"
    )
    assert verdict.verdict.value == "invalid"
    assert "digest_mismatch" in {f.code for f in verdict.signatures[1].findings}


def test_a_countersignature_with_a_content_type_is_refused(responder):
    verdict = verifier().verify(
        countersigned(lambda value: countersignature(value, content_type=True)), at=AT, name="x.p7m"
    )
    assert verdict.verdict.value == "invalid"
    assert "signed_attributes_invalid" in {f.code for f in verdict.signatures[1].findings}


def test_countersignatures_count_against_the_signature_limit(responder):
    data = countersigned(*[countersignature] * 3)
    verdict = verifier(max_signatures=3).verify(data, at=AT, name="x.p7m")
    assert (verdict.verdict.value, verdict.reasons) == ("indeterminate", ("limit_exceeded",))
    assert verifier(max_signatures=4).verify(data, at=AT, name="x.p7m").verdict.value == "official"
