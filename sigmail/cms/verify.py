"""CMS SignedData verification: the common engine for .p7m, .p7s, S/MIME and PDF signatures.

For each SignerInfo: integrity (:mod:`.signer_info`), the proven signing time (a trusted
RFC 3161 timestamp, or a receipt time the caller vouches for — never the signer's claim),
then the chain judged *at that proven time* (or at the validation time when there is none).
What an expired, revoked or suspended certificate means depends on whether the time is
proven; that mapping is :func:`chain_findings`, in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from asn1crypto import cms, x509

from sigmail.cms.ber import bounded
from sigmail.cms.plain_signer_info import PlainSignerInfo
from sigmail.cms.signed_data import MAX_UNSIGNED_ATTRIBUTES, ParsedSignedData, signer_revocation
from sigmail.cms.signer_info import ContentDigests, SignerCheck, check_signer_info
from sigmail.cms.timestamp import proven_time, verify_timestamp_token
from sigmail.contract import VerificationContext
from sigmail.limits import LimitExceeded
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import RevocationItem
from sigmail.trust.certificates import summarize
from sigmail.trust.chain_types import ChainProblem, ChainResult
from sigmail.verdict.model import (
    ChainElement,
    ChainRole,
    Finding,
    SignatureReport,
    SignatureStatus,
    TimeSource,
    TimestampReport,
)
from sigmail.verdict.reasons import Effect

__all__ = [
    "chain_findings",
    "countersignatures",
    "signature_status",
    "verify_signed_data",
    "verify_signer_info",
]

_CLOCK_TOLERANCE = timedelta(minutes=5)
# A signer is timestamped once or twice (a TSA, and perhaps a second for redundancy); each
# token costs a signature check and a chain.
MAX_TIMESTAMP_TOKENS = 8


def signature_status(findings: Sequence[Finding]) -> SignatureStatus:
    effects = {f.effect for f in findings}
    if Effect.INVALID in effects:
        return SignatureStatus.FAILED
    if Effect.INDETERMINATE in effects:
        return SignatureStatus.INDETERMINATE
    return SignatureStatus.PASSED


def chain_findings(result: ChainResult, *, time_proven: bool, locator: str) -> list[Finding]:
    """What the chain outcome means for a signature, given whether its time is proven."""
    out = [Finding.of(code, locator, detail) for code, detail in result.warnings]
    failure = result.failure
    if failure is None:
        signer_status = result.revocation[0] if result.revocation else None
        if time_proven and signer_status is not None and signer_status.revoked_at is not None:
            out.append(
                Finding.of(
                    "revoked_after_signing",
                    f"{locator} chain[0]",
                    f"revoked {signer_status.revoked_at.isoformat()} "
                    f"({signer_status.revocation_reason or 'no reason given'})",
                )
            )
        return out
    where = f"{locator} chain[{failure.cert_index}]" if failure.cert_index is not None else locator
    problem = failure.problem
    if problem is ChainProblem.EXPIRED:
        code = "certificate_expired" if time_proven else "expired_no_poe"
    elif problem is ChainProblem.NOT_YET_VALID:
        code = "certificate_not_yet_valid"
    elif problem is ChainProblem.REVOKED:
        code = "certificate_revoked" if time_proven else "revoked_no_poe"
    elif problem is ChainProblem.ON_HOLD:
        code = "certificate_suspended" if time_proven else "suspended_no_poe"
    else:
        code = {
            ChainProblem.WEAK_ALGORITHM: "weak_algorithm",
            ChainProblem.INVALID: "chain_invalid",
            ChainProblem.UNTRUSTED: "untrusted_chain",
            ChainProblem.REVOCATION_UNAVAILABLE: "revocation_unavailable",
            ChainProblem.REVOCATION_UNREACHABLE: "revocation_unreachable",
            ChainProblem.ISSUER_UNREACHABLE: "issuer_unreachable",
            ChainProblem.UNSUPPORTED: "unsupported",
            ChainProblem.BUDGET: "limit_exceeded",
        }[problem]
    detail = failure.detail
    if failure.revoked_at is not None:
        detail = (
            f"{detail} (revoked {failure.revoked_at.isoformat()}, "
            f"{failure.revocation_reason or 'no reason given'})"
        )
    out.append(Finding.of(code, where, detail, retry_after=failure.retry_after))
    return out


def _chain_elements(result: ChainResult) -> tuple[ChainElement, ...]:
    last = len(result.path) - 1
    return tuple(
        ChainElement(
            role=ChainRole.SIGNER
            if i == 0
            else (ChainRole.ANCHOR if i == last and result.anchor else ChainRole.INTERMEDIATE),
            certificate=summarize(cert),
            revocation=result.revocation[i] if i < len(result.revocation) else None,
        )
        for i, cert in enumerate(result.path)
    )


def _timestamps(
    si: cms.SignerInfo,
    check: SignerCheck,
    ctx: VerificationContext,
    loc: str,
    revocation: Sequence[RevocationItem],
):
    """The best signature timestamp (the earliest that verifies) and findings of the rest."""
    tokens = []
    unsigned = bounded(si["unsigned_attrs"], MAX_UNSIGNED_ATTRIBUTES, "max_unsigned_attributes")
    for attr in unsigned:
        if attr["type"].native == "signature_time_stamp_token":
            tokens.extend(bounded(attr["values"], MAX_TIMESTAMP_TOKENS, "max_timestamp_tokens"))
            if len(tokens) > MAX_TIMESTAMP_TOKENS:
                raise LimitExceeded("max_timestamp_tokens", MAX_TIMESTAMP_TOKENS, len(tokens))
    reports: list[TimestampReport] = []
    for n, token in enumerate(tokens):
        reports.append(
            verify_timestamp_token(
                token,
                imprinted=check.signature,
                ctx=ctx,
                revocation=revocation,
                locator=f"{loc} timestamp" + (f" {n}" if len(tokens) > 1 else ""),
            )
        )
    passed = [r for r in reports if proven_time(r) is not None]
    if passed:
        best = min(passed, key=lambda r: proven_time(r) or datetime.max.replace(tzinfo=UTC))
        others = [f for r in reports if r is not best for f in r.findings]
        return best, others
    if reports:
        return reports[0], [f for r in reports[1:] for f in r.findings]
    return None, []


def _claimed_time_findings(
    claimed: datetime | None, stamped: datetime | None, quirk: timedelta | None, loc: str
):
    if claimed is None or stamped is None:
        return []
    drift = claimed - stamped
    if quirk is not None and abs(drift - quirk) <= _CLOCK_TOLERANCE:
        return [
            Finding.of(
                "signing_time_tz_quirk",
                loc,
                f"signingTime {claimed.isoformat()} vs timestamp {stamped.isoformat()}",
            )
        ]
    if drift > _CLOCK_TOLERANCE:
        return [
            Finding.of(
                "signing_time_inconsistent",
                loc,
                f"signingTime {claimed.isoformat()} is after the timestamp {stamped.isoformat()}",
            )
        ]
    return []


def verify_signer_info(
    si: cms.SignerInfo,
    *,
    index: int,
    locator: str,
    econtent_type: str | None,
    content: ContentDigests,
    certificates: tuple[x509.Certificate, ...],
    revocation: Sequence[RevocationItem],
    ctx: VerificationContext,
) -> SignatureReport:
    """One SignerInfo's report; ``econtent_type`` None for a countersignature (RFC 5652
    §11.4: ``content`` is then the countersigned SignerInfo's signature value)."""
    check = check_signer_info(
        si,
        econtent_type=econtent_type,
        content=content,
        certificates=certificates,
        algorithms=ctx.algorithms,
        budget=ctx.budget,
        locator=locator,
    )
    findings = list(check.findings)
    evidence = [*revocation, *signer_revocation(si, ctx.budget, check.signed_attributes)]
    timestamp, timestamp_findings = _timestamps(si, check, ctx, locator, evidence)
    findings.extend(timestamp_findings)

    stamped = proven_time(timestamp)
    proofs = [
        (t, src)
        for t, src in ((stamped, TimeSource.TIMESTAMP), (ctx.receipt_time, TimeSource.RECEIPT))
        if t is not None
    ]
    proven_at, proven_by = min(proofs, key=lambda p: p[0]) if proofs else (None, None)
    findings.extend(
        _claimed_time_findings(check.claimed_signing_time, stamped, ctx.tz_quirk, locator)
    )

    chain: ChainResult | None = None
    checked_at = proven_at or ctx.validation_time
    if check.signer_cert is not None:
        chain = ctx.validate_chain(
            check.signer_cert,
            at=checked_at,
            intermediates=certificates,
            revocation_items=evidence,
            params=ctx.chain_params,
        )
        findings.extend(chain_findings(chain, time_proven=proven_at is not None, locator=locator))
    if proven_at is None:
        findings.append(Finding.of("no_proven_signing_time", locator))

    # A failed timestamp only warns (it proves nothing, it does not break the signature).
    status = signature_status(findings + list(timestamp.findings if timestamp else ()))
    return SignatureReport(
        index=index,
        locator=locator,
        status=status,
        intact=check.intact,
        valid=check.valid,
        signer=summarize(check.signer_cert) if check.signer_cert is not None else None,
        anchor_class=str(chain.anchor.anchor_class) if chain and chain.anchor else None,
        anchor=summarize(chain.anchor.certificate).subject if chain and chain.anchor else None,
        chain=_chain_elements(chain) if chain else (),
        digest_algorithm=check.digest_algorithm,
        signature_algorithm=check.signature_algorithm,
        claimed_signing_time=check.claimed_signing_time,
        proven_signing_time=proven_at,
        proven_by=proven_by,
        checked_at=checked_at,
        timestamp=timestamp,
        findings=tuple(findings),
    )


_COUNTER_SIGNATURE = "1.2.840.113549.1.9.6"


def countersignatures(si: cms.SignerInfo, limit: int) -> list[cms.SignerInfo]:
    """The SignerInfos of ``si``'s counter-signature attributes (RFC 5652 §11.4), at most
    ``limit``. Countersignatures of countersignatures are not read."""
    found: list[cms.SignerInfo] = []
    unsigned = bounded(si["unsigned_attrs"], MAX_UNSIGNED_ATTRIBUTES, "max_unsigned_attributes")
    for attr in unsigned:
        if attr["type"].dotted == _COUNTER_SIGNATURE:
            found.extend(bounded(attr["values"], limit, "max_signatures"))
            if len(found) > limit:
                raise LimitExceeded("max_signatures", limit, len(found))
    return found


def _unreadable(index: int, locator: str, exc: Exception) -> SignatureReport:
    return SignatureReport(
        index=index,
        locator=locator,
        status=SignatureStatus.FAILED,
        intact=None,
        valid=None,
        findings=(Finding.of("malformed", locator, f"signer info does not parse: {exc}"),),
    )


def _countersignature_reports(
    parsed: ParsedSignedData,
    signers: Sequence[tuple[cms.SignerInfo, SignatureReport]],
    *,
    first_index: int,
    ctx: VerificationContext,
) -> list[SignatureReport]:
    """A report for each countersignature, numbered after the signers: it must verify over
    the countersigned signature value, as a signature in its own right (DSS counts a broken
    one as an invalid signature), and it proves it was made after that signature."""
    limit = ctx.budget.limits.max_signatures
    reports: list[SignatureReport] = []
    for si, parent in signers:
        try:
            found = countersignatures(si, limit)
            if isinstance(si, PlainSignerInfo):
                value = si.signature
            else:  # asn1crypto's own reading, as its error reads
                value = bytes(si["signature"].native)
        except ASN1_ERRORS as exc:
            reports.append(_unreadable(first_index + len(reports), parent.locator, exc))
            continue
        countersigned = ContentDigests(value)  # hashed once for all its countersignatures
        for k, counter in enumerate(found):
            index = first_index + len(reports)
            if len(signers) + len(reports) + 1 > limit:
                raise LimitExceeded("max_signatures", limit, len(signers) + len(reports) + 1)
            locator = f"{parent.locator} countersignature {k}"
            try:
                report = verify_signer_info(
                    counter,
                    index=index,
                    locator=locator,
                    econtent_type=None,
                    content=countersigned,
                    certificates=parsed.certificates,
                    revocation=parsed.revocation,
                    ctx=ctx,
                )
            except ASN1_ERRORS as exc:
                report = _unreadable(index, locator, exc)
            reports.append(replace(report, earlier_signatures=(parent.index,)))
    return reports


def verify_signed_data(
    parsed: ParsedSignedData,
    *,
    content: bytes | memoryview | Sequence[bytes | memoryview] | None = None,
    digests: ContentDigests | None = None,
    ctx: VerificationContext,
    locator_prefix: str = "signature",
    first_index: int = 0,
) -> tuple[SignatureReport, ...]:
    """One :class:`SignatureReport` per SignerInfo, then one per countersignature (numbered
    after them, see :func:`_countersignature_reports`). ``content`` (whole, or in pieces hashed in
    one pass) is used only when the SignedData is detached: an attached eContent is what was
    signed. ``digests`` overrides both: the caller decides what was signed (S/MIME hashes the
    MIME entity it shows, whatever the SignedData carries)."""
    if digests is None:
        digests = ContentDigests(parsed.econtent if parsed.econtent is not None else content)
    reports = []
    for i, si in enumerate(parsed.signer_infos, start=first_index):
        locator = f"{locator_prefix} {i}"
        try:
            report = verify_signer_info(
                si,
                index=i,
                locator=locator,
                econtent_type=parsed.econtent_type,
                content=digests,
                certificates=parsed.certificates,
                revocation=parsed.revocation,
                ctx=ctx,
            )
        except ASN1_ERRORS as exc:
            # asn1crypto parses lazily: a broken attribute surfaces when it is first read.
            report = _unreadable(i, locator, exc)
        reports.append(report)
    signers = list(zip(parsed.signer_infos, reports, strict=True))
    reports.extend(
        _countersignature_reports(parsed, signers, first_index=first_index + len(reports), ctx=ctx)
    )
    return tuple(reports)
