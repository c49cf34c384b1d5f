"""Table-driven chain validation tests, pinned to fixed times; they assert the ChainProblem."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from chainpki import T0, YEAR, crl_item, issue, make_crl, three_level

from sigmail.errors import UsageError
from sigmail.limits import Budget, Limits
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    RevocationItem,
    RevocationLookup,
)
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainProblem, RevocationRule
from sigmail.trust.store import AnchorClass, TrustStore
from sigmail.verdict.model import RevocationState

DAY = timedelta(days=1)
NO_REVOCATION = ChainParams(leaf_revocation=RevocationRule.NONE, ca_revocation=RevocationRule.NONE)


def run(leaf, *, roots, intermediates=(), items=(), source=None, params=None, at=T0, limits=None):
    budget = Budget(limits or Limits())
    result = validate_chain(
        leaf.cert,
        trust=TrustStore.from_certificates(official=[r.cert for r in roots]),
        at=at,
        intermediates=[i.cert for i in intermediates],
        revocation_items=list(items),
        revocation_source=source,
        params=params or ChainParams(),
        budget=budget,
    )
    return result, budget


# --------------------------------------------------------------------------------------------
# The table: each case builds its PKI lazily (keys are cached per label) and names the
# expected problem (None = validates) and the index of the certificate it is about.


@dataclass
class Case:
    id: str
    build: object  # () -> dict of run() keyword arguments, plus "leaf"
    problem: ChainProblem | None
    index: int | None = None
    at: datetime = T0
    params: ChainParams = field(default_factory=ChainParams)


def _good():
    pki = three_level("good ")
    return {"leaf": pki.leaf, "roots": [pki.root], "intermediates": [pki.ica], "items": pki.crls()}


def _expired_leaf():
    pki = three_level("exp ", not_before=T0 - 2 * YEAR, not_after=T0 - DAY)
    return {"leaf": pki.leaf, "roots": [pki.root], "intermediates": [pki.ica], "items": pki.crls()}


def _future_leaf():
    pki = three_level("future ", not_before=T0 + DAY, not_after=T0 + YEAR)
    return {"leaf": pki.leaf, "roots": [pki.root], "intermediates": [pki.ica], "items": pki.crls()}


def _expired_intermediate():
    root = issue("xi Root", ca=True, not_before=T0 - 10 * YEAR, not_after=T0 + 10 * YEAR)
    ica = issue("xi CA", issuer=root, ca=True, not_before=T0 - 3 * YEAR, not_after=T0 - DAY)
    leaf = issue("xi Signer", issuer=ica)
    return {"leaf": leaf, "roots": [root], "intermediates": [ica]}


def _revoked(when, reason):
    def build():
        pki = three_level(f"rev {reason} {when} ")
        serial = pki.leaf.crypto.serial_number
        items = pki.crls(revoked=((serial, when, reason),), this_update=T0 - DAY)
        return {"leaf": pki.leaf, "roots": [pki.root], "intermediates": [pki.ica], "items": items}

    return build


def _impostor():
    real = issue("Impostor Root", ca=True, key_label="real root")
    fake = issue("Impostor Root", ca=True, key_label="fake root")
    leaf = issue("Impostor Signer", issuer=fake)
    # the impostor root travels with the signature, as an attacker would send it
    return {"leaf": leaf, "roots": [real], "intermediates": [fake]}


def _no_crl():
    pki = three_level("nocrl ")
    return {"leaf": pki.leaf, "roots": [pki.root], "intermediates": [pki.ica]}


def _sha1_intermediate():
    root = issue("G1 Root", ca=True, key_label="g1 root", key_kind="rsa")
    ica = issue(
        "G1 Sub CA", issuer=root, ca=True, key_label="g1 sub", key_kind="rsa", digest="sha1"
    )
    leaf = issue("G1 Signer", issuer=ica)
    return {"leaf": leaf, "roots": [root], "intermediates": [ica]}


def _eku(leaf_eku, ica_eku=None):
    def build():
        root = issue("eku Root", ca=True)
        ica = issue(f"eku CA {ica_eku}", issuer=root, ca=True, eku=ica_eku)
        leaf = issue(f"eku TSA {leaf_eku} {ica_eku}", issuer=ica, eku=leaf_eku)
        return {"leaf": leaf, "roots": [root], "intermediates": [ica]}

    return build


def _leaf_is_anchor():
    root = issue("Anchor Itself", ca=True)
    return {"leaf": root, "roots": [root]}


def _two_intermediates_one_expired():
    root = issue("two Root", ca=True, not_before=T0 - 10 * YEAR, not_after=T0 + 10 * YEAR)
    old = issue(
        "two CA",
        issuer=root,
        ca=True,
        key_label="two CA",
        serial=1,
        not_after=T0 - DAY,
        not_before=T0 - 3 * YEAR,
    )
    new = issue("two CA", issuer=root, ca=True, key_label="two CA", serial=2)
    leaf = issue("two Signer", issuer=new)
    return {"leaf": leaf, "roots": [root], "intermediates": [old, new]}


TSA = ChainParams(
    leaf_revocation=RevocationRule.NONE,
    ca_revocation=RevocationRule.NONE,
    required_leaf_eku=frozenset({"time_stamping"}),
)
SHA1_REFUSED = ChainParams(
    leaf_revocation=RevocationRule.NONE,
    ca_revocation=RevocationRule.NONE,
    refused_hashes=frozenset({"md2", "md5", "sha1"}),
    legacy_hashes=frozenset(),
)
REQUIRED_ALL = ChainParams(
    leaf_revocation=RevocationRule.REQUIRED, ca_revocation=RevocationRule.REQUIRED
)

CASES = [
    Case("good", _good, None, params=REQUIRED_ALL),
    Case("expired-leaf", _expired_leaf, ChainProblem.EXPIRED, 0),
    Case("not-yet-valid-leaf", _future_leaf, ChainProblem.NOT_YET_VALID, 0),
    Case(
        "expired-intermediate", _expired_intermediate, ChainProblem.EXPIRED, 1, params=NO_REVOCATION
    ),
    Case("revoked-before", _revoked(T0 - 10 * DAY, "key_compromise"), ChainProblem.REVOKED, 0),
    Case("revoked-no-reason", _revoked(T0 - 10 * DAY, None), ChainProblem.REVOKED, 0),
    Case("revoked-after", _revoked(T0 + 10 * DAY, "key_compromise"), None),
    Case("on-hold", _revoked(T0 - 10 * DAY, "certificate_hold"), ChainProblem.ON_HOLD, 0),
    Case("impostor-root", _impostor, ChainProblem.UNTRUSTED, params=NO_REVOCATION),
    Case(
        "required-but-no-crl", _no_crl, ChainProblem.REVOCATION_UNAVAILABLE, 1, params=REQUIRED_ALL
    ),
    Case("if-declared-no-crl", _no_crl, ChainProblem.REVOCATION_UNAVAILABLE, 1),
    Case(
        "if-available-no-crl",
        _no_crl,
        None,
        params=ChainParams(
            leaf_revocation=RevocationRule.IF_AVAILABLE, ca_revocation=RevocationRule.IF_AVAILABLE
        ),
    ),
    Case("sha1-intermediate-legacy", _sha1_intermediate, None, params=NO_REVOCATION),
    Case(
        "sha1-intermediate-refused",
        _sha1_intermediate,
        ChainProblem.WEAK_ALGORITHM,
        1,
        params=SHA1_REFUSED,
    ),
    Case("eku-tsa-ok", _eku(("time_stamping",)), None, params=TSA),
    Case("eku-no-extension-ok", _eku(None), None, params=TSA),
    Case("eku-any-ok", _eku(("any_extended_key_usage",)), None, params=TSA),
    Case("eku-wrong", _eku(("email_protection",)), ChainProblem.INVALID, 0, params=TSA),
    Case("eku-empty", _eku(()), ChainProblem.INVALID, 0, params=NO_REVOCATION),
    Case(
        "eku-chained-ca-excludes",
        _eku(("time_stamping",), ("email_protection",)),
        ChainProblem.INVALID,
        1,
        params=TSA,
    ),
    Case("eku-chained-ca-allows", _eku(("time_stamping",), ("time_stamping",)), None, params=TSA),
    # A document signer (the default params): S/MIME, document signing or any purpose, not
    # code signing or client authentication alone (RFC 8550 4.4.4, RFC 9336).
    Case("signer-eku-email", _eku(("client_auth", "email_protection")), None, params=NO_REVOCATION),
    Case("signer-eku-document-signing", _eku(("document_signing",)), None, params=NO_REVOCATION),
    Case("signer-eku-none", _eku(None), None, params=NO_REVOCATION),
    Case("signer-eku-any", _eku(("any_extended_key_usage",)), None, params=NO_REVOCATION),
    Case(
        "signer-eku-code-signing",
        _eku(("code_signing",)),
        ChainProblem.INVALID,
        0,
        params=NO_REVOCATION,
    ),
    Case(
        "signer-eku-client-auth-only",
        _eku(("client_auth",)),
        ChainProblem.INVALID,
        0,
        params=NO_REVOCATION,
    ),
    Case(
        "signer-eku-chained-ca-excludes",
        _eku(("email_protection",), ("time_stamping",)),
        ChainProblem.INVALID,
        1,
        params=NO_REVOCATION,
    ),
    Case("leaf-is-anchor", _leaf_is_anchor, None, params=NO_REVOCATION),
    Case("prefers-valid-intermediate", _two_intermediates_one_expired, None, params=NO_REVOCATION),
    Case("anchor-expired", _good, ChainProblem.EXPIRED, 2, at=T0 + 11 * YEAR, params=NO_REVOCATION),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_chain_table(case: Case):
    kwargs = case.build()
    leaf = kwargs.pop("leaf")
    result, budget = run(leaf, params=case.params, at=case.at, **kwargs)
    if case.problem is None:
        assert result.ok, result.failure
        assert result.path[0] is leaf.cert
        assert len(result.revocation) == len(result.path)
        assert result.anchor is not None and result.anchor.anchor_class is AnchorClass.OFFICIAL
    else:
        assert not result.ok
        assert result.failure.problem is case.problem, result.failure
        if case.index is not None:
            assert result.failure.cert_index == case.index, result.failure
    assert result.at == case.at
    assert budget.signature_checks <= budget.limits.max_chain_signature_checks


# --------------------------------------------------------------------------------------------
# Details of particular outcomes


def test_good_chain_reports_revocation_per_certificate():
    pki = three_level("good ")
    result, _ = run(
        pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=pki.crls(), params=REQUIRED_ALL
    )
    assert result.ok
    assert [c.dump() for c in result.path] == [pki.leaf.der, pki.ica.der, pki.root.der]
    leaf_status, ica_status, anchor_status = result.revocation
    assert anchor_status is None
    for status in (leaf_status, ica_status):
        assert status.state is RevocationState.GOOD
        assert status.source == "crl" and status.origin == "embedded"
        assert status.this_update == T0 - DAY and status.next_update == T0 + 6 * DAY
        assert status.revoked_at is None
    assert result.warnings == ()


def test_revoked_before_at_carries_time_and_reason():
    when = T0 - 10 * DAY
    pki = three_level(f"rev key_compromise {when} ")
    items = pki.crls(revoked=((pki.leaf.crypto.serial_number, when, "key_compromise"),))
    result, _ = run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=items)
    assert result.failure.problem is ChainProblem.REVOKED
    assert result.failure.revoked_at == when
    assert result.failure.revocation_reason == "key_compromise"
    assert result.revocation[0].state is RevocationState.REVOKED


def test_revoked_after_at_is_good_at_at_but_says_when():
    when = T0 + 10 * DAY
    pki = three_level("late ")
    # a CRL issued after the revocation, i.e. after `at`: retroactive evidence
    items = (
        crl_item(make_crl(pki.root)),
        crl_item(
            make_crl(
                pki.ica,
                revoked=((pki.leaf.crypto.serial_number, when, "key_compromise"),),
                this_update=T0 + 20 * DAY,
                next_update=T0 + 27 * DAY,
            )
        ),
    )
    result, _ = run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=items)
    assert result.ok, result.failure
    status = result.revocation[0]
    assert status.state is RevocationState.GOOD
    assert status.revoked_at == when
    assert status.revocation_reason == "key_compromise"


def test_evidence_issued_after_at_is_refused_without_retroactive():
    pki = three_level("late ")
    items = (
        crl_item(make_crl(pki.root)),
        crl_item(make_crl(pki.ica, this_update=T0 + 20 * DAY, next_update=T0 + 27 * DAY)),
    )
    params = ChainParams(retroactive_revocation=False)
    result, _ = run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=items, params=params)
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE


def test_impostor_root_detail_says_so():
    kwargs = _impostor()
    result, _ = run(kwargs.pop("leaf"), params=NO_REVOCATION, **kwargs)
    assert result.failure.problem is ChainProblem.UNTRUSTED
    assert "impostor" in result.failure.detail
    assert "Impostor Root" in result.failure.detail
    assert result.anchor is None


def test_missing_issuer_is_named():
    pki = three_level("orphan ")
    result, _ = run(pki.leaf, roots=[pki.root], params=NO_REVOCATION)
    assert result.failure.problem is ChainProblem.UNTRUSTED
    assert "orphan Issuing CA" in result.failure.detail
    assert result.failure.cert_index == 0


def test_legacy_sha1_intermediate_warns():
    kwargs = _sha1_intermediate()
    result, _ = run(kwargs.pop("leaf"), params=NO_REVOCATION, **kwargs)
    assert result.ok
    assert [code for code, _ in result.warnings] == ["legacy_algorithm"]
    assert "chain[1]" in result.warnings[0][1] and "sha1" in result.warnings[0][1]


def test_leaf_that_is_an_anchor_is_a_one_element_path():
    root = issue("Anchor Itself", ca=True)
    result, budget = run(root, roots=[root], params=NO_REVOCATION)
    assert result.ok and len(result.path) == 1 and result.revocation == (None,)
    assert budget.signature_checks == 0  # an anchor's own signature is never judged


class RecordingSource:
    """A RevocationSource that answers from a table and records what it was asked."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def lookup(self, cert, issuer, *, at):
        self.calls.append((cert.subject.native["common_name"], at))
        return self.answers.get(cert.subject.native["common_name"], RevocationLookup())


def test_unreachable_responder_gives_retry_after():
    pki = three_level("unreach ")
    early, late = T0 + timedelta(minutes=5), T0 + timedelta(hours=1)
    source = RecordingSource(
        {
            "unreach Signer": RevocationLookup(
                failures=(
                    FetchFailure(
                        "http://crl.example.vn/ica.crl", EvidenceKind.CRL, "timeout", late
                    ),
                    FetchFailure("http://ocsp.example.vn", EvidenceKind.OCSP, "503", early),
                )
            ),
            "unreach Issuing CA": RevocationLookup(
                items=(crl_item(make_crl(pki.root), "fetched"),)
            ),
        }
    )
    result, _ = run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], source=source)
    assert result.failure.problem is ChainProblem.REVOCATION_UNREACHABLE
    assert result.failure.retry_after == early
    assert result.failure.cert_index == 0
    assert sorted(source.calls) == [("unreach Issuing CA", T0), ("unreach Signer", T0)]


def test_source_items_are_used_and_asked_once_per_pair():
    pki = three_level("src ")
    source = RecordingSource(
        {
            "src Signer": RevocationLookup(items=(crl_item(make_crl(pki.ica), "fetched"),)),
            "src Issuing CA": RevocationLookup(items=(crl_item(make_crl(pki.root), "cache"),)),
        }
    )
    result, _ = run(
        pki.leaf, roots=[pki.root], intermediates=[pki.ica], source=source, params=REQUIRED_ALL
    )
    assert result.ok, result.failure
    assert [s.origin for s in result.revocation[:2]] == ["fetched", "cache"]
    assert len(source.calls) == 2


def test_budget_exhaustion_is_a_result():
    pki = three_level("budget ")
    limits = Limits(max_chain_signature_checks=1)
    result, budget = run(
        pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=pki.crls(), limits=limits
    )
    assert result.failure.problem is ChainProblem.BUDGET
    assert budget.signature_checks <= 1


def test_too_many_revocation_items_is_budget():
    pki = three_level("many ")
    items = [crl_item(make_crl(pki.ica, number=n)) for n in range(1, 5)]
    result, _ = run(
        pki.leaf,
        roots=[pki.root],
        intermediates=[pki.ica],
        items=items,
        limits=Limits(max_revocation_items=3),
    )
    assert result.failure.problem is ChainProblem.BUDGET


def test_chain_longer_than_limit_is_budget():
    pki = three_level("long ")
    result, _ = run(
        pki.leaf,
        roots=[pki.root],
        intermediates=[pki.ica],
        params=NO_REVOCATION,
        limits=Limits(max_chain_length=2),
    )
    assert result.failure.problem is ChainProblem.BUDGET
    assert "max_chain_length" in result.failure.detail


def test_works_inside_a_running_event_loop():
    pki = three_level("loop ")

    async def in_loop():
        asyncio.get_running_loop()  # as in a Jupyter cell
        return run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=pki.crls())

    result, _ = asyncio.run(in_loop())
    assert result.ok, result.failure


def test_naive_time_is_a_usage_error():
    pki = three_level("naive ")
    with pytest.raises(UsageError):
        run(pki.leaf, roots=[pki.root], at=datetime(2024, 1, 1))


def test_garbage_evidence_is_ignored():
    pki = three_level("junk ")
    items = [
        *pki.crls(),
        RevocationItem(EvidenceKind.CRL, b"\x30\x03junk", "embedded"),
        RevocationItem(EvidenceKind.OCSP, b"not ocsp", "embedded"),
    ]
    result, _ = run(pki.leaf, roots=[pki.root], intermediates=[pki.ica], items=items)
    assert result.ok, result.failure


def test_failure_path_prefers_concrete_over_no_path():
    pki = three_level("rank ", not_before=T0 - 2 * YEAR, not_after=T0 - DAY)
    stranger = issue("rank Issuing CA", ca=True, key_label="someone else")
    result, _ = run(
        pki.leaf, roots=[pki.root], intermediates=[stranger, pki.ica], params=NO_REVOCATION
    )
    assert result.failure.problem is ChainProblem.EXPIRED
    assert len(result.path) == 3


def test_certvalidator_warnings_do_not_reach_stderr_unless_logging_is_configured():
    # pyhanko-certvalidator warns (with a traceback) for each CRL issuer path it rejects;
    # a library call must not print that through Python's last-resort handler.
    import subprocess
    import sys

    code = (
        "import logging, sigmail.trust.certvalidator_adapter\n"
        "log = logging.getLogger('pyhanko_certvalidator.revinfo.validate_crl')\n"
        "log.warning('CRL issuer path', exc_info=ValueError('x'))\n"
        "logging.basicConfig()\n"
        "log.warning('configured: shown')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "CRL issuer path" not in done.stderr and "Traceback" not in done.stderr
    assert "configured: shown" in done.stderr
