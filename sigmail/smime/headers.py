"""Header fields of a MIME entity: reading the raw block, Content-Type parameters, RFC 2047
encoded words and RFC 5322 mailboxes.

The address parser is written here rather than taken from :mod:`email.headerregistry`: for
``From: manager@corp.example <eve@corp.example>`` the standard library answers
``manager@corp.example`` (the first addr-spec, with a defect), while mail clients show
``manager@…`` and reply to ``eve@…``. The identity check must see what a client shows *and*
where the message really comes from, so the angle address is the address and everything
before it is the display name, decoded.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.header
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass

from sigmail.limits import LimitExceeded
from sigmail.problems import MalformedInput

__all__ = [
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


# The standard library's RFC 2047 decoder is quadratic in the number of encoded words (a
# Subject of 60,000 words took 8 s); text longer than this is cut before it is decoded. From and
# Sender are refused beyond identity.MAX_ADDRESS_FIELD; a Subject or a file name is only shown.
MAX_ENCODED_TEXT = 16 * 1024


def decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded (``=?utf-8?B?…?=``); unchanged if it
    has none or they do not decode. Only the first :data:`MAX_ENCODED_TEXT` characters are
    kept."""
    value = value[:MAX_ENCODED_TEXT]
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
        return value


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
        return re.sub(r"\\(.)", r"\1", value[1:-1])
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
        found = _SECTION.fullmatch(name)
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


def parse_content_type(
    content_type: str | None, disposition: str | None, default: str = "text/plain"
) -> tuple[str, dict[str, str], str | None]:
    """``(type/subtype, parameters, filename)`` from Content-Type and Content-Disposition.

    Parameters follow RFC 2045 and RFC 2231 (continuations, charsets); names are lower case.
    The filename is Content-Disposition's ``filename`` or else Content-Type's ``name``, with
    RFC 2047 words decoded (what Outlook writes). A missing type is ``default``; one that is
    not ``type/subtype`` is text/plain (RFC 2045 §5.2).
    """
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


# -- mailboxes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One mailbox of an address field: what a client shows and where the mail is from."""

    display_name: str  # decoded (RFC 2047), "" when there is none
    address: str | None  # the addr-spec, None when it is missing or not an address

    def __str__(self) -> str:
        if self.display_name and self.address:
            return f"{self.display_name} <{self.address}>"
        return self.address or self.display_name


@dataclass(frozen=True, slots=True)
class MailboxList:
    mailboxes: tuple[Mailbox, ...]
    problems: tuple[str, ...]  # syntax problems found (empty: well formed)


# atext (RFC 5322 §3.2.3) and, for internationalised addresses (RFC 6531), any non-ASCII
# character: everything but controls, space and specials. (A negated class: a positive one
# spanning all of Unicode costs 10 ms to compile.)
_ATEXT = r'[^\x00-\x20\x7f()<>\[\]:;@\\,."]'
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[^"\\\r\n]|\\.)*"'
_ADDR_SPEC = re.compile(rf"(?P<local>{_DOT_ATOM}|{_QUOTED})@(?P<domain>{_DOT_ATOM}|\[[^\[\]\\]*\])")
_DOT_ATOM_ONLY = re.compile(rf"{_DOT_ATOM}\Z")


def _tokens(text: str) -> list[tuple[str, str]]:
    """Top-level tokens of an address field: ("q", quoted string with its quotes), ("c",
    comment), ("a", angle address content), ("s", "," | ":" | ";"), ("t", other text)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    plain: list[str] = []

    def flush() -> None:
        if plain:
            out.append(("t", "".join(plain)))
            plain.clear()

    while i < n:
        ch = text[i]
        if ch == '"':
            flush()
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(("q", text[i : j + 1]))
            i = j + 1
        elif ch == "(":
            flush()
            depth, j = 1, i + 1
            while j < n and depth:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                j += 1
            out.append(("c", text[i + 1 : j - 1]))
            i = j
        elif ch == "<":
            flush()
            j = text.find(">", i + 1)
            if j < 0:
                out.append(("a", text[i + 1 :] + "\x00"))  # unterminated: marked, see below
                i = n
            else:
                out.append(("a", text[i + 1 : j]))
                i = j + 1
        elif ch in ",:;":
            flush()
            out.append(("s", ch))
            i += 1
        else:
            plain.append(ch)
            i += 1
    flush()
    return out


def normalize_address(address: str) -> str:
    """The form two addresses are compared in: the local part exact (unquoted when quoting
    changes nothing), the domain case-insensitive (RFC 5321 §2.4) and in IDNA form."""
    match = _ADDR_SPEC.fullmatch(address.strip())
    if match is None:
        return address.strip()
    local, domain = match.group("local"), match.group("domain")
    if local.startswith('"') and _DOT_ATOM_ONLY.match(local[1:-1]):
        local = local[1:-1]
    domain = domain.lower()
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _mailbox(tokens: list[tuple[str, str]], problems: list[str]) -> Mailbox | None:
    tokens = [t for t in tokens if not (t[0] == "t" and not t[1].strip())]
    if not tokens:
        return None
    angles = [i for i, t in enumerate(tokens) if t[0] == "a"]
    if angles:
        if len(angles) > 1:
            problems.append("more than one <address> in one mailbox")
        first = angles[0]
        after = [t for t in tokens[first + 1 :] if t[0] != "c"]
        if after:
            problems.append("text after the <address>")
        inner = tokens[first][1]
        if inner.endswith("\x00"):
            problems.append("unterminated <address>")
            inner = inner[:-1]
        inner = inner.strip()
        if ":" in inner and inner.startswith("@"):  # obsolete source route "@a,@b:x@y"
            inner = inner.split(":", 1)[1].strip()
        display = _display(tokens[:first])
        address = inner if _ADDR_SPEC.fullmatch(inner) else None
        if address is None:
            problems.append(f"<{inner}> is not an address")
        return Mailbox(display, address)
    text = "".join(t[1] for t in tokens if t[0] in ("t", "q")).strip()
    if _ADDR_SPEC.fullmatch(text):
        return Mailbox("", text)
    problems.append(f"{text!r} is not an address")
    return Mailbox(_display(tokens), None)


def _display(tokens: list[tuple[str, str]]) -> str:
    words = []
    for kind, value in tokens:
        if kind == "q":
            inner = re.sub(r"\\(.)", r"\1", value[1:-1] if value.endswith('"') else value[1:])
            words.append(decode_words(inner))
        elif kind == "t":
            words.append(decode_words(value.strip()))
    return " ".join(w for w in words if w).strip()


def parse_mailboxes(value: str) -> MailboxList:
    """The mailboxes of an address field such as From (RFC 5322 §3.4), leniently: every
    syntax problem is reported in ``problems`` rather than guessed away."""
    problems: list[str] = []
    mailboxes: list[Mailbox] = []
    current: list[tuple[str, str]] = []
    for token in _tokens(value):
        if token[0] == "s":
            if token[1] in ":;":
                problems.append("group syntax in a mailbox list")
            box = _mailbox(current, problems)
            if box is not None:
                mailboxes.append(box)
            current = []
        else:
            current.append(token)
    box = _mailbox(current, problems)
    if box is not None:
        mailboxes.append(box)
    return MailboxList(tuple(mailboxes), tuple(problems))


# Something in a display name that a reader would take for an e-mail address.
_ADDRESS_LIKE = re.compile(r"[^\s<>()\[\]\",;:@]+@[^\s<>()\[\]\",;:@]+\.[^\s<>()\[\]\",;:@.]{2,}")


def addresses_in_text(text: str) -> list[str]:
    """Address-like strings in ``text`` (a display name), after Unicode compatibility
    normalisation, so that a full-width ＠ or look-alike dots count as what they look like."""
    folded = unicodedata.normalize("NFKC", text)
    return [m.group(0).rstrip(".") for m in _ADDRESS_LIKE.finditer(folded)]


def strip_comments(text: str, *, gap: str = " ") -> str:
    """``text`` without RFC 5322 comments (nested parentheses, quoted pairs); each comment
    becomes ``gap`` (a space, since a comment is folding white space, or "" to join)."""
    out: list[str] = []
    depth = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif char == "(":
            depth += 1
            if depth == 1:
                out.append(gap)
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)
