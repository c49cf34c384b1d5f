"""When did the message arrive? The agency's own ``Received:`` field as proof of existence.

A ``Received:`` field (RFC 5321 §4.4) that the agency's own MTA added says the message existed
when that MTA took it in: like a timestamp, it bounds the signing time, so a certificate that
expires or is revoked *later* does not turn an archived verdict (rule book C4; TT 41/2017
Điều 9). Every other ``Received:`` field is text the sender could have written, so:

* only the **topmost** ``Received:`` field counts, and only when its ``by`` host is one of the
  configured own MTAs. Fields below it were there before the message reached the last hop,
  and a sender can forge any of them — one that names an own host included (an earlier "by
  mx.own.gov.vn; 1 Jan" written by the sender would otherwise backdate the message);
* the date is the one after the last ``;`` (RFC 5322 ``date-time``); a field without a
  readable date proves nothing.

For the register, :func:`arrival` also gives a ``received_at`` when there is no proof: the
date of the topmost ``Received:`` field from any host, else the ``Date:`` field — marked by
where it came from (``received_source``), and never passed to the verifier.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sigmail.problems import InputProblem
from sigmail.smime.headers import parse_header_block, strip_comments

__all__ = [
    "Arrival",
    "ReceivedField",
    "arrival",
    "header_fields",
    "normalize_host",
    "parse_date",
    "parse_received",
    "valid_host",
]

# A header block larger than this is not read for trace fields (the verifier still judges the
# message); real header blocks are a few kilobytes.
_MAX_HEADER_BYTES = 1024 * 1024


def normalize_host(host: str) -> str:
    """Host names compared as DNS does: case-insensitive, without a trailing dot."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class ReceivedField:
    """One parsed ``Received:`` field: the ``from`` and ``by`` hosts and its date."""

    from_host: str | None
    by_host: str | None
    date: datetime | None


_CLAUSES = frozenset({"from", "by", "via", "with", "id", "for"})


def parse_date(text: str) -> datetime | None:
    """An RFC 5322 date-time in UTC, or None if it does not parse. ``-0000`` (no zone
    information) is read as UTC, as RFC 5322 §3.3 says."""
    try:
        value = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_received(value: str) -> ReceivedField:
    """``from``, ``by`` and the date of one ``Received:`` field value (unfolded).

    The clauses are read as tokens in order after removing comments, so a HELO name that says
    "by" (``from by (…) by mx``) is the ``from`` host, not the ``by`` one.
    """
    head, sep, date_text = value.rpartition(";")
    if not sep:
        head, date_text = value, ""
    tokens = strip_comments(head).split()
    hosts: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        word = tokens[i].lower()
        if word in _CLAUSES and i + 1 < len(tokens):
            hosts.setdefault(word, tokens[i + 1])
            i += 2
        else:
            i += 1
    return ReceivedField(
        from_host=normalize_host(hosts["from"]) if "from" in hosts else None,
        by_host=normalize_host(hosts["by"]) if "by" in hosts else None,
        date=parse_date(date_text) if date_text.strip() else None,
    )


@dataclass(frozen=True, slots=True)
class Arrival:
    """When a message arrived, and how sure that is.

    ``receipt_time`` is set only when the topmost ``Received:`` field is the agency's own MTA
    (it is the proof handed to the verifier). ``received_at`` is always the best time known;
    ``source`` says where it came from: ``own_mta``, ``received`` (another host: informative
    only), ``date`` (the ``Date:`` field) or None.
    """

    received_at: datetime | None
    source: str | None
    receipt_time: datetime | None = None
    receipt_host: str | None = None


def header_fields(data: bytes) -> list[tuple[str, str]]:
    """The top-level header fields of a message (a leading mbox ``From `` line is skipped)."""
    buf = bytes(data[:_MAX_HEADER_BYTES])
    start = 0
    if buf.startswith(b"From "):
        nl = buf.find(b"\n")
        start = len(buf) if nl < 0 else nl + 1
    try:
        fields, _body, _separated = parse_header_block(buf, start, len(buf))
    except InputProblem:
        return []
    return fields


def arrival(fields: Iterable[tuple[str, str]], own_mta: Iterable[str]) -> Arrival:
    """The arrival of a message with header ``fields`` (lower-case names, in order)."""
    own = {normalize_host(h) for h in own_mta if h.strip()}
    fields = list(fields)
    value = next((v for k, v in fields if k == "received"), None)
    if value is not None:  # only the topmost field counts: the others are not parsed
        top = parse_received(value)
        if top.by_host is not None and top.by_host in own and top.date is not None:
            return Arrival(top.date, "own_mta", receipt_time=top.date, receipt_host=top.by_host)
        if top.date is not None:
            return Arrival(top.date, "received")
    date = next((v for k, v in fields if k == "date"), None)
    parsed = parse_date(date) if date else None
    if parsed is not None:
        return Arrival(parsed, "date")
    return Arrival(None, None)


# What --own-mta and the configuration file accept as a host name.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9_-]+)*\.?")


def valid_host(host: str) -> bool:
    return bool(_HOST.fullmatch(host.strip()))
