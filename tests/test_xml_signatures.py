"""Standalone XML signatures (sigmail/xmldsig, sigmail/formats/xml.py): what each check
refuses, with documents signed here by the test PKI's keys through signxml (the vectors in
vectors/xml/ are checked by test_vectors.py; these are the cases a vector file cannot pin:
limits, algorithms, the XAdES certificate binding, parser safety as a property)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from signxml import SignatureConstructionMethod, XMLSigner

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)
DS = "http://www.w3.org/2000/09/xmldsig#"
_PKI: list = []


def pki():
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    if not _PKI:
        _PKI.append(build_pki(load_pki_spec(VECTORS), VECTORS / KEYS_DIR, create_keys=False))
    return _PKI[0]


def trust() -> TrustStore:
    return TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )


def online() -> Verifier:
    return Verifier(
        trust=trust(),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


def offline(**limits) -> Verifier:
    return Verifier(
        trust=trust(),
        policy="basic",
        revocation=OfflineRevocation(),
        limits=Limits().with_(**limits) if limits else None,
        strict=True,
    )


def letter(amount: str = "1000000") -> etree._Element:
    return etree.fromstring(
        f'<VanBan xmlns="urn:sigmail:test:vanban" Id="vanban"><SoTien>{amount}</SoTien>'
        "</VanBan>".encode()
    )


def signed(signer: str = "person-an", data=None, reference_uri=None, **kw) -> bytes:
    test_pki = pki()
    chain = [test_pki.certificates[signer], test_pki.issuer_of(signer)]
    kw.setdefault("method", SignatureConstructionMethod.enveloped)
    if signer == "person-ec":
        kw.setdefault("signature_algorithm", "ecdsa-sha256")
    tool = _Sha1Signer(**kw) if kw.get("digest_algorithm") == "sha1" else XMLSigner(**kw)
    root = tool.sign(
        letter() if data is None else data,
        key=test_pki.keys[signer],
        cert=chain,
        always_add_key_value=False,
        **({"reference_uri": reference_uri} if reference_uri else {}),
    )
    return etree.tostring(root)


class _Sha1Signer(XMLSigner):
    """signxml refuses to make SHA-1 signatures; old signing tools still do."""

    def check_deprecated_methods(self):
        return None


def codes(verdict) -> set[str]:
    return set(verdict.reasons)


def test_an_ecdsa_signature_verifies_and_is_official(responder):
    verdict = online().verify(signed("person-ec"), at=AT, name="x.xml")
    assert verdict.verdict.value == "official", verdict.to_json()
    (sig,) = verdict.signatures
    assert sig.signature_algorithm == "sha256_ecdsa" and sig.valid and sig.intact
    assert sig.covers == ("/VanBan[@Id='vanban']",)
    assert sig.role == "person"


def test_sha1_is_refused_by_the_algorithm_policy():
    data = signed(signature_algorithm="rsa-sha1", digest_algorithm="sha1")
    verdict = offline().verify(data, at=AT, name="x.xml")
    assert "weak_algorithm" in codes(verdict)
    assert verdict.verdict.value != "official"


def test_a_changed_signature_value_is_signature_invalid():
    root = etree.fromstring(signed())
    value = root.find(f".//{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert verdict.verdict.value == "invalid"
    assert "signature_invalid" in codes(verdict)
    assert verdict.signatures[0].valid is False


def test_no_certificate_in_key_info_is_signer_certificate_missing():
    root = etree.fromstring(signed())
    key_info = root.find(f".//{{{DS}}}KeyInfo")
    key_info.getparent().remove(key_info)
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert "signer_certificate_missing" in codes(verdict)
    assert verdict.verdict.value == "invalid"


def test_a_reference_outside_the_document_is_not_fetched():
    root = etree.fromstring(signed())
    root.find(f".//{{{DS}}}Reference").set("URI", "http://127.0.0.1:9/letter.xml")
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert verdict.verdict.value == "indeterminate"
    assert "unsupported" in codes(verdict)


def test_a_reference_to_an_id_nobody_carries_is_malformed():
    root = etree.fromstring(signed(reference_uri="#vanban"))
    root.set("Id", "other")
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert "malformed" in codes(verdict)


def test_xades_signing_certificate_naming_another_certificate_is_a_mismatch():
    from signxml.xades import XAdESSigner

    other = pki().certificates["agency-stttt"]

    class WrongBinding(XAdESSigner):
        def add_signing_certificate(self, ssp, sig_root, signing_settings):
            settings = dataclasses.replace(signing_settings, cert_chain=[other])
            return super().add_signing_certificate(ssp, sig_root, settings)

    test_pki = pki()
    root = WrongBinding(method=SignatureConstructionMethod.enveloped).sign(
        letter(),
        key=test_pki.keys["person-an"],
        cert=[test_pki.certificates["person-an"], test_pki.issuer_of("person-an")],
        always_add_key_value=False,
    )
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert "signer_certificate_mismatch" in codes(verdict)
    assert verdict.verdict.value == "invalid"


def test_xades_signing_time_is_a_claim_and_the_timestamp_the_proof(vectors_dir, responder):
    data = (vectors_dir / "xml/xml-xades-t.xml").read_bytes()
    (sig,) = online().verify(data, at=AT, name="x.xml").signatures
    assert sig.kind == "xades"
    assert sig.claimed_signing_time == SIGNED_AT
    assert sig.proven_by is not None and sig.proven_by.value == "timestamp"
    assert sig.proven_signing_time == dt.datetime(2026, 5, 20, 3, 5, tzinfo=dt.UTC)
    assert sig.checked_at == sig.proven_signing_time
    assert sig.timestamp is not None and sig.timestamp.tsa is not None


def test_a_timestamp_over_other_bytes_proves_nothing(vectors_dir):
    root = etree.fromstring((vectors_dir / "xml/xml-xades-t.xml").read_bytes())
    # The stamped SignatureValue no longer is what the token's imprint hashes.
    stamp = root.find(".//{http://uri.etsi.org/01903/v1.3.2#}SignatureTimeStamp")
    stamp.find(f"{{{DS}}}CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    (sig,) = verdict.signatures
    assert sig.proven_by is None
    assert "timestamp_invalid" in codes(verdict)


def test_the_moved_element_is_named_in_the_report(vectors_dir):
    data = (vectors_dir / "xml/xml-xsw-moved.xml").read_bytes()
    verdict = offline().verify(data, at=AT, name="x.xml")
    (sig,) = verdict.signatures
    assert sig.intact and sig.valid  # the signature itself holds …
    assert sig.covers == ("/HoSo/ds:Signature/ds:Object/VanBan[@Id='vanban']",)
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    assert "/HoSo/VanBan" in finding.detail  # … over an element no reader reads


@pytest.mark.parametrize(
    ("limit", "value", "make"),
    [
        ("max_xml_bytes", 100, lambda: signed()),
        ("max_xml_depth", 8, lambda: signed(data=_deep(12))),
        ("max_xml_signatures", 1, lambda: _two_signatures()),
        ("max_xml_references", 1, lambda: _xades()),
        ("max_xml_transforms", 1, lambda: signed()),
    ],
)
def test_every_xml_budget_has_a_ceiling_that_is_enforced(limit, value, make):
    verdict = offline(**{limit: value}).verify(make(), at=AT, name="x.xml")
    assert verdict.verdict.value == "indeterminate"
    assert verdict.reasons == ("limit_exceeded",)
    assert limit in verdict.findings[0].detail


def _deep(levels: int) -> etree._Element:
    root = letter()
    node = root
    for _ in range(levels):
        node = etree.SubElement(node, "{urn:sigmail:test:vanban}Muc")
    return root


def _two_signatures() -> bytes:
    wrapper = etree.fromstring(b'<HoSo xmlns="urn:h"/>')
    for _ in range(2):
        wrapper.append(etree.fromstring(signed()))
    return etree.tostring(wrapper)


def _xades() -> bytes:
    from signxml.xades import XAdESSigner

    test_pki = pki()
    root = XAdESSigner(method=SignatureConstructionMethod.enveloped).sign(
        letter(),
        key=test_pki.keys["person-an"],
        cert=[test_pki.certificates["person-an"], test_pki.issuer_of("person-an")],
        always_add_key_value=False,
    )
    return etree.tostring(root)


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE VanBan SYSTEM "http://127.0.0.1:9/x.dtd"><VanBan/>',
        b'<!DOCTYPE VanBan [<!ENTITY x SYSTEM "file:///etc/passwd">]><VanBan>&x;</VanBan>',
        b"<!DOCTYPE VanBan><VanBan/>",
    ],
)
def test_any_doctype_is_malformed_and_nothing_is_loaded(data):
    verdict = offline().verify(data, at=AT, name="x.xml")
    assert verdict.reasons == ("malformed",)
    assert "DOCTYPE" in verdict.findings[0].detail


MODULE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument'
    b' 1.0//EN" "module.dtd">\n<script:module xmlns:script="http://openoffice.org/2000/script"'
    b' script:name="Module1">Sub Main\nEnd Sub</script:module>'
)


def test_an_odf_macro_stream_may_name_its_dtd_and_nothing_else():
    """LibreOffice's Basic and dialog streams name an external DTD; the ODF handler lets
    that through (never loading it), and nothing more: an internal subset, an entity
    reference or another kind of document still is refused."""
    from sigmail.limits import Budget, Limits
    from sigmail.problems import MalformedInput
    from sigmail.xmldsig.parse import parse_xml

    root = parse_xml(MODULE, Budget(Limits()), external_dtd_name=True)
    assert etree.tostring(root, method="c14n").startswith(b"<script:module ")
    with pytest.raises(MalformedInput, match="DOCTYPE"):
        parse_xml(MODULE, Budget(Limits()))  # not for any other XML
    for refused in (
        b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
        b'<!DOCTYPE a SYSTEM "a.dtd" [<!ENTITY x "y">]><a/>',
        b'<!DOCTYPE a SYSTEM "a.dtd"><a>&x;</a>',
        b"<!DOCTYPE a [<!ELEMENT a ANY>]><a/>",
    ):
        with pytest.raises(MalformedInput):
            parse_xml(refused, Budget(Limits()), external_dtd_name=True)


def test_an_openpgp_key_is_unsupported_not_a_missing_certificate():
    """LibreOffice signs ODF with GnuPG too: KeyInfo holds ds:PGPData, no X.509 certificate.
    That is a signature sigmail cannot judge (indeterminate), not a broken one."""
    root = letter()
    sig = etree.SubElement(root, f"{{{DS}}}Signature")
    info = etree.SubElement(sig, f"{{{DS}}}SignedInfo")
    etree.SubElement(
        info, f"{{{DS}}}CanonicalizationMethod", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    etree.SubElement(
        info,
        f"{{{DS}}}SignatureMethod",
        Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    ref = etree.SubElement(info, f"{{{DS}}}Reference", URI="")
    etree.SubElement(
        ref, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
    )
    etree.SubElement(ref, f"{{{DS}}}DigestValue").text = "AAAA"
    etree.SubElement(sig, f"{{{DS}}}SignatureValue").text = "AAAA"
    pgp = etree.SubElement(etree.SubElement(sig, f"{{{DS}}}KeyInfo"), f"{{{DS}}}PGPData")
    etree.SubElement(pgp, f"{{{DS}}}PGPKeyID").text = "AAAA"
    verdict = offline().verify(etree.tostring(root), at=AT, name="x.xml")
    assert verdict.verdict.value == "indeterminate", verdict.to_json()
    assert "unsupported" in {f.code for f in verdict.signatures[0].findings}


def test_an_xml_document_without_a_signature_stays_unsupported_and_named():
    verdict = offline().verify(etree.tostring(letter()), at=AT, name="x.xml")
    assert verdict.reasons == ("unsupported",)
    assert "<VanBan>" in verdict.findings[0].detail


@given(st.binary(max_size=400))
def test_any_bytes_after_a_signature_start_get_a_verdict(tail):
    data = b'<VanBan><ds:Signature xmlns:ds="' + DS.encode() + b'">' + tail
    verdict = offline().verify(data, at=AT, name="x.xml")
    assert verdict.verdict.value in ("invalid", "indeterminate")
    assert "internal_error" not in verdict.reasons


@pytest.mark.parametrize(
    ("path", "verdict", "code"),
    [
        ("xml/xml-xades-lt.xml", "official", 0),
        ("xml/xml-xsw-duplicate-id.xml", "invalid", None),
        ("ooxml/ooxml-docx-tampered.docx", "invalid", None),
    ],
)
def test_sigmail_verify_reads_xml_and_office_files(path, verdict, code, capsys):
    from sigmail.cli import main

    status = main(
        [
            "verify",
            "--json",
            "--offline",
            "--trust",
            str(VECTORS / "pki/certs/root-official.pem"),
            "--at",
            "2026-06-01T00:00:00Z",
            "--policy",
            "basic",
            str(VECTORS / path),
        ]
    )
    shown = json.loads(capsys.readouterr().out)
    assert shown["verdict"] == verdict
    assert status == code if code is not None else status != 0


def test_a_certificate_with_a_non_positive_serial_prints_no_python_warning(tmp_path):
    # cryptography warns (CryptographyDeprecationWarning, shown by default) on loading such a
    # certificate; in `sigmail verify` that was two lines of Python on the clerk's terminal.
    import subprocess
    import sys

    from asn1crypto import x509 as a_x509

    pem = (ROOT / "vectors/pki/certs/root-official.pem").read_bytes()
    cert = a_x509.Certificate.load(base64.b64decode(b"".join(pem.splitlines()[1:-1])))
    cert["tbs_certificate"]["serial_number"] = 0
    (tmp_path / "zero.der").write_bytes(cert.dump(force=True))
    code = (
        "import sys, sigmail.xmldsig.crypto\n"
        "from cryptography import x509\n"
        "print(x509.load_der_x509_certificate(open(sys.argv[1], 'rb').read()).serial_number)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "zero.der")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Warning" not in done.stderr, done.stderr
