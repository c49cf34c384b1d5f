"""The verdict type: JSON round-trips, the schema matches the types, reasons are complete."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail.errors import VerdictSchemaError
from sigmail.verdict.model import (
    CertificateSummary,
    ChainElement,
    Finding,
    ModificationReport,
    PartReport,
    PolicyRef,
    RevocationState,
    RevocationStatus,
    SignatureReport,
    SignatureStatus,
    TimeSource,
    TimestampReport,
    Verdict,
    VerdictKind,
)
from sigmail.verdict.reasons import REASONS, VERDICT_LABELS, Effect
from sigmail.verdict.schema import build_schema, load_schema

times = st.datetimes(timezones=st.just(UTC))
text = st.text(max_size=20)


def findings():
    return st.builds(
        Finding.of,
        st.sampled_from(sorted(REASONS)),
        text,
        st.none() | text,
        retry_after=st.none() | times,
    )


certs = st.builds(
    CertificateSummary,
    subject=text,
    issuer=text,
    serial=text,
    sha256=text,
    not_before=times,
    not_after=times,
    emails=st.lists(text, max_size=2).map(tuple),
    organizational_units=st.lists(text, max_size=2).map(tuple),
)
revocations = st.builds(
    RevocationStatus,
    state=st.sampled_from(RevocationState),
    revoked_at=st.none() | times,
    next_update=st.none() | times,
)
elements = st.builds(
    ChainElement,
    role=st.sampled_from(["signer", "intermediate", "anchor", "tsa"]),
    certificate=certs,
    revocation=st.none() | revocations,
)
timestamps = st.builds(
    TimestampReport,
    status=st.sampled_from(SignatureStatus),
    gen_time=st.none() | times,
    tsa=st.none() | certs,
    chain=st.lists(elements, max_size=2).map(tuple),
    findings=st.lists(findings(), max_size=2).map(tuple),
)
signatures = st.builds(
    SignatureReport,
    index=st.integers(0, 5),
    locator=text,
    status=st.sampled_from(SignatureStatus),
    intact=st.none() | st.booleans(),
    valid=st.none() | st.booleans(),
    signer=st.none() | certs,
    chain=st.lists(elements, max_size=3).map(tuple),
    proven_signing_time=st.none() | times,
    proven_by=st.none() | st.sampled_from(TimeSource),
    timestamp=st.none() | timestamps,
    findings=st.lists(findings(), max_size=3).map(tuple),
    covers=st.lists(text, max_size=2).map(tuple),
    byte_range=st.lists(st.integers(0, 2**40), max_size=4).map(tuple),
    earlier_signatures=st.lists(st.integers(0, 5), max_size=2).map(tuple),
    role=st.none() | st.sampled_from(["person", "agency"]),
)
parts = st.builds(
    PartReport,
    locator=text,
    content_type=text,
    size=st.none() | st.integers(0, 2**40),
    covered_by=st.lists(st.integers(0, 5), max_size=2).map(tuple),
    encrypted=st.booleans(),
)
modifications = st.builds(
    ModificationReport,
    revision=st.integers(1, 9),
    kind=text,
    classification=st.sampled_from(["benign", "suspicious"]),
    detail=text,
    object_ids=st.lists(text, max_size=2).map(tuple),
    pages=st.lists(st.integers(1, 99), max_size=2).map(tuple),
)


NO_DOCUMENTS = st.just(())


def verdicts(documents=NO_DOCUMENTS):
    return st.builds(
        Verdict,
        verdict=st.sampled_from(VerdictKind),
        reasons=st.lists(st.sampled_from(sorted(REASONS)), max_size=3).map(tuple),
        validation_time=times,
        policy=st.builds(PolicyRef, text, text, text),
        name=st.none() | text,
        size=st.none() | st.integers(0, 2**40),
        findings=st.lists(findings(), max_size=3).map(tuple),
        signatures=st.lists(signatures, max_size=2).map(tuple),
        documents=documents,
        parts=st.lists(parts, max_size=2).map(tuple),
        modifications=st.lists(modifications, max_size=2).map(tuple),
        sender=st.none() | text,
        retry_after=st.none() | times,
    )


nested = verdicts(st.lists(verdicts(), max_size=2).map(tuple))
VALIDATOR = jsonschema.Draft202012Validator(
    load_schema(), format_checker=jsonschema.FormatChecker()
)


@settings(max_examples=150, deadline=None)
@given(nested)
def test_json_round_trips_and_matches_the_schema(verdict):
    data = json.loads(verdict.to_json())
    VALIDATOR.validate(data)
    assert Verdict.from_dict(data) == verdict
    assert data["schema"] == "sigmail.verdict/1"


def test_shipped_schema_is_generated_from_the_types():
    assert load_schema() == build_schema(), (
        "regenerate: python -m sigmail.verdict.schema > sigmail/verdict/schema/verdict-1.json"
    )


def test_every_reason_has_both_languages_a_basis_and_a_check():
    for code, row in REASONS.items():
        assert row.code == code
        assert row.vi and row.en and row.basis, code
        assert row.check == "-" or row.check.startswith("C"), code
    assert set(VERDICT_LABELS) == {k.value for k in VerdictKind}


def test_finding_carries_the_table_row():
    f = Finding.of("certificate_revoked", "signature 0", "revoked 2026-03-01")
    assert f.effect is Effect.INVALID
    assert f.check == "C4"
    assert "NĐ 130/2018" in f.basis
    assert f.message_vi.startswith("Chứng thư số")


def test_unknown_reason_is_a_bug():
    with pytest.raises(KeyError):
        Finding.of("no_such_code", "x")


def test_exit_codes_are_the_documented_contract():
    assert [k.exit_code for k in VerdictKind] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "schema", [None, "sigmail.verdict/2", "sigmail.verdict/10", "other/1", 1], ids=repr
)
def test_from_dict_refuses_a_verdict_of_another_schema(schema):
    verdict = Verdict(
        verdict=VerdictKind.UNSIGNED,
        reasons=("no_signature",),
        validation_time=datetime(2026, 6, 1, tzinfo=UTC),
        policy=PolicyRef("basic", "1", "0" * 64),
    )
    data = json.loads(verdict.to_json())
    assert Verdict.from_dict(data) == verdict
    if schema is None:
        del data["schema"]
    else:
        data["schema"] = schema
    with pytest.raises(VerdictSchemaError, match=r"not a sigmail\.verdict/1 verdict"):
        Verdict.from_dict(data)


def test_from_dict_refuses_what_is_not_an_object():
    with pytest.raises(VerdictSchemaError):
        Verdict.from_dict(["sigmail.verdict/1"])


def test_a_round_trip_gives_the_typed_vocabulary_back():
    from sigmail.verdict.model import ChainRole, Classification, Coverage, ReasonCode, SignerRole

    data = json.loads(
        Verdict(
            verdict=VerdictKind.INVALID,
            reasons=("signature_invalid",),
            validation_time=datetime(2026, 6, 1, tzinfo=UTC),
            policy=PolicyRef("basic", "1", "0" * 64),
            findings=(Finding.of("signature_invalid", "signer 0"),),
            modifications=(ModificationReport(2, "dss_added", "benign", "DSS"),),
        ).to_json()
    )
    verdict = Verdict.from_dict(data)
    assert verdict.reasons == (ReasonCode.SIGNATURE_INVALID,)
    assert verdict.findings[0].code is ReasonCode.SIGNATURE_INVALID
    assert verdict.modifications[0].classification is Classification.BENIGN
    assert {m.value for m in Coverage} == {"entire_file", "entire_revision", "partial"}
    assert {m.value for m in SignerRole} == {"person", "agency"}
    assert {m.value for m in ChainRole} == {"signer", "tsa", "intermediate", "anchor"}


def test_a_reason_code_this_release_does_not_know_is_a_schema_error():
    data = json.loads(
        Verdict(
            verdict=VerdictKind.INVALID,
            reasons=("signature_invalid",),
            validation_time=datetime(2026, 6, 1, tzinfo=UTC),
            policy=PolicyRef("basic", "1", "0" * 64),
        ).to_json()
    )
    data["reasons"] = ["a_code_from_the_future"]
    with pytest.raises(VerdictSchemaError, match="a_code_from_the_future"):
        Verdict.from_dict(data)
