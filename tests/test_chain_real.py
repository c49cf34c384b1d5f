"""The real Vietnamese government certificates in ../shared/vn-trust (public copies)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail.limits import Budget, Limits
from sigmail.trust.certificates import parse_certificates
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainProblem, RevocationRule
from sigmail.trust.store import AnchorClass, TrustStore
from sigmail.verdict.model import RevocationState

VN = Path(__file__).resolve().parents[1].parent / "shared" / "vn-trust"
pytestmark = pytest.mark.skipif(
    not VN.is_dir(), reason=f"the vn-trust corpus is not at {VN} (../shared relative to the repo)"
)

AT = datetime(2024, 1, 1, tzinfo=UTC)
NO_REVOCATION = ChainParams(leaf_revocation=RevocationRule.NONE, ca_revocation=RevocationRule.NONE)


def load(rel: str):
    return parse_certificates((VN / rel).read_bytes())[0]


@pytest.fixture(scope="module")
def trust() -> TrustStore:
    # anchors only; the intermediates come with the signature, as in a CMS certificates field
    return TrustStore.load(official=[VN / "roots"])


def test_tong_cuc_thue_g2_validates_to_the_g2_root(trust):
    leaf = load("end-entity-samples/tong-cuc-thue-g2-org.der")
    ica = load("intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt")
    budget = Budget(Limits())
    result = validate_chain(
        leaf, trust=trust, at=AT, intermediates=[ica], params=NO_REVOCATION, budget=budget
    )
    assert result.ok, result.failure
    assert [c.dump() for c in result.path] == [
        leaf.dump(),
        ica.dump(),
        load("roots/vgca-rootca-g2.crt").dump(),
    ]
    assert result.anchor.anchor_class is AnchorClass.OFFICIAL
    assert result.anchor.source.endswith("vgca-rootca-g2.crt")
    assert [s.state for s in result.revocation[:2]] == [RevocationState.NOT_CHECKED] * 2
    assert result.warnings == ()
    assert budget.signature_checks == 2


def test_tong_cuc_thue_g2_via_configured_intermediates():
    trust = TrustStore.load(official=[VN / "roots"], intermediates=[VN / "intermediates"])
    leaf = load("end-entity-samples/tong-cuc-thue-g2-org.der")
    result = validate_chain(leaf, trust=trust, at=AT, params=NO_REVOCATION, budget=Budget(Limits()))
    assert result.ok, result.failure
    assert len(result.path) == 3


def test_tong_cuc_thue_g2_needs_revocation_by_default(trust):
    leaf = load("end-entity-samples/tong-cuc-thue-g2-org.der")
    ica = load("intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt")
    result = validate_chain(leaf, trust=trust, at=AT, intermediates=[ica], budget=Budget(Limits()))
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE


def test_tong_cuc_thue_g2_expired_after_2026(trust):
    leaf = load("end-entity-samples/tong-cuc-thue-g2-org.der")
    ica = load("intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt")
    result = validate_chain(
        leaf,
        trust=trust,
        at=datetime(2026, 11, 17, tzinfo=UTC),
        intermediates=[ica],
        params=NO_REVOCATION,
        budget=Budget(Limits()),
    )
    assert result.failure.problem is ChainProblem.EXPIRED
    assert result.failure.cert_index == 0


def test_chi_cuc_thue_g1_issuer_missing_is_named(trust):
    leaf = load("end-entity-samples/chi-cuc-thue-q12-g1.der")
    everything = [load(f"intermediates/{p.name}") for p in (VN / "intermediates").iterdir()]
    result = validate_chain(
        leaf,
        trust=trust,
        at=AT,
        intermediates=everything,
        params=NO_REVOCATION,
        budget=Budget(Limits()),
    )
    assert result.failure.problem is ChainProblem.UNTRUSTED
    assert "Co quan chung thuc so Bo Tai chinh" in result.failure.detail
    assert result.failure.cert_index == 0


def test_real_sha1_g1_sub_ca_validates_with_legacy_warning(trust):
    # the G1 government sub-CA is sha1WithRSAEncryption, issued by the G1 root
    sub_ca = load("intermediates/vgca-co-quan-chung-thuc-so-chinh-phu-g1.crt")
    result = validate_chain(
        sub_ca, trust=trust, at=AT, params=NO_REVOCATION, budget=Budget(Limits())
    )
    assert result.ok, result.failure
    assert result.anchor.source.endswith("vgca-rootca-g1.crt")
    assert [code for code, _ in result.warnings] == ["legacy_algorithm"]
    assert "sha1" in result.warnings[0][1]


def test_real_sha1_g1_sub_ca_refused_when_sha1_is_refused(trust):
    sub_ca = load("intermediates/vgca-co-quan-chung-thuc-so-chinh-phu-g1.crt")
    params = ChainParams(
        leaf_revocation=RevocationRule.NONE,
        ca_revocation=RevocationRule.NONE,
        refused_hashes=frozenset({"md2", "md5", "sha1"}),
        legacy_hashes=frozenset(),
    )
    result = validate_chain(sub_ca, trust=trust, at=AT, params=params, budget=Budget(Limits()))
    assert result.failure.problem is ChainProblem.WEAK_ALGORITHM
