"""Budgets end in limit_exceeded verdicts; trust is loaded explicitly; time is explicit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail import (
    ConfigError,
    Limits,
    OfflineRevocation,
    TrustStore,
    TrustStoreError,
    UsageError,
    Verifier,
)
from sigmail.verdict.model import VerdictKind

ROOT = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
OFFICIAL_ROOT = ROOT / "pki/certs/root-official.pem"
EMBEDDED = (ROOT / "cms/embedded-revocation.p7m").read_bytes()
TWO_SIGNERS = (ROOT / "cms/person-and-agency.p7m").read_bytes()


def verifier(limits: Limits | None = None, **trust) -> Verifier:
    store = TrustStore.load(official=[OFFICIAL_ROOT], **trust)
    return Verifier(
        trust=store, policy="basic", revocation=OfflineRevocation(), limits=limits, strict=True
    )


@pytest.mark.parametrize(
    ("limit", "data"),
    [
        (Limits(max_input_bytes=1000), EMBEDDED),
        (Limits(max_certificates=1), EMBEDDED),
        (Limits(max_signatures=1), TWO_SIGNERS),
        (Limits(max_revocation_items=1), EMBEDDED),
        (Limits(max_crl_bytes=100), EMBEDDED),
        (Limits(max_chain_signature_checks=1), EMBEDDED),
        (Limits(max_seconds=1e-9), EMBEDDED),
    ],
    ids=[
        "input-bytes",
        "certificates",
        "signatures",
        "revocation-items",
        "crl-bytes",
        "signature-checks",
        "seconds",
    ],
)
def test_each_limit_gives_limit_exceeded(limit, data):
    verdict = verifier(limit).verify(data, at=AT)
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert "limit_exceeded" in verdict.reasons


def test_within_limits_the_same_input_passes():
    assert verifier().verify(EMBEDDED, at=AT).verdict is VerdictKind.OFFICIAL


def test_limits_refuse_nonsense():
    with pytest.raises(ConfigError):
        Limits(max_chain_length=0)


def test_naive_times_are_usage_errors():
    with pytest.raises(UsageError):
        verifier().verify(EMBEDDED, at=datetime(2026, 6, 1))
    with pytest.raises(UsageError):
        verifier().verify(EMBEDDED, at=AT, receipt_time=datetime(2026, 6, 1))


def test_verify_works_inside_a_running_event_loop():
    async def inside():
        return verifier().verify(EMBEDDED, at=AT)

    assert asyncio.run(inside()).verdict is VerdictKind.OFFICIAL


def test_no_anchor_means_nothing_is_trusted():
    empty = Verifier(
        trust=TrustStore(), policy="basic", revocation=OfflineRevocation(), strict=True
    )
    verdict = empty.verify(EMBEDDED, at=AT)
    assert verdict.verdict is VerdictKind.INVALID
    assert "untrusted_chain" in verdict.reasons


def test_trust_store_loads_files_and_directories_in_pem_and_der(tmp_path):
    from asn1crypto import pem

    der = pem.unarmor(OFFICIAL_ROOT.read_bytes())[2]
    (tmp_path / "root.der").write_bytes(der)
    (tmp_path / "notes.txt").write_text("ignored: not a certificate suffix")
    store = TrustStore.load(official=[tmp_path], public=[ROOT / "pki/certs/root-national.pem"])
    assert len(store) == 2
    assert {a.anchor_class.value for a in store.anchors} == {"official", "public"}
    assert store.anchor_by_fingerprint(store.anchors[0].sha256) is not None


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\n"])
def test_a_bad_anchor_file_fails_at_load(tmp_path, content):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(TrustStoreError) as info:
        TrustStore.load(official=[bad])
    assert info.value.path == str(bad)


def test_missing_anchor_path_fails_at_load(tmp_path):
    with pytest.raises(TrustStoreError, match="no such file"):
        TrustStore.load(official=[tmp_path / "nope"])


def test_same_anchor_in_two_classes_is_refused():
    with pytest.raises(TrustStoreError, match="both"):
        TrustStore.load(official=[OFFICIAL_ROOT], public=[OFFICIAL_ROOT])


def test_impostor_root_with_the_real_name_is_not_trusted():
    """The impostor's root has the trusted root's DN; trusting it by name would be a bug."""
    data = (ROOT / "cms/impostor.p7m").read_bytes()
    verdict = verifier().verify(data, at=AT)
    assert verdict.verdict is VerdictKind.INVALID
    assert verdict.reasons[0] == "untrusted_chain"


# -- issue 10: inputs that cost more than their size ------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)])
        + (n.to_bytes((n.bit_length() + 7) // 8, "big"))
    )
    return bytes([tag]) + length + body


_ID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_ID_DATA = bytes.fromhex("06092a864886f70d010701")


def _signed_data(encap_content: bytes, rest: bytes = b"") -> bytes:
    """A SignedData with no signers around ``encap_content`` (the [0] eContent TLV)."""
    encap = _tlv(0x30, _ID_DATA + encap_content)
    body = _tlv(0x02, b"\x01") + _tlv(0x31, b"") + encap + rest + _tlv(0x31, b"")
    return _tlv(0x30, _ID_SIGNED_DATA + _tlv(0xA0, _tlv(0x30, body)))


def test_an_oversized_object_identifier_is_malformed_not_decoded():
    """asn1crypto decodes an OID arc in quadratic time: 900 kB took 230 s."""
    from sigmail.asn1_bounds import MAX_OID_BYTES

    oid = _tlv(0x06, b"\x81" * 899_999 + b"\x01")
    verdict = verifier().verify(_tlv(0x30, oid + _tlv(0xA0, b"\x30\x00")), at=AT, name="x.p7m")
    assert verdict.reasons == ("malformed",)
    assert f"more than {MAX_OID_BYTES}" in verdict.findings[0].detail


def _arc(value: int) -> bytes:
    """One OID arc in base 128, high bit set on every byte but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@given(st.lists(st.integers(0, 2**70), min_size=1, max_size=8), st.integers(0, 119))
@settings(max_examples=300, deadline=None)
def test_dotted_names_from_the_memo_equal_asn1cryptos(arcs, first):
    """The memo of dotted forms (sigmail.asn1_bounds) answers what asn1crypto computes, for a
    fresh object and for a second object of the same encoding."""
    from asn1crypto import core

    from sigmail.asn1_bounds import _unbounded_dotted

    der = _tlv(0x06, bytes([first]) + b"".join(_arc(a) for a in arcs))
    expected = _unbounded_dotted.fget(core.ObjectIdentifier.load(der))
    assert core.ObjectIdentifier.load(der).dotted == expected
    assert core.ObjectIdentifier.load(der).dotted == expected  # from the memo


def test_dotted_memo_stays_bounded():
    from asn1crypto import core

    from sigmail import asn1_bounds

    for n in range(asn1_bounds._DOTTED_MAX + 10):
        core.ObjectIdentifier.load(_tlv(0x06, b"\x2b" + _arc(n))).dotted  # noqa: B018
        assert len(asn1_bounds._dotted_by_contents) <= asn1_bounds._DOTTED_MAX
    assert core.ObjectIdentifier.load(_tlv(0x06, b"\x2b\x06\x01")).dotted == "1.3.6.1"


def test_ber_chunks_are_joined_exactly():
    """eContent as 300,000 one-byte BER chunks (asn1crypto joins them at 7 µs each)."""
    from asn1crypto import core

    from sigmail.cms.ber import octets
    from sigmail.cms.signed_data import parse_signed_data
    from sigmail.limits import Budget

    text = bytes(range(256)) * 1172
    chunks = b"\x24\x80" + b"".join(b"\x04\x01" + bytes([c]) for c in text) + b"\x00\x00"
    data = _signed_data(b"\xa0\x80" + chunks + b"\x00\x00")
    assert parse_signed_data(data, Budget(Limits())).econtent == text
    nested = core.OctetString.load(b"\x24\x80\x04\x01A\x24\x80\x04\x01B\x00\x00\x04\x02CD\x00\x00")
    assert octets(nested) == bytes(nested) == b"ABCD"
    with pytest.raises(ValueError):
        octets(core.OctetString.load(b"\x24\x80\x04\x05AB\x00\x00"))


@pytest.mark.parametrize(
    ("where", "limit"),
    [("certificates", "max_certificates"), ("crls", "max_revocation_items")],
)
def test_collections_are_counted_before_they_are_parsed(where, limit):
    """400,000 empty elements: refused after reading 65 headers, not after building them."""
    from asn1crypto import core

    from sigmail.cms.ber import count_elements

    field = _tlv(0xA0 if where == "certificates" else 0xA1, b"\x30\x00" * 400_000)
    verdict = verifier().verify(_signed_data(_tlv(0xA0, b"\x04\x00"), field), at=AT)
    assert verdict.reasons == ("limit_exceeded",)
    assert limit in verdict.findings[0].detail
    many = core.SetOf.load(_tlv(0x31, b"\x30\x00" * 400_000))
    assert count_elements(many, 64) == 65 and many.children is None  # nothing was built


def test_too_many_signed_or_unsigned_attributes_or_timestamps_are_limit_exceeded():
    from asn1crypto import cms

    base = cms.ContentInfo.load(EMBEDDED)
    si = base["content"]["signer_infos"][0]
    head = si["version"].dump() + si["sid"].dump() + si["digest_algorithm"].dump()
    tail = si["signature_algorithm"].dump() + si["signature"].dump()
    attribute = _tlv(0x30, _ID_DATA + _tlv(0x31, b"\x05\x00"))
    tst_oid = bytes.fromhex("060b2a864886f70d010910020e")
    variants = {
        "max_signed_attributes": head + _tlv(0xA0, attribute * 65) + tail,
        "max_unsigned_attributes": head + si["signed_attrs"].dump() + tail
        + _tlv(0xA1, attribute * 257),
        "max_timestamp_tokens": head + si["signed_attrs"].dump() + tail
        + _tlv(0xA1, _tlv(0x30, tst_oid + _tlv(0x31, b"\x30\x00" * 9))),
    }  # fmt: skip
    sd = base["content"]
    for limit, signer_info in variants.items():
        body = (
            sd["version"].dump() + sd["digest_algorithms"].dump()
            + sd["encap_content_info"].dump() + sd["certificates"].dump(force=False)
            + _tlv(0x31, _tlv(0x30, signer_info))
        )  # fmt: skip
        data = _tlv(0x30, _ID_SIGNED_DATA + _tlv(0xA0, _tlv(0x30, body)))
        verdict = verifier().verify(data, at=AT)
        assert "limit_exceeded" in verdict.reasons, limit
        assert any(limit in (f.detail or "") for f in verdict.findings), limit


def test_the_policy_runs_inside_the_boundary(monkeypatch):
    """A bug in the policy is internal_error (or InternalError when strict), not a traceback
    out of verify; before, apply_policy ran outside the verifier's error boundary."""
    import sigmail.verifier
    from sigmail import InternalError

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a policy check")

    monkeypatch.setattr(sigmail.verifier, "apply_policy", broken)
    lenient = Verifier(
        trust=TrustStore.load(official=[OFFICIAL_ROOT]),
        policy="basic",
        revocation=OfflineRevocation(),
    )
    verdict = lenient.verify(EMBEDDED, at=AT)
    assert verdict.verdict is VerdictKind.INDETERMINATE and "internal_error" in verdict.reasons
    with pytest.raises(InternalError):
        verifier().verify(EMBEDDED, at=AT)


def test_the_policy_is_charged_to_the_time_budget():
    from sigmail.contract import FormatResult
    from sigmail.limits import Budget, LimitExceeded
    from sigmail.policy.apply import apply_policy
    from sigmail.policy.model import load_policy

    spent = Budget(Limits(max_seconds=1e-9))
    result = FormatResult(kind="p7m")
    with pytest.raises(LimitExceeded):
        apply_policy(load_policy("basic"), result, document_role="document", budget=spent)


def test_an_rfc2231_section_number_of_5000_digits_is_not_a_number():
    from sigmail.smime.headers import parse_parameters

    value, params = parse_parameters("text/plain; name*" + "1" * 5000 + "=x; name*0=a; name*1=b")
    assert value == "text/plain" and params["name"] == "ab"
    message = b"From: a@b.cd\r\nContent-Type: text/plain; name*" + b"9" * 5000 + b"=x\r\n\r\nhi\r\n"
    assert verifier().verify(message, at=AT, name="m.eml").reasons == ("no_signature",)


def test_a_subject_of_60000_encoded_words_is_cut_before_decoding():
    """The standard library's decoder is quadratic in the number of words (8 s here)."""
    from sigmail.smime.headers import MAX_ENCODED_TEXT

    subject = " ".join(["=?utf-8?B?YQ==?="] * 60_000).encode()
    message = b"From: a@b.cd\r\nSubject: " + subject + b"\r\n\r\nhello\r\n"
    verdict = verifier().verify(message, at=AT, name="m.eml")
    assert verdict.reasons == ("no_signature",)
    assert verdict.subject is not None and 0 < len(verdict.subject) <= MAX_ENCODED_TEXT


@pytest.mark.parametrize("key_oid", ["1.3.101.112", "1.3.101.110", "1.2.840.10046.2.1"])
def test_a_key_asn1crypto_cannot_size_is_a_finding_not_a_crash(key_oid):
    """Found by fuzzing: the signer certificate's key algorithm rewritten to Ed25519, X25519
    or DH over RSA key bytes; asn1crypto's bit_size raised UnboundLocalError in check_key and
    describe_key (internal_error). Now the verdict says what is wrong with the signature."""
    from asn1crypto import cms

    sd = cms.ContentInfo.load(EMBEDDED)["content"]
    certs = b""
    for choice in sd["certificates"]:
        cert = choice.chosen
        if "Nguyễn Văn An" in cert.subject.human_friendly:
            cert = cert.copy()
            cert["tbs_certificate"]["subject_public_key_info"]["algorithm"] = {"algorithm": key_oid}
        certs += cert.dump()
    body = (
        sd["version"].dump() + sd["digest_algorithms"].dump() + sd["encap_content_info"].dump()
        + _tlv(0xA0, certs) + sd["crls"].dump() + sd["signer_infos"].dump()
    )  # fmt: skip
    data = _tlv(0x30, _ID_SIGNED_DATA + _tlv(0xA0, _tlv(0x30, body)))
    verdict = verifier().verify(data, at=AT)  # strict: a crash would raise InternalError
    assert verdict.verdict is not VerdictKind.OFFICIAL
    assert {"unsupported_algorithm", "signature_invalid", "malformed"} & set(verdict.reasons)
