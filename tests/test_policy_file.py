"""Policy files: the built-in loads, bad files fail at load time with a typed error and a line."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from sigmail.errors import ConfigError, PolicyError
from sigmail.policy.model import load_policy
from sigmail.policy.verdict_table import decide, reason_codes, retry_after
from sigmail.trust.chain_types import DOCUMENT_SIGNING_PURPOSES, RevocationRule
from sigmail.verdict.model import Finding, VerdictKind


def test_builtin_basic_policy_loads_with_its_hash():
    policy = load_policy("basic")
    text = (resources.files("sigmail.policy") / "builtin" / "basic.toml").read_text("utf-8")
    assert policy.ref.name == "basic"
    assert policy.ref.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert policy.algorithms.min_rsa_bits == 2048
    assert "sha1" not in policy.algorithms.allowed_digests
    assert policy.chain.leaf_revocation is RevocationRule.REQUIRED
    assert policy.effect_of_ca_class("public") == "not_official"
    assert policy.effect_of_ca_class("official") == "accept"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("[policy]\nname = 'x'\n", "version", None),
        ("[policy]\nname='x'\nversion='1'\n[revocation]\nsigner = 'sometimes'\n", "signer", 5),
        ("[policy]\nname='x'\nversion='1'\n[ca_classes]\npublic = 'maybe'\n", "public", 5),
        ("[policy]\nname='x'\nversion='1'\n[bogus]\n", "unknown section", 4),
        ("[policy]\nname='x'\nversion='1'\n[algorithms]\nmin_rsa_bit = 1\n", "min_rsa_bit", 5),
        ("[policy\nname='x'\n", "", 1),
        ("[policy]\nname='x'\nversion='1'\n[signer]\npurposes = ['bogus']\n", "bogus", 5),
        ("[policy]\nname='x'\nversion='1'\n[signer]\npurposes = []\n", "at least one", 5),
        ("[policy]\nname='x'\nversion='1'\n[signer]\npurpose = ['x']\n", "purpose", 5),
    ],
)
def test_bad_policy_files_fail_at_load_naming_the_line(tmp_path, text, message, line):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.line == line


def test_the_signer_purposes_are_the_document_signing_ones_unless_the_policy_says(tmp_path):
    """A signer certificate with an EKU must allow one of them (docs/chain-validation.md)."""
    assert load_policy("vn-gov").chain.required_leaf_eku == DOCUMENT_SIGNING_PURPOSES
    path = tmp_path / "p.toml"
    path.write_text(
        "[policy]\nname='x'\nversion='1'\n[signer]\n"
        "purposes = ['email_protection', 'client_auth', '0.4.0.2231.3.0']\n",
        encoding="utf-8",
    )
    assert load_policy(path).chain.required_leaf_eku == {
        "email_protection",
        "client_auth",
        "0.4.0.2231.3.0",
    }


def test_missing_policy_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="built-in policies"):
        load_policy(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], VerdictKind.OFFICIAL),
        (["no_proven_signing_time", "signing_time_tz_quirk"], VerdictKind.OFFICIAL),
        (["public_ca_signer"], VerdictKind.NOT_OFFICIAL),
        (["no_signature"], VerdictKind.UNSIGNED),
        (["revocation_unreachable", "public_ca_signer"], VerdictKind.INDETERMINATE),
        (["digest_mismatch", "revocation_unreachable"], VerdictKind.INVALID),
    ],
)
def test_verdict_table(codes, expected):
    findings = [Finding.of(c, "x") for c in codes]
    assert decide(findings) is expected


def test_reason_codes_are_ranked_and_exclude_information():
    findings = [
        Finding.of(c, "x")
        for c in (
            "no_proven_signing_time",
            "legacy_algorithm",
            "digest_mismatch",
            "digest_mismatch",
            "public_ca_signer",
        )
    ]
    assert reason_codes(findings) == ("digest_mismatch", "public_ca_signer", "legacy_algorithm")


def test_retry_after_is_the_earliest():
    from datetime import UTC, datetime

    a = datetime(2026, 6, 1, 1, tzinfo=UTC)
    b = datetime(2026, 6, 1, 2, tzinfo=UTC)
    findings = [
        Finding.of("revocation_unreachable", "x", retry_after=b),
        Finding.of("revocation_unreachable", "y", retry_after=a),
    ]
    assert retry_after(findings) == a
