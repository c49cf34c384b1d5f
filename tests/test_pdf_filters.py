"""Stream filters: the row-parallel PNG/TIFF predictor agrees with the byte-by-byte definition
(ISO 32000-1 §7.4.4.4, PNG §9), LZWDecode decodes the standard's example and round-trips,
and the document-wide decode allowance is spent by every stream."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigmail.limits import LimitExceeded, Limits
from sigmail.pdf.filters import DecodeAllowance, UnsupportedFilter, decode_stream_data
from sigmail.pdf.objects import Name, PdfDict


def _reference_png(data: bytes, row: int, bpp: int) -> bytes:
    """PNG unfiltering as the PNG specification writes it, one byte at a time."""
    out = bytearray()
    prev = bytearray(row)
    stride = row + 1
    for start in range(0, len(data) - len(data) % stride, stride):
        kind, cur = data[start], bytearray(data[start + 1 : start + stride])
        for i in range(row):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                cur[i] = (cur[i] + a) & 0xFF
            elif kind == 2:
                cur[i] = (cur[i] + b) & 0xFF
            elif kind == 3:
                cur[i] = (cur[i] + ((a + b) >> 1)) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out += cur
        prev = cur
    return bytes(out)


def _flate(data: bytes, **parms) -> tuple[bytes, PdfDict]:
    d = PdfDict(Filter=Name("FlateDecode"))
    if parms:
        d["DecodeParms"] = PdfDict(parms)
    return zlib.compress(data), d


@st.composite
def _png_input(draw):
    colors = draw(st.integers(1, 4))
    columns = draw(st.integers(1, 24))
    kinds = draw(st.lists(st.integers(0, 4), max_size=40))
    same = draw(st.booleans())  # one row type throughout, as writers do
    if same and kinds:
        kinds = [kinds[0]] * len(kinds)
    row = colors * columns
    body = b"".join(bytes([k]) + draw(st.binary(min_size=row, max_size=row)) for k in kinds)
    return colors, columns, body + draw(st.binary(max_size=row))  # and a partial last row


@given(_png_input())
def test_png_predictor_agrees_with_the_byte_by_byte_definition(case):
    colors, columns, data = case
    raw, d = _flate(data, Predictor=12, Colors=colors, Columns=columns)
    decoded = decode_stream_data(raw, d, max_output=1 << 20)
    assert decoded == _reference_png(data, colors * columns, colors)


@given(st.integers(1, 4), st.integers(1, 24), st.binary(max_size=600))
def test_tiff_predictor_adds_the_byte_to_the_left(colors, columns, data):
    raw, d = _flate(data, Predictor=2, Colors=colors, Columns=columns)
    row = colors * columns
    expected = bytearray(data)
    for start in range(0, len(data) - len(data) % row, row):
        for i in range(start + colors, start + row):
            expected[i] = (expected[i] + expected[i - colors]) & 0xFF
    assert decode_stream_data(raw, d, max_output=1 << 20) == bytes(expected)


def test_png_predictor_refuses_an_unknown_row_type():
    raw, d = _flate(b"\x05abcd", Predictor=12, Columns=4)
    with pytest.raises(Exception) as caught:
        decode_stream_data(raw, d, max_output=100)
    assert getattr(caught.value, "code", None) == "malformed"


def test_paeth_rows_spend_the_decode_steps():
    data = (b"\x04" + bytes(100)) * 50
    raw, d = _flate(data, Predictor=12, Columns=100)
    allowance = DecodeAllowance(Limits(max_pdf_decode_steps=1000))
    with pytest.raises(LimitExceeded) as caught:
        decode_stream_data(raw, d, max_output=1 << 20, allowance=allowance)
    assert caught.value.limit == "max_pdf_decode_steps"


# -- LZW ---------------------------------------------------------------------------------------


def _lzw_encode(data: bytes) -> bytes:
    """An LZW encoder for the tests (EarlyChange 1, codes 9 to 12 bits, a clear code when
    the table is full). The decoder was checked against libtiff's encoder (TIFF LZW is the
    same code) on inputs up to 300 kB."""
    codes: list[tuple[int, int]] = []
    width = 9

    def emit(code: int) -> None:
        codes.append((code, width))

    def reset() -> dict[bytes, int]:
        return {bytes([i]): i for i in range(256)}

    emit(256)
    table, nxt, w = reset(), 258, b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        emit(table[w])
        table[wc] = nxt
        nxt += 1
        if nxt >= 1 << width and width < 12:
            width += 1
        if nxt >= 4094:
            emit(256)
            table, nxt, width = reset(), 258, 9
        w = bytes([byte])
    if w:
        emit(table[w])
        if nxt + 1 >= 1 << width and width < 12:
            width += 1
    emit(257)
    acc, bits = 0, 0
    for code, size in codes:
        acc = acc << size | code
        bits += size
    acc <<= -bits % 8
    return acc.to_bytes((bits + 7) // 8, "big")


LZW = PdfDict(Filter=Name("LZWDecode"))


def test_lzw_decodes_the_example_of_the_standard():
    # ISO 32000-1 §7.4.4.2, Example 2: the codes 256 45 258 258 65 259 66 257.
    encoded = bytes.fromhex("800B6050220C0C8501")
    assert decode_stream_data(encoded, LZW, max_output=100) == bytes(
        [45, 45, 45, 45, 45, 65, 45, 45, 45, 66]
    )


@given(st.binary(max_size=3000) | st.sampled_from([b"ab" * 9000, bytes(range(256)) * 40]))
def test_lzw_round_trips(data):
    assert decode_stream_data(_lzw_encode(data), LZW, max_output=1 << 20) == data


def test_lzw_output_is_bounded():
    encoded = _lzw_encode(b"\0" * 200_000)
    with pytest.raises(LimitExceeded):
        decode_stream_data(encoded, LZW, max_output=10_000)


def test_lzw_with_a_code_not_yet_defined_is_malformed():
    encoded = ((256 << 9 | 300) << 6).to_bytes(3, "big")  # 9-bit codes 256, 300, padding
    with pytest.raises(Exception) as caught:
        decode_stream_data(encoded, LZW, max_output=100)
    assert getattr(caught.value, "code", None) == "malformed"


# -- what is not decoded, and the document's allowance ------------------------------------------


@pytest.mark.parametrize("name", ["JBIG2Decode", "DCTDecode", "JPXDecode", "Crypt"])
def test_a_filter_not_decoded_is_unsupported_not_malformed(name):
    with pytest.raises(UnsupportedFilter) as caught:
        decode_stream_data(b"x", PdfDict(Filter=Name(name)), max_output=100)
    assert caught.value.code == "unsupported"


def test_the_allowance_is_spent_across_streams():
    raw, d = _flate(b"\0" * 40_000)
    allowance = DecodeAllowance(Limits(max_pdf_decoded_bytes=100_000))
    decode_stream_data(raw, d, max_output=1 << 20, allowance=allowance)
    decode_stream_data(raw, d, max_output=1 << 20, allowance=allowance)
    with pytest.raises(LimitExceeded) as caught:
        decode_stream_data(raw, d, max_output=1 << 20, allowance=allowance)
    assert caught.value.limit == "max_pdf_decoded_bytes"


@pytest.mark.parametrize("kind", [1, 2])
def test_rows_longer_than_a_chunk_agree_with_the_definition(kind):
    row, colors = 50_001 * 3, 3  # longer than the 32 kB the row-parallel code takes at once
    data = b"".join(bytes([kind]) + bytes((i * 7 + r) & 0xFF for i in range(row)) for r in range(3))
    raw, d = _flate(data, Predictor=12, Colors=colors, Columns=row // colors)
    assert decode_stream_data(raw, d, max_output=1 << 22) == _reference_png(data, row, colors)


def test_huge_predictor_columns_allocate_nothing():
    raw, d = _flate(b"\x02abc", Predictor=12, Colors=1 << 16, Columns=1 << 16)
    assert decode_stream_data(raw, d, max_output=100) == b""
