"""Every vector in vectors/manifest.json gets the verdict and reasons its manifest expects.

Online vectors fetch CRLs and OCSP from the real test-PKI responder on 127.0.0.1 (the URLs
are in the certificates); offline vectors may use only what is embedded in the file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.verdict.model import SignatureStatus, VerdictKind

MANIFEST = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "manifest.json").read_text("utf-8")
)
VECTORS = MANIFEST["vectors"]


def _at(vector) -> datetime:
    return datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))


def verifier_for(vector, vectors_dir: Path, *, revocation=None) -> Verifier:
    trust = TrustStore.load(
        official=[vectors_dir / p for p in vector["trust"].get("official", [])],
        public=[vectors_dir / p for p in vector["trust"].get("public", [])],
    )
    if revocation is None:
        if vector["mode"] == "online":
            at = _at(vector)
            revocation = OnlineRevocation(
                clock=lambda: at, timeout=2.0, allow_networks=["127.0.0.1/32"]
            )
        else:
            revocation = OfflineRevocation()
    return Verifier(trust=trust, policy=vector["policy"], revocation=revocation, strict=True)


def verify_vector(vector, vectors_dir: Path, **kw):
    data = (vectors_dir / vector["path"]).read_bytes()
    content = (vectors_dir / vector["content"]).read_bytes() if vector["content"] else None
    verifier = verifier_for(vector, vectors_dir, **kw)
    return verifier.verify(data, at=_at(vector), name=Path(vector["path"]).name, content=content)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_gets_its_expected_verdict(vector, vectors_dir, responder):
    verdict = verify_vector(vector, vectors_dir)
    expect = vector["expect"]
    assert verdict.verdict.value == expect["verdict"], verdict.to_json()
    missing = set(expect["reasons"]) - set(verdict.reasons)
    assert not missing, f"reasons {sorted(missing)} not in {verdict.reasons}"
    if expect["verdict"] == "official":
        assert verdict.signatures, "an official verdict needs a signature"
        assert all(s.status is SignatureStatus.PASSED for s in verdict.signatures)
    assert verdict.sha256 == vector["sha256"] or not vector["deterministic"]


def test_timestamped_signature_is_judged_at_the_proven_time(vectors_dir, responder):
    vector = next(v for v in VECTORS if v["name"] == "revoked-after-tst")
    verdict = verify_vector(vector, vectors_dir)
    (sig,) = verdict.signatures
    assert sig.proven_by is not None and sig.proven_by.value == "timestamp"
    assert sig.proven_signing_time == datetime.fromisoformat(
        vector["timestamp_time"].replace("Z", "+00:00")
    )
    assert sig.checked_at == sig.proven_signing_time
    assert any(f.code == "revoked_after_signing" for f in sig.findings)
    assert sig.chain[0].revocation is not None and sig.chain[0].revocation.revoked_at is not None


def test_receipt_time_proves_existence_like_a_timestamp(vectors_dir, responder):
    """revoked-no-tst is indeterminate alone; a trusted receipt before the revocation decides it."""
    vector = next(v for v in VECTORS if v["name"] == "revoked-no-tst")
    data = (vectors_dir / vector["path"]).read_bytes()
    verifier = verifier_for(vector, vectors_dir)
    receipt = datetime.fromisoformat("2026-02-02T00:00:00+00:00")
    verdict = verifier.verify(data, at=_at(vector), receipt_time=receipt)
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert verdict.signatures[0].proven_by.value == "receipt"
    late = verifier.verify(
        data, at=_at(vector), receipt_time=datetime.fromisoformat("2026-03-02T00:00:00+00:00")
    )
    assert late.verdict is VerdictKind.INVALID
    assert "certificate_revoked" in late.reasons


def test_unreachable_responder_gives_a_retry_time(vectors_dir, responder):
    vector = next(v for v in VECTORS if v["name"] == "unreachable-responder")
    verdict = verify_vector(vector, vectors_dir)
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.retry_after is not None and verdict.retry_after > _at(vector)


def test_verdict_json_matches_the_schema_for_every_vector(vectors_dir, responder):
    import jsonschema

    from sigmail.verdict.model import Verdict
    from sigmail.verdict.schema import load_schema

    validator = jsonschema.Draft202012Validator(load_schema())
    for vector in VECTORS:
        verdict = verify_vector(vector, vectors_dir)
        data = json.loads(verdict.to_json())
        validator.validate(data)
        assert Verdict.from_dict(data) == verdict
