"""Installing trust anchors against the policy's pins, and the real Vietnamese PKI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import TrustStore, Verifier
from sigmail.cli import main
from sigmail.cli.trust_dir import load_trust_dir
from sigmail.limits import Budget, Limits
from sigmail.policy.model import load_policy
from sigmail.trust.certificates import parse_certificates
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainProblem, RevocationRule

ROOT = Path(__file__).resolve().parent.parent
VN_TRUST = ROOT.parent / "shared" / "vn-trust"
VN_GOV = load_policy("vn-gov")
G2_PIN = "F04BA4B459A7C9A1B971AD9B1CB833E695A80C79AEA63B174B66A70EDFE2FDB8"
needs_shared = pytest.mark.skipif(not VN_TRUST.exists(), reason="../shared/vn-trust is absent")


def trust(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["trust", *args])
    out, err = capsys.readouterr()
    return code, out, err


@needs_shared
def test_pinned_roots_and_sub_cas_install_with_their_class(capsys, tmp_path):
    files = [
        VN_TRUST / "roots/vgca-rootca-g2.crt",
        VN_TRUST / "roots/neac-vietnam-national-root-ca.crt",
        VN_TRUST / "intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt",
    ]
    rc, out, _ = trust(capsys, "add", "--trust-dir", str(tmp_path), *map(str, files))
    assert rc == 0, out
    rc, out, _ = trust(capsys, "list", "--json", "--trust-dir", str(tmp_path))
    rows = {r["pinned"]: r for r in json.loads(out)}
    assert rows["VGCA RootCA G2"]["use"] == "official"
    assert rows["VGCA RootCA G2"]["sha256"] == G2_PIN
    assert rows["VGCA RootCA G2"]["not_after"].startswith("2048-08-14")
    assert rows["Vietnam National Root CA (NEAC)"]["use"] == "public"
    assert rows["VGCA CA phục vụ các cơ quan Nhà nước G2"]["use"] == "intermediate"
    rc, out, _ = trust(capsys, "list", "--trust-dir", str(tmp_path))
    assert "official     expires 2048-08-14  VGCA RootCA G2" in out


def test_an_unpinned_certificate_is_refused_unless_insisted(capsys, tmp_path):
    test_root = str(ROOT / "vectors/pki/certs/root-official.pem")
    rc, _, err = trust(capsys, "add", "--trust-dir", str(tmp_path), test_root)
    assert rc == 64 and "not pinned" in err
    assert not any(tmp_path.rglob("*.pem"))
    rc, _, err = trust(capsys, "add", "--trust-dir", str(tmp_path), "--allow-unpinned", test_root)
    assert rc == 64 and "--class" in err
    rc, out, _ = trust(
        capsys,
        "add",
        "--trust-dir",
        str(tmp_path),
        "--allow-unpinned",
        "--class",
        "official",
        test_root,
    )
    assert rc == 0 and "UNPINNED" in out
    assert len(load_trust_dir(tmp_path)) == 1


def test_verify_without_anchors_says_how_to_install_them(capsys, tmp_path):
    rc = main(
        [
            "verify",
            "--trust-dir",
            str(tmp_path / "empty"),
            "--offline",
            str(ROOT / "vectors/cms/vn-official-offline.p7m"),
        ]
    )
    _, err = capsys.readouterr()
    assert rc == 3
    assert "sigmail trust add" in err
    assert "https://ca.gov.vn/pki/pub/crt/rootcag2.crt" in err and G2_PIN in err


def test_verify_uses_the_installed_trust_directory(capsys, tmp_path):
    main(
        [
            "trust",
            "add",
            "--trust-dir",
            str(tmp_path),
            "--allow-unpinned",
            "--class",
            "official",
            str(ROOT / "vectors/pki/certs/root-official.pem"),
        ]
    )
    capsys.readouterr()
    rc = main(
        [
            "verify",
            "--trust-dir",
            str(tmp_path),
            "--offline",
            "--at",
            "2026-06-01T00:00:00Z",
            str(ROOT / "vectors/cms/vn-official-offline.p7m"),
        ]
    )
    out, _ = capsys.readouterr()
    assert rc == 0, out


@needs_shared
def test_a_pinned_public_root_stays_public_whatever_it_was_given_as():
    store = TrustStore.load(official=[VN_TRUST / "roots/neac-vietnam-national-root-ca.crt"])
    assert store.anchors[0].anchor_class.value == "official"
    verifier = Verifier(trust=store, policy=VN_GOV)
    assert verifier.trust.anchors[0].anchor_class.value == "public"


@needs_shared
def test_real_g2_agency_certificate_validates_to_the_pinned_g2_root(capsys, tmp_path):
    for name in ("roots/vgca-rootca-g2.crt", "intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt"):
        assert main(["trust", "add", "--trust-dir", str(tmp_path), str(VN_TRUST / name)]) == 0
    store = load_trust_dir(tmp_path)
    leaf = parse_certificates(
        (VN_TRUST / "end-entity-samples/tong-cuc-thue-g2-org.der").read_bytes()
    )[0]
    at = datetime(2024, 1, 1, tzinfo=UTC)
    params = VN_GOV.chain
    without_revocation = type(params)(
        **{
            **{f: getattr(params, f) for f in params.__slots__},
            "leaf_revocation": RevocationRule.NONE,
            "ca_revocation": RevocationRule.NONE,
        }
    )
    result = validate_chain(
        leaf, trust=store, at=at, params=without_revocation, budget=Budget(Limits())
    )
    assert result.ok, result.failure
    assert len(result.path) == 3
    assert result.anchor.sha256 == G2_PIN and result.anchor.anchor_class.value == "official"
    # Under the policy as shipped the status must be known: offline it cannot be.
    strict = validate_chain(leaf, trust=store, at=at, params=params, budget=Budget(Limits()))
    assert strict.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE
    # And after its expiry (2026-11-16) without proof of the signing time:
    late = validate_chain(
        leaf,
        trust=store,
        at=datetime(2026, 11, 22, tzinfo=UTC),
        params=without_revocation,
        budget=Budget(Limits()),
    )
    assert late.failure.problem is ChainProblem.EXPIRED


@needs_shared
def test_real_g1_certificate_without_its_sub_ca_gets_a_precise_reason(capsys, tmp_path):
    assert (
        main(
            [
                "trust",
                "add",
                "--trust-dir",
                str(tmp_path),
                str(VN_TRUST / "roots/vgca-rootca-g1.crt"),
            ]
        )
        == 0
    )
    leaf = parse_certificates(
        (VN_TRUST / "end-entity-samples/chi-cuc-thue-q12-g1.der").read_bytes()
    )[0]
    result = validate_chain(
        leaf,
        trust=load_trust_dir(tmp_path),
        at=datetime(2024, 1, 1, tzinfo=UTC),
        params=VN_GOV.chain,
        budget=Budget(Limits()),
    )
    assert result.failure.problem is ChainProblem.UNTRUSTED
    assert "Co quan chung thuc so Bo Tai chinh" in result.failure.detail
