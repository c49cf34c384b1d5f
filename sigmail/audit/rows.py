"""A verdict → the register's rows: one for the message (or file), one per document it carries.

The columns are :data:`COLUMNS`, the same in SQLite and Parquet; docs/audit.md is their
reference. Times are ISO 8601 text in UTC (``2026-05-20T03:00:00Z``), dates ``YYYY-MM-DD``;
``reasons`` and ``signers`` are JSON text.

**Agency** (the unit the entry is counted under in the yearly report), first that applies:

1. ``signer``: the agency-role signer of the entry whose signature passed — its name in the
   policy's registry when the registry decided the role, else its certificate's CN;
2. for a message, ``document``: the same, taken from the documents it carries (in order) —
   the seal on the document names the issuing agency even when a clerk signed the e-mail;
3. for a document inside a message, ``message``: the message's agency;
4. for a message, ``sender_domain``: the domain of the From address (lower case);
5. for a document file on its own, ``signer_organization``: the unit of the first signer
   whose signature passed — the last OU of its certificate (where Vietnamese certificates
   name the person's agency, "OU=Sở Thông tin và Truyền thông"), else its O;
6. otherwise none (the report shows "unknown").

Only passed signatures name an agency, and never a document timestamp's (the TSA is no
agency). The yearly report then makes one identity of an agency's names: a sender domain
is counted under the agency whose signatures arrive from it (:mod:`sigmail.audit.report`).
A forged seal does not put a forgery on a real agency's account (a forged *From* does, under
rule 4 — the report counts what arrived claiming to come from there, and its verdict says
what it was).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sigmail.policy.model import Policy
from sigmail.policy.roles import registry_entry
from sigmail.verdict.model import SignatureStatus, Verdict

__all__ = ["COLUMNS", "TIMING_COLUMNS", "Column", "entry_rows", "iso"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    sql: str  # SQLite type
    arrow: str  # "string" | "int64"
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("id", "INTEGER", "int64", "row number, in the order items were listed"),
    Column("source", "TEXT", "string", "the mailbox or folder the entry came from"),
    Column("locator", "TEXT", "string", "where in the source (new/…, #12, path/file.pdf)"),
    Column("item_sha256", "TEXT", "string", "SHA-256 of the message or file (.p7s: and content)"),
    Column("part", "TEXT", "string", "'' for the message or file; the document's path"),
    Column("kind", "TEXT", "string", "message | document"),
    Column("message_id", "TEXT", "string", "Message-ID of the message (documents: its carrier)"),
    Column("name", "TEXT", "string", "file or document name"),
    Column("format", "TEXT", "string", "eml | p7m | p7s | pdf | xml | ooxml | odf | unknown"),
    Column("received_at", "TEXT", "string", "when it arrived (UTC), see received_source"),
    Column("received_source", "TEXT", "string", "own_mta | received | date | file"),
    Column("receipt_time", "TEXT", "string", "the own MTA's receipt time given as proof"),
    Column("sender", "TEXT", "string", "From of the message (documents: of their carrier)"),
    Column("agency", "TEXT", "string", "the agency the entry is counted under"),
    Column("agency_source", "TEXT", "string", "which rule named the agency"),
    Column("subject", "TEXT", "string", "Subject of the message (documents: their carrier's)"),
    Column("doc_number", "TEXT", "string", "Số: … read from the document's text"),
    Column("doc_date", "TEXT", "string", "ngày … tháng … năm … read from the text (YYYY-MM-DD)"),
    Column("verdict", "TEXT", "string", "official | not_official | unsigned | invalid | …"),
    Column("reasons", "TEXT", "string", "reason codes, JSON array"),
    Column("signers", "TEXT", "string", "signers: name, role, proven time …, JSON array"),
    Column("sha256", "TEXT", "string", "SHA-256 of this entry's bytes"),
    Column("size", "INTEGER", "int64", "bytes"),
    Column("validation_time", "TEXT", "string", "the time the verdict is as of"),
    Column("retry_after", "TEXT", "string", "indeterminate: when to try again"),
    Column("policy", "TEXT", "string", "policy name and version"),
    Column("policy_sha256", "TEXT", "string", "SHA-256 of the policy text"),
    Column("generator", "TEXT", "string", "sigmail version"),
    Column("audited_at", "TEXT", "string", "when the row was written (timing only)"),
)
NAMES = tuple(c.name for c in COLUMNS)
TIMING_COLUMNS = ("audited_at", "retry_after")  # wall-clock times of this run


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.isoformat(timespec="seconds")[:19] + "Z"  # without the "+00:00"
    return value.isoformat()


def _signers(verdict: Verdict) -> str:
    out = []
    for sig in verdict.signatures:
        signer = sig.signer
        # Keys in sorted order: the JSON text is the one sort_keys=True wrote, without sorting.
        out.append(
            {
                "anchor_class": sig.anchor_class,
                "certificate_sha256": signer.sha256 if signer else None,
                "claimed_signing_time": iso(sig.claimed_signing_time),
                "email": signer.emails[0] if signer and signer.emails else None,
                "index": sig.index,
                "integrity": str(sig.integrity),
                "kind": sig.kind,
                "name": signer.common_name if signer else None,
                "organization": signer.organization if signer else None,
                "proven_by": str(sig.proven_by) if sig.proven_by else None,
                "proven_signing_time": iso(sig.proven_signing_time),
                "role": sig.role,
                "role_source": sig.role_source,
                "status": str(sig.status),
                "trust": str(sig.trust),
            }
        )
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _passed(verdict: Verdict):
    """Passed signatures of signers: a document timestamp's certificate is the TSA's, which
    is never the agency an entry is counted under."""
    return [
        s
        for s in verdict.signatures
        if s.status == SignatureStatus.PASSED and s.signer and s.kind != "doc_timestamp"
    ]


def _agency_signer(verdict: Verdict, policy: Policy) -> str | None:
    for sig in _passed(verdict):
        if sig.role == "agency":
            entry = registry_entry(policy, sig.signer) if sig.role_source == "registry" else None
            name = entry.agency if entry is not None else sig.signer.common_name
            if name:
                return name
    return None


_ANGLE = re.compile(r"<[^<>@\s]+@([^<>\s]+)>")
_BARE = re.compile(r"[^\s<>@,;\"]+@([A-Za-z0-9.-]+)")


def sender_domain(sender: str | None) -> str | None:
    if not sender:
        return None
    m = _ANGLE.search(sender) or _BARE.search(sender)
    return m.group(1).rstrip(".").lower() if m else None


def _message_agency(verdict: Verdict, policy: Policy) -> tuple[str | None, str | None]:
    name = _agency_signer(verdict, policy)
    if name:
        return name, "signer"
    for doc in verdict.documents:
        name = _agency_signer(doc, policy)
        if name:
            return name, "document"
    domain = sender_domain(verdict.sender)
    return (domain, "sender_domain") if domain else (None, None)


def _file_agency(verdict: Verdict, policy: Policy) -> tuple[str | None, str | None]:
    name = _agency_signer(verdict, policy)
    if name:
        return name, "signer"
    for sig in _passed(verdict):
        unit = (sig.signer.organizational_units or (None,))[-1] or sig.signer.organization
        if unit:
            return unit, "signer_organization"
    return None, None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What the audit knows of an item besides its verdict."""

    source: str
    locator: str
    item_sha256: str
    name: str
    received_at: datetime | None
    received_source: str | None
    receipt_time: datetime | None


def entry_rows(
    verdict: Verdict,
    facts: ItemFacts,
    policy: Policy,
    fields: dict[str, tuple[str | None, date | None]],
    *,
    audited_at: datetime,
    separator: str = " / ",
) -> list[dict]:
    """The rows of one item: its own, then one per carried document (depth first).

    ``fields`` maps a part path (``""`` for the item itself) to ``(doc_number, doc_date)``.
    """
    is_message = verdict.kind == "eml"
    agency, agency_source = (
        _message_agency(verdict, policy) if is_message else _file_agency(verdict, policy)
    )
    base = {
        "source": facts.source,
        "locator": facts.locator,
        "item_sha256": facts.item_sha256,
        "message_id": verdict.message_id,
        "received_at": iso(facts.received_at),
        "received_source": facts.received_source,
        "receipt_time": iso(facts.receipt_time),
        "sender": verdict.sender,
        "subject": verdict.subject,
        "validation_time": iso(verdict.validation_time),
        "policy": f"{verdict.policy.name} {verdict.policy.version}",
        "policy_sha256": verdict.policy.sha256,
        "generator": verdict.generator,
        "audited_at": iso(audited_at),
    }

    def row(v: Verdict, part: str, kind: str, name: str | None, agency_pair) -> dict:
        number, when = fields.get(part, (None, None))
        return {
            **base,
            "part": part,
            "kind": kind,
            "name": name,
            "format": v.kind,
            "agency": agency_pair[0],
            "agency_source": agency_pair[1],
            "doc_number": number,
            "doc_date": iso(when),
            "verdict": str(v.verdict),
            "reasons": json.dumps(list(v.reasons), separators=(",", ":")),
            "signers": _signers(v),
            "sha256": v.sha256,
            "size": v.size,
            "retry_after": iso(v.retry_after),
        }

    rows = [
        row(
            verdict,
            "",
            "message" if is_message else "document",
            facts.name,
            (agency, agency_source),
        )
    ]

    def documents(v: Verdict, prefix: str) -> None:
        for doc in v.documents:
            path = f"{prefix}{doc.name}"
            own = _agency_signer(doc, policy)
            pair = (own, "signer") if own else (agency, "message" if agency else None)
            rows.append(row(doc, path, "document", doc.name, pair))
            documents(doc, path + separator)

    documents(verdict, "")
    return rows
