"""Stream decoding: the filters sigmail needs to read cross-reference streams, object streams
and page content (FlateDecode and LZWDecode with PNG/TIFF predictors, ASCIIHex, ASCII85,
RunLength).

Output is bounded twice: per stream (``max_output``) and for the whole document (a
:class:`DecodeAllowance`, ``Limits.max_pdf_decoded_bytes``), so a small stream that inflates
to gigabytes, or one stream referenced a thousand times, is a
:class:`~sigmail.limits.LimitExceeded`, not decoded. Image filters (DCT, JPX, CCITT, JBIG2)
are not decoded; asking for them raises :class:`UnsupportedFilter` (``unsupported``).

The PNG predictor works on whole runs of rows at once (rows as big integers, bytes added in
parallel), so the cost is a few integer operations per run, not a Python loop per byte. What
must go one step at a time in Python — a predictor's row runs and its Average and Paeth rows
(which no cross-reference or object stream writer uses), LZW codes, RunLength runs — spends
``Limits.max_pdf_decode_steps`` (about a microsecond each) for the whole document.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import zlib
from typing import Any

from sigmail.limits import LimitExceeded, Limits
from sigmail.pdf.objects import PdfDict
from sigmail.pdf.parser import PdfSyntaxError

__all__ = ["DecodeAllowance", "UnsupportedFilter", "decode_stream_data"]


class UnsupportedFilter(PdfSyntaxError):
    """A filter sigmail does not decode (images, encryption): not broken, just not read."""

    code = "unsupported"


TOKENS_BASE = 50_000  # tokens any PDF may parse out of its object streams, whatever its size


class DecodeAllowance:
    """What one document may still decode: output bytes, and decoding steps taken one at a
    time in Python. Every decode of every stream spends from the same account."""

    __slots__ = ("bytes_left", "limits", "steps_left", "token_allowance", "tokens_left")

    def __init__(self, limits: Limits, input_size: int | None = None) -> None:
        self.limits = limits
        self.bytes_left = limits.max_pdf_decoded_bytes
        self.steps_left = limits.max_pdf_decode_steps
        # Tokens parsed out of decoded data cost Python work, up to a microsecond each,
        # and a few kB of Flate inflate to millions of them: the allowance grows with the
        # file (TOKENS_BASE plus one a byte), up to the limit, so the work stays in
        # proportion to the input.
        self.token_allowance = limits.max_pdf_stream_tokens
        if input_size is not None:
            self.token_allowance = min(self.token_allowance, TOKENS_BASE + max(0, input_size))
        self.tokens_left = self.token_allowance

    def spend_tokens(self, n: int) -> None:
        """Objects parsed out of decoded data (object streams), a token at a time (the parser
        decrements ``tokens_left`` itself and calls this with 0 once it is below zero)."""
        self.tokens_left -= n
        if self.tokens_left < 0:
            raise LimitExceeded(
                "max_pdf_stream_tokens",
                self.token_allowance,
                self.token_allowance - self.tokens_left,
            )

    def spend_bytes(self, n: int) -> None:
        self.bytes_left -= n
        if self.bytes_left < 0:
            ceiling = self.limits.max_pdf_decoded_bytes
            raise LimitExceeded("max_pdf_decoded_bytes", ceiling, ceiling - self.bytes_left)

    def spend_steps(self, n: int) -> None:
        self.steps_left -= n
        if self.steps_left < 0:
            ceiling = self.limits.max_pdf_decode_steps
            raise LimitExceeded("max_pdf_decode_steps", ceiling, ceiling - self.steps_left)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def decode_stream_data(
    raw: bytes, dictionary: PdfDict, *, max_output: int, allowance: DecodeAllowance | None = None
) -> bytes:
    """Apply the stream's /Filter chain (with /DecodeParms) to ``raw``."""
    filters = _as_list(dictionary.get("Filter"))
    params = _as_list(dictionary.get("DecodeParms"))
    if allowance is None:
        allowance = DecodeAllowance(Limits())
    data = raw
    for i, name in enumerate(filters):
        parm = params[i] if i < len(params) and isinstance(params[i], dict) else {}
        # The smaller of the two ceilings, named as the one that binds.
        cap, limit = max_output, "max_input_bytes"
        if allowance.bytes_left < cap:
            cap, limit = allowance.bytes_left, "max_pdf_decoded_bytes"
        if name in ("FlateDecode", "Fl"):
            data = _predict(_inflate(data, cap, limit), parm, allowance)
        elif name in ("LZWDecode", "LZW"):
            early = parm.get("EarlyChange", 1)
            allowance.spend_steps(len(data) // 2)  # measured: about half a microsecond a byte
            data = _predict(_lzw(data, cap, limit, early != 0), parm, allowance)
        elif name in ("ASCIIHexDecode", "AHx"):
            text = data.split(b">", 1)[0].translate(None, b"\x00\t\n\x0c\r ")
            if len(text) % 2:
                text += b"0"
            try:
                data = binascii.unhexlify(text)
            except binascii.Error as exc:
                raise PdfSyntaxError(f"bad ASCIIHex data: {exc}") from exc
        elif name in ("ASCII85Decode", "A85"):
            text = data.strip()
            if text.startswith(b"<~"):
                text = text[2:]
            text = text.split(b"~>", 1)[0]
            try:
                data = base64.a85decode(text, ignorechars=b"\x00\t\n\x0c\r ")
            except ValueError as exc:
                raise PdfSyntaxError(f"bad ASCII85 data: {exc}") from exc
        elif name in ("RunLengthDecode", "RL"):
            data = _run_length(data, cap, limit, allowance)
        elif name == "Crypt":
            raise UnsupportedFilter("encrypted stream (/Crypt filter)")
        else:
            raise UnsupportedFilter(f"stream filter /{name} is not decoded")
        if len(data) > cap:
            raise LimitExceeded(limit, cap, len(data))
        allowance.spend_bytes(len(data))
    return data


def _inflate(data: bytes, max_output: int, limit: str) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, max_output + 1)
    except zlib.error:
        # Truncated or slightly damaged streams are common; keep what inflates.
        d = zlib.decompressobj()
        pieces: list[bytes] = []
        size = 0
        try:
            for i in range(0, len(data), 4096):
                piece = d.decompress(data[i : i + 4096], max_output + 1 - size)
                pieces.append(piece)
                size += len(piece)
                if size > max_output:
                    break
        except zlib.error:
            if not size:
                raise PdfSyntaxError("FlateDecode data does not inflate") from None
        out = b"".join(pieces)
    if len(out) > max_output:
        raise LimitExceeded(limit, max_output, len(out))
    return out


def _lzw(data: bytes, max_output: int, limit: str, early: bool) -> bytes:
    """LZWDecode (ISO 32000-1 §7.4.4): 9- to 12-bit codes, 256 clears the table, 257 ends."""
    out = bytearray()
    table: list[bytes] = [bytes((i,)) for i in range(256)] + [b"", b""]
    width = 9
    prev: bytes | None = None
    acc = 0
    bits = 0
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= width:
            bits -= width
            code = acc >> bits
            acc &= (1 << bits) - 1
            if code == 256:
                del table[258:]
                width = 9
                prev = None
                continue
            if code == 257:
                return bytes(out)
            if code < len(table):
                entry = table[code]
                if prev is not None and len(table) < 4096:
                    table.append(prev + entry[:1])
            elif code == len(table) and prev is not None:
                entry = prev + prev[:1]
                table.append(entry)
            else:
                raise PdfSyntaxError(f"bad LZW code {code}")
            out += entry
            if len(out) > max_output:
                raise LimitExceeded(limit, max_output, len(out))
            prev = entry
            if len(table) + early >= 1 << width and width < 12:
                width += 1
    return bytes(out)


# -- predictors ------------------------------------------------------------------------------
#
# A row (or a run of rows) is read as one big-endian integer; bytes are then added modulo 256
# all at once: the low seven bits of every byte are added without carrying into the next byte,
# and the top bit is put right by XOR. A prefix sum over a run (each row plus the decoded row
# above, or each byte plus the decoded byte to its left) takes log2(length) such additions.

_CHUNK = 1 << 15  # bytes per big integer: the ~log2 steps stay cheap on each


def _masks(n: int) -> tuple[int, int]:
    """The low seven bits and the top bit of each of ``n`` bytes."""
    if n <= 2 * _CHUNK:
        return _small_masks(n)
    return int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")


@functools.lru_cache(maxsize=64)
def _small_masks(n: int) -> tuple[int, int]:
    return int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")


@functools.lru_cache(maxsize=64)
def _from_column(shift: int, row: int, rows: int) -> int:
    """The bytes at column ``shift`` or later of ``rows`` rows of ``row`` bytes."""
    return int.from_bytes((b"\x00" * shift + b"\xff" * (row - shift)) * rows, "big")


@functools.lru_cache(maxsize=64)
def _repeat(width: int, times: int) -> int:
    """Multiplying a ``width``-byte value by this writes it ``times`` times side by side."""
    return int.from_bytes((b"\x00" * (width - 1) + b"\x01") * times, "big")


def _add(a: int, b: int, low7: int, high: int) -> int:
    return ((a & low7) + (b & low7)) ^ ((a ^ b) & high)


def _up_run(block: bytes, row: int, prev: bytes) -> bytes:
    """Rows of type Up: each row plus the decoded row above (``prev`` before the first)."""
    if row > _CHUNK:
        return _up_long_rows(block, row, prev)
    out: list[bytes] = []
    rows_per_chunk = max(1, _CHUNK // row)
    for at in range(0, len(block), rows_per_chunk * row):
        piece = block[at : at + rows_per_chunk * row]
        n = len(piece)
        low7, high = _masks(n)
        x = int.from_bytes(piece, "big")
        x = _add(x, int.from_bytes(prev, "big") << 8 * (n - row), low7, high)
        shift = row
        while shift < n:
            x = _add(x, x >> 8 * shift, low7, high)
            shift *= 2
        decoded = x.to_bytes(n, "big")
        out.append(decoded)
        prev = decoded[-row:]
    return b"".join(out)


def _up_long_rows(block: bytes, row: int, prev: bytes) -> bytes:
    """Up rows longer than a chunk: column slices are independent, one chunk at a time."""
    out: list[bytes] = []
    for start in range(0, len(block), row):
        cur = block[start : start + row]
        pieces = []
        for at in range(0, row, _CHUNK):
            a, b = cur[at : at + _CHUNK], prev[at : at + _CHUNK]
            low7, high = _masks(len(a))
            x = _add(int.from_bytes(a, "big"), int.from_bytes(b, "big"), low7, high)
            pieces.append(x.to_bytes(len(a), "big"))
        prev = b"".join(pieces)
        out.append(prev)
    return b"".join(out)


def _sub_run(block: bytes, row: int, bpp: int) -> bytes:
    """Rows of type Sub (or TIFF predictor 2): each byte plus the decoded byte ``bpp`` to its
    left in the same row."""
    if row <= bpp:
        return block
    if row > _CHUNK:
        return _sub_long_rows(block, row, bpp)
    out: list[bytes] = []
    rows_per_chunk = max(1, _CHUNK // row)
    for at in range(0, len(block), rows_per_chunk * row):
        piece = block[at : at + rows_per_chunk * row]
        n = len(piece)
        low7, high = _masks(n)
        x = int.from_bytes(piece, "big")
        shift = bpp
        while shift < row:
            # Only bytes at column >= shift take from the left: nothing crosses a row.
            mask = _from_column(shift, row, n // row)
            x = _add(x, (x >> 8 * shift) & mask, low7, high)
            shift *= 2
        out.append(x.to_bytes(n, "big"))
    return b"".join(out)


def _sub_long_rows(block: bytes, row: int, bpp: int) -> bytes:
    """Sub rows longer than a chunk: each row in slices of whole pixels, each slice's prefix
    sum plus the last decoded pixel before it, copied across the slice."""
    width = bpp * max(1, _CHUNK // bpp)
    out: list[bytes] = []
    for start in range(0, len(block), row):
        cur = block[start : start + row]
        carry = 0  # the last decoded pixel, as an int
        for at in range(0, len(cur), width):
            piece = cur[at : at + width]
            n = len(piece)
            low7, high = _masks(n)
            x = int.from_bytes(piece, "big")
            shift = bpp
            while shift < n:
                x = _add(x, x >> 8 * shift, low7, high)
                shift *= 2
            pixels = -(-n // bpp)
            if pixels > 1:
                spread = (carry * _repeat(bpp, pixels)) >> 8 * (pixels * bpp - n)
            else:  # a pixel wider than a chunk
                spread = carry >> 8 * (bpp - n)
            x = _add(x, spread, low7, high)
            decoded = x.to_bytes(n, "big")
            out.append(decoded)
            carry = int.from_bytes(decoded[-bpp:], "big") if n >= bpp else carry
    return b"".join(out)


def _average_row(cur: bytearray, prev: bytes, bpp: int) -> None:
    for i in range(len(cur)):
        left = cur[i - bpp] if i >= bpp else 0
        cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF


def _paeth_row(cur: bytearray, prev: bytes, bpp: int) -> None:
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[i] = (cur[i] + pred) & 0xFF


_RUNS = re.compile(rb"(.)\1*", re.S)  # rows of one type in a row
_STEPS_PER_RUN = 5  # measured: a run costs about five microseconds, a Paeth byte about one


def _predict(data: bytes, parm: dict, allowance: DecodeAllowance) -> bytes:
    predictor = parm.get("Predictor", 1)
    if not isinstance(predictor, int) or predictor == 1:
        return data
    colors = parm.get("Colors", 1)
    bits = parm.get("BitsPerComponent", 8)
    columns = parm.get("Columns", 1)
    if not all(isinstance(v, int) and 0 < v <= 1 << 16 for v in (colors, bits, columns)):
        raise PdfSyntaxError("bad predictor parameters")
    bpp = max(1, colors * bits // 8)
    row = (colors * bits * columns + 7) // 8
    if row + (predictor >= 10) > len(data):
        # Not one whole row (a PNG row also has its type byte): nothing to undo, and no row
        # of /Columns × /Colors bytes to allocate.
        return data if predictor == 2 else b""
    if predictor == 2:  # TIFF, 8-bit components only
        if bits != 8:
            raise UnsupportedFilter("TIFF predictor with components other than 8 bits")
        full = len(data) - len(data) % row
        return _sub_run(data[:full], row, bpp) + data[full:]
    if predictor < 10:
        raise UnsupportedFilter(f"predictor {predictor}")
    stride = row + 1
    full = len(data) - len(data) % stride
    kinds = data[0:full:stride]
    # The rows without their type bytes (one C-level pass), then decoded in place: the
    # peak is the inflated data, this buffer and one chunk, whatever the stream's size.
    rows = bytearray(data)
    del rows[full:]
    del rows[0::stride]
    view = memoryview(rows)
    prev: bytes = bytes(row)
    for run in _RUNS.finditer(kinds):
        allowance.spend_steps(_STEPS_PER_RUN)
        kind = run.group(1)[0]
        lo, hi = run.start() * row, run.end() * row
        block = view[lo:hi]
        if kind == 0 or (kind == 1 and row <= bpp):
            decoded = None  # the data as it is
        elif kind == 1:
            decoded = _sub_run(block, row, bpp)
        elif kind == 2:
            decoded = _up_run(block, row, prev)
        elif kind in (3, 4):
            allowance.spend_steps(len(block))
            pieces = []
            step = _average_row if kind == 3 else _paeth_row
            for at in range(0, len(block), row):
                cur = bytearray(block[at : at + row])
                step(cur, prev, bpp)
                prev = bytes(cur)
                pieces.append(prev)
            decoded = b"".join(pieces)
        else:
            raise PdfSyntaxError(f"bad PNG predictor row type {kind}")
        if decoded is not None:
            view[lo:hi] = decoded
        prev = bytes(view[hi - row : hi])
    view.release()
    return bytes(rows)


def _run_length(data: bytes, max_output: int, limit: str, allowance: DecodeAllowance) -> bytes:
    out = bytearray()
    i = 0
    runs = 0
    while i < len(data):
        runs += 1
        if runs > allowance.steps_left:
            allowance.spend_steps(runs)
        n = data[i]
        if n == 128:
            break
        if n < 128:
            out += data[i + 1 : i + 2 + n]
            i += n + 2
        else:
            out += data[i + 1 : i + 2] * (257 - n)
            i += 2
        if len(out) > max_output:
            raise LimitExceeded(limit, max_output, len(out))
    allowance.spend_steps(runs)
    return bytes(out)
