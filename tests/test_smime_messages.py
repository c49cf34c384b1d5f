"""S/MIME messages from the test PKI (vectors/smime/): parts, coverage, carried documents, and
``sigmail verify mail.eml --json``.

Each message's own verdict is checked with every other vector by tests/test_vectors.py; these
tests check what that does not: which signature covers which part, the verdicts of the
documents inside, and the command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sigmail import OnlineRevocation, TrustStore, Verifier
from sigmail.cli import main
from sigmail.limits import Budget, Limits
from sigmail.smime.mime import MimeParser
from vectors.testpki.cms import Signer, signed_data
from vectors.testpki.pki import load_pki

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
MESSAGES = [v for v in MANIFEST["vectors"] if v["kind"] == "eml"]
CONTENT_ROLES = ("text/", "application/pdf", "message/")

# The messages the brief names; more may exist, none of these may disappear.
REQUIRED = {
    "smime-person-official": "official",
    "smime-agency-official": "official",
    "smime-tampered-body": "invalid",
    "smime-unsigned": "unsigned",
    "smime-forwarded-in-unsigned": "not_official",
    "smime-from-mismatch": "invalid",
    "smime-revoked-signer": "invalid",
    "smime-expired-signer": "indeterminate",
    "smime-opaque-signed": "official",
    "smime-lf-only": "official",
    "smime-quoted-printable": "official",
    "smime-vietnamese-subject": "official",
    "smime-pdf-attachment": "official",
    "smime-p7m-attachment": "official",
    "smime-encrypted-attachment": "indeterminate",
    "smime-wrapped-text-before": "not_official",
}


@pytest.fixture(scope="module")
def verifier(responder):
    return Verifier(
        trust=TrustStore.load(
            official=[VECTORS / "pki/certs/root-official.pem"],
            public=[VECTORS / "pki/certs/root-national.pem"],
        ),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


def verify(verifier, name: str):
    return verifier.verify((VECTORS / "smime" / f"{name}.eml").read_bytes(), at=AT, name=name)


def test_required_messages_are_in_the_manifest():
    found = {v["name"]: v["expect"]["verdict"] for v in MESSAGES}
    assert {k: found.get(k) for k in REQUIRED} == REQUIRED


@pytest.mark.parametrize("vector", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_coverage_is_consistent_with_the_verdict(verifier, vector):
    if vector["policy"] != "basic":
        verifier = Verifier(
            trust=verifier.trust,
            policy=vector["policy"],
            revocation=verifier.revocation,
            strict=True,
        )
    verdict = verify(verifier, vector["path"].removeprefix("smime/").removesuffix(".eml"))
    assert verdict.kind == "eml"
    locators = [p.locator for p in verdict.parts]
    assert locators[0] == "message" and len(set(locators)) == len(locators)
    for sig in verdict.signatures:
        assert sig.kind == "smime"
        assert set(sig.covers) == {p.locator for p in verdict.parts if sig.index in p.covered_by}
    content = [p for p in verdict.parts if p.content_type.startswith(CONTENT_ROLES)]
    partially = "partially_signed" in verdict.reasons
    if verdict.verdict.value == "official":
        assert all(p.covered_by for p in content), verdict.parts
    if partially:
        assert any(not p.covered_by for p in content)
    for name, expected in vector.get("documents", {}).items():
        (document,) = [d for d in verdict.documents if d.name == name]
        assert document.verdict.value == expected, document.reasons
        (part,) = [p for p in verdict.parts if p.document == name]
        assert part.sha256 == document.sha256 and part.size == document.size


def test_a_fully_signed_message_lists_its_parts(verifier):
    verdict = verify(verifier, "person-official")
    assert [(p.locator, p.content_type, p.covered_by) for p in verdict.parts] == [
        ("message", "multipart/signed", ()),
        ("part 1", "text/plain", (0,)),
        ("part 2", "application/pkcs7-signature", ()),
    ]
    (sig,) = verdict.signatures
    assert sig.covers == ("part 1",) and sig.signer.emails == ("an.nv@stttt.tphcm.gov.vn",)
    letter = tomllib.loads((VECTORS / "smime.toml").read_text("utf-8"))["text"]["letter"]
    decoded = letter.strip("\n").replace("\n", "\r\n").encode() + b"\r\n"
    assert verdict.parts[1].size == len(decoded)
    assert verdict.parts[1].sha256 == hashlib.sha256(decoded).hexdigest()
    assert verdict.sender == "Nguyễn Văn An <an.nv@stttt.tphcm.gov.vn>"
    assert verdict.message_id == "<person-official@sigmail.test>"


def test_opaque_signature_covers_the_entity_inside_it(verifier):
    verdict = verify(verifier, "opaque-signed")
    assert [(p.locator, p.content_type, p.covered_by) for p in verdict.parts] == [
        ("message", "application/pkcs7-mime", ()),
        ("part 1", "text/plain", (0,)),
    ]


def test_forwarded_official_mail_in_an_unsigned_wrapper(verifier):
    """A signed message forwarded inside an unsigned wrapper: the wrapper is not official
    (partially_signed, issue 3); the forwarded message keeps its own official verdict."""
    verdict = verify(verifier, "forwarded-in-unsigned")
    assert verdict.verdict.value == "not_official" and not verdict.signatures
    assert verdict.reasons == ("partially_signed",)
    (finding,) = [f for f in verdict.findings if f.code == "partially_signed"]
    assert "part 2 (message/rfc822)" in finding.detail and "part 1 (text/plain)" in finding.detail
    (forwarded,) = verdict.documents
    assert forwarded.kind == "eml" and forwarded.verdict.value == "official"
    assert forwarded.sender == "Nguyễn Văn An <an.nv@stttt.tphcm.gov.vn>"
    assert forwarded.signatures[0].covers == ("part 1",)


def test_wrapping_keeps_the_inner_signature_intact(verifier):
    for name in ("wrapped-text-before", "wrapped-hidden-html", "wrapped-as-attachment"):
        verdict = verify(verifier, name)
        (sig,) = verdict.signatures
        assert sig.status.value == "passed" and sig.covers == ("part 2.1",)
        (finding,) = [f for f in verdict.findings if f.code == "partially_signed"]
        assert "part 1 " in finding.detail


def test_every_signer_of_a_message_must_pass(verifier):
    verdict = verify(verifier, "foreign-signer-appended")
    statuses = [s.status.value for s in verdict.signatures]
    assert sorted(statuses) == ["failed", "passed"] and verdict.verdict.value == "invalid"
    assert verdict.reasons == ("digest_mismatch",)


def test_encrypted_part_is_reported_not_guessed(verifier):
    verdict = verify(verifier, "encrypted-attachment")
    (part,) = [p for p in verdict.parts if p.encrypted]
    assert part.locator == "part 1.2" and part.covered_by == (0,)
    assert [f.locator for f in verdict.findings if f.code == "encrypted"] == ["part 1.2"]


def test_cli_json_lists_parts_with_coverage_and_documents_with_verdicts(capsys, responder):
    rc = main(
        [
            "verify",
            "--json",
            "--policy",
            "basic",
            "--trust",
            str(VECTORS / "pki/certs/root-official.pem"),
            "--at",
            "2026-06-01T00:00:00Z",
            "--fetch-allow",
            "127.0.0.1/32",
            str(VECTORS / "smime" / "p7m-attachment.eml"),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["verdict"] == "official" and doc["kind"] == "eml"
    parts = {p["locator"]: p for p in doc["parts"]}
    assert parts["part 1.1"]["covered_by"] == [0]
    assert parts["part 1.2"]["document"] == "quyet-dinh-123.txt.p7m"
    assert parts["part 2"]["content_type"] == "application/pkcs7-signature"
    (attached,) = doc["documents"]
    assert attached["name"] == "quyet-dinh-123.txt.p7m" and attached["verdict"] == "official"
    assert attached["signatures"][0]["signer"]["emails"] == ["an.nv@stttt.tphcm.gov.vn"]
    assert doc["signatures"][0]["covers"] == ["part 1", "part 1.1", "part 1.2"]
    assert doc["sender"] == "Nguyễn Văn An <an.nv@stttt.tphcm.gov.vn>"


def test_cli_text_shows_parts_when_verbose(capsys, responder):
    rc = main(
        [
            "verify",
            "--verbose",
            "--lang",
            "en",
            "--policy",
            "basic",
            "--trust",
            str(VECTORS / "pki/certs/root-official.pem"),
            "--at",
            "2026-06-01T00:00:00Z",
            "--fetch-allow",
            "127.0.0.1/32",
            str(VECTORS / "smime" / "wrapped-text-before.eml"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1 and "partially_signed" in out and "part 2.1" in out


# -- CMS attack resistance: certificates -------------------------------------------------------


def _resigned(certificates) -> bytes:
    """person-official.eml with its signature remade by person-an, carrying ``certificates``."""
    pki = load_pki(VECTORS)
    message = (VECTORS / "smime" / "person-official.eml").read_bytes()
    root = MimeParser(Budget(Limits())).parse_message(message)
    content, signature = root.children
    signer = Signer(
        cert=pki.certificates["person-an"],
        key=pki.keys["person-an"],
        signing_time=datetime(2026, 5, 20, 3, tzinfo=UTC),
    )
    der = signed_data(
        message[content.start : content.end],
        [signer],
        detached=True,
        certificates=certificates(pki),
    )
    encoded = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return message[: signature.body_start] + encoded + message[signature.end :]


def _look_alike(pki):
    """A certificate with person-an's issuer and serial number but another key."""
    real = pki.certificates["person-an"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        cx509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(key.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
        .sign(key, hashes.SHA256())
    )


def test_duplicate_certificates_are_harmless(verifier):
    twice = _resigned(
        lambda pki: [pki.certificates["person-an"]] * 2 + [pki.certificates["ca-official"]]
    )
    assert verifier.verify(twice, at=AT, name="dup.eml").verdict.value == "official"


def test_missing_signer_certificate_is_invalid(verifier):
    none = _resigned(lambda pki: [pki.certificates["ca-official"]])
    verdict = verifier.verify(none, at=AT, name="missing.eml")
    assert verdict.verdict.value == "invalid" and "signer_certificate_missing" in verdict.reasons


def test_the_signer_is_found_by_issuer_serial_and_key(verifier):
    real_sha = None

    def with_look_alike(pki):
        nonlocal real_sha
        real_sha = hashlib.sha256(
            pki.certificates["person-an"].public_bytes(serialization.Encoding.DER)
        ).hexdigest()
        return [_look_alike(pki), pki.certificates["person-an"], pki.certificates["ca-official"]]

    verdict = verifier.verify(_resigned(with_look_alike), at=AT, name="lookalike.eml")
    assert verdict.verdict.value == "official"
    assert verdict.signatures[0].signer.sha256 == real_sha.upper()
    only_fake = _resigned(lambda pki: [_look_alike(pki), pki.certificates["ca-official"]])
    fake = verifier.verify(only_fake, at=AT, name="fake.eml")
    assert fake.verdict.value == "invalid" and "signer_certificate_mismatch" in fake.reasons
