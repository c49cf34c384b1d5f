"""pyhanko-certvalidator as sigmail drives it: the RFC 5280 §6 algorithm on one prebuilt
candidate path, with sigmail's algorithm policy and signature budget, the anchor's own
constraints, and certvalidator's errors mapped to :class:`ChainFailure`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import algos, keys, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko_certvalidator.authority import CertTrustAnchor, TrustQualifiers
from pyhanko_certvalidator.context import ValidationContext
from pyhanko_certvalidator.errors import (
    AlgorithmNotSupported,
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.ltv.poe import POEManager
from pyhanko_certvalidator.name_trees import process_general_subtrees
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import (
    AlgorithmUsageConstraint,
    AlgorithmUsagePolicy,
    CertRevTrustPolicy,
    NonRevokedStatusAssertion,
    PKIXValidationParams,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import CertificateRegistry
from pyhanko_certvalidator.revinfo import validate_crl as _validate_crl
from pyhanko_certvalidator.revinfo.archival import (
    process_legacy_crl_input,
    process_legacy_ocsp_input,
)
from pyhanko_certvalidator.revinfo.manager import RevinfoManager
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    SignatureValidationContext,
    SignatureValidator,
)
from pyhanko_certvalidator.validate import async_validate_path

import sigmail.crypto_warnings  # noqa: F401  (its DSA checks warn from cryptography 51 on)
from sigmail._coro import run_coroutine
from sigmail.limits import Budget
from sigmail.revocation.evidence import (
    FetchFailure,
)
from sigmail.trust.certificates import StableCertificateList, stable_certificate
from sigmail.trust.chain_types import (
    ChainFailure,
    ChainParams,
    ChainProblem,
    RevocationRule,
)
from sigmail.trust.path_builder import (
    CandidatePath,
    SignatureChecker,
    SigOutcome,
)
from sigmail.trust.revocation_status import Evidence
from sigmail.trust.signature_algorithms import hash_of
from sigmail.trust.store import TrustStore

# pyhanko-certvalidator logs each CRL issuer path it cannot validate at WARNING, with a
# traceback; sigmail reports the outcome itself. With no handler of the application's, Python's
# last-resort handler printed those tracebacks on stderr, in library calls and notebooks. A
# NullHandler stops only that: logging the application configures still receives them.
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())

# Smallest RSA and DSA keys accepted in a signature on a certificate, CRL or OCSP response.
# 1024 bits keeps legacy government certificates (and the NIST PKITS DSA tests) verifiable;
# the signature *hash* policy is ChainParams.refused_hashes / legacy_hashes.
MIN_RSA_BITS = 1024
MIN_DSA_BITS = 1024

_RULES = {
    RevocationRule.REQUIRED: RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    RevocationRule.IF_DECLARED: RevocationCheckingRule.CHECK_IF_DECLARED,
    RevocationRule.IF_AVAILABLE: RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    RevocationRule.NONE: RevocationCheckingRule.NO_CHECK,
}


# --------------------------------------------------------------------------------------------
# CRL entries looked up through the CRL's serial index

# The walk itself (not this wrapper again if the module is ever imported anew).
_scan_crl_entries = getattr(
    _validate_crl.find_cert_in_list, "__wrapped__", _validate_crl.find_cert_in_list
)


def _find_cert_in_list(cert, cert_issuer_name, certificate_list, crl_authority_name):
    """certvalidator's ``find_cert_in_list``, which walks every entry of the CRL on every
    lookup (~60 ms for 20,000 entries), answered from the CRL's serial index when the serial is
    on no entry: the same ``(None, None)`` the walk returns then. A listed serial, a CRL sigmail
    did not parse (not a StableCertificateList) or one without an index: the walk itself."""
    if isinstance(certificate_list, StableCertificateList) and isinstance(cert, x509.Certificate):
        listed = certificate_list.listed_serials()
        if listed is not None and cert.serial_number not in listed:
            return None, None
    return _scan_crl_entries(cert, cert_issuer_name, certificate_list, crl_authority_name)


_find_cert_in_list.__wrapped__ = _scan_crl_entries  # type: ignore[attr-defined]
# certvalidator calls it by its module-level name (revinfo/validate_crl.py, pyhanko-certvalidator
# 0.29-0.33); tests/test_chain_revocation.py checks that this is still the function it calls.
_validate_crl.find_cert_in_list = _find_cert_in_list


# --------------------------------------------------------------------------------------------
# Algorithm policy and signature verification seen by certvalidator


class _AlgorithmPolicy(AlgorithmUsagePolicy):
    """Refuses ``params.refused_hashes`` and keys below MIN_RSA_BITS / MIN_DSA_BITS."""

    def __init__(self, refused: frozenset[str]) -> None:
        self._refused = refused

    def digest_algorithm_allowed(self, algo, moment):
        return AlgorithmUsageConstraint(algo["algorithm"].native not in self._refused)

    def signature_algorithm_allowed(self, algo, moment, public_key):
        digest = hash_of(algo)
        if digest is not None and digest in self._refused:
            return AlgorithmUsageConstraint(
                allowed=False, failure_reason=f"digest algorithm {digest} is refused"
            )
        if public_key is not None:
            try:
                kind, bits = public_key.algorithm, public_key.bit_size
            # asn1crypto's bit_size raises UnboundLocalError for Edwards-curve and unknown keys.
            except (ValueError, KeyError, TypeError, UnboundLocalError):
                kind, bits = None, 0
            minimum = {"rsa": MIN_RSA_BITS, "rsassa_pss": MIN_RSA_BITS, "dsa": MIN_DSA_BITS}
            if kind in minimum and bits < minimum[kind]:
                return AlgorithmUsageConstraint(
                    allowed=False,
                    failure_reason=f"{kind.upper()} key of {bits} bits is below "
                    f"the minimum of {minimum[kind]}",
                )
        return AlgorithmUsageConstraint(allowed=True)


class _BudgetedSignatureValidator(SignatureValidator):
    """certvalidator's signature checks, through the call's budgeted, cached checker.

    Hashes in ``refused`` are refused here as well, so a CRL or OCSP response signed with one
    is ignored (certvalidator's algorithm policy only covers certificate signatures).
    """

    def __init__(self, checker: SignatureChecker, refused: frozenset[str]) -> None:
        self._checker = checker
        self._refused = refused

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        if context != DEFAULT_VALIDATION_CONTEXT:
            raise InvalidSignature("signature context not supported by sigmail")
        digest = hash_of(signature_algorithm)
        if digest is not None and digest in self._refused:
            raise InvalidSignature(f"digest algorithm {digest} is refused")
        result = self._checker.check(signature, signed_data, public_key_info, signature_algorithm)
        if result.outcome is not SigOutcome.VERIFIED:
            try:
                result.reraise()
            except UnsupportedAlgorithm as exc:
                # certvalidator understands only InvalidSignature and its subclasses.
                raise AlgorithmNotSupported(str(exc)) from exc


# --------------------------------------------------------------------------------------------
# One candidate path through certvalidator


def _anchor_qualifiers(cert: x509.Certificate) -> TrustQualifiers:
    """Constraints the anchor certificate itself carries: name constraints, path length and
    validity. Unlike certvalidator's ``derive_default_quals_from_cert`` the anchor's
    certificatePolicies are *not* turned into an initial policy set with explicit policy
    required (RFC 5280 does not ask for that, and it breaks PKITS)."""
    permitted = excluded = None
    nc = cert.name_constraints_value
    if nc is not None:
        if isinstance(nc["permitted_subtrees"], x509.GeneralSubtrees):
            permitted = process_general_subtrees(nc["permitted_subtrees"])
        if isinstance(nc["excluded_subtrees"], x509.GeneralSubtrees):
            excluded = process_general_subtrees(nc["excluded_subtrees"])
    params = None
    if permitted is not None or excluded is not None:
        params = PKIXValidationParams(
            initial_permitted_subtrees=permitted, initial_excluded_subtrees=excluded
        )
    max_len = cert.max_path_length
    return TrustQualifiers(
        standard_parameters=params,
        max_path_length=max_len,
        max_aa_path_length=max_len,  # certvalidator needs both or neither
        valid_from=cert.not_valid_before,
        valid_until=cert.not_valid_after,
    )


_DESCRIBED = re.compile(r"\b(end-entity certificate|intermediate certificate (\d+)|trust anchor)")


def _cert_index(message: str, n_certs: int) -> int | None:
    """Map certvalidator's "intermediate certificate k" (k counted from the anchor) to our index
    (0 = leaf); ``n_certs`` excludes the anchor."""
    m = _DESCRIBED.search(message)
    if m is None:
        return None
    if m.group(1) == "end-entity certificate":
        return 0
    if m.group(1) == "trust anchor":
        return n_certs
    return n_certs - int(m.group(2))


def _pkix_params(params: ChainParams) -> PKIXValidationParams:
    policies = (
        frozenset(["any_policy"])
        if params.initial_policy_set is None
        else frozenset(params.initial_policy_set)
    )
    return PKIXValidationParams(
        user_initial_policy_set=policies,
        initial_explicit_policy=params.initial_explicit_policy,
        initial_policy_mapping_inhibit=params.initial_policy_mapping_inhibit,
        initial_any_policy_inhibit=params.initial_any_policy_inhibit,
    )


def map_error(exc: ValidationError, n_certs: int, failures: list[FetchFailure]) -> ChainFailure:
    msg = str(exc)
    index = _cert_index(msg, n_certs)
    if isinstance(exc, RevokedError):
        reason = exc.reason.native if exc.reason is not None else None
        return ChainFailure(
            ChainProblem.ON_HOLD if reason == "certificate_hold" else ChainProblem.REVOKED,
            msg,
            index,
            revoked_at=exc.revocation_dt,
            revocation_reason=reason or "unspecified",
        )
    if isinstance(exc, ExpiredError):
        return ChainFailure(ChainProblem.EXPIRED, msg, index)
    if isinstance(exc, NotYetValidError):
        return ChainFailure(ChainProblem.NOT_YET_VALID, msg, index)
    if isinstance(exc, DisallowedAlgorithmError):
        return ChainFailure(ChainProblem.WEAK_ALGORITHM, msg, index)
    if isinstance(exc, InsufficientRevinfoError):
        if failures:
            retry = [f.retry_after for f in failures if f.retry_after is not None]
            urls = ", ".join(sorted({f.url for f in failures}))
            return ChainFailure(
                ChainProblem.REVOCATION_UNREACHABLE,
                f"{msg} (responders failed: {urls})",
                index,
                retry_after=min(retry) if retry else None,
            )
        return ChainFailure(ChainProblem.REVOCATION_UNAVAILABLE, msg, index)
    return ChainFailure(ChainProblem.INVALID, msg, index)


@dataclass(slots=True)
class ValidationCall:
    """Everything one validate_chain call shares across its candidate paths."""

    trust: TrustStore
    at: datetime
    params: ChainParams
    budget: Budget
    checker: SignatureChecker
    evidence: Evidence
    other_certs: list[x509.Certificate]


def run_certvalidator(
    call: ValidationCall, cand: CandidatePath, good_later: list[x509.Certificate]
) -> None:
    """RFC 5280 §6 validation of ``cand``; raises certvalidator's errors.

    ``good_later`` are certificates that verified OCSP evidence shows revoked only after
    ``at``: certvalidator rejects such a response as proof for ``at`` (it does accept the
    equivalent CRL), so their status at ``at`` is asserted to it instead.
    """
    params = call.params
    anchor_cert = stable_certificate(cand.anchor.certificate)
    trust_anchor = CertTrustAnchor(anchor_cert, quals=_anchor_qualifiers(anchor_cert))
    policy = RevocationCheckingPolicy(_RULES[params.leaf_revocation], _RULES[params.ca_revocation])
    crls = [p.obj for p, _ in call.evidence.crls]
    ocsps = [p.obj for p, _ in call.evidence.ocsps]
    other_certs = [*call.other_certs, *cand.certs]
    handlers: dict[str, Any] = {}
    if good_later:
        registry = CertificateRegistry.build(other_certs)
        handlers = {
            "certificate_registry": registry,
            "revinfo_manager": RevinfoManager(
                certificate_registry=registry,
                poe_manager=POEManager(),
                crls=process_legacy_crl_input(crls),
                ocsps=process_legacy_ocsp_input(ocsps),
                assertions=[NonRevokedStatusAssertion(c.sha256, call.at) for c in good_later],
            ),
        }
    context = ValidationContext(
        trust_roots=[trust_anchor],
        other_certs=other_certs,
        moment=call.at,
        time_tolerance=timedelta(0),
        allow_fetching=False,
        crls=crls,
        ocsps=ocsps,
        revinfo_policy=CertRevTrustPolicy(
            policy, retroactive_revinfo=params.retroactive_revocation
        ),
        algorithm_usage_policy=_AlgorithmPolicy(params.refused_hashes),
        signature_validator=_BudgetedSignatureValidator(call.checker, params.refused_hashes),
        **handlers,
    )
    if cand.certs:
        leaf, *rest = cand.certs
        vpath = ValidationPath(trust_anchor, interm=list(reversed(rest)), leaf=leaf)
    else:
        vpath = ValidationPath(trust_anchor, interm=[], leaf=None)
    run_coroutine(async_validate_path(context, vpath, parameters=_pkix_params(params)))
