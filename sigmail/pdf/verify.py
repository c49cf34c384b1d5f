"""A signed PDF end to end: every signature and document timestamp, what each covers, what
changed after it, and when it is proven to have existed.

The order of work is what keeps a 100 MB file cheap:

1. read the cross-reference data and the few objects that describe the signatures
   (:mod:`.xref`, :mod:`.signatures`), check each ByteRange (:mod:`.byte_range`) and parse
   each CMS object, which says which digest algorithms are needed;
2. hash every byte range and the whole file in **one pass** (:mod:`.hashing`);
3. verify document timestamps, then signatures through the shared CMS engine
   (:func:`sigmail.cms.verify.verify_signer_info`) with the DSS evidence (:mod:`.dss`) and,
   as proof of time, the earliest valid document timestamp that covers each signature;
4. analyse every revision after the first signed one (:mod:`.modifications`).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone

from asn1crypto import parser, tsp
from asn1crypto import pdf as _asn1_pdf  # noqa: F401  registers Adobe's revocationInfoArchival

from sigmail.cms.plain_signer_info import parsed_field
from sigmail.cms.signed_data import ParsedSignedData, parse_signed_data
from sigmail.cms.timestamp import proven_time, verify_timestamp_token
from sigmail.cms.verify import signature_status, verify_signer_info
from sigmail.contract import VerificationContext
from sigmail.pdf.byte_range import Coverage, check_byte_range
from sigmail.pdf.diff import analyse_modifications
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.dss import DssMaterial, read_dss
from sigmail.pdf.hashing import HashJob, PrecomputedDigests, hash_in_one_pass, hashlib_name
from sigmail.pdf.permissions import certification_level, permissions
from sigmail.pdf.signatures import PdfSignature, find_signatures
from sigmail.problems import ASN1_ERRORS, MalformedInput
from sigmail.verdict.model import (
    Finding,
    ModificationReport,
    SignatureReport,
    SignatureStatus,
    TimeSource,
)

__all__ = ["PdfVerification", "verify_pdf_bytes"]

_SUPPORTED = {"adbe.pkcs7.detached", "ETSI.CAdES.detached", "ETSI.RFC3161", "adbe.pkcs7.sha1"}
_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+-])(?:(\d{2})'?(\d{2})?'?)?)?"
)


@dataclasses.dataclass(slots=True)
class PdfVerification:
    signatures: tuple[SignatureReport, ...]
    modifications: tuple[ModificationReport, ...]
    findings: list[Finding]
    sha256: str


@dataclasses.dataclass(slots=True)
class _Prepared:
    """One signature between parsing and verifying."""

    sig: PdfSignature
    coverage: Coverage
    locator: str
    parsed: ParsedSignedData | None = None
    tst_info: tsp.TSTInfo | None = None
    problem: Finding | None = None
    jobs: dict[str, int] = dataclasses.field(default_factory=dict)  # algorithm → job index


def _pdf_date(text: str | None) -> datetime | None:
    """A PDF date string (``D:YYYYMMDDHHmmSS+HH'mm'``) as an aware datetime in UTC."""
    if not text:
        return None
    m = _PDF_DATE.match(text.strip())
    if m is None:
        return None
    parts = [int(g) if g else d for g, d in zip(m.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True)]
    tz = UTC
    if m.group(7) in ("+", "-"):
        offset = timedelta(hours=int(m.group(8) or 0), minutes=int(m.group(9) or 0))
        tz = timezone(offset if m.group(7) == "+" else -offset)
    try:
        year, month, day, hour, minute, second = parts
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


def _der_prefix(contents: bytes) -> bytes:
    """The DER object at the start of /Contents, without the zero padding after it."""
    try:
        _cls, _method, _tag, header, body, trailer = parser.parse(contents)
    except ValueError as exc:
        raise MalformedInput(f"/Contents does not hold a DER object: {exc}") from exc
    return contents[: len(header) + len(body) + len(trailer)]


def _prepare(doc: PdfDocument, sig: PdfSignature, ctx: VerificationContext) -> _Prepared:
    coverage = check_byte_range(doc, sig)
    prep = _Prepared(sig, coverage, f"signature {sig.index}")
    loc = prep.locator
    subfilter = sig.subfilter
    if subfilter not in _SUPPORTED:
        prep.problem = Finding.of(
            "unsupported", loc, f"signature /SubFilter /{subfilter} is not supported"
        )
        return prep
    contents = sig.contents
    if not contents:
        prep.problem = Finding.of("malformed", loc, "the signature has no /Contents")
        return prep
    try:
        der = _der_prefix(contents)
        prep.parsed = parse_signed_data(der, ctx.budget, loc)
        if sig.kind == "doc_timestamp":
            if prep.parsed.econtent_type != "1.2.840.113549.1.9.16.1.4":
                raise MalformedInput("a document timestamp does not hold a TSTInfo", loc)
            prep.tst_info = tsp.TSTInfo.load(prep.parsed.econtent)
            prep.tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native  # noqa: B018
    except (MalformedInput, *ASN1_ERRORS) as exc:
        # No signature can be read from /Contents (zeroed, truncated, garbage): nothing
        # vouches for the document, whatever the rest of the file looks like.
        prep.parsed = None
        detail = exc.detail if isinstance(exc, MalformedInput) else str(exc)
        prep.problem = Finding.of(
            "signature_invalid", loc, f"/Contents holds no readable CMS signature: {detail}"
        )
    return prep


def _algorithms(prep: _Prepared) -> set[str]:
    if prep.parsed is None:
        return set()
    if prep.tst_info is not None:
        return {prep.tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native}
    if prep.sig.subfilter == "adbe.pkcs7.sha1":
        return {"sha1"}
    out = set()
    for si in prep.parsed.signer_infos:
        try:
            out.add(parsed_field(si, "digest_algorithm")["algorithm"].native)
        except ASN1_ERRORS:
            continue
    return out


def _imprint_findings(prep: _Prepared, digests: PrecomputedDigests) -> list[Finding]:
    assert prep.tst_info is not None  # a document timestamp's prepared TSTInfo
    imprint = prep.tst_info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if hashlib_name(algorithm) is None:
        return []  # verify_timestamp_token reports the algorithm
    if imprint["hashed_message"].native != digests.get(algorithm):
        return [
            Finding.of(
                "digest_mismatch",
                prep.locator,
                "the document timestamp's message imprint does not match the signed bytes",
            )
        ]
    return []


def _doc_timestamp_report(
    prep: _Prepared, digests: PrecomputedDigests, ctx: VerificationContext, evidence
) -> SignatureReport:
    assert prep.parsed is not None  # only prepared signatures are reported on
    token = prep.parsed.content_info
    report = verify_timestamp_token(
        token, imprinted=digests, ctx=ctx, locator=prep.locator, revocation=evidence
    )
    findings = _imprint_findings(prep, digests)
    intact = not findings
    status = SignatureStatus.FAILED if findings else report.status
    return SignatureReport(
        index=prep.sig.index,
        locator=prep.locator,
        status=status,
        intact=intact,
        valid=report.status is SignatureStatus.PASSED if intact else None,
        kind="doc_timestamp",
        signer=report.tsa,
        chain=report.chain,
        digest_algorithm=report.digest_algorithm,
        claimed_signing_time=report.gen_time,
        proven_signing_time=proven_time(report),
        proven_by=TimeSource.TIMESTAMP if proven_time(report) else None,
        checked_at=report.gen_time,
        timestamp=report,
        findings=tuple(findings),
    )


def _signature_reports(
    prep: _Prepared,
    digests: PrecomputedDigests,
    ctx: VerificationContext,
    dss: DssMaterial,
    proof: tuple[datetime, int] | None,
) -> SignatureReport:
    parsed = prep.parsed
    assert parsed is not None  # only prepared signatures are reported on
    loc = prep.locator
    sig = prep.sig
    content = digests
    if sig.subfilter == "adbe.pkcs7.sha1":
        # The eContent is the SHA-1 of the byte ranges; the signature is over the eContent.
        if parsed.econtent is None or parsed.econtent != digests.get("sha1"):
            return _failed(prep, "digest_mismatch", "the signed SHA-1 is not that of the ranges")
        content = PrecomputedDigests([memoryview(parsed.econtent)], {})
    elif parsed.econtent is not None:
        # ISO 32000 §12.8.3.3.1: no data is encapsulated in a detached PDF signature. A CMS
        # that carries content of its own signs that content for readers that look at it.
        return _failed(
            prep,
            "econtent_in_detached",
            f"the /{sig.subfilter} signature's CMS carries {len(parsed.econtent)} bytes of "
            "content of its own (eContent); a PDF signature signs its byte range only",
        )
    if not parsed.signer_infos:
        return _failed(prep, "no_signature", "the signature's SignedData has no signer info")
    run_ctx = ctx
    if proof is not None and (ctx.receipt_time is None or proof[0] < ctx.receipt_time):
        run_ctx = ctx.with_(receipt_time=proof[0])
    carried = {c.dump() for c in parsed.certificates}
    certificates = parsed.certificates + tuple(
        c for c in dss.certificates if c.dump() not in carried
    )
    try:
        report = verify_signer_info(
            parsed.signer_infos[0],
            index=sig.index,
            locator=loc,
            econtent_type=parsed.econtent_type,
            content=content,
            certificates=certificates,
            revocation=(*parsed.revocation, *dss.revocation),
            ctx=run_ctx,
        )
    except ASN1_ERRORS as exc:
        return _failed(prep, "malformed", f"signer info does not parse: {exc}")
    extra: list[Finding] = []
    if len(parsed.signer_infos) > 1:
        extra.append(
            Finding.of(
                "malformed",
                loc,
                f"a PDF signature holds {len(parsed.signer_infos)} signer infos, not 1",
            )
        )
    if (
        proof is not None
        and report.proven_by is TimeSource.RECEIPT
        and report.proven_signing_time == proof[0]
    ):
        report = dataclasses.replace(report, proven_by=TimeSource.TIMESTAMP)
        extra.append(
            Finding.of(
                "time_proven_by_document_timestamp",
                loc,
                f"signature {proof[1]} (document timestamp) proves this signature existed at "
                f"{proof[0].isoformat()}",
            )
        )
    claimed = report.claimed_signing_time or _pdf_date(sig.text("M"))
    return dataclasses.replace(
        report, findings=report.findings + tuple(extra), claimed_signing_time=claimed
    )


def _failed(prep: _Prepared, code: str, detail: str) -> SignatureReport:
    return SignatureReport(
        index=prep.sig.index,
        locator=prep.locator,
        status=SignatureStatus.FAILED,
        intact=False if code == "digest_mismatch" else None,
        valid=None,
        kind=prep.sig.kind,
        findings=(Finding.of(code, prep.locator, detail),),
    )


def _reused_signatures(sigs: list[PdfSignature]) -> dict[int, list[Finding]]:
    """A signature dictionary shared by several signature fields, or a /Contents value that
    an earlier signature dictionary already holds: one signature shown as several."""
    out: dict[int, list[Finding]] = {}
    first_with: dict[bytes, PdfSignature] = {}
    for sig in sigs:
        loc = f"signature {sig.index}"
        fields = {r.num for r in sig.field_refs}
        if len(fields) > 1:
            out.setdefault(sig.index, []).append(
                Finding.of(
                    "signature_reused",
                    loc,
                    f"one signature dictionary is the value of {len(fields)} signature fields "
                    f"({', '.join(sig.fields)})",
                )
            )
        contents = sig.contents
        if not contents:
            continue
        earlier = first_with.setdefault(contents, sig)
        if earlier is not sig and not _same_dictionary(earlier, sig):
            out.setdefault(sig.index, []).append(
                Finding.of(
                    "signature_reused",
                    loc,
                    f"its /Contents is that of signature {earlier.index} ({earlier.label}), "
                    "in another signature dictionary",
                )
            )
    return out


def _same_dictionary(a: PdfSignature, b: PdfSignature) -> bool:
    """Two versions of one signature dictionary (a rewrite is reported as such)."""
    if a.ref is not None or b.ref is not None:
        return a.ref is not None and b.ref is not None and a.ref.num == b.ref.num
    return bool({r.num for r in a.field_refs} & {r.num for r in b.field_refs})


def verify_pdf_bytes(doc: PdfDocument, ctx: VerificationContext) -> PdfVerification:
    sigs = find_signatures(doc)
    preps = [_prepare(doc, sig, ctx) for sig in sigs]

    # One pass: the whole file (SHA-256, for the verdict) and every byte range.
    jobs = [HashJob("sha256", ((0, doc.src.size),))]
    for prep in preps:
        for algorithm in sorted(_algorithms(prep)):
            if hashlib_name(algorithm) is not None:
                prep.jobs[algorithm] = len(jobs)
                jobs.append(HashJob(algorithm, prep.coverage.ranges))
    values = hash_in_one_pass(doc.src, jobs)
    file_sha256 = values[0].hex()

    def digests_of(prep: _Prepared) -> PrecomputedDigests:
        pieces = [doc.src.view[a:b] for a, b in prep.coverage.ranges]
        return PrecomputedDigests(pieces, {a: values[i] for a, i in prep.jobs.items()})

    dss = read_dss(doc, doc.last)
    reports: dict[int, SignatureReport] = {}

    # Document timestamps first: each proves the existence of the revisions it covers.
    proofs: list[tuple[datetime, int, int]] = []  # (time, signature index, covered revision)
    for prep in preps:
        if prep.sig.kind != "doc_timestamp" or prep.parsed is None:
            continue
        report = _doc_timestamp_report(prep, digests_of(prep), ctx, dss.revocation)
        reports[prep.sig.index] = report
        if report.proven_signing_time is not None and prep.coverage.sound:
            proofs.append((report.proven_signing_time, prep.sig.index, prep.coverage.revision))

    for prep in preps:
        if prep.sig.index in reports:
            continue
        if prep.parsed is None:
            assert prep.problem is not None  # an unparsed signature says why
            reports[prep.sig.index] = SignatureReport(
                index=prep.sig.index,
                locator=prep.locator,
                status=SignatureStatus.FAILED
                if prep.problem.code in ("malformed", "signature_invalid")
                else SignatureStatus.INDETERMINATE,
                intact=None,
                valid=None,
                kind=prep.sig.kind,
                findings=(prep.problem,),
            )
            continue
        covering = [
            (t, i) for t, i, rev in proofs if prep.coverage.sound and rev > prep.coverage.revision
        ]
        proof = min(covering) if covering else None
        reports[prep.sig.index] = _signature_reports(prep, digests_of(prep), ctx, dss, proof)

    reused = _reused_signatures(sigs)
    modifications, per_signature, document_findings = analyse_modifications(
        doc, sigs, [p.coverage for p in preps], [permissions(doc, s) for s in sigs]
    )

    out: list[SignatureReport] = []
    for prep in preps:
        sig, cov = prep.sig, prep.coverage
        report = reports[sig.index]
        extra = [
            Finding.of("byte_range_invalid", prep.locator, problem) for problem in cov.problems
        ]
        extra.extend(reused.get(sig.index, ()))
        extra.extend(per_signature.get(sig.index, ()))
        earlier = tuple(
            p.sig.index
            for p in preps
            if p is not prep and p.coverage.sound and p.coverage.revision < cov.revision
        )
        findings = report.findings + tuple(extra)
        status = report.status
        if extra:
            ts_findings = report.timestamp.findings if report.timestamp else ()
            status = signature_status(
                list(findings) + ([] if report.kind == "doc_timestamp" else list(ts_findings))
            )
            if report.kind == "doc_timestamp" and status is SignatureStatus.PASSED:
                status = report.status
        out.append(
            dataclasses.replace(
                report,
                status=status,
                findings=findings,
                kind=sig.kind,
                field=", ".join(sig.fields) or None,
                revision=cov.revision,
                byte_range=cov.byte_range,
                coverage=cov.coverage,
                earlier_signatures=earlier,
                certification_level=certification_level(doc, sig),
            )
        )
    if not any(r.kind == "pades" for r in out):
        detail = "only document timestamps, which prove when, not who" if out else None
        document_findings.insert(0, Finding.of("no_signature", "document", detail))
    return PdfVerification(tuple(out), tuple(modifications), document_findings, file_sha256)
