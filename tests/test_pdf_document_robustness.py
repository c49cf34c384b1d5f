"""The PDF reader on hostile structure (issue 10, items 7, 10 and 12; issue 12's LZW bug):
numbers longer than Python converts, object streams that point into themselves, streams
referenced many times, predictors and filters — each a verdict with its reason code, never a
traceback (the verifier runs strict: a bug raises InternalError here)."""

from __future__ import annotations

import zlib

import pytest
from pdf_support import AT, incremental_update, offline_verifier, vector_bytes

from sigmail import Limits
from sigmail.verdict.model import VerdictKind

# An unreferenced dictionary that names /ByteRange: the file "holds a signature trace", so a
# parse failure stays malformed (issue 10, item 12) and the test is about the failure itself.
TRACE = b"<< /Type /Sig /ByteRange [0 0 0 0] >>"


def build_pdf(objects: dict[int, bytes], *, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A one-section PDF with a classic xref table over ``objects`` (number → body)."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        out += b"%010d 00000 n \n" % offsets[num] if num in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, xref)
    return bytes(out)


def xref_stream_pdf(
    objects: dict[int, bytes],
    entries: dict[int, tuple[int, int, int]],
    *,
    size: int | None = None,
    parms: bytes = b"",
    rows: bytes | None = None,
    widths: tuple[int, int, int] = (1, 4, 2),
) -> bytes:
    """A PDF whose only cross-reference section is an xref stream (/W ``widths``). ``entries``
    adds or overrides entries (kind, field 2, field 3); uncompressed ``objects`` get theirs."""
    out = bytearray(b"%PDF-1.7\n")
    table: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}
    for num in sorted(objects):
        table[num] = (1, len(out), 0)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    table.update(entries)
    xref_num = max(table) + 1
    table[xref_num] = (1, len(out), 0)
    size = size or xref_num + 1
    if rows is None:
        rows = b"".join(
            k.to_bytes(1, "big") + a.to_bytes(4, "big") + b.to_bytes(2, "big")
            for k, a, b in (table.get(n, (0, 0, 0)) for n in range(size))
        )
    data = zlib.compress(rows)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode %s "
        b"/Length %d >>\nstream\n"
        % (xref_num, size, parms, len(data))
        + data
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % table[xref_num][1]
    return bytes(out)


def objstm(pairs: list[tuple[int, bytes]]) -> bytes:
    """An object stream body holding ``pairs`` (number, object)."""
    header = b""
    body = b""
    for num, obj in pairs:
        header += b"%d %d " % (num, len(body))
        body += obj + b"\n"
    data = zlib.compress(header + body)
    return (
        b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(pairs), len(header), len(data))
        + data
        + b"\nendstream"
    )


PAGE_TREE = {
    1: b"<< /Type /Catalog /Pages 2 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
}


def verdict_of(data: bytes, limits: Limits | None = None):
    return offline_verifier(limits).verify(data, at=AT, name="input.pdf")


def assert_read_unsigned(verdict) -> None:
    """Unsigned because the file was read and holds no signature (not because it is damaged)."""
    assert verdict.reasons == ("no_signature",), verdict.findings
    assert verdict.findings[0].detail is None, verdict.findings[0].detail


# -- item 10: numbers longer than int() converts -------------------------------------------------

LONG = b"9" * 5000


@pytest.mark.parametrize(
    "data",
    [
        build_pdf({**PAGE_TREE, 1: b"<< /Type /Catalog /Pages " + LONG + b" 0 R >>", 9: TRACE}),
        build_pdf({**PAGE_TREE, 1: b"<< /Type /Catalog /Pages 2 " + LONG + b" R >>", 9: TRACE}),
        build_pdf({**PAGE_TREE, 9: TRACE}).replace(b"1 0 obj", LONG + b" 0 obj", 1),
        build_pdf({**PAGE_TREE, 9: TRACE}).replace(b"xref\n0 10", b"xref\n" + LONG + b" 10"),
        build_pdf({**PAGE_TREE, 9: TRACE}).replace(b"xref\n0 10", b"xref\n0 " + LONG),
    ],
    ids=["reference number", "reference generation", "object header", "subsection", "count"],
)
def test_a_number_of_5000_digits_is_malformed(data):
    verdict = verdict_of(data)
    assert verdict.verdict is VerdictKind.INVALID
    assert verdict.reasons == ("malformed",)


def test_an_earlier_sections_startxref_of_5000_digits_is_malformed():
    first = build_pdf({**PAGE_TREE, 9: TRACE})
    xref = int(first.rsplit(b"startxref\n", 1)[1].split()[0])
    out = bytearray(first.replace(b"startxref\n%d" % xref, b"startxref\n" + LONG))
    page = len(out)
    out += b"3 0 obj\n" + PAGE_TREE[3] + b"\nendobj\n"
    update = len(out)
    out += b"xref\n3 1\n%010d 00000 n \ntrailer\n<< /Size 10 /Root 1 0 R /Prev %d >>\n" % (
        page,
        xref,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % update
    verdict = verdict_of(bytes(out))
    assert verdict.reasons == ("malformed",)
    assert "digits" in verdict.findings[0].detail


# -- item 10: object streams that point into themselves ------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        {1: (2, 5, 0), 5: (2, 5, 1)},  # the object stream is "in" itself
        {1: (2, 5, 0), 5: (2, 6, 0), 6: (2, 5, 0)},  # two point at each other
    ],
    ids=["into itself", "at each other"],
)
def test_object_streams_pointing_into_themselves_are_malformed(entries):
    objects = {2: PAGE_TREE[2], 3: PAGE_TREE[3], 9: TRACE}
    data = xref_stream_pdf(objects, entries)
    verdict = verdict_of(data)
    assert verdict.verdict is VerdictKind.INVALID
    assert verdict.reasons == ("malformed",)
    assert "not an object in the file" in verdict.findings[0].detail


@pytest.mark.parametrize("widths", [(1, 4, 2), (1, 3, 1), (2, 8, 2), (1, 5, 3)])
def test_an_object_in_a_well_formed_object_stream_is_read(widths):
    objects = {2: PAGE_TREE[2], 3: PAGE_TREE[3], 5: objstm([(1, PAGE_TREE[1])])}
    verdict = verdict_of(xref_stream_pdf(objects, {1: (2, 5, 0)}, widths=widths))
    assert verdict.verdict is VerdictKind.UNSIGNED
    assert_read_unsigned(verdict)


def test_xref_stream_fields_of_width_zero_take_their_defaults():
    # /W [0 4 0]: every entry is type 1 (in the file), generation 0.
    objects = dict(PAGE_TREE)
    plain = xref_stream_pdf(objects, {}, widths=(0, 4, 0))
    assert_read_unsigned(verdict_of(plain))


# -- item 10: the xref stream's PNG rows have a type byte each -----------------------------------


def _png_up(rows: bytes, width: int) -> bytes:
    """``rows`` of ``width`` bytes as PNG Up rows (each row minus the row above)."""
    out = bytearray()
    prev = bytes(width)
    for at in range(0, len(rows), width):
        cur = rows[at : at + width]
        out += b"\x02" + bytes((c - p) & 0xFF for c, p in zip(cur, prev, strict=True))
        prev = cur
    return bytes(out)


def test_an_xref_stream_with_a_png_predictor_and_5000_entries_is_read():
    objects = {**PAGE_TREE}
    size = 5000
    plain = xref_stream_pdf(objects, {}, size=size)
    # The same table, PNG-predicted (Up) as writers do: 5,000 rows of 1 + 7 bytes.
    start = plain.index(b"stream\n") + 7
    stop = plain.index(b"\nendstream")
    rows = zlib.decompress(plain[start:stop])
    data = xref_stream_pdf(
        objects,
        {},
        size=size,
        parms=b"/DecodeParms << /Predictor 12 /Columns 7 >>",
        rows=_png_up(rows, 7),
    )
    assert_read_unsigned(verdict_of(data))


# -- issue 12: a filter sigmail does not decode is unsupported, LZW is decoded -------------------


def test_an_xref_stream_in_a_filter_not_decoded_is_unsupported():
    data = xref_stream_pdf({**PAGE_TREE, 9: TRACE}, {})
    data = data.replace(b"/Filter /FlateDecode", b"/Filter /JBIG2Decode")
    verdict = verdict_of(data)
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("unsupported",)


def test_an_object_stream_in_lzw_is_read():
    from test_pdf_filters import _lzw_encode

    header = b"1 0 "
    raw = _lzw_encode(header + PAGE_TREE[1])
    stm = (
        b"<< /Type /ObjStm /N 1 /First %d /Filter /LZWDecode /Length %d >>\nstream\n"
        % (len(header), len(raw))
        + raw
        + b"\nendstream"
    )
    data = xref_stream_pdf({2: PAGE_TREE[2], 3: PAGE_TREE[3], 5: stm}, {1: (2, 5, 0)})
    assert_read_unsigned(verdict_of(data))


# -- item 12: a damaged PDF with no trace of a signature is unsigned -----------------------------


def test_a_damaged_pdf_without_any_signature_trace_is_unsigned_and_says_damaged():
    data = build_pdf(PAGE_TREE).replace(b"startxref", b"startxreX")
    verdict = verdict_of(data)
    assert verdict.verdict is VerdictKind.UNSIGNED
    assert verdict.reasons == ("no_signature",)
    assert "damaged" in verdict.findings[0].detail


@pytest.mark.parametrize(
    "trace", [b"/ByteRange [0 1 2 3]", b"/FT /Sig", b"/Type /ObjStm", b"/By#74eRange [0 1 2 3]"]
)
def test_a_damaged_pdf_with_a_signature_trace_stays_malformed(trace):
    data = build_pdf({**PAGE_TREE, 9: b"<< " + trace + b" >>"}).replace(b"startxref", b"startxreX")
    verdict = verdict_of(data)
    assert verdict.verdict is VerdictKind.INVALID
    assert verdict.reasons == ("malformed",)


def test_a_damaged_signed_vector_stays_malformed():
    signed = vector_bytes("pdf-person-only")
    verdict = verdict_of(signed.replace(b"startxref", b"startxreX"))
    assert verdict.reasons == ("malformed",)


# -- item 10: one stream referenced many times is decoded once -----------------------------------


def _dss_update(references: int, inflated: int) -> bytes:
    """A signed vector with a DSS whose /Certs names one Flate stream ``references`` times."""
    signed = vector_bytes("pdf-person-only")
    payload = zlib.compress(b"\0" * inflated, 9)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(payload) + payload
    certs = b" ".join([b"91 0 R"] * references)
    catalog = _catalog_with(signed, b"/DSS 90 0 R")
    return incremental_update(
        signed,
        {1: catalog, 90: b"<< /Certs [" + certs + b"] >>", 91: stream + b"\nendstream"},
    )


def _catalog_with(data: bytes, extra: bytes) -> bytes:
    from pdf_support import object_body

    body = object_body(data, 1)
    return body[: body.rindex(b">>")] + extra + b" >>"


@pytest.mark.parametrize("references", [9, 64])
def test_a_dss_naming_one_big_stream_many_times_is_not_official(references):
    # 96 MB per reference: more than the document may decode at all (64 MB).
    verdict = verdict_of(_dss_update(references, 96 << 20))
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert "limit_exceeded" in verdict.reasons
    assert "max_pdf_decoded_bytes" in " ".join(f.detail or "" for f in verdict.findings)


def test_a_stream_named_many_times_is_decoded_once():
    # 64 references to a 2 MB stream: 128 MB if each were decoded, 2 MB once.
    verdict = verdict_of(_dss_update(64, 2 << 20))
    assert "limit_exceeded" not in verdict.reasons, verdict.findings


# -- item 7: xref offsets that point at the whitespace before an object --------------------------


def test_offsets_one_byte_early_are_tolerated():
    # The letter's and the DSS revision's offsets, startxref and the signature revision's
    # /Prev point one byte early (vectors/pdf.toml, pdf-offsets-one-byte-early).
    verdict = verdict_of(vector_bytes("pdf-offsets-one-byte-early"))
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert verdict.reasons == ("benign_modification",)
    assert sorted(m.kind for m in verdict.modifications) == ["dss_added", "info_updated"]


def _early_object(prefix: bytes) -> bytes:
    """A signed vector plus an update rewriting the Info dictionary (object 6), written after
    ``prefix``; its xref offset points at the start of ``prefix``."""
    signed = vector_bytes("pdf-person-only")
    data = incremental_update(signed, {6: b"<< /Producer (early) >>"})
    at = data.index(b"6 0 obj", len(signed))
    head, xref = data[:at] + prefix + data[at:].rsplit(b"startxref\n", 1)[0], _startxref(data)
    return head + b"startxref\n%d\n%%%%EOF\n" % (xref + len(prefix))


def _startxref(data: bytes) -> int:
    return int(data.rsplit(b"startxref\n", 1)[1].split()[0])


@pytest.mark.parametrize("prefix", [b"\n", b"\r\n", b" " * 16])
def test_whitespace_before_the_object_header_is_skipped(prefix):
    verdict = verdict_of(_early_object(prefix))
    assert "appended_without_xref" not in verdict.reasons
    assert [m.kind for m in verdict.modifications] == ["info_updated"]


@pytest.mark.parametrize("prefix", [b" " * 17, b"%c\n", b"x\n"])
def test_nothing_but_a_little_whitespace_is_skipped(prefix):
    verdict = verdict_of(_early_object(prefix))
    assert verdict.verdict is not VerdictKind.OFFICIAL
    assert "appended_without_xref" in verdict.reasons or "malformed" in verdict.reasons


def _xref_stream_update(data: bytes, first: int, count: int) -> bytes:
    """``data`` plus an update that is only an xref stream listing ``count`` free entries
    from ``first`` (a few hundred bytes once compressed)."""
    prev = _startxref(data)
    num = first + count
    rows = b"\x00\x00\x00\x00\x00\x00\x00" * count + b"\x01" + (len(data)).to_bytes(4, "big")
    rows += b"\x00\x00"
    packed = zlib.compress(rows)
    body = (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [%d %d] /Root 1 0 R /Prev %d "
        b"/Filter /FlateDecode /Length %d >>\nstream\n"
        % (num, num + 1, first, count + 1, prev, len(packed))
    )
    return data + body + packed + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % len(data)


def test_entries_are_counted_over_all_sections():
    data = xref_stream_pdf({**PAGE_TREE}, {})
    for i in range(3):
        data = _xref_stream_update(data, 100 + 1000 * i, 400)
    assert_read_unsigned(verdict_of(data, Limits(max_pdf_objects=1500)))
    verdict = verdict_of(data, Limits(max_pdf_objects=1000))
    assert verdict.reasons == ("limit_exceeded",)
    assert "max_pdf_objects" in verdict.findings[0].detail


@pytest.mark.parametrize("junk", [b"[" + b"0 " * 30_000 + b"]", b"(" + b"\\1" * 30_000 + b")"])
def test_tokens_parsed_from_object_streams_are_bounded(junk):
    # A few kB of Flate can hold 64 MB of tokens; each costs Python work to parse.
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Junk " + junk + b" >>"
    objects = {2: PAGE_TREE[2], 3: PAGE_TREE[3], 5: objstm([(1, catalog)])}
    data = xref_stream_pdf(objects, {1: (2, 5, 0)})
    assert_read_unsigned(verdict_of(data))
    verdict = verdict_of(data, Limits(max_pdf_stream_tokens=20_000))
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("limit_exceeded",)
    assert "max_pdf_stream_tokens" in verdict.findings[0].detail
