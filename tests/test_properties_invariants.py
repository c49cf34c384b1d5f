"""The verdict invariants the property tests and the fuzzers check (fuzz/invariants.py) hold
on every vector, and each of them catches the defect it is there for."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fuzz.invariants import verdict_problems
from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.verdict.model import Finding, VerdictKind

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
VERIFIER = Verifier(
    trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
    policy="basic",
    revocation=OfflineRevocation(),
    strict=True,
)


def _verdict(name: str):
    path = VECTORS / next(v["path"] for v in MANIFEST["vectors"] if v["name"] == name)
    return VERIFIER.verify(path.read_bytes(), at=AT, name=path.name)


@pytest.mark.parametrize("vector", MANIFEST["vectors"], ids=lambda v: v["name"])
def test_every_vector_keeps_the_invariants(vector):
    path = VECTORS / vector["path"]
    if path.suffix not in (".p7m", ".p7s", ".pdf", ".eml"):
        pytest.skip(f"{path.name} is content, not a signed input")
    verdict = VERIFIER.verify(path.read_bytes(), at=AT, name=path.name)
    assert verdict_problems(verdict) == []


def test_an_unknown_reason_code_is_caught():
    verdict = _verdict("bad-signature-value")
    broken = dataclasses.replace(verdict, reasons=(*verdict.reasons, "no_such_code"))
    assert any("unknown reason codes" in p for p in verdict_problems(broken))


def test_a_finding_without_locator_or_basis_is_caught():
    verdict = _verdict("bad-signature-value")
    f = Finding.of("malformed", "document")
    for broken_finding in (dataclasses.replace(f, locator=""), dataclasses.replace(f, basis="")):
        broken = dataclasses.replace(verdict, findings=(*verdict.findings, broken_finding))
        problems = verdict_problems(broken)
        assert any("no locator" in p or "no legal basis" in p for p in problems), problems


def test_a_verdict_milder_than_its_findings_is_caught():
    verdict = _verdict("bad-signature-value")
    assert verdict.verdict is VerdictKind.INVALID
    milder = dataclasses.replace(verdict, verdict=VerdictKind.INDETERMINATE)
    assert any("its findings give invalid" in p for p in verdict_problems(milder))


def test_reasons_that_do_not_match_the_findings_are_caught():
    verdict = _verdict("bad-signature-value")
    broken = dataclasses.replace(verdict, reasons=verdict.reasons[1:])
    assert any("are not the findings'" in p for p in verdict_problems(broken))


def test_a_verdict_that_does_not_round_trip_is_caught(monkeypatch):
    from sigmail.verdict import model

    verdict = _verdict("person-official")
    real = model.Verdict.from_dict.__func__

    def lossy(cls, data):
        return dataclasses.replace(real(cls, data), name="changed")

    monkeypatch.setattr(model.Verdict, "from_dict", classmethod(lossy))
    assert any("round-trip" in p for p in verdict_problems(verdict))
