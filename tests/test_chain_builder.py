"""Path building, budgets, the coroutine driver and byte-stable certificates."""

from __future__ import annotations

import functools
import types
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from chainpki import T0, issue, three_level
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmail._coro import run_coroutine
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.trust.certificates import stable_certificate
from sigmail.trust.chain import validate_chain
from sigmail.trust.chain_types import ChainParams, ChainProblem, RevocationRule
from sigmail.trust.path_builder import PathBuilder, SignatureChecker, SigOutcome
from sigmail.trust.store import TrustStore

NO_REVOCATION = ChainParams(leaf_revocation=RevocationRule.NONE, ca_revocation=RevocationRule.NONE)
PKITS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "pkits"


# --------------------------------------------------------------------------------------------
# run_coroutine


async def _answer():
    return 42


async def _fails():
    raise ValueError("boom")


@types.coroutine
def _suspend():
    yield "waiting for I/O"


async def _waits():
    await _suspend()
    return "never"


def test_run_coroutine_returns_the_value():
    assert run_coroutine(_answer()) == 42


def test_run_coroutine_propagates_exceptions():
    with pytest.raises(ValueError, match="boom"):
        run_coroutine(_fails())


def test_run_coroutine_refuses_a_coroutine_that_suspends():
    coro = _waits()
    with pytest.raises(RuntimeError, match="suspended"):
        run_coroutine(coro)
    assert coro.cr_frame is None  # closed, not left dangling


# --------------------------------------------------------------------------------------------
# PathBuilder


def _builder(trust, intermediates, limits=None):
    budget = Budget(limits or Limits())
    checker = SignatureChecker(budget)
    return (
        PathBuilder(
            trust=trust, intermediates=intermediates, at=T0, checker=checker, limits=budget.limits
        ),
        budget,
    )


def test_builder_prefers_the_key_identifier_match():
    root = issue("pref Root", ca=True)
    right = issue("pref CA", issuer=root, ca=True, key_label="pref CA right")
    wrong = issue("pref CA", issuer=root, ca=True, key_label="pref CA wrong")
    leaf = issue("pref Signer", issuer=right)
    trust = TrustStore.from_certificates(official=[root.cert])
    builder, budget = _builder(trust, [wrong.cert, right.cert])
    first = next(builder.paths(leaf.cert))
    assert first.certs[1].dump() == right.cert.dump()
    assert budget.signature_checks == 2  # the wrong candidate was never tried


def test_builder_counts_candidates():
    root = issue("cnt Root", ca=True)
    ica = issue("cnt CA", issuer=root, ca=True)
    leaf = issue("cnt Signer", issuer=ica)
    trust = TrustStore.from_certificates(official=[root.cert])
    builder, _ = _builder(trust, [ica.cert], Limits(max_path_candidates=1))
    with pytest.raises(LimitExceeded):
        list(builder.paths(leaf.cert))


def test_signature_checks_are_charged_once_per_call_even_when_cached():
    root = issue("charge Root", ca=True)
    leaf = issue("charge Signer", issuer=root)
    for _ in range(2):  # the second call hits the process-wide cache
        budget = Budget(Limits())
        checker = SignatureChecker(budget)
        assert checker.check_certificate(leaf.cert, root.cert.public_key).outcome is (
            SigOutcome.VERIFIED
        )
        checker.check_certificate(leaf.cert, root.cert.public_key)
        assert budget.signature_checks == 1


def test_same_subject_chain_ends_in_budget_not_a_hang():
    root = issue("loop Root", ca=True)
    cas = [issue("loop CA", issuer=root, ca=True, key_label=f"loop CA {i}") for i in range(30)]
    # every CA also cross-certifies every other: same subject, distinct keys
    crosses = [
        issue("loop CA", issuer=a, ca=True, key_label=f"loop CA {j}", serial=1000 + 31 * i + j)
        for i, a in enumerate(cas)
        for j in range(30)
        if i != j
    ][:200]
    leaf = issue("loop Signer", issuer=issue("loop CA", ca=True, key_label="loop CA orphan"))
    limits = Limits()
    budget = Budget(limits)
    result = validate_chain(
        leaf.cert,
        trust=TrustStore.from_certificates(official=[root.cert]),
        at=T0,
        intermediates=[c.cert for c in cas + crosses],
        params=NO_REVOCATION,
        budget=budget,
    )
    assert result.failure.problem in (ChainProblem.BUDGET, ChainProblem.UNTRUSTED)
    assert budget.signature_checks <= limits.max_chain_signature_checks


# --------------------------------------------------------------------------------------------
# Byte-stable certificates (asn1crypto re-encodes values whose length ends in 0x80)


@pytest.mark.skipif(not PKITS.is_dir(), reason=f"PKITS corpus not at {PKITS}")
def test_stable_certificate_keeps_the_signed_bytes():
    raw = (PKITS / "certs" / "UIDCACert.crt").read_bytes()
    assert raw[:4] == b"\x30\x82\x03\x80"  # the length asn1crypto mistakes for indefinite
    plain = asn1_x509.Certificate.load(raw)
    assert plain.dump() != raw  # asn1crypto re-encodes, and the signature would break
    stable = stable_certificate(asn1_x509.Certificate.load(raw))
    assert stable.dump() == raw
    assert stable["tbs_certificate"].dump() == raw[4 : 4 + len(stable["tbs_certificate"].dump())]
    assert stable.sha256 == stable_certificate(asn1_x509.Certificate.load(raw)).sha256


# --------------------------------------------------------------------------------------------
# Properties: a tampered valid input never passes, and nothing raises


@functools.cache
def _pki():
    return three_level("prop ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_tampered_leaf_never_validates_and_never_raises(position, value):
    pki = _pki()
    der = bytearray(pki.leaf.der)
    position %= len(der)
    if der[position] == value:
        return
    der[position] = value
    try:
        leaf = asn1_x509.Certificate.load(bytes(der))
    except (ValueError, TypeError, KeyError):
        return  # not even a certificate; the CMS layer reports that
    result = validate_chain(
        leaf,
        trust=TrustStore.from_certificates(official=[pki.root.cert]),
        at=T0,
        intermediates=[pki.ica.cert],
        params=NO_REVOCATION,
        budget=Budget(Limits()),
    )
    assert not result.ok, f"byte {position} -> {value:#04x} still validates"


def test_a_cached_signature_failure_keeps_no_traceback():
    """The process-wide signature cache keeps failures: without its traceback (which would
    keep every frame of the failed check, certificates and all, alive for as long as the
    entry), and reraise() still raises the same error."""
    from cryptography.exceptions import InvalidSignature

    from sigmail.trust.path_builder import _SigResult

    try:
        raise InvalidSignature("bad") from ValueError("cause")
    except InvalidSignature as exc:
        result = _SigResult(SigOutcome.FAILED, exc)
    assert result.error.__traceback__ is None
    assert result.error.__cause__ is None and result.error.__context__ is None
    with pytest.raises(InvalidSignature, match="bad"):
        result.reraise()
