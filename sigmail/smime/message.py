"""One e-mail message → signatures, parts, documents and the message's own findings.

The steps, each in its module:

1. :mod:`.mime` parses the entity tree over the raw bytes (budgets: parts, depth, sizes);
2. :mod:`.coverage` walks it, verifying every signature layer (:mod:`.signatures`, over the
   bytes :mod:`.canonical` says were signed) and recording which signature covers which part;
3. the documents it carries (:mod:`.attachments`) are verified by the verifier, each with a
   verdict of its own;
4. the message's findings: ``no_signature`` when nothing is signed, ``partially_signed`` when
   a part with content is outside every signature (also when an unsigned message forwards a
   signed one), and the identity checks of :mod:`.identity` (From against the signer).

The policy and the verdict are the verifier's business, not this module's.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

from sigmail.contract import FormatResult, NestedVerifier, VerificationContext
from sigmail.frozen_copy import changed
from sigmail.smime.attachments import document_name
from sigmail.smime.coverage import CoverageWalk, Part, uncovered_parts
from sigmail.smime.headers import decode_words
from sigmail.smime.identity import check_sender, sender_text
from sigmail.smime.mime import Entity, MimeParser
from sigmail.verdict.model import Finding, Verdict

__all__ = ["verify_message"]


def verify_message(
    data: bytes, *, ctx: VerificationContext, nested: NestedVerifier
) -> FormatResult:
    parser = MimeParser(ctx.budget)
    root = parser.parse_message(data)
    walk = CoverageWalk(ctx, parser)
    walk.walk(root)

    walk.parts.sort(key=lambda p: _part_order(p.entity.locator))
    documents = _verify_documents(walk.parts, parser, nested)
    parts = tuple(p.report() for p in walk.parts)
    signatures = tuple(
        changed(report, covers=tuple(p.locator for p in parts if report.index in p.covered_by))
        for layer in walk.layers
        for report in layer.reports
    )
    findings = list(walk.findings)
    forwarded = [p for p in walk.parts if p.document_kind == "eml" and p.document_signed]
    if signatures:
        uncovered = uncovered_parts(walk.parts)
        if uncovered:
            findings.append(
                Finding.of(
                    "partially_signed", "message", f"not covered by a signature: {_list(uncovered)}"
                )
            )
        findings.extend(check_sender(root, walk.layers))
        findings.extend(_signing_times_against_date(root, signatures))
    elif forwarded:
        # An unsigned wrapper around a signed message (the wrapping attack done by forwarding):
        # signed content inside unsigned content is partially_signed (not_official, issue 3),
        # not a reference copy; the forwarded message keeps its own verdict in documents.
        detail = f"the message itself is not signed; it forwards the signed {_list(forwarded)}"
        rest = [p for p in uncovered_parts(walk.parts) if p not in forwarded]
        if rest:
            detail += f"; not covered by a signature: {_list(rest)}"
        findings.append(Finding.of("partially_signed", "message", detail))
    elif not walk.signature_structures and not walk.encrypted:
        findings.append(Finding.of("no_signature", "message", "no S/MIME signature"))

    subject = root.get("subject")
    message_id = root.get("message-id")
    return FormatResult(
        kind="eml",
        findings=findings,
        signatures=signatures,
        parts=parts,
        documents=documents,
        message_id=(message_id.strip() or None) if message_id is not None else None,
        sender=sender_text(root),
        subject=decode_words(subject) if subject is not None else None,
    )


# A claimed signing time this far from the Date field is worth a warning (Thunderbird refuses a
# signature beyond an hour; mail queued over a weekend, or a clock off by a day, is still
# mail). Neither time is proven, so it is never a failure on its own.
SIGNING_TIME_DATE_TOLERANCE = timedelta(days=1)
MAX_DATE_FIELD = 256  # RFC 5322 dates are ~31 characters; a longer field dates nothing


def message_date(root: Entity) -> datetime | None:
    """The message's Date field (RFC 5322 §3.6.1) as an aware time, or None when it is
    missing, repeated or does not parse (a zone of -0000 is read as UTC)."""
    values = root.get_all("date")
    if len(values) != 1 or len(values[0]) > MAX_DATE_FIELD:
        return None
    try:
        when = email.utils.parsedate_to_datetime(values[0])
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _signing_times_against_date(root: Entity, signatures) -> list[Finding]:
    date = message_date(root)
    if date is None:
        return []
    out = []
    for sig in signatures:
        claimed = sig.claimed_signing_time
        if claimed is None or abs(claimed - date) <= SIGNING_TIME_DATE_TOLERANCE:
            continue
        days = abs(claimed - date) / timedelta(days=1)
        side = "before" if claimed < date else "after"
        out.append(
            Finding.of(
                "signing_time_far_from_date",
                sig.locator,
                f"signingTime {claimed.isoformat()} is {days:.1f} days {side} the Date field "
                f"({date.isoformat()})",
            )
        )
    return out


def _list(parts: list[Part]) -> str:
    return ", ".join(f"{p.entity.locator} ({p.entity.content_type})" for p in parts)


def _part_order(locator: str) -> tuple[int, ...]:
    """ "message" first, then "part 1", "part 1.1", "part 1.2", "part 2", … (tree order)."""
    if locator == "message":
        return ()
    return tuple(int(n) for n in locator.removeprefix("part ").split("."))


def _verify_documents(
    parts: list[Part], parser: MimeParser, nested: NestedVerifier
) -> tuple[Verdict, ...]:
    """Verify each document part (in part order); a detached ``X.p7s`` gets part ``X``."""
    taken: set[str] = set()
    by_name = {p.entity.filename: p for p in parts if p.entity.filename}
    verdicts = []
    for part in parts:
        if part.role != "document" or part.data is None or part.document_kind is None:
            continue
        name = document_name(part.entity, part.document_kind, taken)
        content = None
        if name.lower().endswith(".p7s"):
            sibling = by_name.get(name[: -len(".p7s")])
            if sibling is not None and sibling is not part:
                content = (
                    sibling.data if sibling.data is not None else parser.decoded(sibling.entity)
                )
        verdict = nested(part.data, name=name, content=content)
        part.data = None
        part.document = name
        part.sha256 = verdict.sha256
        part.document_signed = bool(verdict.signatures)
        verdicts.append(verdict)
    return tuple(verdicts)
