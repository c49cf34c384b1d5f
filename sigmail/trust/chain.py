"""Certificate chain validation: does this leaf chain to a trusted anchor at time ``at``?

How it works (details in ``docs/chain-validation.md``):

1. :class:`~sigmail.trust.path_builder.PathBuilder` builds candidate paths leaf → anchor from the
   supplied and configured intermediates, under the budgets of :class:`~sigmail.limits.Limits`.
2. Each candidate, most preferred first, goes through pyhanko-certvalidator's RFC 5280 §6
   algorithm (``async_validate_path`` on a prebuilt path, driven without an event loop by
   :func:`sigmail._coro.run_coroutine`), with the revocation evidence at hand: the embedded
   CRLs/OCSP responses plus whatever the optional :class:`RevocationSource` returns for each
   (certificate, issuer) pair of the path. Nothing is fetched here.
3. The first path that validates wins. Otherwise the most useful failure is returned: the one
   whose path got furthest (certvalidator walks from the anchor down, so a failure at the leaf
   means everything above it was fine), then by the kind of problem; a path that reached an
   anchor always beats "no path".
4. For every non-anchor certificate of the chosen path, the revocation status *at* ``at`` is
   worked out from the evidence whose signature was verified, including a revocation dated
   after ``at`` (state stays ``good``; ``revoked_at`` tells the caller).

The function is pure: no network, no clock (apart from the budget's monotonic deadline), no
global state other than bounded caches of pure functions keyed by DER bytes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from asn1crypto import algos, crl, keys, ocsp, x509
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
from pyhanko_certvalidator.validate import SUPPORTED_EXTENSIONS, async_validate_path

from sigmail._coro import run_coroutine
from sigmail.errors import UsageError
from sigmail.limits import Budget, LimitExceeded
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    IssuerSource,
    RevocationItem,
    RevocationLookup,
    RevocationSource,
)
from sigmail.revocation.sources import ca_issuer_urls
from sigmail.trust.certificates import name_to_text, stable_certificate, stable_crl
from sigmail.trust.chain_types import (
    ChainFailure,
    ChainParams,
    ChainProblem,
    ChainResult,
    RevocationRule,
)
from sigmail.trust.path_builder import (
    CandidatePath,
    DeadEnd,
    DeadEndKind,
    PathBuilder,
    SignatureChecker,
    SigOutcome,
)
from sigmail.trust.store import TrustStore
from sigmail.verdict.model import RevocationState, RevocationStatus

__all__ = ["validate_chain"]

# AIA caIssuers: at most this many rounds of fetching missing issuers, and URLs per call.
_MAX_AIA_ROUNDS = 3
_MAX_AIA_FETCHES = 8

# Smallest RSA and DSA keys accepted in a signature on a certificate, CRL or OCSP response.
# 1024 bits keeps legacy government certificates (and the NIST PKITS DSA tests) verifiable;
# the signature *hash* policy is ChainParams.refused_hashes / legacy_hashes.
MIN_RSA_BITS = 1024
MIN_DSA_BITS = 1024

# Name-constraint work allowed on one path: (names in a certificate) x (subtrees above it),
# summed. certvalidator compares every name with every subtree (a 2048 x 4096 case takes 13 s),
# so paths above this are refused before it runs, as rustls-webpki does with the same figure.
MAX_NAME_CONSTRAINT_CHECKS = 250_000

# Evidence without nextUpdate is usable this long after thisUpdate (certvalidator's default
# rule, applied the same way when sigmail reports the status).
_NO_NEXT_UPDATE_VALIDITY = timedelta(minutes=30)

_RULES = {
    RevocationRule.REQUIRED: RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    RevocationRule.IF_DECLARED: RevocationCheckingRule.CHECK_IF_DECLARED,
    RevocationRule.IF_AVAILABLE: RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
    RevocationRule.NONE: RevocationCheckingRule.NO_CHECK,
}

# Tie-break between failures of different paths that got equally far (lower is better).
_PROBLEM_RANK = {
    p: i
    for i, p in enumerate(
        (
            ChainProblem.REVOKED,
            ChainProblem.ON_HOLD,
            ChainProblem.EXPIRED,
            ChainProblem.NOT_YET_VALID,
            ChainProblem.WEAK_ALGORITHM,
            ChainProblem.REVOCATION_UNREACHABLE,
            ChainProblem.REVOCATION_UNAVAILABLE,
            ChainProblem.INVALID,
            ChainProblem.UNSUPPORTED,
            ChainProblem.UNTRUSTED,
            ChainProblem.BUDGET,
        )
    )
}


# --------------------------------------------------------------------------------------------
# Algorithm policy and signature verification seen by certvalidator


def _hash_of(algorithm: algos.SignedDigestAlgorithm) -> str | None:
    try:
        return algorithm.hash_algo
    except (ValueError, KeyError):  # EdDSA, ML-DSA: the hash is part of the mechanism
        return None


def _mechanism(algorithm: algos.SignedDigestAlgorithm) -> str:
    try:
        return algorithm["algorithm"].native
    except (ValueError, KeyError):
        return "unknown"


class _AlgorithmPolicy(AlgorithmUsagePolicy):
    """Refuses ``params.refused_hashes`` and keys below MIN_RSA_BITS / MIN_DSA_BITS."""

    def __init__(self, refused: frozenset[str]) -> None:
        self._refused = refused

    def digest_algorithm_allowed(self, algo, moment):
        return AlgorithmUsageConstraint(algo["algorithm"].native not in self._refused)

    def signature_algorithm_allowed(self, algo, moment, public_key):
        digest = _hash_of(algo)
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
        digest = _hash_of(signature_algorithm)
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
# Revocation evidence: parsed once per DER (bounded cache), judged per certificate


@dataclass(slots=True)
class _ParsedCRL:
    obj: crl.CertificateList
    issuer: object  # Name.hashable
    this_update: datetime | None
    next_update: datetime | None
    is_delta: bool
    _entries: dict[int, tuple[datetime, str | None]] | None = None

    def entry(self, serial: int) -> tuple[datetime, str | None] | None:
        """(revocation date, reason) of ``serial`` on this CRL, if listed."""
        if self._entries is None:
            entries: dict[int, tuple[datetime, str | None]] = {}
            for revoked in self.obj["tbs_cert_list"]["revoked_certificates"]:
                reason = revoked.crl_reason_value
                entries[revoked["user_certificate"].native] = (
                    revoked["revocation_date"].native,
                    reason.native if reason is not None else None,
                )
            self._entries = entries
        return self._entries.get(serial)


@dataclass(slots=True)
class _ParsedOCSP:
    obj: ocsp.OCSPResponse
    basic: ocsp.BasicOCSPResponse | None


_PARSE_CACHE_BYTES = 64 * 1024 * 1024
_parse_cache: OrderedDict[tuple[str, bytes], _ParsedCRL | _ParsedOCSP | None] = OrderedDict()
_parse_cache_size = 0
_parse_lock = threading.Lock()


def _parse_crl(der: bytes) -> _ParsedCRL | None:
    try:
        obj = stable_crl(der)
        tbs = obj["tbs_cert_list"]
        return _ParsedCRL(
            obj=obj,
            issuer=obj.issuer.hashable,
            this_update=tbs["this_update"].native,
            next_update=tbs["next_update"].native,
            is_delta=obj.delta_crl_indicator_value is not None,
        )
    except (ValueError, TypeError, KeyError):
        return None


def _parse_ocsp(der: bytes) -> _ParsedOCSP | None:
    try:
        obj = ocsp.OCSPResponse.load(der)
        basic = None
        if obj["response_status"].native == "successful":
            rb = obj["response_bytes"]
            if rb["response_type"].native == "basic_ocsp_response":
                basic = rb["response"].parsed
                basic["tbs_response_data"]["responses"].native  # noqa: B018 - parse now
        return _ParsedOCSP(obj, basic)
    except (ValueError, TypeError, KeyError):
        return None


def _parsed(kind: str, der: bytes):
    global _parse_cache_size
    key = (kind, der)
    with _parse_lock:
        if key in _parse_cache:
            _parse_cache.move_to_end(key)
            return _parse_cache[key]
    value = _parse_crl(der) if kind == EvidenceKind.CRL else _parse_ocsp(der)
    with _parse_lock:
        if key not in _parse_cache:
            _parse_cache[key] = value
            _parse_cache_size += len(der)
            while _parse_cache_size > _PARSE_CACHE_BYTES and len(_parse_cache) > 1:
                (_k, old_der), _v = _parse_cache.popitem(last=False)
                _parse_cache_size -= len(old_der)
    return value


@dataclass(slots=True)
class _Evidence:
    """The revocation items of one call, parsed; lookups memoised per (cert, issuer)."""

    budget: Budget
    source: RevocationSource | None
    at: datetime
    refused: frozenset[str] = frozenset()  # hashes whose signatures are not evidence
    items: list[RevocationItem] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)
    crls: list[tuple[_ParsedCRL, RevocationItem]] = field(default_factory=list)
    ocsps: list[tuple[_ParsedOCSP, RevocationItem]] = field(default_factory=list)
    lookups: dict[tuple[bytes, bytes], RevocationLookup] = field(default_factory=dict)

    def add(self, item: RevocationItem) -> None:
        if item.der in self.seen:
            return
        self.seen.add(item.der)
        self.items.append(item)
        self.budget.check_size("max_revocation_items", len(self.items))
        if item.kind == EvidenceKind.CRL:
            self.budget.check_size("max_crl_bytes", len(item.der))
            parsed = _parsed(EvidenceKind.CRL, item.der)
            if parsed is not None:
                self.crls.append((parsed, item))
        else:
            parsed = _parsed(EvidenceKind.OCSP, item.der)
            if parsed is not None:
                self.ocsps.append((parsed, item))

    def lookup(self, cert: x509.Certificate, issuer: x509.Certificate) -> RevocationLookup:
        key = (cert.sha256, issuer.sha256)
        found = self.lookups.get(key)
        if found is None:
            found = RevocationLookup()
            if self.source is not None:
                found = self.source.lookup(cert, issuer, at=self.at)
                for item in found.items:
                    self.add(item)
            self.lookups[key] = found
        return found


def _usable(this_update, next_update, at: datetime, retroactive: bool) -> bool:
    """certvalidator's default freshness rule, with zero tolerance."""
    if this_update is None:
        return False
    if next_update is None:
        next_update = this_update + _NO_NEXT_UPDATE_VALIDITY
    if not retroactive and at < this_update:
        return False
    return at <= next_update


def _crl_in_scope(parsed: _ParsedCRL, cert: x509.Certificate) -> bool:
    idp = parsed.obj.issuing_distribution_point_value
    if idp is None:
        return True
    if idp["only_some_reasons"].native is not None or idp["indirect_crl"].native:
        return False
    if idp["only_contains_attribute_certs"].native:
        return False
    if idp["only_contains_user_certs"].native and cert.ca:
        return False
    if idp["only_contains_ca_certs"].native and not cert.ca:
        return False
    dp = idp["distribution_point"]
    if dp.native is None:
        return True
    if dp.name != "full_name":
        return False
    idp_names = {gn.dump() for gn in dp.chosen}
    for cert_dp in cert.crl_distribution_points_value or ():
        name = cert_dp["distribution_point"]
        if name.name == "full_name" and idp_names & {gn.dump() for gn in name.chosen}:
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Judgement:
    status: RevocationStatus
    fresh: datetime  # thisUpdate of the evidence, for choosing the freshest
    hash_algo: str | None


def _crl_applies(parsed, cert, issuer, evidence, checker, at, retroactive) -> bool:
    """``parsed`` is usable at ``at``, covers ``cert`` and is signed by ``issuer``'s key."""
    if parsed.issuer != cert.issuer.hashable:
        return False
    key_usage = issuer.key_usage_value
    if key_usage is not None and "crl_sign" not in key_usage.native:
        return False
    if not _usable(parsed.this_update, parsed.next_update, at, retroactive):
        return False
    try:
        if not _crl_in_scope(parsed, cert):
            return False
    except (ValueError, TypeError, KeyError):
        return False
    obj = parsed.obj
    if _hash_of(obj["signature_algorithm"]) in evidence.refused:
        return False
    verified = checker.check(
        obj["signature"].native,
        obj["tbs_cert_list"].dump(),
        issuer.public_key,
        obj["signature_algorithm"],
    )
    return verified.outcome is SigOutcome.VERIFIED


def _judge_crls(cert, issuer, evidence, checker, at, retroactive) -> list[_Judgement]:
    out = []
    deltas: list[_ParsedCRL] | None = None
    for parsed, item in evidence.crls:
        if parsed.is_delta:
            continue
        if not _crl_applies(parsed, cert, issuer, evidence, checker, at, retroactive):
            continue
        try:
            entry = parsed.entry(cert.serial_number)
            if deltas is None:
                deltas = [
                    d
                    for d, _ in evidence.crls
                    if d.is_delta
                    and _crl_applies(d, cert, issuer, evidence, checker, at, retroactive)
                ]
            number = parsed.obj.crl_number_value
            applicable = [
                d
                for d in deltas
                if number is not None and d.obj.delta_crl_indicator_value.native <= number.native
            ]
            if applicable:  # the freshest delta CRL based on this one overrides it
                delta = max(applicable, key=lambda d: d.this_update)
                entry = delta.entry(cert.serial_number) or entry
        except (ValueError, TypeError, KeyError):
            continue
        obj = parsed.obj
        state, revoked_at, reason = RevocationState.GOOD, None, None
        if entry is not None and entry[1] != "remove_from_crl":
            revoked_at, reason = entry
            reason = reason or "unspecified"
            if revoked_at < at:  # certvalidator: a CRL revocation counts strictly before
                state = (
                    RevocationState.ON_HOLD
                    if reason == "certificate_hold"
                    else RevocationState.REVOKED
                )
        out.append(
            _Judgement(
                RevocationStatus(
                    state=state,
                    source="crl",
                    origin=item.origin,
                    revoked_at=revoked_at,
                    revocation_reason=reason,
                    this_update=parsed.this_update,
                    next_update=parsed.next_update,
                ),
                parsed.this_update,
                _hash_of(obj["signature_algorithm"]),
            )
        )
    return out


def _ocsp_signer_verified(basic, issuer, checker, refused) -> bool:
    """Whether ``basic`` is signed by ``issuer`` or by a responder ``issuer`` delegated to."""
    tbs = basic["tbs_response_data"]
    if _hash_of(basic["signature_algorithm"]) in refused:
        return False

    def verify(key: keys.PublicKeyInfo) -> bool:
        result = checker.check(
            basic["signature"].native, tbs.dump(), key, basic["signature_algorithm"]
        )
        return result.outcome is SigOutcome.VERIFIED

    responder_id = tbs["responder_id"]
    if responder_id.name == "by_key":
        by_issuer = responder_id.native == issuer.public_key.sha1
    else:
        by_issuer = responder_id.chosen == issuer.subject
    if by_issuer:
        return verify(issuer.public_key)
    for responder in basic["certs"] or ():
        if responder_id.name == "by_key":
            if responder.public_key.sha1 != responder_id.native:
                continue
        elif responder.subject != responder_id.chosen:
            continue
        eku = responder.extended_key_usage_value
        if eku is None or "ocsp_signing" not in eku.native:
            continue
        if responder.issuer != issuer.subject:
            continue
        if _hash_of(responder["signature_algorithm"]) in refused:
            continue
        issued = checker.check_certificate(responder, issuer.public_key)
        if issued.outcome is SigOutcome.VERIFIED and verify(responder.public_key):
            return True
    return False


def _judge_ocsps(cert, issuer, evidence, checker, at, retroactive) -> list[_Judgement]:
    out = []
    for parsed, item in evidence.ocsps:
        basic = parsed.basic
        if basic is None:
            continue
        signer_checked: bool | None = None
        for single in basic["tbs_response_data"]["responses"]:
            cert_id = single["cert_id"]
            algo = cert_id["hash_algorithm"]["algorithm"].native
            if algo not in ("sha1", "sha256", "sha384", "sha512"):
                continue
            if (
                cert_id["serial_number"].native != cert.serial_number
                or cert_id["issuer_name_hash"].native != getattr(cert.issuer, algo)
                or cert_id["issuer_key_hash"].native != getattr(issuer.public_key, algo)
            ):
                continue
            this_update = single["this_update"].native
            next_update = single["next_update"].native
            if not _usable(this_update, next_update, at, retroactive):
                continue
            if signer_checked is None:
                signer_checked = _ocsp_signer_verified(basic, issuer, checker, evidence.refused)
            if not signer_checked:
                break
            status = single["cert_status"]
            state, revoked_at, reason = RevocationState.GOOD, None, None
            if status.name == "revoked":
                revoked_at = status.chosen["revocation_time"].native
                reason = status.chosen["revocation_reason"].native or "unspecified"
                if revoked_at <= at:  # certvalidator: an OCSP revocation counts at `at` too
                    state = (
                        RevocationState.ON_HOLD
                        if reason == "certificate_hold"
                        else RevocationState.REVOKED
                    )
            elif status.name != "good":
                state = RevocationState.UNKNOWN
            out.append(
                _Judgement(
                    RevocationStatus(
                        state=state,
                        source="ocsp",
                        origin=item.origin,
                        revoked_at=revoked_at,
                        revocation_reason=reason,
                        this_update=this_update,
                        next_update=next_update,
                    ),
                    this_update,
                    _hash_of(basic["signature_algorithm"]),
                )
            )
    return out


def _revocation_status(
    cert, issuer, rule, evidence, checker, params
) -> tuple[RevocationStatus, str | None]:
    """The status of ``cert`` at ``evidence.at`` and the hash algorithm of the evidence used."""
    if rule is RevocationRule.NONE:
        return RevocationStatus(RevocationState.NOT_CHECKED), None
    at, retro = evidence.at, params.retroactive_revocation
    judged = _judge_crls(cert, issuer, evidence, checker, at, retro) + _judge_ocsps(
        cert, issuer, evidence, checker, at, retro
    )
    if not judged:
        return RevocationStatus(RevocationState.UNKNOWN), None
    # A permanent revocation on any verified evidence stands; otherwise the freshest
    # definitive answer (a later CRL may have released a hold).
    revoked = [j for j in judged if j.status.state is RevocationState.REVOKED]
    definitive = [j for j in judged if j.status.state is not RevocationState.UNKNOWN]
    pool = revoked or definitive or judged
    best = max(pool, key=lambda j: j.fresh)
    return best.status, best.hash_algo


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


def _map_error(exc: ValidationError, n_certs: int, failures: list[FetchFailure]) -> ChainFailure:
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


def _purposes(cert: x509.Certificate) -> set[str] | None:
    eku = cert.extended_key_usage_value
    if eku is None:
        return None
    return {p.native for p in eku} | {p.dotted for p in eku}


def _eku_failure(
    full: tuple[x509.Certificate, ...], required: frozenset[str]
) -> ChainFailure | None:
    """The leaf's EKU must allow one of ``required``; so must the EKU of every CA above it
    that has one (EKU chaining, as Windows and NSS apply it). An empty EKU is never valid."""
    leaf_purposes = _purposes(full[0])
    if leaf_purposes is not None and not leaf_purposes:
        return ChainFailure(
            ChainProblem.INVALID,
            "the leaf's extended key usage extension lists no purpose (RFC 5280 4.2.1.12)",
            0,
        )
    if not required:
        return None
    wanted = required | {"any_extended_key_usage"}
    for index, cert in enumerate(full):
        purposes = _purposes(cert)
        if purposes is None or purposes & wanted:
            continue
        eku = cert.extended_key_usage_value
        listed = ", ".join(sorted(p.native for p in eku)) or "no purpose"
        who = "the leaf" if index == 0 else f"chain[{index}] ({_subject(cert)})"
        return ChainFailure(
            ChainProblem.INVALID,
            f"extended key usage of {who} ({listed}) allows none of: {', '.join(sorted(required))}",
            index,
        )
    return None


def _count_names(cert: x509.Certificate) -> int:
    san = cert.subject_alt_name_value
    return (len(san) if san is not None else 0) + sum(len(rdn) for rdn in cert.subject.chosen)


def _count_subtrees(cert: x509.Certificate) -> int:
    nc = cert.name_constraints_value
    if nc is None:
        return 0
    return sum(
        len(nc[part])
        for part in ("permitted_subtrees", "excluded_subtrees")
        if isinstance(nc[part], x509.GeneralSubtrees)
    )


def _precheck(cand: CandidatePath) -> ChainFailure | None:
    """Structural checks certvalidator does not make, and its name-constraint budget."""
    full = cand.full
    n = len(cand.certs)
    for index, cert in enumerate(full):
        extensions = cert["tbs_certificate"]["extensions"]
        if isinstance(extensions, x509.Extensions):
            oids = [ext["extn_id"].dotted for ext in extensions]
            if len(oids) != len(set(oids)):
                return ChainFailure(
                    ChainProblem.INVALID,
                    f"chain[{index}] ({_subject(cert)}) repeats an extension (RFC 5280 4.2)",
                    index,
                )
    if n:
        anchor = full[-1]
        who = f"the trust anchor {_subject(anchor)}"
        unsupported = anchor.critical_extensions - SUPPORTED_EXTENSIONS
        if unsupported:
            return ChainFailure(
                ChainProblem.INVALID,
                f"{who} has unsupported critical extension(s): {', '.join(sorted(unsupported))}",
                n,
            )
        if anchor["tbs_certificate"]["version"].native == "v3" and not anchor.ca:
            return ChainFailure(
                ChainProblem.INVALID, f"{who} issues certificates but is not a CA", n
            )
        key_usage = anchor.key_usage_value
        if key_usage is not None and "key_cert_sign" not in key_usage.native:
            return ChainFailure(
                ChainProblem.INVALID, f"{who} is not allowed to sign certificates", n
            )
    work = 0
    subtrees_above = 0
    for index in range(n, 0, -1):  # from the anchor down
        subtrees_above += _count_subtrees(full[index])
        if subtrees_above:
            work += _count_names(full[index - 1]) * subtrees_above
    if work > MAX_NAME_CONSTRAINT_CHECKS:
        raise LimitExceeded("name_constraint_checks", MAX_NAME_CONSTRAINT_CHECKS, work)
    return None


def _subject(cert: x509.Certificate) -> str:
    try:
        return name_to_text(cert.subject)
    except (ValueError, TypeError, KeyError):
        return "<unreadable name>"


@dataclass(slots=True)
class _Call:
    """Everything one validate_chain call shares across its candidate paths."""

    trust: TrustStore
    at: datetime
    params: ChainParams
    budget: Budget
    checker: SignatureChecker
    evidence: _Evidence
    other_certs: list[x509.Certificate]


def _run_certvalidator(
    call: _Call, cand: CandidatePath, good_later: list[x509.Certificate]
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
    handlers: dict[str, object] = {}
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


def _validate_candidate(call: _Call, cand: CandidatePath) -> ChainResult:
    params = call.params
    full = cand.full
    n = len(cand.certs)
    failures: list[FetchFailure] = []
    for i, cert in enumerate(cand.certs):
        failures.extend(call.evidence.lookup(cert, full[i + 1]).failures)

    # Our reading of the evidence, certificate by certificate (also reported in the result).
    statuses: list[RevocationStatus | None] = []
    evidence_hashes: list[str | None] = []
    for i, cert in enumerate(cand.certs):
        rule = params.leaf_revocation if i == 0 else params.ca_revocation
        try:
            status, evidence_hash = _revocation_status(
                cert, full[i + 1], rule, call.evidence, call.checker, params
            )
        except (ValueError, TypeError, KeyError):
            status, evidence_hash = RevocationStatus(RevocationState.UNKNOWN), None
        statuses.append(status)
        evidence_hashes.append(evidence_hash)
    good_later = [
        cert
        for cert, status in zip(cand.certs, statuses, strict=True)
        if status.state is RevocationState.GOOD
        and status.source == "ocsp"
        and status.revoked_at is not None
    ]

    failure = _precheck(cand)
    try:
        if failure is None:
            _run_certvalidator(call, cand, good_later)
    except ValidationError as exc:
        failure = _map_error(exc, n, failures)
    except (NotImplementedError, KeyError, TypeError) as exc:
        # e.g. iPAddress / otherName name constraints
        failure = ChainFailure(
            ChainProblem.UNSUPPORTED,
            f"certvalidator cannot evaluate this path: {type(exc).__name__}: {exc}",
        )
    except ValueError as exc:
        failure = ChainFailure(
            ChainProblem.INVALID, f"malformed data in the path: {type(exc).__name__}: {exc}"
        )

    warnings: list[tuple[str, str]] = []
    for i, cert in enumerate(cand.certs):
        status = statuses[i]
        cert_hash = _hash_of(cert["signature_algorithm"])
        if cert_hash in params.legacy_hashes:
            warnings.append(
                (
                    "legacy_algorithm",
                    f"chain[{i}] ({_subject(cert)}) is signed with "
                    f"{_mechanism(cert['signature_algorithm'])}",
                )
            )
        if evidence_hashes[i] in params.legacy_hashes:
            warnings.append(
                (
                    "legacy_algorithm",
                    f"the {status.source} used for chain[{i}] is signed with {evidence_hashes[i]}",
                )
            )
        if failure is None and status.state in (RevocationState.REVOKED, RevocationState.ON_HOLD):
            # Evidence at hand that certvalidator's "if declared" rules did not consult.
            failure = ChainFailure(
                ChainProblem.REVOKED
                if status.state is RevocationState.REVOKED
                else ChainProblem.ON_HOLD,
                f"{status.source} ({status.origin}) shows chain[{i}] ({_subject(cert)}) "
                f"revoked at {status.revoked_at:%Y-%m-%d %H:%M:%SZ}, "
                f"reason {status.revocation_reason}",
                i,
                revoked_at=status.revoked_at,
                revocation_reason=status.revocation_reason,
            )
    statuses.append(None)  # the anchor

    if failure is None:
        failure = _eku_failure(full, params.required_leaf_eku)
    return ChainResult(
        path=full,
        anchor=cand.anchor,
        failure=failure,
        revocation=tuple(statuses),
        warnings=tuple(warnings) if failure is None else (),
        at=call.at,
    )


def _rank(result: ChainResult) -> tuple[int, int]:
    failure = result.failure
    assert failure is not None
    index = failure.cert_index if failure.cert_index is not None else len(result.path)
    return index, _PROBLEM_RANK[failure.problem]


def _fetch_missing_issuers(
    builder: PathBuilder,
    source: object,
    fetched_urls: set[str],
    failures: list[FetchFailure],
    budget: Budget,
) -> list[x509.Certificate]:
    """Certificates from the caIssuers URLs of the certificates whose issuer was missing."""
    if not isinstance(source, IssuerSource):
        return []
    found: list[x509.Certificate] = []
    for end in builder.dead_ends:
        if end.kind is not DeadEndKind.NO_ISSUER:
            continue
        for url in ca_issuer_urls(end.cert):
            if url in fetched_urls or len(fetched_urls) >= _MAX_AIA_FETCHES:
                continue
            fetched_urls.add(url)
            budget.check_time()
            got = source.fetch_issuers(url)
            if got.failure is not None:
                failures.append(got.failure)
            found.extend(got.certificates)
    return found


def _no_path(
    leaf: x509.Certificate,
    builder: PathBuilder,
    at: datetime,
    issuer_failures: Sequence[FetchFailure] = (),
) -> ChainResult:
    def describe(d: DeadEnd) -> str:
        who = f"chain[{d.index}] ({_subject(d.cert)})"
        issuer = name_to_text(d.cert.issuer)
        if d.kind is DeadEndKind.IMPOSTOR:
            return (
                f"{who} names the trust anchor {issuer} as its issuer, but no trusted anchor "
                "with that name verifies its signature (an impostor of a trusted root?)"
            )
        if d.kind is DeadEndKind.BAD_SIGNATURE:
            return (
                f"{who}: {d.anchors_named + d.intermediates_named} certificate(s) named "
                f"{issuer} are known, but none has the key that signed it"
            )
        if d.kind is DeadEndKind.TOO_LONG:
            return f"{who}: a path through {issuer} would exceed max_chain_length"
        if d.kind is DeadEndKind.CYCLE:
            return f"{who}: every certificate named {issuer} is already in the path (a cycle)"
        return (
            f"{who}: its issuer {issuer} is neither a trust anchor nor among the supplied "
            "or configured intermediate certificates"
        )

    order = {
        DeadEndKind.IMPOSTOR: 0,
        DeadEndKind.BAD_SIGNATURE: 1,
        DeadEndKind.NO_ISSUER: 2,
        DeadEndKind.CYCLE: 3,
        DeadEndKind.TOO_LONG: 4,
    }
    ends = sorted(builder.dead_ends, key=lambda d: (order[d.kind], -d.index))
    if ends and ends[0].kind is DeadEndKind.TOO_LONG:
        return ChainResult(
            path=(leaf,),
            anchor=None,
            failure=ChainFailure(
                ChainProblem.BUDGET, f"no path within max_chain_length: {describe(ends[0])}"
            ),
            revocation=(None,),
            at=at,
        )
    detail = "no path to a trust anchor"
    if ends:
        detail += ": " + describe(ends[0])
        if ends[0].kind is DeadEndKind.IMPOSTOR:
            detail = "untrusted: " + describe(ends[0])
    if issuer_failures and ends and ends[0].kind is DeadEndKind.NO_ISSUER:
        # The missing issuer is published but could not be fetched: undecided, not untrusted.
        return ChainResult(
            path=(leaf,),
            anchor=None,
            failure=ChainFailure(
                ChainProblem.ISSUER_UNREACHABLE,
                detail + "; " + "; ".join(f"{f.url}: {f.error}" for f in issuer_failures),
                ends[0].index,
                retry_after=min(
                    (f.retry_after for f in issuer_failures if f.retry_after), default=None
                ),
            ),
            revocation=(None,),
            at=at,
        )
    return ChainResult(
        path=(leaf,),
        anchor=None,
        failure=ChainFailure(ChainProblem.UNTRUSTED, detail, ends[0].index if ends else 0),
        revocation=(None,),
        at=at,
    )


def validate_chain(
    leaf: x509.Certificate,
    *,
    trust: TrustStore,
    at: datetime,
    intermediates: Sequence[x509.Certificate] = (),
    revocation_items: Sequence[RevocationItem] = (),
    revocation_source: RevocationSource | None = None,
    params: ChainParams = ChainParams(),  # noqa: B008 - frozen, immutable default
    budget: Budget,
) -> ChainResult:
    """Validate ``leaf`` against ``trust`` at the moment ``at``.

    Never raises for bad input: malformed certificates and evidence, unsupported features and
    exhausted budgets all come back as a :class:`ChainResult` whose ``failure`` says why.
    Raises :class:`~sigmail.errors.UsageError` only for a naive ``at``.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise UsageError("validate_chain: `at` must be an aware datetime")
    trying: list[CandidatePath] = []
    # Certificates are validated as byte-stable copies (see certificates.StableCertificate);
    # results carry the caller's own objects.
    originals: dict[int, x509.Certificate] = {}

    def stable(cert: x509.Certificate) -> x509.Certificate:
        copy = stable_certificate(cert)
        originals.setdefault(id(copy), cert)
        return copy

    def restore_path(path: tuple[x509.Certificate, ...]) -> tuple[x509.Certificate, ...]:
        return tuple(originals.get(id(c), c) for c in path)

    def restore(result: ChainResult) -> ChainResult:
        return replace(result, path=restore_path(result.path), at=at)

    try:
        checker = SignatureChecker(budget)
        # Certificate and CRL times have one-second granularity: judge at the second `at`
        # falls in (x509-limbo "notafter-fractional"; the Web PKI reads validity this way).
        moment = at.replace(microsecond=0)
        evidence = _Evidence(
            budget=budget, source=revocation_source, at=moment, refused=params.refused_hashes
        )
        for item in revocation_items:
            evidence.add(item)
        stable_leaf = stable(leaf)
        others = [stable(c) for c in (*intermediates, *trust.intermediates)]
        fetched_urls: set[str] = set()
        issuer_failures: list[FetchFailure] = []
        # Build and validate; when no path exists because an issuer is missing, fetch it from
        # the certificate's AIA caIssuers URL (if the source can) and try again, a few hops.
        for _round in range(_MAX_AIA_ROUNDS + 1):
            call = _Call(trust, moment, params, budget, checker, evidence, others)
            builder = PathBuilder(
                trust=trust,
                intermediates=others,
                at=moment,
                checker=checker,
                limits=budget.limits,
                avoid_hashes=params.legacy_hashes | params.refused_hashes,
            )
            best: ChainResult | None = None
            for cand in builder.paths(stable_leaf):
                trying[:] = [cand]
                result = _validate_candidate(call, cand)
                if result.ok:
                    return restore(result)
                if best is None or _rank(result) < _rank(best):
                    best = result
            if best is not None:
                return restore(best)
            found = _fetch_missing_issuers(
                builder, revocation_source, fetched_urls, issuer_failures, budget
            )
            if not found:
                break
            others = [*others, *(stable(c) for c in found)]
        return _no_path(leaf, builder, at, issuer_failures)
    except LimitExceeded as exc:
        # Out of budget before a path validated: earlier failures are not the answer, since a
        # path not yet tried might have validated.
        return ChainResult(
            path=restore_path(trying[0].full) if trying else (leaf,),
            anchor=trying[0].anchor if trying else None,
            failure=ChainFailure(ChainProblem.BUDGET, f"limit exceeded: {exc}"),
            at=at,
        )
    except UnsupportedAlgorithm as exc:
        return ChainResult(
            path=(leaf,),
            anchor=None,
            failure=ChainFailure(ChainProblem.UNSUPPORTED, f"unsupported algorithm: {exc}"),
            at=at,
        )
    except (ValueError, TypeError, KeyError) as exc:
        return ChainResult(
            path=(leaf,),
            anchor=None,
            failure=ChainFailure(
                ChainProblem.INVALID, f"malformed certificate data: {type(exc).__name__}: {exc}"
            ),
            at=at,
        )
