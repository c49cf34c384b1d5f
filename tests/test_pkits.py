"""NIST PKITS (all 246 path-validation cases of pkits.json) through validate_chain.

The trust anchor is TrustAnchorRootCertificate.crt and TrustAnchorRootCRL.crl is always
supplied; ``other_certs`` are untrusted intermediates; ``params`` are the RFC 5280 initial
inputs; ``revocation: false`` means "if available" checking, otherwise CRLs are required for
the leaf and every CA. Validation time 2022-05-01T00:00Z. MD5 and SHA-1 are accepted (as
legacy), MD2 refused.

A case with an ``error`` must fail; when the failure came from pyhanko-certvalidator (anything
but sigmail's own "no path" from the path builder) its detail must match ``msg_regex`` and its
ChainProblem must fit the error class. A case without must validate with ``path_len``
certificates.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from asn1crypto import x509

from sigmail.limits import Budget, Limits
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainProblem, RevocationRule
from sigmail.trust.store import TrustStore

PKITS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "pkits"
AT = datetime(2022, 5, 1, tzinfo=UTC)

# certvalidator's error class -> the problems sigmail may report for it
PROBLEMS = {
    "PathValidationError": {
        ChainProblem.INVALID,
        ChainProblem.EXPIRED,
        ChainProblem.NOT_YET_VALID,
        ChainProblem.WEAK_ALGORITHM,
    },
    "RevokedError": {ChainProblem.REVOKED, ChainProblem.ON_HOLD},
    "InsufficientRevinfoError": {ChainProblem.REVOCATION_UNAVAILABLE},
    "StaleRevinfoError": {ChainProblem.REVOCATION_UNAVAILABLE},
}


def _load(name: str) -> list[dict]:
    path = PKITS / name
    return json.loads(path.read_text()) if path.is_file() else []


CASES = _load("pkits.json")
NOTICE_CASES = _load("pkits-user-notice.json")
pytestmark = pytest.mark.skipif(
    not CASES, reason=f"PKITS corpus not found at {PKITS} (../shared relative to the repo)"
)


@cache
def cert(name: str) -> x509.Certificate:
    return x509.Certificate.load((PKITS / "certs" / name).read_bytes())


@cache
def trust() -> TrustStore:
    return TrustStore.from_certificates(official=[cert("TrustAnchorRootCertificate.crt")])


def params_for(case: dict) -> ChainParams:
    rule = (
        RevocationRule.IF_AVAILABLE if case.get("revocation") is False else RevocationRule.REQUIRED
    )
    pkix = case.get("params", {})
    policies = pkix.get("user_initial_policy_set")
    return ChainParams(
        leaf_revocation=rule,
        ca_revocation=rule,
        refused_hashes=frozenset({"md2"}),
        legacy_hashes=frozenset({"md5", "sha1"}),
        initial_policy_set=frozenset(policies) if policies is not None else None,
        initial_explicit_policy=bool(pkix.get("initial_explicit_policy", False)),
        initial_policy_mapping_inhibit=bool(pkix.get("initial_policy_mapping_inhibit", False)),
        initial_any_policy_inhibit=bool(pkix.get("initial_any_policy_inhibit", False)),
    )


def run(case: dict):
    items = [
        RevocationItem(EvidenceKind.CRL, (PKITS / "crls" / name).read_bytes(), "supplied")
        for name in ("TrustAnchorRootCRL.crl", *case.get("crls", ()))
    ]
    budget = Budget(Limits())
    result = validate_chain(
        cert(case["cert"]),
        trust=trust(),
        at=AT,
        intermediates=[cert(name) for name in case.get("other_certs", ())],
        revocation_items=items,
        params=params_for(case),
        budget=budget,
    )
    return result, budget


@pytest.mark.parametrize("case", CASES, ids=[f"{c['id']}-{c['name']}" for c in CASES])
def test_pkits(case: dict):
    result, budget = run(case)
    error = case.get("error")
    if error is None:
        assert result.ok, result.failure
        assert len(result.path) == case["path_len"]
    else:
        assert not result.ok
        failure = result.failure
        if failure.problem is not ChainProblem.UNTRUSTED:  # UNTRUSTED = our builder found no path
            assert failure.problem in PROBLEMS[error["class"]], failure
            assert re.search(error["msg_regex"], failure.detail), failure.detail
    assert budget.signature_checks <= budget.limits.max_chain_signature_checks


@pytest.mark.parametrize("case", NOTICE_CASES, ids=[f"{c['id']}-{c['name']}" for c in NOTICE_CASES])
def test_pkits_user_notice_paths_validate(case: dict):
    # ChainResult does not expose policy qualifiers, so only the validation itself is checked.
    result, _ = run({**case, "revocation": True})
    assert result.ok, result.failure
