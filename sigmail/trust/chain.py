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

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from asn1crypto import x509
from cryptography.exceptions import UnsupportedAlgorithm
from pyhanko_certvalidator.errors import (
    ValidationError,
)

from sigmail.errors import UsageError
from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import (
    FetchFailure,
    IssuerSource,
    RevocationItem,
    RevocationSource,
)
from sigmail.revocation.urls import ca_issuer_urls
from sigmail.trust.certificates import name_to_text, stable_certificate
from sigmail.trust.chain_types import (
    ChainFailure,
    ChainParams,
    ChainProblem,
    ChainResult,
)
from sigmail.trust.path_builder import (
    CandidatePath,
    DeadEnd,
    DeadEndKind,
    PathBuilder,
    SignatureChecker,
)
from sigmail.trust.store import TrustStore

__all__ = ["validate_chain"]
from sigmail.trust.certvalidator_adapter import ValidationCall, map_error, run_certvalidator
from sigmail.trust.prechecks import eku_failure, precheck, subject_text
from sigmail.trust.revocation_status import Evidence, judge_status
from sigmail.trust.signature_algorithms import hash_of, mechanism
from sigmail.verdict.model import RevocationState, RevocationStatus

__all__ = ["validate_chain"]

# AIA caIssuers: at most this many rounds of fetching missing issuers, and URLs per call.
_MAX_AIA_ROUNDS = 3
_MAX_AIA_FETCHES = 8

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


def _validate_candidate(call: ValidationCall, cand: CandidatePath) -> ChainResult:
    params = call.params
    full = cand.full
    n = len(cand.certs)
    failures: list[FetchFailure] = []
    for i, cert in enumerate(cand.certs):
        failures.extend(call.evidence.lookup(cert, full[i + 1]).failures)

    # Our reading of the evidence, certificate by certificate (also reported in the result).
    statuses: list[RevocationStatus] = []
    evidence_hashes: list[str | None] = []
    for i, cert in enumerate(cand.certs):
        rule = params.leaf_revocation if i == 0 else params.ca_revocation
        try:
            status, evidence_hash = judge_status(
                cert, full[i + 1], rule, call.evidence, call.checker, params
            )
        except ASN1_ERRORS:
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

    failure = precheck(cand)
    try:
        if failure is None:
            run_certvalidator(call, cand, good_later)
    except ValidationError as exc:
        failure = map_error(exc, n, failures)
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
        cert_hash = hash_of(cert["signature_algorithm"])
        if cert_hash in params.legacy_hashes:
            warnings.append(
                (
                    "legacy_algorithm",
                    f"chain[{i}] ({subject_text(cert)}) is signed with "
                    f"{mechanism(cert['signature_algorithm'])}",
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
                f"{status.source} ({status.origin}) shows chain[{i}] ({subject_text(cert)}) "
                f"revoked at {status.revoked_at:%Y-%m-%d %H:%M:%SZ}, "
                f"reason {status.revocation_reason}",
                i,
                revoked_at=status.revoked_at,
                revocation_reason=status.revocation_reason,
            )

    if failure is None:
        failure = eku_failure(full, params.required_leaf_eku)
    return ChainResult(
        path=full,
        anchor=cand.anchor,
        failure=failure,
        revocation=(*statuses, None),  # the anchor has no status
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
        who = f"chain[{d.index}] ({subject_text(d.cert)})"
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
        evidence = Evidence(
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
            call = ValidationCall(trust, moment, params, budget, checker, evidence, others)
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
    except ASN1_ERRORS as exc:
        return ChainResult(
            path=(leaf,),
            anchor=None,
            failure=ChainFailure(
                ChainProblem.INVALID, f"malformed certificate data: {type(exc).__name__}: {exc}"
            ),
            at=at,
        )
