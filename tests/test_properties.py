"""Properties: any bytes get a verdict that keeps the verdict invariants (fuzz/invariants.py:
known reason codes, a locator and a basis on every finding, severity, JSON round-trip);
tampering with what was signed never passes.

The verifier runs strict, so a bug surfaces as InternalError instead of hiding in an
``internal_error`` verdict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms, ocsp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fuzz.invariants import assert_invariants
from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.verdict.model import SignatureStatus, VerdictKind

ROOT = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
BASELINE = (ROOT / "cms" / "embedded-revocation.p7m").read_bytes()
DETACHED = (ROOT / "cms" / "person-detached.p7s").read_bytes()
DOCUMENT = (ROOT / "cms" / "document.txt").read_bytes()

VERIFIER = Verifier(
    trust=TrustStore.load(official=[ROOT / "pki/certs/root-official.pem"]),
    policy="basic",
    revocation=OfflineRevocation(),
    strict=True,
)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_baseline_is_official():
    assert VERIFIER.verify(BASELINE, at=AT).verdict is VerdictKind.OFFICIAL


@SETTINGS
@given(
    data=st.binary(max_size=2048),
    name=st.sampled_from([None, "x.p7m", "x.p7s", "x.pdf", "x.eml", "x.bin"]),
)
def test_any_bytes_get_a_verdict(data, name):
    verdict = VERIFIER.verify(data, at=AT, name=name)
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL


@SETTINGS
@given(st.data())
def test_any_mutation_of_a_valid_file_gets_a_verdict(data):
    blob = bytearray(BASELINE)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(blob) - 1))
        if op == "flip":
            blob[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del blob[pos : pos + data.draw(st.integers(1, 64))]
        else:
            blob[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        if not blob:
            blob = bytearray(b"\x30")
    verdict = VERIFIER.verify(bytes(blob), at=AT, name="mutated.p7m")
    assert_invariants(verdict)


def _signed_regions(der: bytes) -> list[tuple[int, int]]:
    """Byte ranges of what a signature covers: eContent octets, signed attributes, signature."""
    sd = cms.ContentInfo.load(der)["content"]
    pieces = [bytes(sd["encap_content_info"]["content"])]
    for si in sd["signer_infos"]:
        pieces.append(si["signed_attrs"].dump()[2:])
        pieces.append(si["signature"].native)
    regions = []
    for piece in pieces:
        start = der.find(piece)
        assert start >= 0
        regions.append((start, start + len(piece)))
    return regions


REGIONS = _signed_regions(BASELINE)


@SETTINGS
@given(region=st.sampled_from(REGIONS), data=st.data())
def test_tampering_with_signed_bytes_never_passes(region, data):
    start, end = region
    pos = data.draw(st.integers(start, end - 1))
    mask = data.draw(st.integers(1, 255))
    blob = bytearray(BASELINE)
    blob[pos] ^= mask
    verdict = VERIFIER.verify(bytes(blob), at=AT, name="tampered.p7m")
    assert_invariants(verdict)
    assert verdict.verdict is not VerdictKind.OFFICIAL
    assert not any(s.status is SignatureStatus.PASSED for s in verdict.signatures)


@SETTINGS
@given(data=st.data())
def test_tampering_with_detached_content_never_passes(data):
    pos = data.draw(st.integers(0, len(DOCUMENT) - 1))
    changed = bytearray(DOCUMENT)
    changed[pos] ^= data.draw(st.integers(1, 255))
    extra = data.draw(st.binary(max_size=3))
    content = bytes(changed) + extra
    assume(content != DOCUMENT)
    verdict = VERIFIER.verify(DETACHED, at=AT, content=content, name="person-detached.p7s")
    assert verdict.verdict is VerdictKind.INVALID
    assert "digest_mismatch" in verdict.reasons
    assert not any(s.status is SignatureStatus.PASSED for s in verdict.signatures)


def _ocsp_responder_key_oid_length_offset(der: bytes) -> int:
    """Where, in ``der``, the length octet of the embedded OCSP responder certificate's
    public-key algorithm OID is (found from the structure, not hard-coded)."""
    signed_data = cms.ContentInfo.load(der)["content"]
    (response,) = [c.chosen["other_rev_info"] for c in signed_data["crls"] if c.name == "other"]
    assert isinstance(response, ocsp.OCSPResponse)
    (cert,) = response["response_bytes"]["response"].parsed["certs"]
    cert_der = cert.dump()
    oid = cert["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"].dump()
    start = der.index(cert_der)
    assert der.count(cert_der) == 1 and cert_der.count(oid) == 1
    return start + cert_der.index(oid) + 1  # after the OID's tag octet


def test_regression_certificate_with_an_unknown_key_algorithm():
    """Found by hypothesis: a flipped bit in the length of a key OID (of the embedded OCSP
    responder's certificate) escaped as an exception. That evidence is now unusable, the CRL
    still proves the status, and the signature, which nobody touched, stands."""
    blob = bytearray(BASELINE)
    offset = _ocsp_responder_key_oid_length_offset(BASELINE)
    assert blob[offset] == 9  # rsaEncryption, 1.2.840.113549.1.1.1: nine octets
    blob[offset] ^= 2
    verdict = VERIFIER.verify(bytes(blob), at=AT, name="mutated.p7m")
    assert_invariants(verdict)
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert verdict.signatures[0].chain[0].revocation.source == "crl"
