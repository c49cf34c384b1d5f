"""x509-limbo: every native case and every BetterTLS path-building case through validate_chain.

sigmail validates *document signers*, not TLS servers, so the harness (not the library) does
the small things that make the comparison fair:

* the case's ``extended_key_usage`` becomes ``ChainParams.required_leaf_eku``; a case without
  one requires what its ``validation_kind`` implies (serverAuth for SERVER, clientAuth for
  CLIENT), as the limbo harnesses of TLS libraries do;
* the case's ``key_usage`` must be present in the leaf's keyUsage;
* ``crls`` are revocation items checked "if available" for the leaf and the CAs;
* ``max_chain_depth`` (intermediates allowed) becomes ``Limits.max_chain_length`` =
  depth + 2 (leaf and anchor included);
* peer names (hostname / IP matching) are not checked: that is TLS-only.

Every case where sigmail's outcome differs from ``expected_result`` is recorded, with a reason,
in ``tests/data/limbo_divergences.json``; the tests require the divergences to be exactly that
file, so a fix or a regression shows up. Pathological cases must fail within the budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import pem, x509

from sigmail.limits import Budget, Limits
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainResult, RevocationRule
from sigmail.trust.store import TrustStore

ROOT = Path(__file__).resolve().parents[1]
LIMBO = ROOT.parent / "shared" / "corpora" / "x509-limbo"
FILES = ("limbo-native.json", "limbo-bettertls-pathbuilding.json")
DIVERGENCES = ROOT / "tests" / "data" / "limbo_divergences.json"

# Cases without a validation_time are validated at this fixed moment (never the clock).
DEFAULT_TIME = datetime(2026, 11, 1, tzinfo=UTC)

_EKU = {
    "serverAuth": "server_auth",
    "clientAuth": "client_auth",
    "codeSigning": "code_signing",
    "emailProtection": "email_protection",
    "timeStamping": "time_stamping",
    "OCSPSigning": "ocsp_signing",
    "anyExtendedKeyUsage": "any_extended_key_usage",
}
_KU = {
    "digitalSignature": "digital_signature",
    "contentCommitment": "non_repudiation",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
    "encipherOnly": "encipher_only",
    "decipherOnly": "decipher_only",
}


def _cases() -> Iterator[dict]:
    for name in FILES:
        path = LIMBO / name
        if path.is_file():
            yield from json.loads(path.read_text())["testcases"]


CASES = list(_cases())
pytestmark = pytest.mark.skipif(
    not CASES, reason=f"x509-limbo corpus not found at {LIMBO} (../shared relative to the repo)"
)


def _der(text: str) -> bytes:
    return pem.unarmor(text.encode())[2]


def limits_for(case: dict) -> Limits:
    depth = case["max_chain_depth"]
    return Limits() if depth is None else Limits(max_chain_length=depth + 2)


def params_for(case: dict) -> ChainParams:
    ekus = frozenset(_EKU[e] for e in case["extended_key_usage"])
    if not ekus:
        ekus = frozenset({"server_auth" if case["validation_kind"] == "SERVER" else "client_auth"})
    return ChainParams(
        leaf_revocation=RevocationRule.IF_AVAILABLE,
        ca_revocation=RevocationRule.IF_AVAILABLE,
        required_leaf_eku=ekus,
    )


def run_case(case: dict) -> tuple[str, ChainResult | None, Budget, str]:
    """(outcome, result, budget, why) for one limbo case."""
    budget = Budget(limits_for(case))
    try:
        trust = TrustStore.from_certificates(official=[_der(p) for p in case["trusted_certs"]])
        leaf = x509.Certificate.load(_der(case["peer_certificate"]))
        intermediates = [x509.Certificate.load(_der(p)) for p in case["untrusted_intermediates"]]
    except ValueError as exc:  # input sigmail refuses to load at all
        return "FAILURE", None, budget, f"not loadable: {exc}"
    at = (
        datetime.fromisoformat(case["validation_time"]) if case["validation_time"] else DEFAULT_TIME
    )
    result = validate_chain(
        leaf,
        trust=trust,
        at=at,
        intermediates=intermediates,
        revocation_items=[
            RevocationItem(EvidenceKind.CRL, _der(c), "supplied") for c in case["crls"]
        ],
        params=params_for(case),
        budget=budget,
    )
    if not result.ok:
        return "FAILURE", result, budget, f"{result.failure.problem}: {result.failure.detail}"
    wanted = {_KU[k] for k in case["key_usage"]}
    if wanted:
        have = set(leaf.key_usage_value.native) if leaf.key_usage_value else set()
        if not wanted <= have:
            return "FAILURE", result, budget, f"key usage {sorted(wanted - have)} missing"
    return "SUCCESS", result, budget, ""


def _divergences() -> dict[str, dict]:
    rows = json.loads(DIVERGENCES.read_text())
    return {row["id"]: row for row in rows}


def _pathological(case: dict) -> bool:
    return case["id"].startswith("pathological::") or "denial-of-service" in case["features"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_limbo_case(case: dict):
    outcome, _result, budget, why = run_case(case)
    recorded = _divergences().get(case["id"])
    if outcome == case["expected_result"]:
        assert recorded is None, f"now agrees with limbo; remove it from {DIVERGENCES.name}"
    else:
        assert recorded is not None, (
            f"sigmail says {outcome}, limbo expects {case['expected_result']}: {why}"
        )
        assert recorded["expected"] == case["expected_result"]
        assert recorded["sigmail"] == outcome
    assert budget.signature_checks <= budget.limits.max_chain_signature_checks


@pytest.mark.parametrize("case", [c for c in CASES if _pathological(c)], ids=lambda c: c["id"])
def test_pathological_cases_end_as_limbo_expects_within_budget(case: dict):
    # 100-certificate chains, cycles, name-constraint explosions: all but one must fail
    outcome, result, budget, why = run_case(case)
    assert outcome == case["expected_result"], why
    assert budget.signature_checks <= budget.limits.max_chain_signature_checks
    assert result is not None and len(result.path) <= budget.limits.max_chain_length


def test_divergence_file_is_well_formed():
    rows = json.loads(DIVERGENCES.read_text())
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    known = {c["id"] for c in CASES}
    assert set(ids) <= known, f"stale entries: {sorted(set(ids) - known)}"
    for row in rows:
        assert set(row) == {"id", "expected", "sigmail", "reason"}, row
        assert row["expected"] != row["sigmail"]
        assert {row["expected"], row["sigmail"]} == {"SUCCESS", "FAILURE"}
        assert row["reason"].strip().endswith("."), row
