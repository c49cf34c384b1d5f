"""The yearly report from a register: per agency and month, counts by verdict, the share that
is officially valid, the most frequent reasons — as CSV and as one self-contained HTML page.

HCMC QĐ 41/2011/QĐ-UBND has the Department of Information and Communications report yearly
how units use the e-mail system; this is the table behind such a report, for messages (the
e-mail traffic) and for documents (what the traffic carried) separately.

* Months are counted in the agency's time zone (``tz``, default +07:00): a message received
  at 20:00 UTC on 31 May is a June message in Hà Nội.
* An agency is one identity: its registry name or its signers' organisation (the ``agency``
  column, rules in :mod:`sigmail.audit.rows`), and a sender domain is counted under the
  agency whose signatures arrive from it (the From domain of its signed mail and the e-mail
  domains of its signers' certificates) when exactly one agency's do. A domain no signature
  names stays itself. Entries with neither are counted apart, never as an agency.
* An entry's date: a document's from its text (``ngày … tháng … năm …``), else a signing
  time (proven, else claimed), else the arrival of the message that carried it; a message's
  from its arrival. The file's modification time only as a last resort, and counted as such
  (``dated_by_file_time``).
The CSV is written by :mod:`sigmail.audit.report_csv`, the page by
:mod:`sigmail.audit.report_html`.

* The page needs nothing but itself: CSS in a ``<style>`` element, charts as inline SVG drawn
  here (no JavaScript, no fonts, images or scripts fetched), so it opens offline, in a
  browser or an e-mail client, and prints.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sigmail.audit.register import read_rows
from sigmail.audit.rows import sender_domain
from sigmail.errors import UsageError
from sigmail.verdict.vocabulary import VERDICT_ORDER, VerdictKind

__all__ = ["VERDICTS", "YearReport", "build_report", "parse_offset", "rows_of", "top_reasons"]

VERDICTS = VERDICT_ORDER
KINDS = ("message", "document")
UNKNOWN = ""  # the agency key of entries no rule could name: counted, never an agency
# agency_source values whose agency is a name taken from a signature (rows.py's rules)
NAMED_SOURCES = frozenset({"signer", "document", "signer_organization"})
DATE_SOURCES = ("text", "signing_time", "message", "file_time")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\.?")
COLORS = {kind.value: kind.colour for kind in VerdictKind}


def parse_offset(text: str) -> timezone:
    """``+07:00`` → a fixed time zone (the report's months are counted in it)."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    try:
        hours, _, minutes = body.partition(":")
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    except ValueError as exc:
        raise UsageError(f"not a UTC offset: {text!r} (write +07:00)") from exc
    if delta > timedelta(hours=14):
        raise UsageError(f"not a UTC offset: {text!r}")
    return timezone(sign * delta)


@dataclass
class Cell:
    verdicts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    dated_by_file_time: int = 0

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def official_share(self) -> float | None:
        return self.verdicts["official"] / self.total if self.total else None

    def add(self, other: Cell) -> None:
        self.verdicts.update(other.verdicts)
        self.reasons.update(other.reasons)
        self.dated_by_file_time += other.dated_by_file_time


@dataclass
class YearReport:
    year: int
    tz: timezone
    source: str
    cells: dict[tuple[str, str, int], Cell] = field(default_factory=dict)
    policies: Counter = field(default_factory=Counter)
    outside: int = 0  # entries of other years, or with no date at all
    dated: Counter = field(default_factory=Counter)  # DATE_SOURCES → entries counted

    def add(
        self,
        kind: str,
        agency: str,
        month: int,
        verdict: str,
        reasons: Iterable[str],
        *,
        file_time: bool = False,
    ):
        cell = self.cells.setdefault((kind, agency, month), Cell())
        cell.verdicts[verdict] += 1
        cell.reasons.update(reasons)
        cell.dated_by_file_time += file_time

    def agencies(self, kind: str) -> list[str]:
        """The agencies with entries of ``kind``, busiest first (not the unnamed entries)."""
        totals: Counter = Counter()
        for (k, agency, _m), cell in self.cells.items():
            if k == kind and agency != UNKNOWN:
                totals[agency] += cell.total
        return sorted(totals, key=lambda a: (-totals[a], a))

    def unnamed(self, kind: str) -> Cell:
        """The entries of ``kind`` that no rule could count under an agency."""
        return self.cell(kind, UNKNOWN)

    def cell(self, kind: str, agency: str | None = None, month: int | None = None) -> Cell:
        """The sum over the agencies and/or months left as None."""
        out = Cell()
        for (k, a, m), cell in self.cells.items():
            if k == kind and agency in (None, a) and month in (None, m):
                out.add(cell)
        return out


def _json(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _signers(row: dict) -> list[dict]:
    return [s for s in _json(row.get("signers")) if isinstance(s, dict)]


def _email_domain(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].rstrip(".").lower() or None


def _named(row: dict) -> str | None:
    """The agency name a row's signatures gave, if any. A row of an older register counted
    under a document timestamp's certificate (the TSA) has none."""
    if row["agency_source"] not in NAMED_SOURCES or not row["agency"]:
        return None
    if row["agency_source"] == "signer_organization" and not any(
        s.get("kind") != "doc_timestamp" and s.get("status") == "passed" for s in _signers(row)
    ):
        return None
    return row["agency"]


def domain_agencies(path) -> dict[str, str]:
    """Sender and signer e-mail domain → the (folded) agency whose signatures come from it,
    for the domains exactly one agency's signatures come from."""
    from sigmail.policy.roles import fold

    claims: dict[str, set[str]] = {}
    for row in read_rows(path, ("agency", "agency_source", "sender", "signers")):
        name = _named(row)
        if name is None:
            continue
        domains = {sender_domain(row["sender"])}
        domains.update(
            _email_domain(s.get("email"))
            for s in _signers(row)
            if s.get("kind") != "doc_timestamp" and s.get("status") == "passed"
        )
        for domain in domains:
            if domain is not None:
                claims.setdefault(domain, set()).add(fold(name))
    return {domain: next(iter(keys)) for domain, keys in claims.items() if len(keys) == 1}


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def entry_date(row: dict, tz: timezone) -> tuple[tuple[int, int] | None, str | None]:
    """(year, month) of an entry in ``tz`` and what dated it (one of DATE_SOURCES)."""
    if row["kind"] != "message":
        if row.get("doc_date"):
            try:
                day = date.fromisoformat(row["doc_date"])
                return (day.year, day.month), "text"
            except ValueError:
                pass
        signers = _signers(row)
        people = [s for s in signers if s.get("kind") != "doc_timestamp"]
        stamps = [s for s in signers if s.get("kind") == "doc_timestamp"]
        for key, group in (
            ("proven_signing_time", people),
            ("claimed_signing_time", people),
            ("proven_signing_time", stamps),
        ):
            for signer in group:
                when = _instant(signer.get(key))
                if when is not None:
                    local = when.astimezone(tz)
                    return (local.year, local.month), "signing_time"
    when = _instant(row["received_at"])
    if when is None:
        return None, None
    local = when.astimezone(tz)
    return (local.year, local.month), (
        "file_time" if row.get("received_source") == "file" else "message"
    )


def build_report(path, year: int, *, tz: timezone | None = None) -> YearReport:
    """Read the register at ``path`` (twice: the agencies' domains, then the counts) and
    count the entries of ``year``.

    Agency names that differ only in case and diacritics ("SỞ THÔNG TIN …" on a seal, "Sở
    Thông tin …" in a certificate's OU) are one agency, shown in its most frequent spelling.
    """
    from sigmail.policy.roles import fold

    tz = tz or timezone(timedelta(hours=7))
    report = YearReport(year=year, tz=tz, source=str(path))
    domains = domain_agencies(path)
    spellings: dict[str, Counter] = {}
    columns = (
        "kind",
        "agency",
        "agency_source",
        "sender",
        "received_at",
        "received_source",
        "doc_date",
        "signers",
        "verdict",
        "reasons",
        "policy",
    )
    for row in read_rows(path, columns):
        month, dated_by = entry_date(row, tz)
        if month is None or month[0] != year:
            report.outside += 1
            continue
        kind = row["kind"] if row["kind"] in KINDS else "document"
        name, domain = _named(row), None
        if name is None and row["agency"] and row["agency_source"] in ("sender_domain", "message"):
            # A message's agency, copied onto its documents, is a name or a sender domain.
            if _DOMAIN.fullmatch(row["agency"]):
                domain = row["agency"].lower()
            else:
                name = row["agency"]
        if name is not None:
            key = fold(name)
            spellings.setdefault(key, Counter())[name] += 1
        elif domain is not None:
            key = domains.get(domain, domain)
            spellings.setdefault(key, Counter())
        else:
            key = UNKNOWN
        report.add(
            kind,
            key,
            month[1],
            row["verdict"],
            [str(r) for r in _json(row["reasons"])],
            file_time=dated_by == "file_time",
        )
        report.dated[dated_by] += 1
        report.policies[row["policy"]] += 1
    shown = {key: min(c, key=lambda s: (-c[s], s)) if c else key for key, c in spellings.items()}
    shown[UNKNOWN] = UNKNOWN
    report.cells = {(k, shown[a], m): cell for (k, a, m), cell in report.cells.items()}
    return report


def top_reasons(reasons: Counter, n: int) -> list[tuple[str, int]]:
    return sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def rows_of(report: YearReport, kind: str) -> list[str]:
    """The agencies, then the unnamed entries (agency "") if there are any."""
    return [*report.agencies(kind), *([UNKNOWN] if report.unnamed(kind).total else [])]
