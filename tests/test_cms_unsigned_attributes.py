"""A content type, message digest or signing time among a SignerInfo's *unsigned* attributes
is refused (RFC 5652 §11.1-11.3: they must be signed). OpenSSL's ``bad_signtime_attr.cms``
(peer suite ``openssl``) carries its signing time there, and was official before."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from asn1crypto import cms, core, pem

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.verdict.reasons import Effect, reason

SUITE = Path(__file__).parent / "data" / "peers" / "openssl"
POLICY = SUITE.parents[1] / "corpus-policy.toml"
AT = datetime.fromisoformat("2026-12-04T18:30:00+00:00")  # inside smime-certs' validity


def _verify(data: bytes):
    root = pem.unarmor((SUITE / "anchors" / "smroot.pem").read_bytes())[2]
    verifier = Verifier(
        trust=TrustStore.from_certificates(official=[root]),
        policy=POLICY,
        revocation=OfflineRevocation(),
        strict=True,
    )
    verdict = verifier.verify(data, at=AT, name="signed.cms")
    deciding = {c for c in verdict.reasons if reason(c).effect not in {Effect.WARNING, Effect.INFO}}
    return verdict.verdict.value, deciding


def _with_unsigned(attribute: dict) -> bytes:
    info = cms.ContentInfo.load((SUITE / "files" / "der-attached-rsa.cms").read_bytes())
    signer = info["content"]["signer_infos"][0]
    signer["unsigned_attrs"] = cms.CMSAttributes([attribute])
    return info.dump(force=True)


def test_the_untouched_signature_is_official():
    assert _verify((SUITE / "files" / "der-attached-rsa.cms").read_bytes()) == ("official", set())


@pytest.mark.parametrize(
    "attribute",
    [
        {"type": "signing_time", "values": [cms.Time(name="utc_time", value=AT)]},
        {"type": "content_type", "values": ["data"]},
        {"type": "message_digest", "values": [b"\0" * 32]},
    ],
    ids=["signing-time", "content-type", "message-digest"],
)
def test_a_signed_only_attribute_among_the_unsigned_ones_is_refused(attribute):
    # the unsigned attributes are outside the signature: it still verifies
    verdict, reasons = _verify(_with_unsigned(attribute))
    assert (verdict, reasons) == ("invalid", {"signed_attributes_invalid"})


def test_another_unsigned_attribute_is_not():
    private = {"type": "1.2.3.4.5", "values": [core.Null()]}
    assert _verify(_with_unsigned(private)) == ("official", set())
