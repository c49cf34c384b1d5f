"""RFC 5322 mailboxes and RFC 2047 encoded words: what a mail client shows as the sender and
where the mail really comes from.

The address parser is written here rather than taken from :mod:`email.headerregistry`: for
``From: manager@corp.example <eve@corp.example>`` the standard library answers
``manager@corp.example`` (the first addr-spec, with a defect), while mail clients show
``manager@…`` and reply to ``eve@…``. The identity check must see what a client shows *and*
where the message really comes from, so the angle address is the address and everything
before it is the display name, decoded. It sits at the bottom of the package (it needs only
the standard library and the shared bounded memo): S/MIME's identity check and the
Authentication-Results rendering in :mod:`sigmail.verdict` both read From with it.
"""

from __future__ import annotations

import contextlib
import email.errors
import email.header
import re
import unicodedata
from dataclasses import dataclass

from sigmail.bounded_cache import BoundedCache

__all__ = [
    "MAX_ENCODED_TEXT",
    "Mailbox",
    "MailboxList",
    "addresses_in_text",
    "decode_words",
    "normalize_address",
    "parse_mailboxes",
    "strip_comments",
]


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
    # A sender's From field is the same on each of their messages, and a message's is read
    # twice (the identity check, the sender shown): parsed once (bounded, shared).
    return _parsed.get_or_make(value, lambda: _parse_mailboxes(value))


# Weighed at 8 bytes a character: the field, its tokens and the decoded names it keeps alive.
_parsed: BoundedCache[str, MailboxList] = BoundedCache(
    max_entries=4096, max_weight=4 * 1024 * 1024, weigh=lambda value, _parsed: 8 * len(value)
)


def _parse_mailboxes(value: str) -> MailboxList:
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


# What changes the result of strip_comments: where they are sparse (a Received: field has a
# few), the scan visits them alone and keeps the text between them in slices.
_COMMENT_SPECIAL = re.compile(r"[\\()]")


def strip_comments(text: str, *, gap: str = " ") -> str:
    """``text`` without RFC 5322 comments (nested parentheses, quoted pairs); each comment
    becomes ``gap`` (a space, since a comment is folding white space, or "" to join)."""
    if "(" not in text:
        return text  # no comment: a quoted pair or a stray ")" is kept as it is
    out: list[str] = []
    depth = 0
    start = 0  # where the text kept since the last comment begins
    escaped_until = -1  # a quoted pair: the character after a backslash is never special
    for m in _COMMENT_SPECIAL.finditer(text):
        i = m.start()
        if i < escaped_until:
            continue
        char = text[i]
        if char == "\\":
            escaped_until = i + 2
        elif char == "(":
            if depth == 0:
                out.append(text[start:i])
                out.append(gap)
            depth += 1
        elif depth:  # ")" closing a comment (outside one, it is text)
            depth -= 1
            if depth == 0:
                start = i + 1
    if depth == 0:  # an unclosed comment runs to the end
        out.append(text[start:])
    return "".join(out)
