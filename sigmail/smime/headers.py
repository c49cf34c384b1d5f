"""Header fields of a MIME entity: reading the raw block and Content-Type parameters.

RFC 5322 mailboxes and RFC 2047 encoded words live in :mod:`sigmail.mailboxes` (the
Authentication-Results rendering needs them too); they are re-exported here for the S/MIME
code that has always imported them from this module.
"""

from __future__ import annotations

import re
import urllib.parse

from sigmail.bounded_cache import BoundedCache
from sigmail.limits import LimitExceeded
from sigmail.mailboxes import (
    MAX_ENCODED_TEXT,
    Mailbox,
    MailboxList,
    addresses_in_text,
    decode_words,
    normalize_address,
    parse_mailboxes,
    strip_comments,
)
from sigmail.problems import MalformedInput

__all__ = [
    "MAX_ENCODED_TEXT",
    "Mailbox",
    "MailboxList",
    "addresses_in_text",
    "decode_words",
    "normalize_address",
    "parse_content_type",
    "parse_header_block",
    "parse_mailboxes",
    "parse_parameters",
    "strip_comments",
]

# A header field name: printable US-ASCII except colon (RFC 5322 §2.2), then optional
# whitespace (obsolete syntax) and the colon.
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")
_MAX_FIELDS = 10_000  # per entity; a header block is not a place to spend unbounded work


def parse_header_block(buf: bytes, start: int, end: int) -> tuple[list[tuple[str, str]], int, bool]:
    """The header fields of the entity at ``buf[start:end]`` and where its body starts.

    Returns ``(fields, body_start, separated)``: fields as ``(lower-case name, unfolded value)``;
    ``separated`` is False when no empty line ended the header block (the body then starts at
    the first line that is not a header field, as in :mod:`email`). An entity whose first line
    is not a header field has no header fields at all (RFC 2046 §5.1.1 allows that).
    """
    fields: list[tuple[str, list[bytes]]] = []
    pos = start
    while pos < end:
        nl = buf.find(b"\n", pos, end)
        line_end = end if nl < 0 else nl + 1
        line = buf[pos : nl if nl >= 0 else end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            return _fields(fields), line_end, True
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1].append(line)
        else:
            match = _FIELD.match(line)
            if match is None:
                return _fields(fields), pos, False
            if len(fields) >= _MAX_FIELDS:
                # A budget, like every other one: indeterminate (limit_exceeded), not malformed.
                raise LimitExceeded("max_header_fields", _MAX_FIELDS, len(fields) + 1)
            fields.append((match.group(1).decode("ascii").lower(), [line[match.end() :]]))
        pos = line_end
    return _fields(fields), end, False


def _fields(raw: list[tuple[str, list[bytes]]]) -> list[tuple[str, str]]:
    # Unfolding removes the line breaks and keeps the whitespace (RFC 5322 §2.2.3). Header text
    # is UTF-8 (RFC 6532) or ASCII; anything else cannot name an address and is replaced.
    return [(name, b"".join(lines).decode("utf-8", "replace").strip(" \t")) for name, lines in raw]


_TOKEN_TYPE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+/[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 2231 section numbers are small; a longer digit string is not a section (and would make
# int() raise beyond 4,300 digits): the parameter is then kept under its literal name.
_SECTION = re.compile(r"(?P<base>[^*]+)\*(?:(?P<n>[0-9]{1,6})(?P<star>\*)?)?")
MAX_PARAMETER_FIELD = 64 * 1024  # longer Content-Type / Content-Disposition values are refused


# Only these characters change the split. Where they are sparse (real fields), the scan visits
# them alone and slices between them in C; a message may carry 512 parts with 64 KB fields and
# a loop over every character spent a second on 2 MB of them (found by fuzzing). Where they
# are dense, visiting each character is as cheap as anything else.
_SPECIAL = re.compile(r'[";\\]')


def _split_parameters(value: str) -> list[str]:
    """``value`` split on the semicolons outside quoted strings (one linear pass; a backslash
    escapes the next character inside quotes only; an unclosed quote runs to the end)."""
    if '"' not in value:
        return value.split(";")
    specials = value.count('"') + value.count(";") + value.count("\\")
    if specials * 8 > len(value):
        return _split_every_character(value)
    items: list[str] = []
    start, quoted, escaped_at = 0, False, -1
    for m in _SPECIAL.finditer(value):
        i = m.start()
        if i == escaped_at:
            continue
        char = value[i]
        if char == "\\":
            if quoted:
                escaped_at = i + 1
        elif char == '"':
            quoted = not quoted
        elif not quoted:
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    return items


def _split_every_character(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if "\\" in inner else inner
    return value


def parse_parameters(value: str, where: str = "header") -> tuple[str, dict[str, str]]:
    """The leading value (lower case) and the parameters of a MIME header field (RFC 2045),
    with RFC 2231 continuations and charsets collapsed; parameter names are lower case."""
    if len(value) > MAX_PARAMETER_FIELD:
        raise MalformedInput(f"a {where} field longer than {MAX_PARAMETER_FIELD} characters")
    first, *rest = _split_parameters(value)
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for item in rest:
        name, sep, raw = item.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        found = _SECTION.fullmatch(name) if "*" in name else None  # RFC 2231 names have a *
        if found is None:
            plain.setdefault(name, _unquote(raw))
            continue
        number = int(found.group("n")) if found.group("n") is not None else 0
        encoded = found.group("n") is None or found.group("star") is not None
        sections.setdefault(found.group("base"), []).append((number, encoded, _unquote(raw)))
    for base, pieces in sections.items():
        plain[base] = _collapse_rfc2231(sorted(pieces, key=lambda piece: piece[0]))
    return first.strip().lower(), plain


def _collapse_rfc2231(pieces: list[tuple[int, bool, str]]) -> str:
    charset = "utf-8"
    data = bytearray()
    for number, encoded, value in pieces:
        if encoded:
            if number == 0 and value.count("'") >= 2:
                charset, _language, value = value.split("'", 2)
            data += urllib.parse.unquote_to_bytes(value)
        else:
            data += value.encode("utf-8")
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError):  # an unknown charset, or a name with a NUL in it
        return data.decode("utf-8", "replace")


# Parsed Content-Type/-Disposition pairs by their text: most parts of most messages carry one
# of a few dozen ("text/plain; charset=utf-8", "application/pkcs7-signature; name=smime.p7s",
# "attachment; filename=..."), and parsing them was 4 % of a small message's verification.
_CONTENT_TYPES: BoundedCache[tuple[str | None, str | None, str], tuple] = BoundedCache(
    max_entries=1024,
    max_weight=1 << 20,
    # the key's text and the parsed strings it holds (at most as long again), with overhead
    weigh=lambda key, _value: 256 + 2 * (len(key[0] or "") + len(key[1] or "")),
)


def parse_content_type(
    content_type: str | None, disposition: str | None, default: str = "text/plain"
) -> tuple[str, dict[str, str], str | None]:
    """``(type/subtype, parameters, filename)`` from Content-Type and Content-Disposition.

    Parameters follow RFC 2045 and RFC 2231 (continuations, charsets); names are lower case.
    The filename is Content-Disposition's ``filename`` or else Content-Type's ``name``, with
    RFC 2047 words decoded (what Outlook writes). A missing type is ``default``; one that is
    not ``type/subtype`` is text/plain (RFC 2045 §5.2). A field too long to parse raises
    MalformedInput, every time (a failed parse is not kept).
    """
    key = (content_type, disposition, default)
    ctype, params, filename = _CONTENT_TYPES.get_or_make(
        key, lambda: _parse_content_type(content_type, disposition, default)
    )
    return ctype, dict(params), filename  # the caller's own dict: the kept one never changes


def _parse_content_type(
    content_type: str | None, disposition: str | None, default: str
) -> tuple[str, dict[str, str], str | None]:
    ctype, params = default, dict[str, str]()
    if content_type is not None:
        value, params = parse_parameters(content_type, "Content-Type")
        ctype = value if _TOKEN_TYPE.fullmatch(value) else "text/plain"
    filename = None
    if disposition is not None:
        filename = parse_parameters(disposition, "Content-Disposition")[1].get("filename")
    if filename is None:
        filename = params.get("name")
    if filename is not None:
        filename = decode_words(filename).strip() or None
    return ctype, params, filename
