"""Document number and date from a document's text (the register's doc_number, doc_date).

Table tests of the text rules, and PDFs made here byte by byte with the shapes real Vietnamese
documents have: a composite (Type0, Identity-H) font whose /ToUnicode CMap maps glyph codes to
Vietnamese letters (bfchar and bfrange entries), text split over several operators and TJ
arrays with kerning, a form XObject — and a simple font without a map (WinAnsi).
"""

from __future__ import annotations

import unicodedata
import zlib
from datetime import date

import pytest

from sigmail.audit.pdftext import ToUnicode
from sigmail.audit.text import document_fields, fields_from_text, text_of

HEADER = """UỶ BAN NHÂN DÂN TỈNH KON TUM
SỞ TƯ PHÁP
Số: 123/QĐ-STP
CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Kon Tum, ngày 20 tháng 5 năm 2026
QUYẾT ĐỊNH"""


@pytest.mark.parametrize(
    ("text", "number", "when"),
    [
        (HEADER, "123/QĐ-STP", date(2026, 5, 20)),
        ("SỐ: 45/2020/NĐ-CP\nHà Nội, ngày 01 tháng 01 năm 2020", "45/2020/NĐ-CP", date(2020, 1, 1)),
        ("Số:12 / UBND - VX\nngày 3/11/2025", "12/UBND-VX", date(2025, 11, 3)),
        ("So: 123/QD-STTTT", "123/QD-STTTT", None),  # a font without Vietnamese letters
        ("Số và ký hiệu: 7/TB-VP", "7/TB-VP", None),
        (unicodedata.normalize("NFD", HEADER), "123/QĐ-STP", date(2026, 5, 20)),
        # A reference to another document is not this one's number.
        ("Căn cứ Nghị định số 30/2020/NĐ-CP của Chính phủ", None, None),
        ("Số:     /QĐ-UBND\n(bản dự thảo)", None, None),  # a template, no number yet
        # The header's date (after the place and a comma) wins over dates in the body.
        (
            "Căn cứ Luật ngày 19 tháng 6 năm 2015;\nĐà Nẵng, ngày 2 tháng 3 năm 2026",
            None,
            date(2026, 3, 2),
        ),
        ("ngày 31 tháng 2 năm 2026, ngày 1 tháng 3 năm 2026", None, date(2026, 3, 1)),
        ("", None, None),
    ],
)
def test_number_and_date_from_text(text, number, when):
    assert tuple(fields_from_text(text)) == (number, when)


# -- PDFs made here --------------------------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    """A classic-xref PDF whose object i+1 is ``objects[i]``; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, *, compress: bool = True, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _codes(text: str, table: dict[str, int]) -> bytes:
    """``text`` as 2-byte glyph codes (given out in order of first use, from 0x0100)."""
    out = bytearray()
    for char in text:
        code = table.setdefault(char, 0x0100 + len(table))
        out += code.to_bytes(2, "big")
    return bytes(out)


def _cmap(table: dict[str, int]) -> bytes:
    lines = [b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap"]
    lines.append(b"1 begincodespacerange <0000> <FFFF> endcodespacerange")
    pairs = sorted((code, char) for char, code in table.items() if not char.isdigit())
    lines.append(b"%d beginbfchar" % len(pairs))
    for code, char in pairs:
        lines.append(b"<%04X> <%s>" % (code, char.encode("utf-16-be").hex().upper().encode()))
    lines.append(b"endbfchar")
    # Digits as one bfrange: codes 0x0030..0x0039 → U+0030..U+0039.
    lines.append(b"1 beginbfrange <0030> <0039> <0030> endbfrange")
    lines.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    return b"\n".join(lines)


def _digits_as_range(text: str, table: dict[str, int]) -> bytes:
    out = bytearray()
    for char in text:
        if char.isdigit():
            out += ord(char).to_bytes(2, "big")
        else:
            out += _codes(char, table)
    return bytes(out)


def vietnamese_pdf() -> bytes:
    table: dict[str, int] = {}
    number = _digits_as_range("Số: ", table), _digits_as_range("123/QĐ-STP", table)
    dated = _digits_as_range("Kon Tum, ngày 20 tháng 5 năm 2026", table)
    agency = _digits_as_range("SỞ TƯ PHÁP", table)
    content = (
        b"BT /F1 13 Tf 72 760 Td <" + agency.hex().encode() + b"> Tj ET\n"
        # "Số: " and the number in two operators on one line, then a TJ with kerning.
        b"BT /F1 13 Tf 72 740 Td <" + number[0].hex().encode() + b"> Tj "
        b"40 0 Td [<"
        + number[1][:6].hex().encode()
        + b"> -20 <"
        + number[1][6:].hex().encode()
        + b">] TJ ET\n"
        b"q /Fm1 Do Q\n"
    )
    form = b"BT /F1 12 Tf 300 740 Td <" + dated.hex().encode() + b"> Tj ET"
    font = (
        b"<< /Type /Font /Subtype /Type0 /BaseFont /TimesNewRomanPSMT /Encoding /Identity-H "
        b"/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>"
    )
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> /XObject << /Fm1 8 0 R >> >> >>",
            _stream(content),
            font,
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /TimesNewRomanPSMT "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> >>",
            _stream(_cmap(table)),
            _stream(
                form,
                extra=b" /Type /XObject /Subtype /Form /BBox [0 0 595 842] "
                b"/Resources << /Font << /F1 5 0 R >> >>",
            ),
        ]
    )


def test_pdf_with_a_unicode_map_gives_vietnamese_text():
    data = vietnamese_pdf()
    text = text_of(data, "quyet-dinh.pdf")
    assert "SỞ TƯ PHÁP" in text and "Kon Tum, ngày 20 tháng 5 năm 2026" in text
    assert tuple(document_fields(data, "quyet-dinh.pdf")) == ("123/QĐ-STP", date(2026, 5, 20))


def test_pdf_with_a_simple_font_is_read_as_winansi():
    content = b"BT /F1 12 Tf 72 760 Td (S\xf4: 9/CV-UBND) Tj T* (ng\xe0y 1/2/2026) Tj ET"
    data = _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content, compress=False),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
    )
    assert tuple(document_fields(data, "cv.pdf")) == ("9/CV-UBND", date(2026, 2, 1))


def test_unreadable_inputs_give_nothing():
    assert tuple(document_fields(b"%PDF-1.7\nnot really", "x.pdf")) == (None, None)
    assert tuple(document_fields(b"\x30\x03\x02\x01\x00", "x.p7m")) == (None, None)
    assert tuple(document_fields(b"\x00\x01binary", "x.bin")) == (None, None)
    assert text_of(b"From: a@b\r\n\r\nSo: 1/X", "m.eml") is None  # a message is no document


def test_to_unicode_ranges_and_arrays():
    cmap = ToUnicode(
        b"begincodespacerange <00> <FF> endcodespacerange "
        b"2 beginbfrange <41> <43> <0061> <50> <51> [<1EA1> <00440110>] endbfrange"
    )
    assert cmap.decode(b"ABCPQZ") == "abcạDĐ"
