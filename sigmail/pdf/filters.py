"""Stream decoding: the filters sigmail needs to read cross-reference streams, object streams
and page content (FlateDecode with PNG/TIFF predictors, ASCIIHex, ASCII85, RunLength).

Output is bounded (``max_output``): a small stream that inflates to gigabytes is refused as
a :class:`~sigmail.limits.LimitExceeded`, not decoded. Image filters (DCT, JPX, CCITT, JBIG2)
and LZW are not decoded; asking for them raises :class:`UnsupportedFilter`.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from sigmail.limits import LimitExceeded
from sigmail.pdf.objects import PdfDict
from sigmail.pdf.parser import PdfSyntaxError

__all__ = ["UnsupportedFilter", "decode_stream_data"]


class UnsupportedFilter(PdfSyntaxError):
    """A filter sigmail does not decode (images, LZW, encryption)."""


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def decode_stream_data(raw: bytes, dictionary: PdfDict, *, max_output: int) -> bytes:
    """Apply the stream's /Filter chain (with /DecodeParms) to ``raw``."""
    filters = _as_list(dictionary.get("Filter"))
    params = _as_list(dictionary.get("DecodeParms"))
    data = raw
    for i, name in enumerate(filters):
        parm = params[i] if i < len(params) and isinstance(params[i], dict) else {}
        if name in ("FlateDecode", "Fl"):
            data = _inflate(data, max_output)
            data = _predict(data, parm, max_output)
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
            data = _run_length(data, max_output)
        elif name == "Crypt":
            raise UnsupportedFilter("encrypted stream (/Crypt filter)")
        else:
            raise UnsupportedFilter(f"stream filter /{name} is not decoded")
        if len(data) > max_output:
            raise LimitExceeded("max_input_bytes", max_output, len(data))
    return data


def _inflate(data: bytes, max_output: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, max_output + 1)
    except zlib.error:
        # Truncated or slightly damaged streams are common; keep what inflates.
        d = zlib.decompressobj()
        out = b""
        try:
            for i in range(0, len(data), 4096):
                out += d.decompress(data[i : i + 4096], max_output + 1 - len(out))
        except zlib.error:
            if not out:
                raise PdfSyntaxError("FlateDecode data does not inflate") from None
    if len(out) > max_output:
        raise LimitExceeded("max_input_bytes", max_output, len(out))
    return out


def _predict(data: bytes, parm: dict, max_output: int) -> bytes:
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
    if predictor == 2:  # TIFF, 8-bit components only
        if bits != 8:
            raise UnsupportedFilter("TIFF predictor with components other than 8 bits")
        out = bytearray(data)
        for start in range(0, len(out), row):
            for i in range(start + bpp, min(start + row, len(out))):
                out[i] = (out[i] + out[i - bpp]) & 0xFF
        return bytes(out)
    if predictor < 10:
        raise UnsupportedFilter(f"predictor {predictor}")
    stride = row + 1
    out = bytearray()
    prev = bytearray(row)
    full = len(data) - len(data) % stride
    for start in range(0, full, stride):
        kind = data[start]
        cur = bytearray(data[start + 1 : start + stride])
        if kind == 1:
            for i in range(bpp, row):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif kind == 2:
            cur = bytearray((a + b) & 0xFF for a, b in zip(cur, prev, strict=False))
        elif kind == 3:
            for i in range(row):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(row):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
        elif kind != 0:
            raise PdfSyntaxError(f"bad PNG predictor row type {kind}")
        out += cur
        prev = cur
        if len(out) > max_output:
            raise LimitExceeded("max_input_bytes", max_output, len(out))
    return bytes(out)


def _run_length(data: bytes, max_output: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
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
            raise LimitExceeded("max_input_bytes", max_output, len(out))
    return bytes(out)
