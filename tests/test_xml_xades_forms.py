"""XAdES forms that signxml does not make and real files use (DSS's validation resources carry
each of them): an enveloping signature over a base64 ``ds:Object``, the signer's certificate
carried only in XAdES CertificateValues, and a XAdES CounterSignature — which counts only when
it signs the countersigned ``ds:SignatureValue`` (``countersignature_not_bound`` otherwise).

The documents are assembled here and signed with the test PKI's keys: digests and the
SignedInfo signature computed by this file, the check done by sigmail (and signxml in it).
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from lxml import etree
from test_xml_signatures import AT, offline, online, pki

from sigmail.xmldsig.names import canonical

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
BASE64 = DS + "base64"
LETTER = b'<VanBan xmlns="urn:sigmail:test:vanban"><SoTien>1000000</SoTien></VanBan>'
SIGNED_AT = "2026-05-20T03:00:00Z"


def _e(parent, ns: str, tag: str, text: str | None = None, **attrs) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    el.text = text
    return el


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _reference(signed_info, uri: str, transform: str, type_: str | None = None) -> None:
    attrs = {"URI": uri, **({"Type": type_} if type_ else {})}
    ref = _e(signed_info, DS, "Reference", **attrs)
    _e(_e(ref, DS, "Transforms"), DS, "Transform", Algorithm=transform)
    _e(ref, DS, "DigestMethod", Algorithm=SHA256)
    _e(ref, DS, "DigestValue")


def signature(
    parent, name: str, signer: str, *, key_info: bool = True, values: bool = False
) -> etree._Element:
    """A XAdES signature ``name`` by ``signer`` (its SignedInfo still to be filled by
    :func:`seal`): SignedProperties with SigningTime and SigningCertificateV2; the certificate
    in KeyInfo, or (``values``) only in CertificateValues."""
    test_pki = pki()
    cert = test_pki.certificates[signer].public_bytes(serialization.Encoding.DER)
    issuer = test_pki.issuer_of(signer).public_bytes(serialization.Encoding.DER)
    nsmap = {"ds": DS} if parent is None else None
    sig = (
        etree.Element(f"{{{DS}}}Signature", nsmap=nsmap, Id=name)
        if parent is None
        else _e(parent, DS, "Signature", Id=name)
    )
    signed_info = _e(sig, DS, "SignedInfo")
    _e(signed_info, DS, "CanonicalizationMethod", Algorithm=EXC)
    method = "ecdsa-sha256" if signer == "person-ec" else "rsa-sha256"
    _e(
        signed_info,
        DS,
        "SignatureMethod",
        Algorithm="http://www.w3.org/2001/04/xmldsig-more#" + method,
    )
    _e(sig, DS, "SignatureValue", Id=f"{name}-value")
    if key_info:
        data = _e(_e(sig, DS, "KeyInfo"), DS, "X509Data")
        _e(data, DS, "X509Certificate", _b64(cert))
        _e(data, DS, "X509Certificate", _b64(issuer))
    obj = _e(sig, DS, "Object")
    qp = etree.SubElement(
        obj, f"{{{XADES}}}QualifyingProperties", nsmap={"xades": XADES}, Target=f"#{name}"
    )
    sp = _e(qp, XADES, "SignedProperties", Id=f"{name}-props")
    ssp = _e(sp, XADES, "SignedSignatureProperties")
    _e(ssp, XADES, "SigningTime", SIGNED_AT)
    digest = _e(_e(_e(ssp, XADES, "SigningCertificateV2"), XADES, "Cert"), XADES, "CertDigest")
    _e(digest, DS, "DigestMethod", Algorithm=SHA256)
    _e(digest, DS, "DigestValue", _b64(hashlib.sha256(cert).digest()))
    usp = _e(_e(qp, XADES, "UnsignedProperties"), XADES, "UnsignedSignatureProperties")
    if values:
        holder = _e(usp, XADES, "CertificateValues")
        _e(holder, XADES, "EncapsulatedX509Certificate", _b64(cert))
        _e(holder, XADES, "EncapsulatedX509Certificate", _b64(issuer))
    _reference(signed_info, f"#{name}-props", EXC, "http://uri.etsi.org/01903#SignedProperties")
    return sig


def _by_id(root, value: str) -> etree._Element:
    (found,) = root.xpath("//*[@Id=$v]", v=value)
    return found


def seal(sig: etree._Element, signer: str) -> None:
    """Fill ``sig``'s reference digests and its SignatureValue."""
    root = sig.getroottree().getroot()
    signed_info = sig.find(f"{{{DS}}}SignedInfo")
    for ref in signed_info.iterfind(f"{{{DS}}}Reference"):
        target = _by_id(root, ref.get("URI")[1:])
        algorithm = ref.find(f".//{{{DS}}}Transform").get("Algorithm")
        data = (
            base64.b64decode(target.text) if algorithm == BASE64 else canonical(target, True, False)
        )
        ref.find(f"{{{DS}}}DigestValue").text = _b64(hashlib.sha256(data).digest())
    key = pki().keys[signer]
    message = canonical(signed_info, True, False)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        value = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    sig.find(f"{{{DS}}}SignatureValue").text = _b64(value)


def enveloping(signer: str = "person-an", **kw) -> etree._Element:
    """An enveloping XAdES signature over a base64 ds:Object holding the letter."""
    sig = signature(None, "S1", signer, **kw)
    obj = _e(sig, DS, "Object", _b64(LETTER), Id="letter", Encoding=BASE64)
    signed_info = sig.find(f"{{{DS}}}SignedInfo")
    _reference(signed_info, "#letter", BASE64, DS + "Object")
    signed_info.insert(2, signed_info[-1])  # the data first, then the properties
    assert obj.getparent() is sig
    return sig


def countersigned(
    bind: str = "S1-value", signer: str = "agency-stttt", first: str = "person-an"
) -> bytes:
    """``enveloping()`` by ``first``, countersigned by ``signer``, whose countersignature
    references ``bind`` (the countersigned SignatureValue when it is right)."""
    sig = enveloping(first)
    seal(sig, first)
    usp = sig.find(f".//{{{XADES}}}UnsignedSignatureProperties")
    counter = signature(_e(usp, XADES, "CounterSignature"), "S2", signer)
    _reference(
        counter.find(f"{{{DS}}}SignedInfo"),
        f"#{bind}",
        EXC,
        "http://uri.etsi.org/01903#CountersignedSignature",
    )
    seal(counter, signer)
    return etree.tostring(sig)


def test_an_enveloping_signature_over_a_base64_object_verifies(responder):
    sig = enveloping()
    seal(sig, "person-an")
    verdict = online().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "official", verdict.to_json()
    (report,) = verdict.signatures
    assert report.valid and report.intact
    # the data is the Object's content: the report says what it holds
    assert "/ds:Signature[@Id='S1']/ds:Object[@Id='letter'] holding base64 data (73 bytes)" in (
        report.covers
    )


@pytest.mark.parametrize("written", ["2026-05-20T10:00:00.493159199", "2026-05-20T10:00:00"])
def test_a_signing_time_without_a_zone_is_a_claim_read_as_utc(written, responder):
    """xs:dateTime allows no zone; LibreOffice writes local time so (nine decimals). It was
    ``malformed``, which made every XAdES .odt LibreOffice signs invalid."""
    sig = enveloping()
    sig.find(f".//{{{XADES}}}SigningTime").text = written
    seal(sig, "person-an")
    verdict = online().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "official", verdict.to_json()
    (report,) = verdict.signatures
    assert report.claimed_signing_time.isoformat().startswith("2026-05-20T10:00:00")
    assert report.claimed_signing_time.utcoffset().total_seconds() == 0


def test_a_signing_time_that_is_no_date_is_malformed():
    sig = enveloping()
    sig.find(f".//{{{XADES}}}SigningTime").text = "yesterday"
    seal(sig, "person-an")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "invalid"
    assert "malformed" in {f.code for f in verdict.signatures[0].findings}


def test_a_changed_base64_object_is_a_digest_mismatch():
    sig = enveloping()
    seal(sig, "person-an")
    obj = _by_id(sig, "letter")
    obj.text = _b64(LETTER.replace(b"1000000", b"9000000"))
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "invalid"
    assert "digest_mismatch" in verdict.reasons
    assert verdict.signatures[0].intact is False


def test_base64_over_an_element_with_children_is_refused_not_guessed():
    sig = enveloping()
    obj = _by_id(sig, "letter")
    obj.text = None
    obj.append(etree.fromstring(LETTER))
    seal_refs_only = etree.tostring(sig)  # digests do not matter: refused before hashing
    verdict = offline().verify(seal_refs_only, at=AT, name="x.xml")
    assert verdict.verdict.value == "indeterminate"
    assert "unsupported_transform" in verdict.reasons


def test_base64_after_another_transform_is_refused():
    sig = enveloping()
    ref = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference[@URI='#letter']")
    _e(ref.find(f"{{{DS}}}Transforms"), DS, "Transform", Algorithm=EXC)
    seal(sig, "person-an")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert "unsupported_transform" in verdict.reasons


def test_the_signer_certificate_found_in_certificate_values(responder):
    sig = enveloping(key_info=False, values=True)
    seal(sig, "person-an")
    verdict = online().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "official", verdict.to_json()
    (report,) = verdict.signatures
    cert = pki().certificates["person-an"].public_bytes(serialization.Encoding.DER)
    assert (
        report.signer is not None
        and report.signer.sha256 == hashlib.sha256(cert).hexdigest().upper()
    )


def test_certificate_values_without_a_signing_certificate_binding_do_not_name_a_signer():
    sig = enveloping(key_info=False, values=True)
    certs = sig.find(f".//{{{XADES}}}SigningCertificateV2")
    certs.getparent().remove(certs)
    seal(sig, "person-an")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert verdict.verdict.value == "invalid"
    assert "signer_certificate_missing" in verdict.reasons


def test_a_countersignature_over_the_signature_value_counts(responder):
    verdict = online().verify(countersigned(), at=AT, name="x.xml")
    assert verdict.verdict.value == "official", verdict.to_json()
    assert [s.status.value for s in verdict.signatures] == ["passed", "passed"]
    assert "countersignature_not_bound" not in verdict.reasons
    assert any(
        c.endswith("ds:SignatureValue[@Id='S1-value']") for c in verdict.signatures[1].covers
    )


@pytest.mark.parametrize(
    "bind",
    [
        "letter",  # the countersigned data, not its signature (DSS: fake counter signature)
        "S2-props",  # nothing but its own properties
    ],
)
def test_a_countersignature_not_over_the_signature_value_does_not_count(bind, responder):
    data = countersigned(bind=bind)
    verdict = online().verify(data, at=AT, name="x.xml")
    first, second = verdict.signatures
    assert first.status.value == "passed"
    assert second.valid and second.intact  # the signature holds: it signs something else
    assert second.status.value == "failed"
    assert "countersignature_not_bound" in {f.code for f in second.findings}
    assert verdict.verdict.value == "invalid"


def test_a_countersignature_over_another_signatures_value_does_not_count(responder):
    # DSS's injected countersignature: it signs the SignatureValue of a signature elsewhere
    sig = etree.fromstring(countersigned())
    other = enveloping()
    seal(other, "person-an")
    for node in other.iter():
        if node.get("Id"):
            node.set("Id", "X" + node.get("Id"))
    holder = _e(sig, DS, "Object")
    holder.append(other)
    counter = _by_id(sig, "S2")
    ref = counter.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference[@URI='#S1-value']")
    ref.set("URI", "#XS1-value")
    seal(counter, "agency-stttt")
    verdict = online().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert "countersignature_not_bound" in verdict.reasons
    assert verdict.verdict.value == "invalid"


def test_the_signer_is_the_key_info_certificate_that_issued_none_whatever_the_order():
    # asn1crypto's self_signed is the string "no" for a leaf: once taken for True, every
    # certificate looked like a leaf and the first in KeyInfo (here the CA) was the signer.
    sig = enveloping()
    binding = sig.find(f".//{{{XADES}}}SigningCertificateV2")
    binding.getparent().remove(binding)
    data = sig.find(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data")
    data.insert(0, data[1])  # the issuer first
    seal(sig, "person-an")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    (report,) = verdict.signatures
    assert report.valid is True and report.intact is True, verdict.reasons
    assert "signer_certificate_mismatch" not in verdict.reasons
    assert report.signer is not None and "Nguyễn Văn An" in report.signer.subject


def test_a_bound_countersignature_proves_the_order_in_standalone_xml(responder):
    verdict = online().verify(countersigned(), at=AT, name="x.xml")
    first, second = verdict.signatures
    assert first.earlier_signatures == ()
    assert second.earlier_signatures == (first.index,)  # the agency signed after the person


def test_an_unbound_countersignature_proves_no_order(responder):
    verdict = online().verify(countersigned(bind="letter"), at=AT, name="x.xml")
    assert [s.earlier_signatures for s in verdict.signatures] == [(), ()]


def test_the_agency_countersigning_the_persons_xml_satisfies_c8(responder):
    from test_xml_signatures import trust

    from sigmail import OnlineRevocation, Verifier

    vn_gov = Verifier(
        trust=trust(),
        policy="vn-gov",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )
    ordered = vn_gov.verify(countersigned(), at=AT, name="x.xml")
    assert "signing_order_unproven" not in ordered.reasons
    assert "signing_order_invalid" not in ordered.reasons
    reversed_ = vn_gov.verify(
        countersigned(first="agency-stttt", signer="person-an"), at=AT, name="x.xml"
    )
    assert "signing_order_invalid" in reversed_.reasons  # the person signed over the seal


def _cert_only_asn1crypto_reads() -> bytes:
    """The person's certificate with one byte changed so that asn1crypto (lazily) loads it
    and cryptography does not (found by mutating signed files: an internal error before)."""
    from cryptography import x509 as crypto_x509

    from sigmail.problems import ASN1_ERRORS
    from sigmail.trust.certificates import load_certificate

    der = pki().certificates["person-an"].public_bytes(serialization.Encoding.DER)
    for at in range(len(der) // 2, len(der)):
        for value in (0x04, 0xFF, 0x00):
            mutated = der[:at] + bytes([value]) + der[at + 1 :]
            try:
                load_certificate(mutated)
            except ASN1_ERRORS:
                continue
            try:
                crypto_x509.load_der_x509_certificate(mutated)
            except ValueError:
                return mutated
    raise AssertionError("no such mutation")


def test_a_signer_certificate_cryptography_cannot_read_is_malformed_not_an_error():
    sig = enveloping()
    binding = sig.find(f".//{{{XADES}}}SigningCertificateV2")
    binding.getparent().remove(binding)
    sig.find(f".//{{{DS}}}X509Certificate").text = _b64(_cert_only_asn1crypto_reads())
    seal(sig, "person-an")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert "internal_error" not in verdict.reasons
    assert "malformed" in verdict.reasons and verdict.verdict.value == "invalid"


def test_base64_over_the_whole_document_is_refused():
    # signxml would decode the root's first text node only, and the root would count as covered
    sig = enveloping()
    ref = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference[@URI='#letter']")
    ref.set("URI", "")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert "unsupported_transform" in verdict.reasons
    assert verdict.verdict.value == "indeterminate"


def test_base64_over_a_reference_outside_the_document_is_refused():
    sig = enveloping()
    ref = sig.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference[@URI='#letter']")
    ref.set("URI", "letter.b64")
    verdict = offline().verify(etree.tostring(sig), at=AT, name="x.xml")
    assert "unsupported_transform" in verdict.reasons
    assert "internal_error" not in verdict.reasons
