"""Budgets end in limit_exceeded verdicts; trust is loaded explicitly; time is explicit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import (
    ConfigError,
    Limits,
    OfflineRevocation,
    TrustStore,
    TrustStoreError,
    UsageError,
    Verifier,
)
from sigmail.verdict.model import VerdictKind

ROOT = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
OFFICIAL_ROOT = ROOT / "pki/certs/root-official.pem"
EMBEDDED = (ROOT / "cms/embedded-revocation.p7m").read_bytes()
TWO_SIGNERS = (ROOT / "cms/person-and-agency.p7m").read_bytes()


def verifier(limits: Limits | None = None, **trust) -> Verifier:
    store = TrustStore.load(official=[OFFICIAL_ROOT], **trust)
    return Verifier(
        trust=store, policy="basic", revocation=OfflineRevocation(), limits=limits, strict=True
    )


@pytest.mark.parametrize(
    ("limit", "data"),
    [
        (Limits(max_input_bytes=1000), EMBEDDED),
        (Limits(max_certificates=1), EMBEDDED),
        (Limits(max_signatures=1), TWO_SIGNERS),
        (Limits(max_revocation_items=1), EMBEDDED),
        (Limits(max_crl_bytes=100), EMBEDDED),
        (Limits(max_chain_signature_checks=1), EMBEDDED),
        (Limits(max_seconds=1e-9), EMBEDDED),
    ],
    ids=[
        "input-bytes",
        "certificates",
        "signatures",
        "revocation-items",
        "crl-bytes",
        "signature-checks",
        "seconds",
    ],
)
def test_each_limit_gives_limit_exceeded(limit, data):
    verdict = verifier(limit).verify(data, at=AT)
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert "limit_exceeded" in verdict.reasons


def test_within_limits_the_same_input_passes():
    assert verifier().verify(EMBEDDED, at=AT).verdict is VerdictKind.OFFICIAL


def test_limits_refuse_nonsense():
    with pytest.raises(ConfigError):
        Limits(max_chain_length=0)


def test_naive_times_are_usage_errors():
    with pytest.raises(UsageError):
        verifier().verify(EMBEDDED, at=datetime(2026, 6, 1))
    with pytest.raises(UsageError):
        verifier().verify(EMBEDDED, at=AT, receipt_time=datetime(2026, 6, 1))


def test_verify_works_inside_a_running_event_loop():
    async def inside():
        return verifier().verify(EMBEDDED, at=AT)

    assert asyncio.run(inside()).verdict is VerdictKind.OFFICIAL


def test_no_anchor_means_nothing_is_trusted():
    empty = Verifier(
        trust=TrustStore(), policy="basic", revocation=OfflineRevocation(), strict=True
    )
    verdict = empty.verify(EMBEDDED, at=AT)
    assert verdict.verdict is VerdictKind.INVALID
    assert "untrusted_chain" in verdict.reasons


def test_trust_store_loads_files_and_directories_in_pem_and_der(tmp_path):
    from asn1crypto import pem

    der = pem.unarmor(OFFICIAL_ROOT.read_bytes())[2]
    (tmp_path / "root.der").write_bytes(der)
    (tmp_path / "notes.txt").write_text("ignored: not a certificate suffix")
    store = TrustStore.load(official=[tmp_path], public=[ROOT / "pki/certs/root-national.pem"])
    assert len(store) == 2
    assert {a.anchor_class.value for a in store.anchors} == {"official", "public"}
    assert store.anchor_by_fingerprint(store.anchors[0].sha256) is not None


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\n"])
def test_a_bad_anchor_file_fails_at_load(tmp_path, content):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(TrustStoreError) as info:
        TrustStore.load(official=[bad])
    assert info.value.path == str(bad)


def test_missing_anchor_path_fails_at_load(tmp_path):
    with pytest.raises(TrustStoreError, match="no such file"):
        TrustStore.load(official=[tmp_path / "nope"])


def test_same_anchor_in_two_classes_is_refused():
    with pytest.raises(TrustStoreError, match="both"):
        TrustStore.load(official=[OFFICIAL_ROOT], public=[OFFICIAL_ROOT])


def test_impostor_root_with_the_real_name_is_not_trusted():
    """The impostor's root has the trusted root's DN; trusting it by name would be a bug."""
    data = (ROOT / "cms/impostor.p7m").read_bytes()
    verdict = verifier().verify(data, at=AT)
    assert verdict.verdict is VerdictKind.INVALID
    assert verdict.reasons[0] == "untrusted_chain"
