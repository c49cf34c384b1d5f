"""A small PDF object parser (ISO 32000-1 §7.2–7.3): tokens, objects, indirect objects.

It reads any buffer (``bytes``, ``mmap``, ``memoryview``) at a given offset with compiled
regular expressions, so nothing is copied but the objects it returns. It is strict about what
it returns and bounded in what it accepts: nesting depth, string sizes and stream lengths are
checked, and every problem is a :class:`PdfSyntaxError` (a ``malformed`` input), never
another exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sigmail.pdf.objects import Name, PdfDict, PdfString, Ref, Stream
from sigmail.problems import MalformedInput

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "ObjectParser", "PdfSyntaxError", "integer"]

MAX_DEPTH = 64  # arrays/dictionaries nested deeper than this are refused
MAX_DIGITS = 20  # an object or generation number, an offset: far more than any file needs

_WS = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?!" + _REGULAR + rb")")
_INT_REF = re.compile(rb"(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+R(?!" + _REGULAR + rb")")
_NAME = re.compile(rb"/(" + _REGULAR + rb"*)")
_KEYWORD = re.compile(_REGULAR + rb"+")
_HEX = re.compile(rb"<([0-9A-Fa-f\x00\t\n\x0c\r ]*)>")
_LITERAL_SPECIAL = re.compile(rb"[()\\]")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_OBJ_HEADER = re.compile(
    rb"(\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+obj(?!" + _REGULAR + rb")"
)
# One token after whitespace: the groups, in this order, are what lastindex tells apart.
_TOKEN = re.compile(
    rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*(?:"
    rb"((\d+)[\x00\t\n\x0c\r ]+(\d+)[\x00\t\n\x0c\r ]+R(?!" + _REGULAR + rb"))"  # a reference
    rb"|(\d{1,18}(?!" + _REGULAR + rb"))"  # an integer (longer ones: the long way)
    rb"|(/" + _REGULAR + rb"*)"  # a name
    rb"|(\[|<<)"  # an array or a dictionary opens
    rb"|(\]|>>)"  # … or closes
    rb"|([+-]?(?:\d+\.?\d*|\.\d+)(?!" + _REGULAR + rb"))"  # any other number
    rb"|((?:true|false|null)(?!" + _REGULAR + rb")))"
)
_T_REF, _T_INT, _T_NAME, _T_OPEN, _T_CLOSE, _T_NUMBER, _T_CONSTANT = 1, 4, 5, 6, 7, 8, 9
_CONSTANTS = {b"true": True, b"false": False, b"null": None}
_STREAM_KW = re.compile(rb"stream(?:\r\n|\n|\r)?")
_ENDSTREAM = re.compile(rb"[\x00\t\n\x0c\r ]*endstream")

_ESCAPES = {
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("("): b"(",
    ord(")"): b")",
    ord("\\"): b"\\",
}


class PdfSyntaxError(MalformedInput):
    """Bytes that are not the PDF syntax expected where they are."""

    def __init__(self, detail: str, offset: int | None = None) -> None:
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"PDF syntax: {detail}{where}")


class _Keyword(bytes):
    """A bare keyword token (``R``, ``obj``, operators) seen while parsing."""


class ObjectParser:
    """Parses objects out of ``buf``. ``base`` is added to positions recorded in
    ``PdfDict.spans`` (0 for the file; ``None`` for decoded object-stream data, which has no
    file positions). ``length_of(ref)`` resolves an indirect stream /Length."""

    __slots__ = ("base", "buf", "end", "length_of", "max_string", "tokens")

    def __init__(
        self,
        buf: Any,
        *,
        base: int | None = 0,
        end: int | None = None,
        length_of: Callable[[Ref], Any] | None = None,
        max_string: int = 1 << 26,
        tokens: Any = None,
    ) -> None:
        self.buf = buf
        self.base = base
        self.end = len(buf) if end is None else end
        self.length_of = length_of
        self.max_string = max_string
        # An account with ``tokens_left`` and ``spend_tokens(n)`` (the document's decode
        # allowance) when parsing decoded data: a small file can inflate to 64 MB of tokens.
        self.tokens = tokens

    # -- tokens ----------------------------------------------------------------------------

    def skip_ws(self, pos: int) -> int:
        return _WS.match(self.buf, pos, self.end).end()

    def _char(self, pos: int) -> int:
        if pos >= self.end:
            raise PdfSyntaxError("unexpected end of data", pos)
        return self.buf[pos]

    # -- objects ---------------------------------------------------------------------------

    def parse(self, pos: int, depth: int = 0) -> tuple[Any, int]:
        """The object starting at (or after whitespace from) ``pos``, and the end offset."""
        if depth > MAX_DEPTH:
            raise PdfSyntaxError("objects nested too deeply", pos)
        tokens = self.tokens
        if tokens is not None:
            tokens.tokens_left -= 1
            if tokens.tokens_left < 0:
                tokens.spend_tokens(0)  # raises, saying how many
        # The common tokens in one regular-expression match (whitespace skipped in it);
        # everything else, and every error, goes the long way round.
        m = _TOKEN.match(self.buf, pos, self.end)
        if m is not None:
            kind = m.lastindex
            if kind == _T_INT:
                return int(m.group(kind)), m.end()
            if kind == _T_NAME:
                return _name(m.group(kind)[1:]), m.end()
            if kind == _T_REF:
                at = m.start(kind)
                return Ref(
                    integer(m.group(_T_REF + 1), at), integer(m.group(_T_REF + 2), at)
                ), m.end()
            if kind == _T_OPEN:
                if self.buf[m.start(kind)] == 0x5B:  # [
                    return self._array(m.end(), depth)
                return self._dict(m.end(), depth)
            if kind == _T_NUMBER:
                text = m.group(kind)
                try:
                    return (float(text) if b"." in text else int(text)), m.end()
                except ValueError as exc:  # more digits than int() converts
                    raise PdfSyntaxError("bad number", m.start(kind)) from exc
            if kind == _T_CONSTANT:
                return _CONSTANTS[m.group(kind)], m.end()
        return self._parse_other(pos, depth)

    def _parse_other(self, pos: int, depth: int) -> tuple[Any, int]:
        """What :meth:`parse` does not take in one match: strings, reals, signed numbers,
        keywords, and the errors."""
        pos = self.skip_ws(pos)
        c = self._char(pos)
        buf = self.buf
        if c == 0x2F:  # /
            m = _NAME.match(buf, pos, self.end)
            return _name(m.group(1)), m.end()
        if c == 0x3C:  # <
            if pos + 1 < self.end and buf[pos + 1] == 0x3C:
                return self._dict(pos + 2, depth)
            m = _HEX.match(buf, pos, self.end)
            if m is None:
                raise PdfSyntaxError("bad hexadecimal string", pos)
            digits = m.group(1)
            if len(digits) > self.max_string:
                raise PdfSyntaxError("string too long", pos)
            digits = bytes(digits).translate(None, b"\x00\t\n\x0c\r ")
            if len(digits) % 2:
                digits += b"0"
            return PdfString(bytes.fromhex(digits.decode("ascii"))), m.end()
        if c == 0x5B:  # [
            return self._array(pos + 1, depth)
        if c == 0x28:  # (
            return self._literal(pos + 1)
        if c in b"+-.0123456789":
            m = _INT_REF.match(buf, pos, self.end)
            if m is not None:
                return Ref(integer(m.group(1), pos), integer(m.group(2), pos)), m.end()
            m = _NUMBER.match(buf, pos, self.end)
            if m is None:
                raise PdfSyntaxError("bad number", pos)
            text = m.group(0)
            try:
                value = float(text) if b"." in text else int(text)
            except ValueError as exc:
                raise PdfSyntaxError("bad number", pos) from exc
            return value, m.end()
        m = _KEYWORD.match(buf, pos, self.end)
        if m is None:
            raise PdfSyntaxError(f"unexpected byte {c:#04x}", pos)
        word = bytes(m.group(0))
        if word == b"true":
            return True, m.end()
        if word == b"false":
            return False, m.end()
        if word == b"null":
            return None, m.end()
        return _Keyword(word), m.end()

    def value(self, pos: int) -> tuple[Any, int]:
        """Like :meth:`parse`, but a bare keyword is an error (what an object must be)."""
        return self._value(pos, -1)

    def _value(self, pos: int, depth: int) -> tuple[Any, int]:
        value, end = self.parse(pos, depth + 1)
        if isinstance(value, _Keyword):
            raise PdfSyntaxError(f"unexpected keyword {value.decode('latin-1')!r}", pos)
        return value, end

    def _array(self, pos: int, depth: int) -> tuple[list, int]:
        out: list = []
        buf, end, tokens = self.buf, self.end, self.tokens
        match = _TOKEN.match
        while True:
            m = match(buf, pos, end)
            if m is None:
                at = self.skip_ws(pos)
                self._char(at)  # the end of the data is an error here
            else:
                kind = m.lastindex
                at = m.start(kind)
                if kind == _T_CLOSE and buf[at] == 0x5D:  # ]
                    return out, at + 1
                if kind == _T_INT and depth < MAX_DEPTH:
                    # the bulk of a big array: what parse() does, without the call
                    if tokens is not None:
                        tokens.tokens_left -= 1
                        if tokens.tokens_left < 0:
                            tokens.spend_tokens(0)
                    out.append(int(m.group(kind)))
                    pos = m.end()
                    continue
            value, pos = self._value(at, depth)
            out.append(value)

    def _dict(self, pos: int, depth: int) -> tuple[PdfDict, int]:
        out = PdfDict()
        spans: dict[str, tuple[int, int]] | None = {} if self.base is not None else None
        dups: list[str] = []
        buf, end = self.buf, self.end
        match = _TOKEN.match
        while True:
            m = match(buf, pos, end)
            kind = m.lastindex if m is not None else None
            if kind == _T_CLOSE and buf[m.start(kind)] == 0x3E:  # >>
                out.duplicates = tuple(dups)
                out.spans = spans
                return out, m.end()
            if kind != _T_NAME:
                pos = self.skip_ws(pos)
                c = self._char(pos)
                if c == 0x3E:  # a lone >
                    raise PdfSyntaxError("'>' inside a dictionary", pos)
                raise PdfSyntaxError("dictionary key is not a name", pos)
            key = _name(m.group(kind)[1:])
            start = self.skip_ws(m.end())
            value, pos = self._value(start, depth)
            if key in out:
                dups.append(key)
            out[key] = value
            if spans is not None:
                spans[key] = (start + self.base, pos + self.base)

    def _literal(self, pos: int) -> tuple[PdfString, int]:
        buf = self.buf
        parts: list[bytes] = []
        nesting = 1
        start = pos
        total = 0
        while True:
            m = _LITERAL_SPECIAL.search(buf, pos, self.end)
            if m is None:
                raise PdfSyntaxError("unterminated string", start - 1)
            at = m.start()
            parts.append(bytes(buf[pos:at]))
            total += at - pos
            if total > self.max_string:
                raise PdfSyntaxError("string too long", start - 1)
            if self.tokens is not None:
                self.tokens.spend_tokens(1)
            c = buf[at]
            if c == 0x5C:  # backslash
                if at + 1 >= self.end:
                    raise PdfSyntaxError("unterminated string", start - 1)
                e = buf[at + 1]
                pos = at + 2
                if e in _ESCAPES:
                    parts.append(_ESCAPES[e])
                elif 0x30 <= e <= 0x37:
                    digits = bytes([e])
                    while len(digits) < 3 and pos < self.end and 0x30 <= buf[pos] <= 0x37:
                        digits += bytes([buf[pos]])
                        pos += 1
                    parts.append(bytes([int(digits, 8) & 0xFF]))
                elif e == 0x0D:  # line continuation
                    if pos < self.end and buf[pos] == 0x0A:
                        pos += 1
                elif e == 0x0A:
                    pass
                else:
                    parts.append(bytes([e]))
                continue
            pos = at + 1
            if c == 0x28:
                nesting += 1
                parts.append(b"(")
            else:
                nesting -= 1
                if nesting == 0:
                    return PdfString(b"".join(parts)), pos
                parts.append(b")")

    # -- indirect objects ------------------------------------------------------------------

    def indirect(self, pos: int, expect: Ref | None = None) -> tuple[Ref, Any, int]:
        """``n g obj … endobj`` at ``pos``: its reference, value (a :class:`Stream` for a
        stream) and the offset after ``endobj`` (or after the value if ``endobj`` is
        missing, as lenient readers accept)."""
        m = _OBJ_HEADER.match(self.buf, self.skip_ws(pos), self.end)
        if m is None:
            raise PdfSyntaxError("no 'n g obj' header", pos)
        ref = Ref(integer(m.group(1), pos), integer(m.group(2), pos))
        if expect is not None and ref.num != expect.num:
            raise PdfSyntaxError(f"expected object {expect}, found {ref}", pos)
        value, end = self._value(m.end(), 0)
        after = self.skip_ws(end)
        if isinstance(value, PdfDict):
            s = _STREAM_KW.match(self.buf, after, self.end)
            if s is not None:
                value, end = self._stream(value, s.end(), pos)
                after = self.skip_ws(end)
        kw = _KEYWORD.match(self.buf, after, self.end)
        if kw is not None and bytes(kw.group(0)) == b"endobj":
            return ref, value, kw.end()
        return ref, value, end

    def _stream(self, dictionary: PdfDict, data_start: int, obj_pos: int) -> tuple[Stream, int]:
        length = dictionary.get("Length")
        if isinstance(length, Ref) and self.length_of is not None:
            length = self.length_of(length)
        if isinstance(length, int) and 0 <= length <= self.end - data_start:
            m = _ENDSTREAM.match(self.buf, data_start + length, self.end)
            if m is not None:
                return Stream(dictionary, data_start + (self.base or 0), length), m.end()
        # A wrong or indirect-and-unresolvable /Length: take the data up to 'endstream'.
        at = _find(self.buf, b"endstream", data_start, self.end)
        if at < 0:
            raise PdfSyntaxError("stream without 'endstream'", obj_pos)
        stop = at
        if stop > data_start and self.buf[stop - 1] == 0x0A:
            stop -= 1
        if stop > data_start and self.buf[stop - 1] == 0x0D:
            stop -= 1
        return Stream(dictionary, data_start + (self.base or 0), stop - data_start), at + 9


def integer(digits: Any, offset: int | None = None) -> int:
    """Decimal ``digits`` (from a regular expression) as an int. More than :data:`MAX_DIGITS`
    is malformed here, before Python's own int-conversion limit (4,300 digits) would raise
    ValueError."""
    if len(digits) > MAX_DIGITS:
        raise PdfSyntaxError(f"a number of {len(digits)} digits", offset)
    return int(digits)


def _find(buf: Any, needle: bytes, start: int, end: int) -> int:
    if hasattr(buf, "find"):
        return buf.find(needle, start, end)
    m = re.compile(re.escape(needle)).search(buf, start, end)
    return m.start() if m else -1


def _name(raw: Any) -> Name:
    raw = bytes(raw)
    if b"#" in raw:
        raw = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return Name(raw.decode("latin-1"))
