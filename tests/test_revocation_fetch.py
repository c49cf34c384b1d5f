"""The fetching layer against the real test-PKI responder: caching, offline cache, failures.

Requests are counted on the responder itself, so "no network request" means exactly that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.revocation.evidence import EvidenceKind
from sigmail.trust.chain_cache import ChainCache
from sigmail.verdict.model import VerdictKind

AT = datetime(2026, 6, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent / "vectors"
# The test PKI's responder listens on the loopback, which fetching refuses unless allowed.
TEST_PKI = ["127.0.0.1/32"]


class _NoChainCache(ChainCache):
    """Forces every verification through revocation lookup (to test the fetch cache alone)."""

    def put(self, key, result):
        return None


@pytest.fixture
def fresh_responder(responder):
    responder.reset()
    yield responder
    responder.reset()


def _trust() -> TrustStore:
    return TrustStore.load(official=[ROOT / "pki/certs/root-official.pem"])


def _read(name: str) -> bytes:
    return (ROOT / "cms" / name).read_bytes()


def _verify(verifier: Verifier, name: str, content: str | None = None):
    data = _read(name)
    return verifier.verify(data, at=AT, content=_read(content) if content else None)


def test_second_document_from_the_same_signer_makes_no_request(fresh_responder):
    verifier = Verifier(
        policy="basic",
        trust=_trust(),
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI),
        strict=True,
    )
    first = _verify(verifier, "person-official.p7m")
    assert first.verdict is VerdictKind.OFFICIAL
    made = sum(fresh_responder.requests.values())
    assert made >= 2, "the signer's OCSP and the sub-CA's CRL were fetched"
    second = _verify(verifier, "person-detached.p7s", "document.txt")
    assert second.verdict is VerdictKind.OFFICIAL
    assert sum(fresh_responder.requests.values()) == made


def test_fetch_cache_alone_also_avoids_requests(fresh_responder):
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    verifier = Verifier(
        policy="basic", trust=_trust(), revocation=source, chain_cache=_NoChainCache(), strict=True
    )
    _verify(verifier, "person-official.p7m")
    made = sum(fresh_responder.requests.values())
    assert _verify(verifier, "person-detached.p7s", "document.txt").verdict is VerdictKind.OFFICIAL
    assert sum(fresh_responder.requests.values()) == made
    assert source.fetches == made


def test_cache_expires_at_next_update(fresh_responder):
    now = [AT]
    source = OnlineRevocation(clock=lambda: now[0], allow_networks=TEST_PKI)
    verifier = Verifier(
        policy="basic", trust=_trust(), revocation=source, chain_cache=_NoChainCache(), strict=True
    )
    _verify(verifier, "person-official.p7m")
    made = sum(fresh_responder.requests.values())
    now[0] = AT + timedelta(days=8)  # past the OCSP and CRL nextUpdate
    _verify(verifier, "person-official.p7m")
    assert sum(fresh_responder.requests.values()) > made


def test_disk_cache_serves_offline_mode(fresh_responder, tmp_path):
    online = Verifier(
        policy="basic",
        trust=_trust(),
        revocation=OnlineRevocation(cache_dir=tmp_path, clock=lambda: AT, allow_networks=TEST_PKI),
        strict=True,
    )
    assert _verify(online, "person-official.p7m").verdict is VerdictKind.OFFICIAL
    fresh_responder.unavailable.add("/")  # offline must not even try
    made = sum(fresh_responder.requests.values())
    offline = Verifier(
        policy="basic", trust=_trust(), revocation=OfflineRevocation(tmp_path), strict=True
    )
    verdict = _verify(offline, "person-official.p7m")
    assert verdict.verdict is VerdictKind.OFFICIAL, verdict.reasons
    assert sum(fresh_responder.requests.values()) == made
    origins = {e.revocation.origin for e in verdict.signatures[0].chain if e.revocation}
    assert origins == {"cache"}


def test_offline_without_cache_is_indeterminate():
    verifier = Verifier(policy="basic", trust=_trust(), revocation=OfflineRevocation(), strict=True)
    verdict = _verify(verifier, "person-official.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert "revocation_unavailable" in verdict.reasons


@pytest.mark.parametrize("fault", ["timeout", "503"])
def test_responder_failure_is_indeterminate_with_retry_time_and_not_retried_at_once(
    fresh_responder, fault
):
    if fault == "timeout":
        fresh_responder.delay_seconds = 2.0
    else:
        fresh_responder.unavailable.update({"/ocsp", "/crl"})
    source = OnlineRevocation(
        clock=lambda: AT,
        timeout=0.3,
        retry_delay=timedelta(minutes=10),
        allow_networks=TEST_PKI,
    )
    verifier = Verifier(policy="basic", trust=_trust(), revocation=source, strict=True)
    verdict = _verify(verifier, "person-official.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert "revocation_unreachable" in verdict.reasons
    assert "untrusted_chain" not in verdict.reasons
    assert verdict.retry_after == AT + timedelta(minutes=10)
    fetched = source.fetches
    again = _verify(verifier, "person-official.p7m")
    assert again.verdict is VerdictKind.INDETERMINATE
    assert source.fetches == fetched, "a failed responder is not asked again before retry_after"


def test_missing_intermediate_is_fetched_from_aia_once(fresh_responder, tmp_path):
    """Only the signer's certificate is carried: the sub-CA comes from its caIssuers URL, is
    cached (memory and disk), and offline mode can then use the disk copy."""
    source = OnlineRevocation(clock=lambda: AT, cache_dir=tmp_path, allow_networks=TEST_PKI)
    verifier = Verifier(
        trust=_trust(), policy="basic", revocation=source, chain_cache=_NoChainCache(), strict=True
    )
    first = _verify(verifier, "aia-missing-intermediate.p7m")
    assert first.verdict is VerdictKind.OFFICIAL, first.reasons
    assert len(first.signatures[0].chain) == 3
    assert fresh_responder.requests["/cert/ca-official.crt"] == 1
    _verify(verifier, "aia-missing-intermediate.p7m")
    assert fresh_responder.requests["/cert/ca-official.crt"] == 1
    offline = Verifier(
        trust=_trust(), policy="basic", revocation=OfflineRevocation(tmp_path), strict=True
    )
    assert _verify(offline, "aia-missing-intermediate.p7m").verdict is VerdictKind.OFFICIAL


def test_unreachable_aia_is_indeterminate_not_untrusted(fresh_responder):
    fresh_responder.unavailable.add("/cert")
    verifier = Verifier(
        trust=_trust(),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI),
        strict=True,
    )
    verdict = _verify(verifier, "aia-missing-intermediate.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("issuer_unreachable",)
    assert verdict.retry_after is not None


def test_an_aia_failure_is_recorded_as_issuer_evidence_not_crl(fresh_responder):
    """Issue 12 bug: a failed caIssuers fetch was recorded as ``EvidenceKind.CRL``."""
    fresh_responder.unavailable.add("/cert")
    url = f"{fresh_responder.url}/cert/ca-official.crt"
    failure = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI).fetch_issuers(url).failure
    assert failure is not None and failure.url == url
    assert failure.kind is EvidenceKind.ISSUER
    assert "503" in failure.error
