"""Revocation status at ``at`` from OCSP responses and CRLs (point-in-time semantics)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from chainpki import T0, YEAR, crl_item, issue, make_crl, make_ocsp, ocsp_item

from sigmail.limits import Budget, Limits
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainProblem, RevocationRule
from sigmail.trust.store import TrustStore
from sigmail.verdict.model import RevocationState

DAY = timedelta(days=1)
LEAF_ONLY = ChainParams(leaf_revocation=RevocationRule.REQUIRED, ca_revocation=RevocationRule.NONE)


def _pki(prefix: str):
    root = issue(f"{prefix} Root", ca=True, not_before=T0 - 10 * YEAR, not_after=T0 + 10 * YEAR)
    leaf = issue(f"{prefix} Signer", issuer=root, ocsp_url="http://ocsp.example.vn")
    return root, leaf


def _validate(leaf, root, items, params=LEAF_ONLY, at=T0):
    return validate_chain(
        leaf.cert,
        trust=TrustStore.from_certificates(official=[root.cert]),
        at=at,
        revocation_items=items,
        params=params,
        budget=Budget(Limits()),
    )


@pytest.mark.parametrize(
    ("status", "revoked_at", "reason", "problem", "state"),
    [
        ("good", None, None, None, RevocationState.GOOD),
        ("revoked", T0 - DAY, "key_compromise", ChainProblem.REVOKED, RevocationState.REVOKED),
        ("revoked", T0 - DAY, "certificate_hold", ChainProblem.ON_HOLD, RevocationState.ON_HOLD),
        ("revoked", T0 + DAY, "key_compromise", None, RevocationState.GOOD),
        ("unknown", None, None, ChainProblem.REVOCATION_UNAVAILABLE, None),
    ],
    ids=["good", "revoked", "hold", "revoked-after", "unknown"],
)
def test_ocsp_status_at_at(status, revoked_at, reason, problem, state):
    root, leaf = _pki(f"ocsp {status} {reason} {revoked_at}")
    this_update = T0 + 2 * DAY if revoked_at and revoked_at > T0 else T0 - timedelta(hours=1)
    response = make_ocsp(
        leaf,
        root,
        status=status,
        revoked_at=revoked_at,
        reason=reason,
        this_update=this_update,
        next_update=this_update + DAY,
    )
    result = _validate(leaf, root, [ocsp_item(response)])
    if problem is None:
        assert result.ok, result.failure
    else:
        assert result.failure.problem is problem, result.failure
        assert result.failure.cert_index == 0
    if state is not None:
        leaf_status = result.revocation[0]
        assert leaf_status.state is state
        assert leaf_status.source == "ocsp"
        assert leaf_status.revoked_at == revoked_at
        assert leaf_status.revocation_reason == reason
    if problem in (ChainProblem.REVOKED, ChainProblem.ON_HOLD):
        assert result.failure.revoked_at == revoked_at
        assert result.failure.revocation_reason == reason


def test_delegated_ocsp_responder():
    root, leaf = _pki("delegated")
    responder = issue("delegated OCSP", issuer=root, eku=("ocsp_signing",), ocsp_nocheck=True)
    response = make_ocsp(leaf, root, responder=responder)
    result = _validate(leaf, root, [ocsp_item(response)])
    assert result.ok, result.failure
    assert result.revocation[0].state is RevocationState.GOOD


def test_ocsp_signed_by_a_stranger_is_not_evidence():
    root, leaf = _pki("stranger")
    stranger = issue("stranger OCSP", ca=True)  # not issued by the root
    response = make_ocsp(leaf, root, responder=stranger)
    result = _validate(leaf, root, [ocsp_item(response)])
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE
    assert result.revocation[0].state is RevocationState.UNKNOWN


def test_crl_of_another_key_with_the_same_name_is_not_evidence():
    root, leaf = _pki("forged crl")
    forger = issue("forged crl Root", ca=True, key_label="forger")
    forged = make_crl(forger, revoked=((leaf.crypto.serial_number, T0 - DAY, "key_compromise"),))
    result = _validate(leaf, root, [crl_item(forged)])
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE
    assert result.revocation[0].state is RevocationState.UNKNOWN


def test_if_available_uses_a_crl_the_certificate_does_not_declare():
    # the leaf names no CRL distribution point; the CRL at hand still counts
    root = issue("undeclared Root", ca=True)
    leaf = issue("undeclared Signer", issuer=root)
    crl = make_crl(root, revoked=((leaf.crypto.serial_number, T0 - DAY, "superseded"),))
    params = ChainParams(
        leaf_revocation=RevocationRule.IF_AVAILABLE, ca_revocation=RevocationRule.NONE
    )
    result = _validate(leaf, root, [crl_item(crl)], params=params)
    assert result.failure.problem is ChainProblem.REVOKED
    assert result.failure.revocation_reason == "superseded"


def test_none_rule_reports_not_checked():
    root, leaf = _pki("none")
    params = ChainParams(leaf_revocation=RevocationRule.NONE, ca_revocation=RevocationRule.NONE)
    result = _validate(leaf, root, [], params=params)
    assert result.ok
    assert result.revocation[0].state is RevocationState.NOT_CHECKED


def test_stale_crl_is_unavailable():
    root, leaf = _pki("stale")
    crl = make_crl(root, this_update=T0 - 30 * DAY, next_update=T0 - 20 * DAY)
    result = _validate(leaf, root, [crl_item(crl)])
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE


def test_later_crl_releases_a_hold():
    root, leaf = _pki("released")
    serial = leaf.crypto.serial_number
    on_hold = make_crl(
        root,
        revoked=((serial, T0 - 5 * DAY, "certificate_hold"),),
        this_update=T0 - 4 * DAY,
        number=1,
    )
    released = make_crl(root, this_update=T0 + 2 * DAY, next_update=T0 + 9 * DAY, number=2)
    params = ChainParams(
        leaf_revocation=RevocationRule.IF_AVAILABLE, ca_revocation=RevocationRule.NONE
    )
    # at a time only the first CRL covers, the certificate is on hold
    held = _validate(leaf, root, [crl_item(on_hold)], params=params)
    assert held.failure.problem is ChainProblem.ON_HOLD
    # with the later CRL at hand (retroactive evidence), the freshest answer wins
    later = _validate(
        leaf, root, [crl_item(on_hold), crl_item(released)], params=params, at=T0 + 3 * DAY
    )
    assert later.ok, later.failure
    assert later.revocation[0].state is RevocationState.GOOD


def test_a_crl_asn1crypto_cannot_read_is_ignored_not_an_internal_error():
    """A CRL of the test PKI with four bytes changed (found by mutation): asn1crypto raises
    AttributeError reading it, which the parser once let escape validate_chain."""
    from pathlib import Path

    damaged = (Path(__file__).parent / "data/trust/crl-mutated-attributeerror.der").read_bytes()
    root, leaf = _pki("damaged crl")
    result = _validate(leaf, root, [crl_item(damaged)])
    assert result.failure is not None
    assert result.failure.problem is ChainProblem.REVOCATION_UNAVAILABLE


# --- large CRLs: looked up through the serial index (trust/certificates.listed_serials) --------


def _big_crl(root, *extra, count=2_000):
    """A CRL over INDEXED_CRL_BYTES: ``count`` other serials, then ``extra`` entries."""
    others = tuple((10**12 + i, T0 - 30 * DAY, None) for i in range(count))
    return make_crl(root, revoked=(*others, *extra))


def test_the_crl_lookup_certvalidator_calls_is_the_indexed_one():
    """certvalidator looks CRL entries up by the module-level name find_cert_in_list; if a new
    version renames it, the index is silently bypassed (slow, not wrong): this says so."""
    from pyhanko_certvalidator.revinfo import validate_crl

    from sigmail.trust import certvalidator_adapter

    assert validate_crl.find_cert_in_list is certvalidator_adapter._find_cert_in_list
    assert "find_cert_in_list(" in Path(validate_crl.__file__).read_text()


@pytest.mark.parametrize(
    ("listed", "problem", "state"),
    [
        (None, None, RevocationState.GOOD),
        ("key_compromise", ChainProblem.REVOKED, RevocationState.REVOKED),
        ("certificate_hold", ChainProblem.ON_HOLD, RevocationState.ON_HOLD),
    ],
    ids=["not-listed", "revoked", "hold"],
)
def test_large_crl_judged_as_a_small_one(listed, problem, state):
    from sigmail.trust.certificates import INDEXED_CRL_BYTES, stable_crl

    root, leaf = _pki(f"big crl {listed}")
    extra = [] if listed is None else [(leaf.crypto.serial_number, T0 - DAY, listed)]
    big = _big_crl(root, *extra)
    small = make_crl(root, revoked=tuple(extra))
    assert len(big) >= INDEXED_CRL_BYTES > len(small)
    assert stable_crl(big).listed_serials() is not None
    assert stable_crl(small).listed_serials() is None
    results = [_validate(leaf, root, [crl_item(crl)]) for crl in (big, small)]
    for result in results:
        assert (result.failure.problem if result.failure else None) is problem
        if state is RevocationState.GOOD:
            assert result.revocation[0].state is state


def test_crl_index_lists_exactly_the_entries():
    from sigmail.trust.certificates import stable_crl

    root, _leaf = _pki("index content")
    serials = {1, 127, 128, 255, 256, 2**63, 2**159 - 1} | {10**12 + i for i in range(1_500)}
    crl = stable_crl(make_crl(root, revoked=tuple((s, T0 - DAY, None) for s in sorted(serials))))
    walked = {r["user_certificate"].native for r in crl["tbs_cert_list"]["revoked_certificates"]}
    assert crl.listed_serials() == walked == serials
