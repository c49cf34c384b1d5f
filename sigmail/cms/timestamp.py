"""RFC 3161 timestamp tokens: the only thing besides a trusted receipt that proves *when*.

A token proves a signing time when its own signature verifies, its message imprint is the
hash of what it claims to stamp, and the TSA certificate chains to a trust anchor at the
token's genTime. A token that fails any of that is reported and ignored — it never makes
a signature invalid by itself, it only fails to prove the time.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import cms, tsp

from sigmail.cms.algorithms import AlgorithmProblem, digest
from sigmail.cms.ber import octets
from sigmail.cms.signed_data import certificates_of, signed_data_revocation, signer_revocation
from sigmail.cms.signer_info import ContentDigests, check_signer_info
from sigmail.contract import VerificationContext
from sigmail.problems import ASN1_ERRORS
from sigmail.revocation.evidence import RevocationItem
from sigmail.trust.certificates import summarize
from sigmail.trust.chain_types import ChainProblem
from sigmail.verdict.model import (
    ChainElement,
    ChainRole,
    Finding,
    SignatureStatus,
    TimestampReport,
)
from sigmail.verdict.reasons import Effect

__all__ = ["verify_timestamp_token"]

_TST_INFO = "1.2.840.113549.1.9.16.1.4"
# Revocation reasons after which a TSA key can no longer vouch even for earlier tokens.
_KEY_COMPROMISE = {None, "unspecified", "key_compromise", "ca_compromise", "aa_compromise"}


def _rejected(code: str, locator: str, detail: str, **kw) -> TimestampReport:
    return TimestampReport(
        status=(
            SignatureStatus.FAILED if code == "timestamp_invalid" else SignatureStatus.INDETERMINATE
        ),
        findings=(Finding.of(code, locator, detail),),
        **kw,
    )


def verify_timestamp_token(
    token: cms.ContentInfo,
    *,
    imprinted: bytes | ContentDigests,
    ctx: VerificationContext,
    locator: str,
    revocation: Sequence[RevocationItem] = (),
) -> TimestampReport:
    """Check ``token`` over ``imprinted`` (for a signature timestamp: the signature value;
    for a PDF document timestamp: the digests of its byte ranges).

    ``revocation`` is evidence found around the token (e.g. in the enclosing SignedData); it
    is judged like the token's own.
    """
    try:
        return _verify(token, imprinted, ctx, locator, revocation)
    except ASN1_ERRORS as exc:
        return _rejected("timestamp_invalid", locator, f"timestamp token does not parse: {exc}")


def _verify(token, imprinted, ctx, loc, outer_revocation) -> TimestampReport:
    if token["content_type"].native != "signed_data":
        return _rejected("timestamp_invalid", loc, "timestamp token is not SignedData")
    sd = token["content"]
    encap = sd["encap_content_info"]
    if encap["content_type"].dotted != _TST_INFO:
        return _rejected("timestamp_invalid", loc, "timestamp token does not hold a TSTInfo")
    econtent = octets(encap["content"])
    tst_info = tsp.TSTInfo.load(econtent)
    gen_time = tst_info["gen_time"].native.astimezone(UTC)
    imprint = tst_info["message_imprint"]
    imprint_algo = imprint["hash_algorithm"]["algorithm"].native
    base = {"gen_time": gen_time, "digest_algorithm": imprint_algo}

    signer_infos = list(sd["signer_infos"])
    if len(signer_infos) != 1:
        return _rejected(
            "timestamp_invalid",
            loc,
            f"a timestamp token has {len(signer_infos)} signer infos, not 1",
            **base,
        )
    certificates = certificates_of(sd, ctx.budget)
    check = check_signer_info(
        signer_infos[0],
        econtent_type=_TST_INFO,
        content=ContentDigests(econtent),
        certificates=certificates,
        algorithms=ctx.algorithms,
        budget=ctx.budget,
        locator=loc,
    )
    tsa = summarize(check.signer_cert) if check.signer_cert is not None else None
    base["tsa"] = tsa
    broken = [f for f in check.findings if f.effect in (Effect.INVALID, Effect.INDETERMINATE)]
    if broken or check.valid is not True:
        detail = "; ".join(f"{f.code}: {f.detail or f.message_en}" for f in broken) or (
            "the token's signature could not be verified"
        )
        return _rejected("timestamp_invalid", loc, detail, **base)

    try:
        ctx.algorithms.check_digest(imprint_algo)
        if isinstance(imprinted, ContentDigests):  # e.g. a PDF's byte ranges, hashed already
            expected = imprinted.get(imprint_algo)
        else:
            expected = digest(imprint_algo, imprinted)
    except AlgorithmProblem as exc:
        return _rejected("timestamp_invalid", loc, f"message imprint: {exc.detail}", **base)
    if not hmac.compare_digest(imprint["hashed_message"].native, expected):
        return _rejected(
            "timestamp_invalid",
            loc,
            "the message imprint is not the hash of the stamped signature",
            **base,
        )

    chain = ctx.validate_chain(
        check.signer_cert,
        at=gen_time,
        intermediates=certificates,
        revocation_items=[
            *outer_revocation,
            *signed_data_revocation(sd, ctx.budget),
            *signer_revocation(signer_infos[0], ctx.budget),
        ],
        params=ctx.tsa_chain_params,
    )
    elements = tuple(
        ChainElement(
            role=ChainRole.TSA
            if i == 0
            else (ChainRole.ANCHOR if i == len(chain.path) - 1 else ChainRole.INTERMEDIATE),
            certificate=summarize(cert),
            revocation=chain.revocation[i] if i < len(chain.revocation) else None,
        )
        for i, cert in enumerate(chain.path)
    )
    base["chain"] = elements
    if not chain.ok:
        failure = chain.failure
        if failure.problem is ChainProblem.BUDGET:
            return _rejected("limit_exceeded", loc, f"TSA chain: {failure.detail}", **base)
        return _rejected(
            "timestamp_untrusted",
            loc,
            f"TSA chain at {gen_time.isoformat()}: {failure.problem}: {failure.detail}",
            **base,
        )
    leaf_status = chain.revocation[0] if chain.revocation else None
    if (
        leaf_status is not None
        and leaf_status.revoked_at is not None
        and leaf_status.revocation_reason in _KEY_COMPROMISE
    ):
        return _rejected(
            "timestamp_untrusted",
            loc,
            f"the TSA certificate was revoked on {leaf_status.revoked_at.isoformat()} "
            f"({leaf_status.revocation_reason or 'no reason'}); its tokens cannot be "
            "relied on",
            **base,
        )
    return TimestampReport(status=SignatureStatus.PASSED, **base)


def proven_time(report: TimestampReport | None) -> datetime | None:
    if report is None or report.status is not SignatureStatus.PASSED:
        return None
    return report.gen_time
