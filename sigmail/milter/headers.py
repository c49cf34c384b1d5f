"""The headers sigmail adds to a message, and the incoming ones it removes as forgeries.

Shared by the milter and by ``sigmail verify --headers`` (for MTAs without milter support), so
both write exactly the same fields:

* ``Authentication-Results`` (RFC 8601) with the RFC 7281 ``smime`` method. The result comes
  from the verdict through :data:`SMIME_RESULTS`, the one table that maps verdicts to
  ``smime=`` results; the header is built and parsed with the ``authres`` package.
* ``X-Sigmail-Verdict``: the message verdict word first (``official``, ``not_official``,
  ``unsigned``, ``invalid``, ``indeterminate``), the reason codes as a comment, then a short
  summary of the documents the message carries, ``<verdict> <name>`` each::

      X-Sigmail-Verdict: not_official (partially_signed); documents: official "part 2.eml"

  Names are quoted strings when ASCII and RFC 2047 encoded words otherwise.

Forgery protection (RFC 8601 §5): an incoming ``Authentication-Results`` whose authserv-id is
ours, and every incoming ``X-Sigmail-*`` field (their values name no server, so any of them
could pass for ours), are removed before ours are added. Other servers' results are kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header

import authres
import authres.smime

from sigmail.smime.headers import parse_mailboxes
from sigmail.verdict.model import Verdict

__all__ = [
    "AUTH_RESULTS",
    "MAX_LISTED_DOCUMENTS",
    "SMIME_RESULTS",
    "VERDICT_HEADER",
    "AddedHeader",
    "authserv_id_of",
    "claims_authserv_id",
    "failsafe_headers",
    "fold",
    "forged_headers",
    "headers_for",
    "smime_result",
    "summary",
    "tagged_subject",
]

AUTH_RESULTS = "Authentication-Results"
VERDICT_HEADER = "X-Sigmail-Verdict"
OUR_PREFIX = "x-sigmail-"
MAX_LISTED_DOCUMENTS = 10
MAX_LISTED_REASONS = 6

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


# -- building ----------------------------------------------------------------------------------


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


_SAFE_NAME = re.compile(r"[\x20-\x7e]*")


def _name_word(name: str) -> str:
    """A document name as one header word: a quoted string, or an RFC 2047 encoded word."""
    name = re.sub(r"[\x00-\x1f\x7f]", "?", name)[:120]
    if _SAFE_NAME.fullmatch(name):
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


# -- the Subject tag ---------------------------------------------------------------------------


def tagged_subject(original: bytes | None, tag: str) -> bytes | None:
    """The Subject with ``tag`` in front, as the bytes to set (None: leave it as it is).

    The tag is an RFC 2047 encoded word unless it is plain ASCII; the original value is kept
    byte for byte after it. Between two encoded words white space is not displayed, so when
    the original starts with one, the separating space goes inside the tag's word. A Subject
    that already starts with the tag (a reply, a message that went through twice) is left.
    """
    if not tag:
        return None
    value = (original or b"").strip(b" \t")
    shown = _decode_words(value.decode("utf-8", "replace")) if b"=?" in value else ""
    if value.decode("utf-8", "replace").startswith(tag) or shown.startswith(tag):
        return None
    starts_encoded = value.startswith(b"=?")
    if tag.isascii() and _SAFE_NAME.fullmatch(tag) and not starts_encoded:
        word = tag.encode()
    else:
        text = tag + " " if starts_encoded else tag
        word = Header(text, "utf-8").encode(maxlinelen=10_000).replace("\n", "").encode()
    return word + b" " + value if value else word


# -- forgery protection ------------------------------------------------------------------------


def claims_authserv_id(value: str | bytes, authserv_id: str) -> bool:
    """Does an incoming Authentication-Results value name ``authserv_id`` as its author?

    The authserv-id is read as RFC 8601 §2.2 defines it (after comments and white space, a
    token or a quoted-string, ended by white space, a comment or ``;``) and compared as a
    reader would: case-insensitively, without a trailing dot, after decoding an RFC 2047
    encoded form and Unicode compatibility folding (a full-width dot reads as a dot). The
    authres package cannot parse a quoted authserv-id, so this small reader does it; a value
    broken after the authserv-id still counts, since a mail reader might still show it.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    unfolded = re.sub(r"\r?\n[ \t]", " ", value)
    found = authserv_id_of(unfolded)
    return found is not None and _same_id(found, authserv_id)


def authserv_id_of(value: str) -> str | None:
    """The authserv-id an Authentication-Results value starts with (None if there is none)."""
    pos = _skip_cfws(value, 0)
    if pos >= len(value):
        return None
    if value[pos] == '"':
        word, escaped = [], False
        for char in value[pos + 1 :]:
            if escaped:
                word.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                break
            else:
                word.append(char)
        found = "".join(word)
    else:
        encoded = _ENCODED_WORDS.match(value, pos)
        if encoded:
            found = encoded.group(0)
        else:
            end = pos
            while end < len(value) and value[end] not in ' \t;("':
                end += 1
            found = value[pos:end]
    if "=?" in found:
        found = _decode_words(found)
    return found or None


_ENCODED_WORD = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
_ENCODED_WORDS = re.compile(rf"{_ENCODED_WORD}(?:[ \t]+{_ENCODED_WORD})*")


def _skip_cfws(text: str, pos: int) -> int:
    """The position after any white space and (nested) comments starting at ``pos``."""
    depth = 0
    while pos < len(text):
        char = text[pos]
        if depth:
            if char == "\\":
                pos += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "(":
            depth = 1
        elif char not in " \t\r\n":
            return pos
        pos += 1
    return pos


def _decode_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def _same_id(found: str, ours: str) -> bool:
    def norm(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).strip().strip('"').strip()
        return text.rstrip(".").casefold()

    return bool(norm(found)) and norm(found) == norm(ours)


def forged_headers(
    headers: Iterable[tuple[bytes | str, bytes | str]], authserv_id: str
) -> list[tuple[str, int]]:
    """The incoming fields to remove, as ``(name as received, index among that name from 1)``.

    The indices are those the milter protocol's change-header reply uses; they are returned
    highest first so that deleting one never shifts the index of the next.
    """
    seen: dict[str, int] = {}
    doomed: list[tuple[str, int]] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("ascii", "replace") if isinstance(raw_name, bytes) else raw_name
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if key.startswith(OUR_PREFIX) or (
            key == AUTH_RESULTS.lower() and claims_authserv_id(raw_value, authserv_id)
        ):
            doomed.append((name, seen[key]))
    return sorted(doomed, key=lambda item: (item[0].lower(), -item[1]))
