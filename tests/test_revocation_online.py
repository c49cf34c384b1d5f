"""The online source against the real test-PKI responder: the SSRF deny-list seen from a
verification, single-flight between threads, and the per-message fetch budget.

Requests are counted on the responder itself.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigmail import Limits, OnlineRevocation, TrustStore, Verifier
from sigmail.cli import main
from sigmail.evidence.recorder import RecordingRevocation
from sigmail.revocation.allowance import current_allowance, fetch_allowance
from sigmail.revocation.evidence import EvidenceKind, RevocationItem
from sigmail.trust.certificates import parse_certificates
from sigmail.trust.chain_cache import ChainCache
from sigmail.verdict.model import VerdictKind

AT = datetime(2026, 6, 1, tzinfo=UTC)
VECTORS = Path(__file__).resolve().parent.parent / "vectors"
TEST_PKI = ["127.0.0.1/32"]


class _NoChainCache(ChainCache):
    """Every verification goes through revocation lookup (the fetch layer is what is tested)."""

    def put(self, key, result):
        return None


@pytest.fixture
def fresh_responder(responder):
    responder.reset()
    yield responder
    responder.reset()


def _cert(name: str):
    (cert,) = parse_certificates((VECTORS / f"pki/certs/{name}.pem").read_bytes())
    return cert


def _verify(source, name: str, limits: Limits | None = None):
    verifier = Verifier(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        policy="basic",
        revocation=source,
        limits=limits,
        chain_cache=_NoChainCache(),
        strict=True,
    )
    return verifier.verify((VECTORS / "cms" / name).read_bytes(), at=AT)


def _details(verdict) -> str:
    return json.dumps(verdict.to_dict(), ensure_ascii=False)


# -- the deny-list, seen from a verification --------------------------------------------------


def _errors(recording: RecordingRevocation) -> set[str]:
    return {f.error for lookup in recording.lookups for f in lookup.answer.failures}


def test_a_denied_responder_is_indeterminate_never_official_and_never_asked(fresh_responder):
    recording = RecordingRevocation(OnlineRevocation(clock=lambda: AT))
    verdict = _verify(recording, "person-official.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("revocation_unreachable",)
    assert f"responders failed: {fresh_responder.url}/" in _details(verdict)
    assert _errors(recording) == {"denied: 127.0.0.1 is loopback (127.0.0.0/8)"}
    assert verdict.retry_after is None, "retrying cannot help a denied address"
    assert sum(fresh_responder.requests.values()) == 0 and fresh_responder.connections == 0


def test_a_denied_aia_url_is_issuer_unreachable(fresh_responder):
    verdict = _verify(OnlineRevocation(clock=lambda: AT), "aia-missing-intermediate.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("issuer_unreachable",)
    assert "denied: 127.0.0.1 is loopback" in _details(verdict)
    assert fresh_responder.connections == 0


def test_allowing_the_test_pki_network_makes_it_official(fresh_responder):
    verdict = _verify(
        OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI), "agency-official.p7m"
    )
    assert verdict.verdict is VerdictKind.OFFICIAL, verdict.reasons


def test_a_denied_url_is_remembered_like_a_failed_one(fresh_responder):
    """A second message naming it costs no DNS lookup and no connection attempt."""
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    from sigmail.revocation.addresses import NetworkPolicy
    from sigmail.revocation.transport import HttpTransport

    source = OnlineRevocation(
        clock=lambda: AT, transport=HttpTransport(network=NetworkPolicy(resolver=resolver))
    )
    url = f"{fresh_responder.url}/cert/ca-official.crt"
    first = source.fetch_issuers(url).failure
    assert source.fetch_issuers(url).failure is first
    assert calls == ["127.0.0.1"]


# Redirects and names, through a verification, on the real responder.


def test_an_aia_redirect_to_ftp_is_refused(fresh_responder):
    fresh_responder.redirects["/cert/ca-official.crt"] = "ftp://127.0.0.1/ca-official.crt"
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    verdict = _verify(source, "aia-missing-intermediate.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("issuer_unreachable",)
    assert "denied: ftp scheme in 'ftp://127.0.0.1/ca-official.crt'" in _details(verdict)
    assert fresh_responder.requests["/cert/ca-official.crt"] == 1


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is cloud metadata service"),
        ("http://127.0.0.2:47831/crl/root-official.crl", "127.0.0.2 is loopback (127.0.0.0/8)"),
        ("http://[::ffff:10.0.0.1]/x.crl", "10.0.0.1 (in ::ffff:"),  # IPv4-mapped IPv6
    ],
)
def test_a_crl_redirect_into_a_denied_range_is_refused(fresh_responder, location, reason):
    """Only 127.0.0.1/32 is allowed: a redirect elsewhere is checked again, and refused."""
    fresh_responder.redirects["/crl/root-official.crl"] = location
    recording = RecordingRevocation(OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI))
    verdict = _verify(recording, "person-official.p7m")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("revocation_unreachable",)
    (error,) = _errors(recording)
    assert error.startswith(f"denied: {reason}"), error
    assert verdict.retry_after is None


def test_a_name_that_resolves_to_the_loopback_is_denied(fresh_responder):
    """``localhost`` is judged by the addresses it resolves to (system resolver, /etc/hosts)."""
    url = f"http://localhost:{fresh_responder.port}/cert/ca-official.crt"
    failure = OnlineRevocation(clock=lambda: AT).fetch_issuers(url).failure
    assert failure is not None and failure.kind is EvidenceKind.ISSUER
    assert failure.error.startswith("denied: localhost → ")
    assert "is loopback" in failure.error
    assert fresh_responder.connections == 0
    # Allowed, the name is fetched from the address it resolved to.
    allowed = OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.0/8", "::1/128"])
    found = allowed.fetch_issuers(url)
    assert found.failure is None and found.certificates[0].sha256 == _cert("ca-official").sha256
    assert fresh_responder.requests["/cert/ca-official.crt"] == 1


# -- single-flight ------------------------------------------------------------------------------


def _together(n: int, work):
    """Run ``work`` in ``n`` threads released at once; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_lookups_of_one_ocsp_url_make_one_request(fresh_responder):
    fresh_responder.delay_seconds = 0.5  # the first fetch is still running when the others ask
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    leaf, ca = _cert("person-an"), _cert("ca-official")
    found = _together(8, lambda: source.lookup(leaf, ca, at=AT))
    assert fresh_responder.requests["/ocsp/ca-official"] == 1
    assert source.fetches == 1
    items = {lookup.items for lookup in found}
    assert len(items) == 1
    ((item,),) = items
    assert isinstance(item, RevocationItem) and item.kind is EvidenceKind.OCSP


def test_concurrent_lookups_of_one_crl_and_one_aia_url_make_one_request_each(fresh_responder):
    fresh_responder.delay_seconds = 0.5
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    ca, root = _cert("ca-official"), _cert("root-official")
    aia = f"{fresh_responder.url}/cert/ca-official.crt"
    crls = _together(6, lambda: source.lookup(ca, root, at=AT))
    issuers = _together(6, lambda: source.fetch_issuers(aia))
    assert fresh_responder.requests["/crl/root-official.crl"] == 1
    assert fresh_responder.requests["/cert/ca-official.crt"] == 1
    assert all(c.items and c.items[0].kind is EvidenceKind.CRL for c in crls)
    assert {i.certificates[0].sha256 for i in issuers} == {ca.sha256}


def test_waiters_share_the_failure_of_the_one_fetch(fresh_responder):
    fresh_responder.delay_seconds = 0.5
    fresh_responder.unavailable.add("/ocsp")
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    leaf, ca = _cert("person-an"), _cert("ca-official")
    found = _together(6, lambda: source.lookup(leaf, ca, at=AT))
    assert fresh_responder.requests["/ocsp/ca-official"] == 1
    failures = {lookup.failures[0] for lookup in found}
    assert len(failures) == 1
    (failure,) = failures
    assert failure.error == "HTTP 503 Service Unavailable" and failure.retry_after is not None


def test_a_waiter_stops_waiting_when_its_own_budget_is_spent(fresh_responder):
    fresh_responder.delay_seconds = 1.0
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    leaf, ca = _cert("person-an"), _cert("ca-official")
    leader = threading.Thread(target=lambda: source.lookup(leaf, ca, at=AT))
    leader.start()
    while fresh_responder.requests["/ocsp/ca-official"] == 0:  # the leader's fetch is running
        time.sleep(0.01)
    with fetch_allowance(Limits(max_network_seconds=0.1)):
        waited = source.lookup(leaf, ca, at=AT)
    leader.join(timeout=30)
    (failure,) = [f for f in waited.failures if f.kind is EvidenceKind.OCSP]
    assert failure.error == "fetch budget exhausted: max_network_seconds = 0.1"
    assert fresh_responder.requests["/ocsp/ca-official"] == 1
    assert source.lookup(leaf, ca, at=AT).items, "the leader's answer is cached for everyone"


# -- the per-message fetch budget ---------------------------------------------------------------


def test_a_message_stops_fetching_at_max_network_fetches(fresh_responder):
    """person-official needs two fetches (the signer's OCSP, the sub-CA's CRL); one is allowed."""
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    recording = RecordingRevocation(source)  # the budget reaches through any wrapper
    verdict = _verify(recording, "person-official.p7m", Limits(max_network_fetches=1))
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("revocation_unreachable",)
    assert _errors(recording) == {"fetch budget exhausted: max_network_fetches = 1"}
    assert sum(fresh_responder.requests.values()) == 1
    # The budget is per message, and running out of it is not held against the responder:
    # the next message fetches what is still missing.
    again = _verify(source, "person-official.p7m", Limits(max_network_fetches=1))
    assert again.verdict is VerdictKind.OFFICIAL, again.reasons
    assert sum(fresh_responder.requests.values()) == 2


def test_a_slow_responder_is_cut_at_max_network_seconds_and_not_blamed(fresh_responder):
    fresh_responder.delay_seconds = 1.0
    source = OnlineRevocation(
        clock=lambda: AT, timeout=5.0, retry_delay=timedelta(hours=1), allow_networks=TEST_PKI
    )
    verdict = _verify(source, "aia-missing-intermediate.p7m", Limits(max_network_seconds=0.2))
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("issuer_unreachable",)
    assert "fetch budget exhausted: max_network_seconds = 0.2" in _details(verdict)
    assert verdict.retry_after is None
    fresh_responder.delay_seconds = 0.0
    # Not cached as the responder's failure for retry_delay: a message with time to spare
    # fetches it.
    assert _verify(source, "aia-missing-intermediate.p7m").verdict is VerdictKind.OFFICIAL


def test_cached_answers_cost_no_budget(fresh_responder):
    source = OnlineRevocation(clock=lambda: AT, allow_networks=TEST_PKI)
    assert _verify(source, "person-official.p7m").verdict is VerdictKind.OFFICIAL
    made = sum(fresh_responder.requests.values())
    verdict = _verify(source, "person-official.p7m", Limits(max_network_fetches=1))
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert sum(fresh_responder.requests.values()) == made


def test_a_nested_allowance_is_the_outer_one_and_none_is_left_after():
    with (
        fetch_allowance(Limits(max_network_fetches=3)) as outer,
        fetch_allowance(Limits(max_network_fetches=9)) as inner,
    ):
        assert inner is outer and current_allowance() is outer
    assert current_allowance() is None


# -- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [["not-a-network"], ["10.0.0.0/33"], "127.0.0.1/32"])
def test_a_bad_allow_list_is_a_config_error(bad):
    from sigmail.errors import ConfigError

    with pytest.raises(ConfigError):
        OnlineRevocation(allow_networks=bad)


def test_the_cli_flag_allows_the_network_and_refuses_a_bad_one(capsys, fresh_responder):
    args = [
        "verify",
        "--json",
        "--policy",
        "basic",
        "--trust",
        str(VECTORS / "pki/certs/root-official.pem"),
        "--at",
        "2026-06-01T00:00:00Z",
        str(VECTORS / "cms/person-official.p7m"),
    ]
    assert main(args) == 4
    assert json.loads(capsys.readouterr().out)["reasons"] == ["revocation_unreachable"]
    assert main([*args, "--fetch-allow", "127.0.0.1/32"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "official"
    assert main([*args, "--fetch-allow", "localhost"]) == 64
    assert "not an IP network" in capsys.readouterr().err


def test_the_factory_makes_the_source_every_front_end_uses(fresh_responder):
    from sigmail.audit.work import Settings, verifier_for
    from sigmail.errors import ConfigError
    from sigmail.policy.model import load_policy
    from sigmail.revocation.factory import revocation_source
    from sigmail.revocation.offline import OfflineRevocation

    online = revocation_source(offline=False, timeout=2.0, fetch_allow=["10.20.0.0/16"])
    assert isinstance(online, OnlineRevocation) and online.timeout == 2.0
    assert online.transport.network.denial("10.20.0.1") is None
    assert isinstance(revocation_source(offline=True), OfflineRevocation)
    with pytest.raises(ConfigError):  # refused offline too, not at the first online run
        revocation_source(offline=True, fetch_allow=["intranet"])
    settings = Settings(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        policy=load_policy("basic"),
        at=AT,
        fetch_allow=tuple(TEST_PKI),
        token="factory-test",
    )
    network = verifier_for(settings).revocation.transport.network
    assert network.denial("127.0.0.1") is None and network.denial("127.0.0.2") is not None
