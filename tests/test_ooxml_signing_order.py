"""Signing order across the signatures of an Office package (issue 13; C8 of vn-gov).

Two Office signatures over the same parts prove no order (neither covers the other), so
``earlier_signatures`` stays empty and C8 says ``signing_order_unproven``. The order is proven
when a later signature covers the earlier one's SignatureValue: its Manifest signs the earlier
signature part as it was (OPC's signing of a signature part), or it is a XAdES CounterSignature
of it. A timestamp proves when a signature existed, never that another came after it, so
timestamps alone order nothing.

The packages are made here from ``ooxml-docx-person-agency.docx``: one signature part is
re-signed by hand with the test PKI's keys (digests and SignatureValue computed by this file).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from test_xml_xades_forms import XADES, _reference, seal, signature

from sigmail import OnlineRevocation, TrustStore, Verifier
from sigmail.xmldsig.names import C14N_METHODS, canonical

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DS = "http://www.w3.org/2000/09/xmldsig#"
SIG_TYPE = "application/vnd.openxmlformats-package.digital-signature-xmlsignature+xml"
BASE = VECTORS / "ooxml/ooxml-docx-person-agency.docx"
PERSON, AGENCY = "_xmlsignatures/sig1.xml", "_xmlsignatures/sig2.xml"
SIGNERS = {PERSON: "person-an", AGENCY: "agency-stttt"}


def _pki():
    from test_xml_signatures import pki

    return pki()


def entries() -> dict[str, bytes]:
    with zipfile.ZipFile(BASE) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 5, 20, 0, 0, 0)), data)
    return buffer.getvalue()


def reseal(part: bytes, signer: str) -> bytes:
    """``part``'s ds:Signature with its SignedInfo digests and SignatureValue made again."""
    root = etree.fromstring(part)
    signed_info = root.find(f"{{{DS}}}SignedInfo")
    for ref in signed_info.iterfind(f"{{{DS}}}Reference"):
        (target,) = root.xpath("//*[@Id=$v]", v=ref.get("URI")[1:])
        algorithm = ref.find(f".//{{{DS}}}Transform").get("Algorithm")
        exclusive, comments = C14N_METHODS[algorithm]
        value = hashlib.sha256(canonical(target, exclusive, comments)).digest()
        ref.find(f"{{{DS}}}DigestValue").text = base64.b64encode(value).decode()
    method = signed_info.find(f"{{{DS}}}CanonicalizationMethod").get("Algorithm")
    message = canonical(signed_info, *C14N_METHODS[method])
    value = _pki().keys[signer].sign(message, padding.PKCS1v15(), hashes.SHA256())
    root.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def signing_the_other_part(later: str, earlier: str, parts: dict[str, bytes]) -> bytes:
    """``later``'s signature part, its Manifest now also signing the ``earlier`` part."""
    root = etree.fromstring(parts[later])
    manifest = root.find(f".//{{{DS}}}Manifest")
    ref = etree.SubElement(manifest, f"{{{DS}}}Reference", URI=f"/{earlier}?ContentType={SIG_TYPE}")
    etree.SubElement(
        ref, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
    )
    digest = etree.SubElement(ref, f"{{{DS}}}DigestValue")
    digest.text = base64.b64encode(hashlib.sha256(parts[earlier]).digest()).decode()
    return reseal(etree.tostring(root), SIGNERS[later])


def verifier(policy: str = "vn-gov") -> Verifier:
    return Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        policy=policy,
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


def test_two_office_signatures_over_the_same_parts_prove_no_order(responder):
    verdict = verifier().verify(BASE.read_bytes(), at=AT, name="x.docx")
    assert [s.earlier_signatures for s in verdict.signatures] == [(), ()]
    assert "signing_order_unproven" in verdict.reasons


def test_the_agency_signing_the_persons_signature_part_proves_the_order(responder):
    parts = entries()
    parts[AGENCY] = signing_the_other_part(AGENCY, PERSON, parts)
    verdict = verifier().verify(package(parts), at=AT, name="x.docx")
    person, agency = verdict.signatures
    assert (person.role, agency.role) == ("person", "agency")
    assert agency.status.value == "passed", agency.findings
    assert agency.earlier_signatures == (0,) and person.earlier_signatures == ()
    assert "/_xmlsignatures/sig1.xml" in agency.covers
    assert "signing_order_unproven" not in verdict.reasons
    assert "signing_order_invalid" not in verdict.reasons


def test_the_person_signing_over_the_agencys_signature_is_the_wrong_order(responder):
    parts = entries()
    parts[PERSON] = signing_the_other_part(PERSON, AGENCY, parts)
    verdict = verifier().verify(package(parts), at=AT, name="x.docx")
    person, _agency = verdict.signatures
    assert person.earlier_signatures == (1,)
    assert "signing_order_invalid" in verdict.reasons
    assert verdict.verdict.value != "official"


def test_a_signed_signature_part_changed_afterwards_proves_nothing(responder):
    parts = entries()
    parts[AGENCY] = signing_the_other_part(AGENCY, PERSON, parts)
    parts[PERSON] = parts[PERSON].replace(b"<SignatureValue>", b"<SignatureValue>\n")
    verdict = verifier("basic").verify(package(parts), at=AT, name="x.docx")
    agency = verdict.signatures[1]
    assert agency.earlier_signatures == ()
    assert "digest_mismatch" in {f.code for f in agency.findings}


def _countersigned_person_part(bind: str | None = None) -> bytes:
    """The person's signature part with a XAdES CounterSignature by the agency inside it,
    over the person's SignatureValue (or over ``bind``)."""
    parts = entries()
    root = etree.fromstring(parts[PERSON])
    value = root.find(f"{{{DS}}}SignatureValue")
    value.set("Id", "idPersonValue")
    root = etree.fromstring(reseal(etree.tostring(root), "person-an"))  # the Id is not signed
    qualifying = root.find(f".//{{{XADES}}}QualifyingProperties")
    unsigned = qualifying.find(f"{{{XADES}}}UnsignedProperties")
    if unsigned is None:
        unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
    usp = unsigned.find(f"{{{XADES}}}UnsignedSignatureProperties")
    if usp is None:
        usp = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    holder = etree.SubElement(usp, f"{{{XADES}}}CounterSignature")
    counter = signature(holder, "C1", "agency-stttt")
    _reference(
        counter.find(f"{{{DS}}}SignedInfo"),
        f"#{bind or 'idPersonValue'}",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://uri.etsi.org/01903#CountersignedSignature",
    )
    seal(counter, "agency-stttt")
    parts[PERSON] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return package(parts)


def test_a_countersignature_in_a_signature_part_is_a_signature_made_after_it(responder):
    verdict = verifier("basic").verify(_countersigned_person_part(), at=AT, name="x.docx")
    person, agency, counter = verdict.signatures
    assert person.status.value == "passed", person.findings
    assert counter.status.value == "passed", counter.findings
    assert counter.role == "agency" and counter.earlier_signatures == (0,)
    assert "countersignature of signature 0" in counter.locator
    assert agency.earlier_signatures == ()


def test_a_countersignature_that_signs_something_else_proves_no_order(responder):
    data = _countersigned_person_part(bind="idSignedProperties")
    verdict = verifier("basic").verify(data, at=AT, name="x.docx")
    counter = verdict.signatures[2]
    assert "countersignature_not_bound" in {f.code for f in counter.findings}
    assert counter.earlier_signatures == ()
    assert verdict.verdict.value == "invalid"


@pytest.mark.parametrize("limit", [2])
def test_countersignatures_count_against_the_signature_budget(limit):
    from sigmail import OfflineRevocation
    from sigmail.limits import Limits

    verdict = Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        policy="basic",
        revocation=OfflineRevocation(),
        limits=Limits().with_(max_xml_signatures=limit),
        strict=True,
    ).verify(_countersigned_person_part(), at=AT, name="x.docx")
    assert verdict.reasons == ("limit_exceeded",)
