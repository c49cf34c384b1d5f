"""The test PKI and vectors: reproducible, as described, and served by a working responder.

These tests check the *test material* (vectors/), never sigmail's verifier: the files match the
manifest, the certificates and CRLs carry what pki.toml says, the CMS files verify with OpenSSL
where they should, and the responder answers OCSP/CRL/TSA requests correctly.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vectors.testpki import generator
from vectors.testpki.endpoints import RESPONDER_URL
from vectors.testpki.responder import PKIResponder
from vectors.testpki.timestamps import TSA_POLICY_OID

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"
MANIFEST = json.loads((VECTORS_DIR / "manifest.json").read_text(encoding="utf-8"))
VECTOR_NAMES = [vector["name"] for vector in MANIFEST["vectors"]]
UTC = dt.UTC
AT = dt.datetime(2026, 6, 1, tzinfo=UTC)

# The vectors the brief names; more may exist, none of these may disappear.
REQUIRED_VECTORS = {
    "person-official": ("official", []),
    "agency-official": ("official", []),
    "person-official-tst": ("official", []),
    "person-detached": ("official", []),
    "person-detached-tampered-content": ("invalid", ["digest_mismatch"]),
    "tampered-econtent": ("invalid", ["digest_mismatch"]),
    "bad-signature-value": ("invalid", ["signature_invalid"]),
    "revoked-before-tst": ("invalid", ["certificate_revoked"]),
    "revoked-after-tst": ("official", []),
    "revoked-no-tst": ("indeterminate", ["revoked_no_poe"]),
    "suspended-tst": ("invalid", ["certificate_suspended"]),
    "suspended-no-tst": ("indeterminate", ["suspended_no_poe"]),
    "expired-no-tst": ("indeterminate", ["expired_no_poe"]),
    "expired-proven-tst": ("official", []),
    "no-signing-ku": ("invalid", ["key_usage_not_signing"]),
    "weak-rsa1024": ("invalid", ["weak_key"]),
    "sha1-digest": ("invalid", ["weak_algorithm"]),
    "impostor": ("invalid", ["untrusted_chain"]),
    "public-ca-signer": ("not_official", ["public_ca_signer"]),
    "no-signerinfos": ("unsigned", ["no_signature"]),
    "garbage": ("invalid", ["malformed"]),
    "embedded-revocation": ("official", []),
    "no-revinfo-offline": ("indeterminate", ["revocation_unavailable"]),
    "tz-quirk": ("official", ["signing_time_tz_quirk"]),
    "tst-imprint-mismatch": ("official", ["timestamp_invalid"]),
    "rsa-pss": ("official", []),
    "ecdsa-p256": ("official", []),
    "no-signed-attrs": ("official", ["signing_certificate_attr_missing"]),
    "wrong-signing-cert-attr": ("invalid", ["signer_certificate_mismatch"]),
    "person-and-agency": ("official", []),
    "missing-cert": ("invalid", ["signer_certificate_missing"]),
    "content-type-mismatch": ("invalid", ["signed_attributes_invalid"]),
    "unreachable-responder": ("indeterminate", ["revocation_unreachable"]),
}


def vector(name: str) -> dict[str, Any]:
    return next(v for v in MANIFEST["vectors"] if v["name"] == name)


def certificate(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((VECTORS_DIR / f"pki/certs/{name}.pem").read_bytes())


def signed_data(name: str) -> cms.SignedData:
    return cms.ContentInfo.load((VECTORS_DIR / vector(name)["path"]).read_bytes())["content"]


def tst_info(token: cms.ContentInfo) -> tsp.TSTInfo:
    return tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].contents)


# -- the generator and the manifest ----------------------------------------------------------


def test_regeneration_reproduces_the_committed_manifest(vectors_dir: Path) -> None:
    assert generator.check(vectors_dir) == []


def test_check_reports_a_changed_file_and_a_changed_expectation(tmp_path: Path) -> None:
    # A complete copy (keys and TOML files included) can be checked like vectors/ itself.
    generator.generate(VECTORS_DIR, tmp_path, create_keys=False)
    assert generator.check(tmp_path) == []
    signed = tmp_path / vector("person-official")["path"]
    data = bytearray(signed.read_bytes())
    data[-1] ^= 0x01
    signed.write_bytes(bytes(data))
    spec = tmp_path / "vectors.toml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace('reasons = ["weak_key"]', "reasons = []"),
        encoding="utf-8",
    )
    problems = generator.check(tmp_path)
    assert any("person-official" in p and "differs from manifest" in p for p in problems)
    assert any(p.startswith("vectors weak-rsa1024: expect") for p in problems)


def test_manifest_header(manifest: dict[str, Any], vectors_dir: Path) -> None:
    assert manifest == MANIFEST
    assert manifest["schema"] == "sigmail.vectors/1"
    assert manifest["generator"] == "vectors/generate.py"
    assert manifest["validation_time"] == "2026-06-01T00:00:00Z"
    assert manifest["responder"] == RESPONDER_URL == "http://127.0.0.1:47831"
    text = (vectors_dir / "manifest.json").read_text(encoding="utf-8")
    assert text == generator.dump_manifest(manifest), "manifest.json is not in its stable form"


@pytest.mark.parametrize("name", sorted(REQUIRED_VECTORS))
def test_required_vector_is_present_with_its_expectation(name: str) -> None:
    verdict, reasons = REQUIRED_VECTORS[name]
    assert vector(name)["expect"] == {"verdict": verdict, "reasons": reasons}


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_file_matches_manifest(name: str) -> None:
    entry = vector(name)
    assert hashlib.sha256((VECTORS_DIR / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    if entry["kind"] == "p7s":
        content = (VECTORS_DIR / entry["content"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["content_sha256"]
    else:
        assert entry["content"] is None
    for paths in entry["trust"].values():
        assert all((VECTORS_DIR / path).is_file() for path in paths)
    assert entry["mode"] in ("online", "offline")
    assert entry["policy"] in ("basic", "vn-gov")
    # RSASSA-PSS and ML-DSA signatures are randomised.
    assert entry["deterministic"] == (name not in ("rsa-pss", "ml-dsa-65"))


@pytest.mark.parametrize("section", ["pki", "crls", "keys"])
def test_pki_files_match_manifest(section: str) -> None:
    for entry in MANIFEST[section]:
        data = (VECTORS_DIR / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["path"]


def test_expected_reasons_are_sigmail_reason_codes() -> None:
    # Imported here, not skipped on failure: a reason table that does not import is a defect
    # this test must report, not hide.
    from sigmail.verdict.reasons import REASONS

    for entry in MANIFEST["vectors"]:
        assert set(entry["expect"]["reasons"]) <= set(REASONS), entry["name"]


# -- the PKI itself ----------------------------------------------------------------------------


def test_person_certificate_has_the_real_end_entity_profile() -> None:
    cert = certificate("person-an")
    ext = cert.extensions
    key_usage = ext.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature and key_usage.value.content_commitment
    assert key_usage.value.key_encipherment and key_usage.value.data_encipherment
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2"),
    ]
    policies = ext.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.16.704.1.1.1.1.1"]
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    crl_dp = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == f"{RESPONDER_URL}/crl/ca-official.crl"
    aia = {
        a.access_method: a.access_location.value
        for a in ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    }
    assert aia[x509.AuthorityInformationAccessOID.OCSP] == f"{RESPONDER_URL}/ocsp/ca-official"
    assert aia[x509.AuthorityInformationAccessOID.CA_ISSUERS] == (
        f"{RESPONDER_URL}/cert/ca-official.crt"
    )
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["an.nv@stttt.tphcm.gov.vn"]
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "CCCD:079085012345"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Nguyễn Văn An"
    # DER order as in the real certificates: C, L, O, OU, CN, UID.
    assert [rdn.oid for rdn in cert.subject] == [
        NameOID.COUNTRY_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
        NameOID.USER_ID,
    ]


def test_special_certificates() -> None:
    assert certificate("person-weak-rsa1024").public_key().key_size == 1024
    no_signing = certificate("person-no-signing-ku").extensions.get_extension_for_class(
        x509.KeyUsage
    )
    assert not no_signing.value.digital_signature and not no_signing.value.content_commitment
    unreachable = certificate("person-unreachable").extensions
    crl_dp = unreachable.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value.startswith("http://127.0.0.1:9/")
    tsa_eku = certificate("tsa-official").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert tsa_eku.critical and list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    responder_cert = certificate("ocsp-official")
    responder_cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert responder_cert.issuer == certificate("ca-official").subject
    assert (
        certificate("ca-official")
        .extensions.get_extension_for_class(x509.BasicConstraints)
        .value.path_length
        == 0
    )
    assert certificate("person-expired").not_valid_after_utc == dt.datetime(2024, 1, 1, tzinfo=UTC)


def test_impostors_copy_names_not_keys() -> None:
    for impostor, genuine in [
        ("root-impostor", "root-official"),
        ("ca-impostor", "ca-official"),
        ("impostor-an", "person-an"),
    ]:
        fake, real = certificate(impostor), certificate(genuine)
        assert fake.subject == real.subject
        assert fake.issuer == real.issuer
        assert fake.public_key() != real.public_key()


def test_ca_official_crl_lists_revoked_and_suspended_certificates() -> None:
    crl = x509.load_der_x509_crl((VECTORS_DIR / "pki/crl/ca-official.crl").read_bytes())
    assert crl.is_signature_valid(certificate("ca-official").public_key())
    assert crl.last_update_utc == dt.datetime(2026, 5, 31, tzinfo=UTC)
    assert crl.next_update_utc == dt.datetime(2026, 6, 7, tzinfo=UTC)
    crl.extensions.get_extension_for_class(x509.CRLNumber)
    crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    entries = {e.serial_number: e for e in crl}
    revoked = entries.pop(certificate("person-revoked").serial_number)
    assert revoked.revocation_date_utc == dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    held = entries.pop(certificate("person-suspended").serial_number)
    assert held.revocation_date_utc == dt.datetime(2026, 4, 15, tzinfo=UTC)
    assert held.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.certificate_hold
    )
    assert not entries
    archived = x509.load_der_x509_crl((VECTORS_DIR / "pki/crl/ca-official-2023.crl").read_bytes())
    assert len(archived) == 0 and archived.last_update_utc.year == 2023


# -- an independent validator accepts the PKI (pyhanko-certvalidator, RFC 5280) ------------------


def asn1_certificate(name: str) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate(name).public_bytes(serialization.Encoding.DER))


def validate_path(
    name: str,
    *,
    intermediates: tuple[str, ...] = ("ca-official",),
    root: str = "root-official",
    crls: tuple[str, ...] = ("ca-official", "root-official"),
    moment: dt.datetime = AT,
    online: bool = False,
) -> None:
    """Validate ``name`` for digital signatures with pyhanko-certvalidator (raises if not)."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

    async def run() -> None:
        backend = AIOHttpFetcherBackend(per_request_timeout=5)
        try:
            context = ValidationContext(
                trust_roots=[asn1_certificate(root)],
                crls=[(VECTORS_DIR / f"pki/crl/{crl}.crl").read_bytes() for crl in crls],
                moment=moment,
                revocation_mode="hard-fail",
                allow_fetching=online,
                fetcher_backend=backend,
            )
            validator = CertificateValidator(
                asn1_certificate(name),
                intermediate_certs=[asn1_certificate(i) for i in intermediates],
                validation_context=context,
            )
            await validator.async_validate_usage({"digital_signature"})
        finally:
            await backend.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    "name", ["person-an", "person-ec", "agency-stttt", "person-other-agency", "tsa-official"]
)
def test_certvalidator_accepts_official_certificates(name: str) -> None:
    intermediates = () if name == "tsa-official" else ("ca-official",)
    validate_path(name, intermediates=intermediates)


def test_certvalidator_accepts_public_signer_and_proven_expired_signer() -> None:
    validate_path(
        "public-signer",
        intermediates=("ca-public",),
        root="root-national",
        crls=("ca-public", "root-national"),
    )
    validate_path(
        "person-expired",
        crls=("ca-official-2023", "root-official-2023"),
        moment=dt.datetime(2023, 6, 1, 2, tzinfo=UTC),
    )


def test_certvalidator_rejects_revoked_suspended_and_impostor() -> None:
    from pyhanko_certvalidator.errors import PathBuildingError, RevokedError

    with pytest.raises(RevokedError, match="compromised key"):
        validate_path("person-revoked")
    with pytest.raises(RevokedError, match="certificate hold"):
        validate_path("person-suspended")
    with pytest.raises(PathBuildingError):
        validate_path("impostor-an", intermediates=("ca-impostor", "root-impostor"))


# -- the CMS files -----------------------------------------------------------------------------


def test_default_signature_structure() -> None:
    sd = signed_data("person-official")
    assert sd["encap_content_info"]["content_type"].native == "data"
    document = (VECTORS_DIR / "cms/document.txt").read_bytes()
    assert sd["encap_content_info"]["content"].native == document
    assert "Số: 123/QĐ-STTTT" in document.decode("utf-8")
    # A DER SET OF: asn1crypto sorts it, so the CA comes out first.
    certs = {c.chosen.subject.native["common_name"] for c in sd["certificates"]}
    assert certs == {"Nguyễn Văn An", "CA phục vụ các cơ quan Nhà nước (sigmail test)"}
    embedded = {c.chosen.dump() for c in sd["certificates"]}
    assert embedded == {
        certificate(name).public_bytes(serialization.Encoding.DER)
        for name in ("person-an", "ca-official")
    }
    signer = sd["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    assert set(attrs) == {
        "content_type",
        "message_digest",
        "signing_time",
        "signing_certificate_v2",
    }
    assert attrs["message_digest"].native == hashlib.sha256(document).digest()
    assert attrs["signing_time"].native == dt.datetime(2026, 5, 20, 3, tzinfo=UTC)
    ess = attrs["signing_certificate_v2"]["certs"][0]
    person_der = certificate("person-an").public_bytes(serialization.Encoding.DER)
    assert ess["cert_hash"].native == hashlib.sha256(person_der).digest()
    assert ess["issuer_serial"]["serial_number"].native == certificate("person-an").serial_number


def test_signature_timestamp_stamps_the_signature_value() -> None:
    signer = signed_data("person-official-tst")["signer_infos"][0]
    token = signer["unsigned_attrs"][0]["values"][0]
    assert signer["unsigned_attrs"][0]["type"].dotted == "1.2.840.113549.1.9.16.2.14"
    info = tst_info(token)
    assert info["gen_time"].native == dt.datetime(2026, 5, 20, 3, tzinfo=UTC)
    assert info["policy"].dotted == TSA_POLICY_OID
    imprint = info["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(signer["signature"].native).digest()
    mismatch = signed_data("tst-imprint-mismatch")["signer_infos"][0]
    other = tst_info(mismatch["unsigned_attrs"][0]["values"][0])
    assert (
        other["message_imprint"]["hashed_message"].native
        != hashlib.sha256(mismatch["signature"].native).digest()
    )


def test_embedded_revocation_evidence() -> None:
    sd = signed_data("embedded-revocation")
    kinds = [choice.name for choice in sd["crls"]]
    assert kinds == ["crl", "crl", "other"]
    other = sd["crls"][2].chosen
    assert other["other_rev_info_format"].dotted == "1.3.6.1.5.5.7.16.2"
    response = ocsp.load_der_ocsp_response(other["other_rev_info"].dump())
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == certificate("person-an").serial_number
    assert response.produced_at_utc == dt.datetime(2026, 5, 31, tzinfo=UTC)
    assert sd["version"].native == "v5"


def test_deviant_vectors_deviate_as_described() -> None:
    original = (VECTORS_DIR / vector("person-official")["path"]).read_bytes()
    for name in ("tampered-econtent", "bad-signature-value"):
        tampered = (VECTORS_DIR / vector(name)["path"]).read_bytes()
        assert len(tampered) == len(original)
        assert sum(a != b for a, b in zip(original, tampered, strict=True)) == 1
    assert vector("no-revinfo-offline")["path"] == vector("person-official")["path"]
    assert len(signed_data("no-signerinfos")["signer_infos"]) == 0
    assert signed_data("missing-cert")["certificates"].native is None
    assert signed_data("no-signed-attrs")["signer_infos"][0]["signed_attrs"].native is None
    tz = signed_data("tz-quirk")["signer_infos"][0]
    times = {a["type"].native: a["values"][0].native for a in tz["signed_attrs"]}
    assert times["signing_time"] - tst_info(tz["unsigned_attrs"][0]["values"][0])[
        "gen_time"
    ].native == dt.timedelta(hours=7)
    with pytest.raises(ValueError):
        cms.ContentInfo.load((VECTORS_DIR / vector("garbage")["path"]).read_bytes()).native  # noqa: B018


# -- cross-checks with OpenSSL -------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
AT_EPOCH = str(int(AT.timestamp()))


def openssl_cms_verify(name: str, *, content: str | None = None, trust: str = "root-official"):
    entry = vector(name)
    command = [
        "openssl", "cms", "-verify", "-binary", "-inform", "DER",
        "-in", str(VECTORS_DIR / entry["path"]),
        "-CAfile", str(VECTORS_DIR / f"pki/certs/{trust}.pem"), "-partial_chain",
        "-attime", AT_EPOCH, "-out", "/dev/null",
    ]  # fmt: skip
    if content:
        command += ["-content", str(VECTORS_DIR / content)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@needs_openssl
@pytest.mark.parametrize(
    "name",
    [
        "person-official",
        "agency-official",
        "person-official-tst",
        "person-and-agency",
        "ecdsa-p256",
        "rsa-pss",
        "no-signed-attrs",
        "embedded-revocation",
        "kontum-person-and-agency",
        # Not ed25519/ed448: OpenSSL 3.0's cms -verify fails every EdDSA SignedData with
        # "eddsa_digest_signverify_init: invalid digest" (it hands the digest to EdDSA).
        "signer-attributes-v2",
    ],
)
def test_openssl_verifies_intact_signature(name: str) -> None:
    result = openssl_cms_verify(name)
    assert result.returncode == 0, result.stderr


@needs_openssl
def test_openssl_verifies_detached_signature_and_sees_tampering() -> None:
    assert openssl_cms_verify("person-detached", content="cms/document.txt").returncode == 0
    tampered = vector("person-detached-tampered-content")["content"]
    assert openssl_cms_verify("person-detached", content=tampered).returncode != 0


@needs_openssl
@pytest.mark.parametrize("name", ["tampered-econtent", "bad-signature-value", "impostor"])
def test_openssl_rejects_broken_signature(name: str) -> None:
    assert openssl_cms_verify(name).returncode != 0


@needs_openssl
def test_openssl_verifies_public_signer_against_the_national_root() -> None:
    assert openssl_cms_verify("public-ca-signer", trust="root-national").returncode == 0
    assert openssl_cms_verify("public-ca-signer", trust="root-official").returncode != 0


@needs_openssl
def test_openssl_ts_verifies_the_signature_timestamp(tmp_path: Path) -> None:
    signer = signed_data("person-official-tst")["signer_infos"][0]
    token_path = tmp_path / "token.der"
    token_path.write_bytes(signer["unsigned_attrs"][0]["values"][0].dump())
    digest = hashlib.sha256(signer["signature"].native).hexdigest()
    command = [
        "openssl", "ts", "-verify", "-token_in", "-in", str(token_path), "-digest", digest,
        "-CAfile", str(VECTORS_DIR / "pki/certs/root-official.pem"), "-attime", AT_EPOCH,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# -- the live responder ------------------------------------------------------------------------


@pytest.fixture
def live(responder: PKIResponder) -> Iterator[PKIResponder]:
    """The session responder, reset before and after the test."""
    responder.reset()
    yield responder
    responder.reset()


def http(url: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def ocsp_request(name: str, issuer: str = "ca-official", nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate(name), certificate(issuer), hashes.SHA256()
    )
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def post_ocsp(name: str, *, ca: str = "ca-official", nonce: bytes | None = None):
    status, body, _ = http(
        f"{RESPONDER_URL}/ocsp/{ca}", ocsp_request(name, ca, nonce), "application/ocsp-request"
    )
    assert status == 200
    return ocsp.load_der_ocsp_response(body)


def assert_signed_by_delegated_responder(response: ocsp.OCSPResponse, responder: str) -> None:
    responder_cert = certificate(responder)
    assert response.certificates == [responder_cert]
    public_key = responder_cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        response.signature,
        response.tbs_response_bytes,
        padding.PKCS1v15(),
        response.signature_hash_algorithm,
    )


def test_responder_serves_crls_and_ca_certificates(live: PKIResponder) -> None:
    status, body, headers = http(f"{RESPONDER_URL}/crl/ca-official.crl")
    assert status == 200 and headers["Content-Type"] == "application/pkix-crl"
    assert body == (VECTORS_DIR / "pki/crl/ca-official.crl").read_bytes()
    status, body, _ = http(f"{RESPONDER_URL}/cert/ca-official.crt")
    assert status == 200 and x509.load_der_x509_certificate(body) == certificate("ca-official")
    assert http(f"{RESPONDER_URL}/cert/person-an.crt")[0] == 404  # CA certificates only
    assert http(f"{RESPONDER_URL}/crl/nothing.crl")[0] == 404


def test_ocsp_good_for_person_an(live: PKIResponder) -> None:
    response = post_ocsp("person-an", nonce=b"sigmail-nonce-01")
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == certificate("person-an").serial_number
    assert response.produced_at_utc == AT
    assert response.this_update_utc == AT - dt.timedelta(hours=1)
    assert response.next_update_utc == AT + dt.timedelta(days=7)
    nonce = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    assert nonce == b"sigmail-nonce-01"
    assert_signed_by_delegated_responder(response, "ocsp-official")


def test_ocsp_revoked_and_suspended(live: PKIResponder) -> None:
    revoked = post_ocsp("person-revoked")
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc == dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert revoked.revocation_reason == x509.ReasonFlags.key_compromise
    held = post_ocsp("person-suspended")
    assert held.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert held.revocation_time_utc == dt.datetime(2026, 4, 15, tzinfo=UTC)
    assert held.revocation_reason == x509.ReasonFlags.certificate_hold
    # Before the revocation the same certificate is good: status follows the clock.
    live.clock = dt.datetime(2026, 2, 1, tzinfo=UTC)
    assert post_ocsp("person-revoked").certificate_status == ocsp.OCSPCertStatus.GOOD


def test_ocsp_unknown_unauthorized_get_and_public_ca(live: PKIResponder) -> None:
    # impostor-an's serial was never issued by ca-official.
    assert post_ocsp("impostor-an").certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    # Asking ca-official's responder about ca-impostor's certificates: not its business.
    status, body, _ = http(
        f"{RESPONDER_URL}/ocsp/ca-official",
        ocsp_request("impostor-an", "ca-impostor"),
        "application/ocsp-request",
    )
    response = ocsp.load_der_ocsp_response(body)
    assert response.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    # RFC 6960 Appendix A GET form.
    encoded = urllib.parse.quote(base64.b64encode(ocsp_request("person-an")).decode(), safe="")
    status, body, _ = http(f"{RESPONDER_URL}/ocsp/ca-official/{encoded}")
    assert status == 200
    assert ocsp.load_der_ocsp_response(body).certificate_status == ocsp.OCSPCertStatus.GOOD
    public = post_ocsp("public-signer", ca="ca-public")
    assert public.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert_signed_by_delegated_responder(public, "ocsp-public")
    status, body, _ = http(
        f"{RESPONDER_URL}/ocsp/ca-official", b"not DER", "application/ocsp-request"
    )
    malformed = ocsp.load_der_ocsp_response(body).response_status
    assert malformed == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_tsa_stamps_at_the_responder_clock(live: PKIResponder) -> None:
    live.clock = dt.datetime(2026, 5, 20, 3, 0, tzinfo=UTC)
    digest = hashlib.sha256(b"a signature value").digest()
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest,
            },
            "nonce": 20260520,
            "cert_req": True,
        }
    )
    status, body, headers = http(
        f"{RESPONDER_URL}/tsa", request.dump(), "application/timestamp-query"
    )
    assert status == 200 and headers["Content-Type"] == "application/timestamp-reply"
    reply = tsp.TimeStampResp.load(body)
    assert reply["status"]["status"].native == "granted"
    token = reply["time_stamp_token"]
    info = tst_info(token)
    assert info["gen_time"].native == live.clock
    assert info["nonce"].native == 20260520
    assert info["message_imprint"]["hashed_message"].native == digest
    signed = token["content"]
    tsa_cert = certificate("tsa-official")
    assert signed["certificates"][0].chosen.dump() == tsa_cert.public_bytes(
        serialization.Encoding.DER
    )
    signer = signed["signer_infos"][0]
    public_key = tsa_cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        signer["signature"].native,
        signer["signed_attrs"].untag().dump(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    # Without certReq the TSA certificate is left out (RFC 3161 §2.4.1).
    request["cert_req"] = False
    reply = tsp.TimeStampResp.load(http(f"{RESPONDER_URL}/tsa", request.dump())[1])
    assert reply["time_stamp_token"]["content"]["certificates"].native is None


def test_requests_are_counted_and_reset(live: PKIResponder) -> None:
    http(f"{RESPONDER_URL}/crl/ca-official.crl")
    http(f"{RESPONDER_URL}/crl/ca-official.crl")
    post_ocsp("person-an")
    assert live.requests["/crl/ca-official.crl"] == 2
    assert live.requests["/ocsp/ca-official"] == 1
    live.reset()
    assert not live.requests


def test_injected_unavailability_answers_503(live: PKIResponder) -> None:
    live.unavailable.add("/ocsp/")
    status, _, headers = http(
        f"{RESPONDER_URL}/ocsp/ca-official", ocsp_request("person-an"), "application/ocsp-request"
    )
    assert status == 503 and headers["Retry-After"]
    assert http(f"{RESPONDER_URL}/crl/ca-official.crl")[0] == 200  # other routes unaffected
    assert live.requests["/ocsp/ca-official"] == 1  # the failed attempt still counts
    live.unavailable.clear()
    assert post_ocsp("person-an").certificate_status == ocsp.OCSPCertStatus.GOOD


def test_injected_delay(live: PKIResponder) -> None:
    live.delay_seconds = 0.3
    started = dt.datetime.now(UTC)
    assert http(f"{RESPONDER_URL}/crl/root-official.crl")[0] == 200
    assert dt.datetime.now(UTC) - started >= dt.timedelta(seconds=0.3)


def test_certvalidator_fetches_ocsp_and_crls_from_the_responder(live: PKIResponder) -> None:
    from pyhanko_certvalidator.errors import RevokedError

    validate_path("person-an", crls=(), online=True)
    assert live.requests["/ocsp/ca-official"] == 1
    assert live.requests["/crl/root-official.crl"] >= 1  # ca-official's own status
    with pytest.raises(RevokedError, match="OCSP"):
        validate_path("person-revoked", crls=(), online=True)
