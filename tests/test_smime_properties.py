"""Properties of e-mail verification: any bytes get a verdict; a tampered signed message never
passes. The verifier runs strict, so a bug surfaces as InternalError, not as a verdict."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.invariants import assert_invariants
from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.limits import Budget, Limits
from sigmail.smime.mime import MimeParser
from sigmail.verdict.model import SignatureStatus, VerdictKind

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
TRUST = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
OFFLINE = Verifier(trust=TRUST, revocation=OfflineRevocation(), strict=True)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# multipart/signed vectors whose signed entity is a range of the file
DETACHED = ("person-official", "lf-only", "quoted-printable", "pdf-attachment", "person-and-agency")


def _message(name: str) -> bytes:
    return (VECTORS / "smime" / f"{name}.eml").read_bytes()


@pytest.fixture(scope="module")
def online(responder):
    return Verifier(
        trust=TRUST,
        revocation=OnlineRevocation(clock=lambda: AT, timeout=2.0, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_any_bytes_as_eml_get_a_verdict(data):
    verdict = OFFLINE.verify(data, at=AT, name="x.eml")
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL


_header = st.sampled_from(
    [
        b"From: a@b.cd",
        b"Content-Type: multipart/mixed; boundary=b",
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=b',
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data",
        b"Content-Type: message/rfc822",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Content-Disposition: attachment; filename*=utf-8''%E1%BA%A1.pdf",
    ]
)
_line = st.one_of(
    _header,
    st.sampled_from([b"", b"--b", b"--b--", b"MIIB", b"=41=", b"  folded"]),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
)


@SETTINGS
@given(lines=st.lists(_line, max_size=40), crlf=st.booleans())
def test_mime_shaped_inputs_get_a_verdict(lines, crlf):
    data = (b"\r\n" if crlf else b"\n").join([b"From: a@b.cd", *lines])
    verdict = OFFLINE.verify(data, at=AT, name="x.eml")
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL


@SETTINGS
@given(st.data())
def test_any_mutation_of_a_signed_message_gets_a_verdict(data):
    blob = bytearray(_message(data.draw(st.sampled_from((*DETACHED, "opaque-signed")))))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(blob) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            blob[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del blob[pos : pos + data.draw(st.integers(1, 64))]
        else:
            blob[pos:pos] = data.draw(st.sampled_from([b"\r\n", b"--", b"\r\n--", b"=", b"\x00"]))
        if not blob:
            blob = bytearray(b"From: a@b.cd\r\n")
    verdict = OFFLINE.verify(bytes(blob), at=AT, name="mutated.eml")
    assert_invariants(verdict)


def _signed_entity(message: bytes) -> tuple[int, int]:
    root = MimeParser(Budget(Limits())).parse_message(message)
    content = root.children[0]
    return content.start, content.end


@pytest.mark.parametrize("name", [*DETACHED, "opaque-signed"])
def test_the_untampered_vectors_pass(online, name):
    assert online.verify(_message(name), at=AT).verdict is VerdictKind.OFFICIAL


@SETTINGS
@given(data=st.data())
def test_a_flipped_byte_in_the_signed_entity_never_passes(online, data):
    name = data.draw(st.sampled_from(DETACHED))
    message = bytearray(_message(name))
    start, end = _signed_entity(bytes(message))
    pos = data.draw(st.integers(start, end - 1))
    message[pos] ^= data.draw(st.integers(1, 255))
    verdict = online.verify(bytes(message), at=AT, name=f"{name}.eml")
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL, (name, pos, verdict.reasons)
    assert not any(s.status is SignatureStatus.PASSED for s in verdict.signatures), pos


@SETTINGS
@given(data=st.data())
def test_a_flipped_byte_in_opaque_signed_content_never_passes(online, data):
    """Opaque form: the signed entity is the eContent, inside the base64 body."""
    message = _message("opaque-signed")
    head, sep, body = message.partition(b"\r\n\r\n")
    der = bytearray(base64.b64decode(body))
    econtent = bytes(cms.ContentInfo.load(bytes(der))["content"]["encap_content_info"]["content"])
    offset = bytes(der).index(econtent)
    pos = offset + data.draw(st.integers(0, len(econtent) - 1))
    der[pos] ^= data.draw(st.integers(1, 255))
    encoded = base64.encodebytes(bytes(der)).replace(b"\n", b"\r\n")
    verdict = online.verify(head + sep + encoded, at=AT, name="opaque.eml")
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL, (pos, verdict.reasons)
    assert not any(s.status is SignatureStatus.PASSED for s in verdict.signatures), pos
