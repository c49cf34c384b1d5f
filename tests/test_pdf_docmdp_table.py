"""Every benign kind of later change under every certification level (ISO 32000-2, 12.8.2.2):
P1 allows only validation data and document timestamps, P2 also form filling and signing,
P3 also annotations and new fields; an uncertified document allows all of them.

Each kind is made once, as an incremental update after a real signature (by pyHanko, with the
test PKI), on a document certified at P1, P2, P3 or not at all. The expected table is written
out here, not read from sigmail, so that changing one level in ``sigmail/pdf/diff/levels.py``
fails a test."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pdf_support import incremental_update, object_body, vector_bytes
from test_pdf_modifications import _fill, _kinds, _sign, _verify

from sigmail.pdf.diff.levels import REQUIRES, required_level
from sigmail.verdict.model import VerdictKind
from vectors.testpki import pdf_vectors

# The lowest level that allows each kind (None: no certification signature at all).
EXPECTED_LOWEST_LEVEL = {
    "dss_updated": 1,
    "doc_timestamp_added": 1,
    "info_updated": 1,
    "metadata_updated": 1,
    "catalog_updated": 1,
    "unreferenced_objects": 1,
    "field_locked": 1,
    "signature_added": 2,
    "form_filled": 2,
    "structure_updated": 2,
    "signature_field_added": 3,
    "outline_updated": 3,
    "annotation_added": 3,
    "annotation_modified": 3,
    "annotation_removed": 3,
    "form_field_added": 3,
}
LEVELS = [None, 1, 2, 3]
NOTE = 24  # a note on page 1 the signer saw


def _at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 5, 31, hour, tzinfo=dt.UTC)


def _base() -> bytes:
    """The unsigned letter with an empty text field "SoVanBan" (object 20, appearance 21) and
    a note (object 24) on page 1."""
    base = vector_bytes("pdf-unsigned")
    ap = b"<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Length 0 >>\nstream\n\nendstream"
    field = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (SoVanBan) /Rect [300 600 500 620] /F 4"
        b" /P 3 0 R /AP << /N 21 0 R >> >>"
    )
    note = b"<< /Type /Annot /Subtype /Text /Rect [20 700 40 720] /F 4 /Contents (Ghi chu) >>"
    objects = {20: field, 21: ap, NOTE: note}
    objects[1] = object_body(base, 1)[:-2] + b" /AcroForm << /Fields [20 0 R] >> >>"
    objects[3] = object_body(base, 3)[:-2] + b" /Annots [20 0 R %d 0 R] >>" % NOTE
    return incremental_update(base, objects)


_SIGNED: dict[int | None, bytes] = {}


def _signed(level: int | None) -> bytes:
    """The base signed by person-an (certifying at ``level``), then its DSS added."""
    if level not in _SIGNED:
        _SIGNED[level] = _sign(_base(), **({} if level is None else {"certify": level}))
    return _SIGNED[level]


def _size(data: bytes) -> int:
    return int(re.findall(rb"/Size\s+(\d+)", data)[-1])


def _catalog_with(data: bytes, extra: bytes, objects: dict[int, bytes] | None = None) -> bytes:
    catalog = object_body(data, 1)
    return incremental_update(data, {1: catalog[:-2] + b" " + extra + b" >>", **(objects or {})})


def _page_annots(data: bytes, annots: list[int]) -> bytes:
    page = object_body(data, 3)
    listed = b" ".join(b"%d 0 R" % n for n in annots)
    return re.sub(rb"/Annots\s*\[[^\]]*\]", b"/Annots [" + listed + b"]", page)


def _page_annot_refs(data: bytes) -> list[int]:
    page = object_body(data, 3)
    inside = re.search(rb"/Annots\s*\[([^\]]*)\]", page).group(1)
    return [int(n) for n in re.findall(rb"(\d+) 0 R", inside)]


def _steps(data: bytes, steps: list[dict]) -> bytes:
    from test_pdf_modifications import _PKI

    _sign(_base())  # builds the PKI once
    pki, crls = _PKI[0]
    out, _made = pdf_vectors.apply_steps(pki, crls, data, steps, "test")
    return out


def _info_updated(d: bytes) -> bytes:
    info = int(re.findall(rb"/Info\s+(\d+) 0 R", d)[-1])
    return incremental_update(d, {info: b"<< /Producer (other) >>"})


def _unreferenced(d: bytes) -> bytes:
    return incremental_update(d, {_size(d): b"<< /Nothing /Refers /To /This >>"})


def _catalog_updated(d: bytes) -> bytes:
    return _catalog_with(d, b"/Lang (vi-VN)")


def _metadata_updated(d: bytes) -> bytes:
    n = _size(d)
    xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    stream = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream" % (
        len(xmp),
        xmp,
    )
    return _catalog_with(d, b"/Metadata %d 0 R" % n, {n: stream})


def _structure_updated(d: bytes) -> bytes:
    n = _size(d)
    return _catalog_with(d, b"/StructTreeRoot %d 0 R" % n, {n: b"<< /Type /StructTreeRoot >>"})


def _outline_updated(d: bytes) -> bytes:
    n = _size(d)
    return _catalog_with(d, b"/Outlines %d 0 R" % n, {n: b"<< /Type /Outlines /Count 0 >>"})


def _dss_updated(d: bytes) -> bytes:
    return _steps(d, [{"dss": {"certs": ["tsa-official"], "time": _at(2)}}])


def _doc_timestamp(d: bytes) -> bytes:
    return _steps(d, [{"doc_timestamp": _at(3), "field": "LuuTru"}])


def _signature_added(d: bytes) -> bytes:
    # pyHanko refuses to sign after a P1 certification; an attacker's signer would not.
    from pyhanko.sign.signers.pdf_signer import PdfSigner

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PdfSigner, "_enforce_certification_constraints", lambda self, reader: None)
        return _steps(d, [{"sign": "agency-stttt", "time": _at(3), "field": "CoQuan"}])


def _field_locked(d: bytes) -> bytes:
    field = object_body(d, 20)
    return incremental_update(d, {20: field[:-2] + b" /Ff 1 >>"})


def _widget(d: bytes, n: int, ft: bytes, name: bytes, rect: bytes) -> bytes:
    catalog = object_body(d, 1)
    fields = re.search(rb"/Fields\s*\[([^\]]*)\]", catalog)
    catalog = catalog.replace(fields.group(0), b"/Fields [" + fields.group(1) + b" %d 0 R]" % n)
    widget = b"<< /Type /Annot /Subtype /Widget /FT /%s /T (%s) /Rect [%s] /F 4 /P 3 0 R >>" % (
        ft,
        name,
        rect,
    )
    page = _page_annots(d, [*_page_annot_refs(d), n])
    return incremental_update(d, {1: catalog, 3: page, n: widget})


def _signature_field_added(d: bytes) -> bytes:
    return _widget(d, _size(d), b"Sig", b"KyThem", b"0 0 0 0")


def _form_field_added(d: bytes) -> bytes:
    return _widget(d, _size(d), b"Tx", b"GhiChu", b"300 500 500 520")


def _annotation_added(d: bytes) -> bytes:
    n = _size(d)
    note = b"<< /Type /Annot /Subtype /Text /Rect [20 600 40 620] /F 4 /Contents (Moi) >>"
    return incremental_update(d, {n: note, 3: _page_annots(d, [*_page_annot_refs(d), n])})


def _annotation_modified(d: bytes) -> bytes:
    note = object_body(d, NOTE).replace(b"(Ghi chu)", b"(Da xem)")
    return incremental_update(d, {NOTE: note})


def _annotation_removed(d: bytes) -> bytes:
    kept = [n for n in _page_annot_refs(d) if n != NOTE]
    return incremental_update(d, {3: _page_annots(d, kept)})


MAKERS = {
    "dss_updated": _dss_updated,
    "doc_timestamp_added": _doc_timestamp,
    "info_updated": _info_updated,
    "metadata_updated": _metadata_updated,
    "catalog_updated": _catalog_updated,
    "unreferenced_objects": _unreferenced,
    "field_locked": _field_locked,
    "signature_added": _signature_added,
    "form_filled": lambda d: _fill(d, b"2026"),
    "structure_updated": _structure_updated,
    "signature_field_added": _signature_field_added,
    "outline_updated": _outline_updated,
    "annotation_added": _annotation_added,
    "annotation_modified": _annotation_modified,
    "annotation_removed": _annotation_removed,
    "form_field_added": _form_field_added,
}


def test_the_table_names_every_benign_kind_sigmail_knows():
    assert set(EXPECTED_LOWEST_LEVEL) | {"dss_added"} == set(REQUIRES)
    assert set(MAKERS) == set(EXPECTED_LOWEST_LEVEL)


def test_an_unknown_kind_has_no_level_rather_than_p1():
    with pytest.raises(LookupError):
        required_level("something_new")


@pytest.mark.parametrize("level", LEVELS, ids=lambda v: f"P{v}" if v else "uncertified")
def test_the_signed_base_with_its_dss_is_official(level):
    verdict = _verify(_signed(level))
    assert verdict.verdict is VerdictKind.OFFICIAL, verdict.reasons
    assert ("dss_added", "benign") in _kinds(verdict)


@pytest.mark.parametrize("level", LEVELS, ids=lambda v: f"P{v}" if v else "uncertified")
@pytest.mark.parametrize("kind", sorted(EXPECTED_LOWEST_LEVEL))
def test_each_benign_kind_under_each_level(kind, level):
    verdict = _verify(MAKERS[kind](_signed(level)))
    allowed = level is None or EXPECTED_LOWEST_LEVEL[kind] <= level
    reports = [m for m in verdict.modifications if m.kind == kind]
    assert reports, f"{kind} not found: {_kinds(verdict)}"
    if allowed:
        assert {m.classification for m in reports} == {"benign"}, verdict.modifications
        assert "docmdp_violation" not in verdict.reasons
    else:
        assert "suspicious" in {m.classification for m in reports}, verdict.modifications
        assert "docmdp_violation" in verdict.reasons
        assert verdict.verdict is not VerdictKind.OFFICIAL
