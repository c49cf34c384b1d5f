"""The plain SignerInfo reader (sigmail/cms/plain_signer_info.py) takes from an encoding
what asn1crypto's SignerInfo reads, and a SignerInfo checked through it gives the same
SignerCheck as one checked through asn1crypto — on every signer of the CMS vectors and on
those encodings mutated (where the reader does not take one, asn1crypto reads it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms, core
from hypothesis import event, given, settings
from hypothesis import strategies as st

from sigmail.cms import signer_info
from sigmail.cms.algorithms import AlgorithmPolicy
from sigmail.cms.ber import received_encoding
from sigmail.cms.plain_signer_info import PlainSignerInfo, read_signer_info, shared_field
from sigmail.cms.signed_data import _from_asn1crypto, _from_plain, decode_cms_bytes
from sigmail.cms.signer_info import ContentDigests, check_signer_info, signed_attrs_as_signed
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.problems import ASN1_ERRORS, MalformedInput

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _signers() -> list[tuple[bytes, tuple, bytes | None, str]]:
    """(SignerInfo encoding, certificates, eContent, eContentType) of every signer of every
    CMS and S/MIME vector whose SignedData parses."""
    found = []
    paths = sorted((VECTORS / "cms").glob("*.p7[ms]")) + sorted(
        (VECTORS / "smime").glob("*.p7[ms]")
    )
    for path in paths:
        try:
            parsed = _from_asn1crypto(decode_cms_bytes(path.read_bytes()), Budget(Limits()), "d")
            for si in parsed.signer_infos:
                found.append(
                    (
                        received_encoding(si),
                        parsed.certificates,
                        parsed.econtent,
                        parsed.econtent_type,
                    )
                )
        except (MalformedInput, LimitExceeded, *ASN1_ERRORS):
            continue
    return found


SIGNERS = _signers()


def _field(read):
    try:
        value = read()
    except ASN1_ERRORS as exc:
        return ("raises", type(exc).__name__, str(exc))
    if isinstance(value, core.Void):
        return None
    return value.dump() if isinstance(value, core.Asn1Value) else value


def _same_fields(der: bytes) -> bool:
    """Whether the reader took ``der``; when it did, its fields are asn1crypto's."""
    plain = read_signer_info(der)
    if plain is None:
        return False
    si = core._parse_build(der, spec=cms.SignerInfo)[0]
    assert plain.sid == _field(lambda: si["sid"])
    assert plain.digest_algorithm == _field(lambda: si["digest_algorithm"])
    assert plain.signature_algorithm == _field(lambda: si["signature_algorithm"])
    assert plain.signature == _field(lambda: si["signature"].contents)
    assert plain.unsigned_attrs == _field(lambda: si["unsigned_attrs"])
    signed = si["signed_attrs"]
    expected = None if isinstance(signed, core.Void) else (signed._header, signed.contents)
    assert plain.signed_attrs == expected
    fresh = core._parse_build(der, spec=cms.SignerInfo)[0]
    assert signed_attrs_as_signed(plain) == signed_attrs_as_signed(fresh)
    return True


def _check(si, certificates, econtent, econtent_type):
    try:
        check = check_signer_info(
            si,
            econtent_type=econtent_type,
            content=ContentDigests(econtent),
            certificates=certificates,
            algorithms=AlgorithmPolicy(),
            budget=Budget(Limits()),
            locator="signer",
        )
    except (LimitExceeded, *ASN1_ERRORS) as exc:
        return ("raises", type(exc).__name__, str(exc))
    return (
        check.signer_cert.dump() if check.signer_cert is not None else None,
        check.intact,
        check.valid,
        check.digest_algorithm,
        check.signature_algorithm,
        check.claimed_signing_time,
        check.signature,
        check.findings,
        [oid for oid, _ in check.signed_attributes or ()],
    )


def _same_check(der: bytes, certificates, econtent, econtent_type) -> bool:
    plain = read_signer_info(der)
    if plain is None:
        return False
    slow = core._parse_build(der, spec=cms.SignerInfo)[0]
    # Twice through the reader: the second time its fields come from the shared memo.
    for _ in range(2):
        fast = read_signer_info(der)
        assert _check(fast, certificates, econtent, econtent_type) == _check(
            slow, certificates, econtent, econtent_type
        )
        slow = core._parse_build(der, spec=cms.SignerInfo)[0]
    return True


def test_the_reader_takes_nearly_every_vector_signer_and_reads_its_fields():
    assert len(SIGNERS) >= 40
    taken = [_same_fields(der) for der, *_ in SIGNERS]
    assert sum(taken) >= 0.9 * len(SIGNERS)


def test_every_vector_signer_checks_the_same_through_the_reader():
    assert sum(_same_check(*signer) for signer in SIGNERS) >= 0.9 * len(SIGNERS)


def test_a_signed_data_in_plain_form_gives_plain_signer_infos_that_answer_by_name():
    der = next(d for d, *_ in SIGNERS if read_signer_info(d) is not None)
    plain = read_signer_info(der)
    asn1 = core._parse_build(der, spec=cms.SignerInfo)[0]
    assert isinstance(plain, PlainSignerInfo)
    assert plain["version"].native == asn1["version"].native
    assert plain["signature_algorithm"].dump() == asn1["signature_algorithm"].dump()
    assert shared_field(plain, "sid") is shared_field(read_signer_info(der), "sid")
    assert plain.dump() == asn1.dump()


def test_the_plain_signed_data_reader_hands_over_plain_signer_infos():
    from sigmail.cms.plain_signed_data import read_plain

    kinds = set()
    for path in sorted((VECTORS / "cms").glob("*.p7m")):
        der = decode_cms_bytes(path.read_bytes())
        plain = read_plain(der)
        if plain is None:
            continue
        try:
            parsed = _from_plain(der, plain, Budget(Limits()))
        except (MalformedInput, LimitExceeded, *ASN1_ERRORS):
            continue
        kinds.update(type(si) for si in parsed.signer_infos)
    assert PlainSignerInfo in kinds


@given(
    st.sampled_from(SIGNERS) if SIGNERS else st.nothing(),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    st.booleans(),
)
@settings(max_examples=500, deadline=None)
def test_a_mutated_signer_checks_the_same_or_goes_through_asn1crypto(signer, flips, front):
    der, certificates, econtent, econtent_type = signer
    header = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    data = bytearray(der)
    for position, byte in flips:
        # Half the time among the first fields' headers, after the SignerInfo's own.
        span = min(len(data) - header, 60) if front else len(data) - header
        data[header + position % span] = byte
    mutated = bytes(data)
    taken = _same_fields(mutated)
    _same_check(mutated, certificates, econtent, econtent_type)
    event("the reader took it" if taken else "asn1crypto read it")


@pytest.mark.parametrize("econtent_type", ["own", None, "", "1.2.3.4", "not an oid"])
def test_values_read_from_their_encodings_check_as_the_parsed_values(monkeypatch, econtent_type):
    """The message digest, content type and signing time taken from their DER forms
    (attributes.octets_of, oid_encoding, time_of) give the SignerCheck that parsing each value
    gives, whatever the eContentType (a malformed one reads as "": seed 36 of the
    differential fuzzer found an "" taken as an OID that did not encode)."""

    def checks():
        return [
            _check(
                core._parse_build(der, spec=cms.SignerInfo)[0],
                certificates,
                econtent,
                own if econtent_type == "own" else econtent_type,
            )
            for der, certificates, econtent, own in SIGNERS
        ]

    fast = checks()
    for reader in ("octets_of", "oid_encoding", "time_of"):
        monkeypatch.setattr(signer_info, reader, lambda *_: None)
    assert fast == checks()
