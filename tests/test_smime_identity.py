"""Who sent it (C11): the From field against the signer certificate, as tables.

The message is the person-official vector with its From field replaced: header fields are
outside the signature, which stays intact, so only the identity rules decide.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail import OnlineRevocation, TrustStore, Verifier
from sigmail.smime.headers import addresses_in_text, normalize_address, parse_mailboxes
from sigmail.smime.identity import certificate_addresses

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
MESSAGE = (VECTORS / "smime" / "person-official.eml").read_bytes()
ADDRESS = "an.nv@stttt.tphcm.gov.vn"


def with_from(*values: str | None, extra: bytes = b"") -> bytes:
    first, rest = MESSAGE.split(b"\r\n", 1)
    assert first.startswith(b"From: ")
    head = b"".join(f"From: {v}\r\n".encode() for v in values if v is not None)
    return head + extra + rest


@pytest.fixture(scope="module")
def verifier(responder):
    return Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


@pytest.mark.parametrize(
    ("from_value", "verdict", "reasons"),
    [
        (f"Nguyễn Văn An <{ADDRESS}>", "official", ()),
        (ADDRESS, "official", ()),
        (f"<{ADDRESS}>", "official", ()),
        ("an.nv@STTTT.TPHCM.gov.vn", "official", ()),  # the domain is case-insensitive
        (f'"Nguyễn Văn An (Sở TT&TT)" <{ADDRESS}> (comment)', "official", ()),
        (f"=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <{ADDRESS}>", "official", ()),
        (f"{ADDRESS} <{ADDRESS}>", "official", ()),  # shows its own address: fine
        ("AN.NV@stttt.tphcm.gov.vn", "invalid", ("signer_mismatch",)),  # local part exact
        ("Giám đốc <giamdoc@stttt.tphcm.gov.vn>", "invalid", ("signer_mismatch",)),
        (
            f"stttt@tphcm.gov.vn <{ADDRESS}>",
            "invalid",
            ("display_name_deceptive", "signer_mismatch"),
        ),
        (
            f"=?UTF-8?Q?stttt=40tphcm.gov.vn?= <{ADDRESS}>",
            "invalid",
            ("display_name_deceptive", "signer_mismatch"),
        ),
        (  # full-width letters and ＠ read as an address after NFKC
            f"ｓｔｔｔｔ＠ｔｐｈｃｍ．ｇｏｖ．ｖｎ <{ADDRESS}>",
            "invalid",
            ("display_name_deceptive", "signer_mismatch"),
        ),
        (f"An <{ADDRESS}>, Bình <binh.tt@example.com.vn>", "invalid", ("sender_ambiguous",)),
        ("", "invalid", ("sender_ambiguous",)),
        ("Nguyễn Văn An", "invalid", ("sender_ambiguous",)),
        (f"{ADDRESS}@evil.example", "invalid", ("sender_ambiguous",)),
        (f"Ban: {ADDRESS};", "invalid", ("sender_ambiguous",)),
        (f"An <{ADDRESS}> trailing", "invalid", ("sender_ambiguous",)),
        (f"An <{ADDRESS}", "invalid", ("sender_ambiguous",)),
    ],
)
def test_from_field_against_the_signer(verifier, from_value, verdict, reasons):
    result = verifier.verify(with_from(from_value), at=AT, name="m.eml")
    assert result.verdict.value == verdict, result.reasons
    assert set(reasons) <= set(result.reasons)
    assert result.signatures[0].status.value == "passed"


def test_missing_and_repeated_from_fields_are_ambiguous(verifier):
    assert "sender_ambiguous" in verifier.verify(with_from(None), at=AT).reasons
    twice = verifier.verify(with_from(ADDRESS, ADDRESS), at=AT)
    assert twice.verdict.value == "invalid" and "sender_ambiguous" in twice.reasons


def test_sender_field_is_a_warning_and_never_replaces_from(verifier):
    other = b"Sender: giamdoc@stttt.tphcm.gov.vn\r\n"
    differs = verifier.verify(with_from(ADDRESS, extra=other), at=AT)
    assert differs.verdict.value == "official" and "sender_header_differs" in differs.reasons
    same = verifier.verify(with_from(ADDRESS, extra=f"Sender: {ADDRESS}\r\n".encode()), at=AT)
    assert same.reasons == ()
    spoof = verifier.verify(
        with_from("giamdoc@stttt.tphcm.gov.vn", extra=f"Sender: {ADDRESS}\r\n".encode()), at=AT
    )
    assert spoof.verdict.value == "invalid" and "signer_mismatch" in spoof.reasons


def test_register_facts_are_decoded(verifier):
    verdict = verifier.verify((VECTORS / "smime" / "vietnamese-subject.eml").read_bytes(), at=AT)
    assert verdict.sender == f"Nguyễn Văn An <{ADDRESS}>"
    assert verdict.subject == (
        "Về việc triển khai chữ ký số chuyên dùng công vụ trong cơ quan nhà nước năm 2026"
    )
    assert verdict.message_id == "<vietnamese-subject@sigmail.test>"


# -- the address parser -----------------------------------------------------------------------


def test_the_angle_address_is_the_address_whatever_the_display_name_says():
    (box,) = parse_mailboxes("manager@corp.example <eve@corp.example>").mailboxes
    assert box.address == "eve@corp.example" and box.display_name == "manager@corp.example"
    assert addresses_in_text(box.display_name) == ["manager@corp.example"]


def test_normalized_addresses_compare_domains_without_case():
    assert normalize_address("An.NV@Example.VN") == "An.NV@example.vn"
    assert normalize_address('"an.nv"@example.vn') == "an.nv@example.vn"
    assert normalize_address("an@bücher.example") == "an@xn--bcher-kva.example"


# -- which addresses a certificate vouches for -------------------------------------------------


def _certificate(san: list[str], subject_email: str | None) -> asn1_x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "Test")]
    if subject_email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
    name = x509.Name(attrs)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(AT - dt.timedelta(days=1))
        .not_valid_after(AT + dt.timedelta(days=1))
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name(a) for a in san]), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def test_subject_alt_names_are_the_certificates_addresses():
    cert = _certificate(["an.nv@Example.VN"], "other@example.vn")
    assert certificate_addresses(cert) == ("an.nv@example.vn",)


def test_the_subject_email_counts_only_without_rfc822_alt_names():
    assert certificate_addresses(_certificate([], "legacy@example.vn")) == ("legacy@example.vn",)
    assert certificate_addresses(_certificate([], None)) == ()


@given(st.text(alphabet='ab@.<>"() ,;:=?\\xẠ', max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_field_met_again_is_answered_as_a_fresh_parse(value):
    """parse_mailboxes remembers each field: the second answer is the first, and both are what
    parsing the field afresh gives."""
    from sigmail.mailboxes import _parse_mailboxes

    first = parse_mailboxes(value)
    assert parse_mailboxes(value) is first
    assert first == _parse_mailboxes(value)


def test_the_mailbox_memo_is_bounded_by_the_bytes_of_its_fields():
    from sigmail.mailboxes import _parsed

    for n in range(40):
        parse_mailboxes(f"x{n} <a{n}@b.vn>" + " " * 200_000)
    assert _parsed.weight <= _parsed.max_weight
