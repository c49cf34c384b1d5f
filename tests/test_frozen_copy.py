"""sigmail.frozen_copy.changed is dataclasses.replace: the same objects, the same errors."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.frozen_copy import changed
from sigmail.verdict.model import Finding, SignatureReport, SignatureStatus, SignerRole

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)


def _reports() -> list[SignatureReport]:
    verifier = Verifier(
        trust=TrustStore.load(
            official=[VECTORS / "pki/certs/root-official.pem"],
            public=[VECTORS / "pki/certs/root-national.pem"],
        ),
        revocation=OfflineRevocation(VECTORS / "pki"),
    )
    reports = []
    for path in (
        "smime/person-and-agency.eml",
        "smime/timestamped.eml",
        "pdf/pdf-page-changed.pdf",
    ):
        verdict = verifier.verify((VECTORS / path).read_bytes(), at=AT, name=Path(path).name)
        reports.extend(verdict.signatures)
    assert reports
    return reports


REPORTS = _reports()
BLOCKING = Finding.of("signature_invalid", "signature 0", "the value does not verify")
CHANGES = [
    {},
    {"role": SignerRole("agency"), "role_source": "registry"},
    {"covers": ("message/1", "message/2")},
    {"kind": "doc_timestamp"},  # changes what the derived halves read
    {"findings": (BLOCKING,)},  # so does this: integrity becomes failed
    {"status": SignatureStatus.FAILED, "valid": False, "intact": None},
]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: f"{r.kind}-{r.index}")
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: ",".join(c) or "nothing")
def test_a_changed_report_equals_the_one_replace_makes(report, change):
    ours, theirs = changed(report, **change), dataclasses.replace(report, **change)
    assert ours == theirs
    assert (ours.integrity, ours.trust) == (theirs.integrity, theirs.trust)
    assert ours is not report and type(ours) is SignatureReport


def test_the_derived_halves_are_derived_again():
    report = next(r for r in REPORTS if r.integrity is SignatureStatus.PASSED)
    assert changed(report, findings=(BLOCKING,)).integrity is SignatureStatus.FAILED


@pytest.mark.parametrize(
    "kwargs",
    [{"integrity": SignatureStatus.PASSED}, {"x": 1}, {"findings": (), "trust": None}],
    ids=["init=False", "unknown", "one of two cannot"],
)
def test_fields_that_cannot_be_given_raise_as_replace_does(kwargs):
    # init=False raises ValueError up to Python 3.12 and TypeError from 3.13: whichever this
    # Python's replace raises.
    report = REPORTS[0]
    with pytest.raises((TypeError, ValueError)) as expected:
        dataclasses.replace(report, **kwargs)
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        changed(report, **kwargs)


def test_a_dataclass_of_one_field_and_defaults_made_by_a_factory():
    @dataclasses.dataclass(frozen=True, slots=True)
    class One:
        a: int
        b: list = dataclasses.field(default_factory=list, init=False)

    assert changed(One(1), a=2) == dataclasses.replace(One(1), a=2) == One(2)


def test_a_dataclass_without_fields_given_to_init():
    @dataclasses.dataclass(frozen=True)
    class Derived:
        a: int = dataclasses.field(default=3, init=False)

    assert changed(Derived()) == dataclasses.replace(Derived()) == Derived()
