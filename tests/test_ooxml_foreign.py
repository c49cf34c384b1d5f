"""Signed Office files other projects made (Apache POI's test data, tests/data/foreign-ooxml/,
with its source and licence in MANIFEST.json): sigmail must agree with their integrity
outcome, and each disagreement on the verdict is written down with its reason there."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/data/foreign-ooxml"
MANIFEST = json.loads((DATA / "MANIFEST.json").read_text("utf-8"))
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    trust = TrustStore.load(official=[ROOT / "vectors/pki/certs/root-official.pem"])
    return Verifier(trust=trust, policy="basic", revocation=OfflineRevocation(), strict=True)


def test_the_manifest_names_its_source_and_licence():
    source = MANIFEST["source"]
    assert source["repository"].startswith("https://github.com/apache/poi")
    assert len(source["commit"]) == 40 and "Apache-2.0" in source["licence"]
    assert {e["file"] for e in MANIFEST["files"]} == {
        p.name for p in DATA.iterdir() if p.name != "MANIFEST.json"
    }


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=[e["file"] for e in MANIFEST["files"]])
def test_foreign_office_file_gets_the_documented_outcome(entry, verifier):
    data = (DATA / entry["file"]).read_bytes()
    verdict = verifier.verify(data, at=AT, name=entry["file"])
    assert verdict.verdict.value == entry["verdict"], verdict.reasons
    assert set(entry["reasons"]) <= set(verdict.reasons), verdict.reasons
    assert not set(entry["absent_reasons"]) & set(verdict.reasons), verdict.reasons
    assert len(verdict.signatures) == entry["signatures"]
    # Where POI says a signature validates, its integrity holds here too (but for the one
    # disagreement the manifest explains: integrity false).
    if entry["integrity"]:
        assert all(s.intact is True and s.valid is True for s in verdict.signatures)
    else:
        assert any(s.valid is False for s in verdict.signatures)
