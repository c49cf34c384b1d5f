"""The milter's header work around the verdict's own fields: incoming fields removed as
forgeries, and the Subject tag for webmail readers. The fields sigmail adds are written by
:mod:`sigmail.verdict.auth_results` (re-exported here).

Forgery protection (RFC 8601 §5): an incoming ``Authentication-Results`` whose authserv-id is
ours, and every incoming ``X-Sigmail-*`` field (their values name no server, so any of them
could pass for ours), are removed before ours are added. Other servers' results are kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header

from sigmail.verdict.auth_results import (
    AUTH_RESULTS,
    MAX_LISTED_DOCUMENTS,
    PRINTABLE_ASCII,
    SMIME_RESULTS,
    VERDICT_HEADER,
    AddedHeader,
    failsafe_headers,
    fold,
    headers_for,
    smime_result,
    summary,
)

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

OUR_PREFIX = "x-sigmail-"


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
    if tag.isascii() and PRINTABLE_ASCII.fullmatch(tag) and not starts_encoded:
        word = tag.encode()
    else:
        text = tag + " " if starts_encoded else tag
        word = Header(text, "utf-8").encode(maxlinelen=10_000).replace("\n", "").encode()
    return word + b" " + value if value else word


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
