"""The headers a verdict is written as on a message: ``Authentication-Results`` (RFC 8601, the
RFC 7281 ``smime`` method) and ``X-Sigmail-Verdict``.

Used by the milter and by ``sigmail verify --headers`` (for MTAs without milter support), so
both write exactly the same fields:

* ``Authentication-Results``: the result comes from the verdict through :data:`SMIME_RESULTS`,
  the one table that maps verdicts to ``smime=`` results; the header is built with the
  ``authres`` package.
* ``X-Sigmail-Verdict``: the message verdict word first (``official``, ``not_official``,
  ``unsigned``, ``invalid``, ``indeterminate``), the reason codes as a comment, then a short
  summary of the documents the message carries, ``<verdict> <name>`` each::

      X-Sigmail-Verdict: not_official (partially_signed); documents: official "part 2.eml"

  Names are quoted strings when ASCII and RFC 2047 encoded words otherwise.

Which incoming fields are forgeries, and the Subject tag, are the milter's
(:mod:`sigmail.milter.headers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import Header

import authres
import authres.smime

from sigmail.mailboxes import parse_mailboxes
from sigmail.verdict.model import Verdict

__all__ = [
    "AUTH_RESULTS",
    "MAX_LISTED_DOCUMENTS",
    "PRINTABLE_ASCII",
    "SMIME_RESULTS",
    "VERDICT_HEADER",
    "AddedHeader",
    "failsafe_headers",
    "fold",
    "headers_for",
    "smime_result",
    "summary",
]

AUTH_RESULTS = "Authentication-Results"


VERDICT_HEADER = "X-Sigmail-Verdict"


MAX_LISTED_DOCUMENTS = 10


MAX_LISTED_REASONS = 6
# What a header word may hold as a quoted string; anything else is an RFC 2047 encoded word.
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


# verdict → RFC 7281 smime= result. Rows are tried in order; the first whose verdict matches
# and whose reason (if any) is among the message's reason codes wins. This is the only place
# the mapping is decided (docs/milter.md shows it).
SMIME_RESULTS: tuple[tuple[str, str | None, str], ...] = (
    ("official", None, "pass"),
    ("not_official", None, "policy"),  # intact and trusted, but the policy is not met
    ("unsigned", None, "none"),
    ("invalid", None, "fail"),
    # Undecidable for good: retrying cannot bring proof of the signing time or the content.
    ("indeterminate", "expired_no_poe", "permerror"),
    ("indeterminate", "revoked_no_poe", "permerror"),
    ("indeterminate", "suspended_no_poe", "permerror"),
    ("indeterminate", "detached_content_missing", "permerror"),
    # Signed, but sigmail cannot process it (an encrypted part, a format or algorithm it does
    # not verify): RFC 7281's "neutral".
    ("indeterminate", "encrypted", "neutral"),
    ("indeterminate", "unsupported", "neutral"),
    ("indeterminate", "unsupported_algorithm", "neutral"),
    # Everything else may be decided later: revocation unreachable or unavailable, an internal
    # error, a time budget or size limit (the fail-safe), and any reason code added later.
    ("indeterminate", None, "temperror"),
)


def smime_result(verdict: str, reasons: Iterable[str] = ()) -> str:
    """The ``smime=`` result for a message verdict and its reason codes (:data:`SMIME_RESULTS`)."""
    present = set(reasons)
    for row_verdict, reason, result in SMIME_RESULTS:
        if row_verdict == verdict and (reason is None or reason in present):
            return result
    raise ValueError(f"no smime= result for verdict {verdict!r}")


@dataclass(frozen=True, slots=True)
class AddedHeader:
    """One header field to add: its name and its (unfolded, ASCII) value."""

    name: str
    value: str

    def folded(self, newline: str = "\n") -> str:
        """The value folded at 78 characters (a milter folds with a bare ``\\n``)."""
        return fold(self.name, self.value, newline=newline)

    def __str__(self) -> str:
        return f"{self.name}: {self.folded()}"


def headers_for(verdict: Verdict, authserv_id: str) -> tuple[AddedHeader, AddedHeader]:
    """Authentication-Results and X-Sigmail-Verdict for a verdict of a message."""
    word = str(verdict.verdict)
    documents = [(str(d.verdict), d.name or d.kind or "document") for d in verdict.documents]
    return _render(
        authserv_id,
        word,
        verdict.reasons,
        identifier=_signer_identifier(verdict),
        documents=documents,
    )


def failsafe_headers(reason: str, authserv_id: str, detail: str | None = None):
    """The headers for a message sigmail could not judge (internal error, time, size).

    Built from constants only, so the fail-safe path cannot fail on the message's content.
    """
    return _render(authserv_id, "indeterminate", (reason,), detail=detail)


def _render(
    authserv_id: str,
    word: str,
    reasons: Sequence[str],
    *,
    identifier: str | None = None,
    documents: Sequence[tuple[str, str]] = (),
    detail: str | None = None,
) -> tuple[AddedHeader, AddedHeader]:
    result = authres.smime.SMIMEAuthenticationResult(
        result=smime_result(word, reasons),
        result_comment=word if detail is None else f"{word}: {_comment_text(detail)}",
        reason=" ".join(reasons[:MAX_LISTED_REASONS]) or None,
        body_smime_identifier=identifier,
    )
    header = authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=[result])
    return (
        AddedHeader(AUTH_RESULTS, header.header_value()),
        AddedHeader(VERDICT_HEADER, summary(word, reasons, documents)),
    )


def summary(word: str, reasons: Sequence[str], documents: Sequence[tuple[str, str]]) -> str:
    """The X-Sigmail-Verdict value: verdict word, reasons, documents (see the module doc)."""
    out = word
    if reasons:
        shown = list(reasons[:MAX_LISTED_REASONS])
        if len(reasons) > len(shown):
            shown.append(f"+{len(reasons) - len(shown)} more")
        out += f" ({', '.join(shown)})"
    if documents:
        listed = [f"{doc_verdict} {_name_word(name)}" for doc_verdict, name in documents]
        if len(listed) > MAX_LISTED_DOCUMENTS:
            rest = len(listed) - MAX_LISTED_DOCUMENTS
            listed = [*listed[:MAX_LISTED_DOCUMENTS], f"+{rest} more"]
        out += "; documents: " + ", ".join(listed)
    return out


def _name_word(name: str) -> str:
    """A document name as one header word: a quoted string, or an RFC 2047 encoded word."""
    name = re.sub(r"[\x00-\x1f\x7f]", "?", name)[:120]
    if PRINTABLE_ASCII.fullmatch(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return Header(name, "utf-8").encode(maxlinelen=10_000).replace("\n", "").replace("\r", "")


def _comment_text(text: str) -> str:
    """Text safe inside an RFC 5322 comment: printable ASCII, no parentheses or backslash."""
    return re.sub(r"[^\x20-\x7e]|[()\\]", "?", text)[:120]


def _signer_identifier(verdict: Verdict) -> str | None:
    """body.smime-identifier: the signer address that is the From address, else the first."""
    addresses = [a for s in verdict.signatures if s.signer for a in s.signer.emails]
    addresses = [a for a in addresses if a.isascii() and re.fullmatch(r"[!-~]+@[!-~]+", a)]
    if not addresses:
        return None
    sender = _address_of(verdict.sender)
    for address in addresses:
        if sender is not None and address.lower() == sender.lower():
            return address
    return addresses[0]


def _address_of(text: str | None) -> str | None:
    """The one address a From field names, read as the verifier reads it (RFC 5322, not
    :func:`email.utils.getaddresses`, which splits ``a@x <b@y>`` into two addresses)."""
    if not text:
        return None
    found = [box.address for box in parse_mailboxes(text).mailboxes if box.address]
    return found[0] if len(found) == 1 else None


def fold(name: str, value: str, *, newline: str = "\n", width: int = 78) -> str:
    """Fold ``value`` at spaces so that no line of ``name: value`` exceeds ``width``.

    A fold is a line break before the space, which unfolding removes again (RFC 5322 §2.2.3),
    so a space inside a quoted name survives. Words longer than a line stay whole.
    """
    lines: list[str] = []
    current = ""
    for word in value.split(" "):
        candidate = f"{current} {word}" if current else word
        indent = 1 if lines else len(name) + 2
        if current and indent + len(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return (newline + " ").join(lines)
