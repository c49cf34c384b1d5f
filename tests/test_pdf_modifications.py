"""Modification analysis, one rule at a time: each test makes exactly one kind of change after
a signature (an incremental update written by hand, or by pyHanko where a signature is
needed) and checks the kind, the classification and the reason code."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pdf_support import (
    AT,
    VECTORS,
    incremental_update,
    object_body,
    offline_verifier,
    vector_bytes,
)

from sigmail.verdict.model import VerdictKind

SIGNED = vector_bytes("pdf-person-b-lt")  # official offline; page 3 0 R, content 5, font 4
VERIFIER = offline_verifier()
SIGNED_AT = dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)


def _verify(data: bytes):
    return VERIFIER.verify(data, at=AT, name="changed.pdf")


def _kinds(verdict) -> set[tuple[str, str]]:
    return {(m.kind, m.classification) for m in verdict.modifications}


def _annot(subtype: str, rect: str, extra: bytes = b"") -> bytes:
    return b"<< /Type /Annot /Subtype /%s /Rect [%s] /F 4 %s >>" % (
        subtype.encode(),
        rect.encode(),
        extra,
    )


def _page_with_annots(data: bytes, *refs: int) -> bytes:
    page = object_body(data, 3)
    annots = re.search(rb"/Annots\s*\[([^\]]*)\]", page)
    listed = annots.group(1) if annots else b""
    new = listed + b"".join(b" %d 0 R" % r for r in refs)
    if annots:
        return page.replace(annots.group(0), b"/Annots [" + new + b"]")
    return page[:-2] + b" /Annots [" + new + b"] >>"


def test_baseline_is_official():
    assert _verify(SIGNED).verdict is VerdictKind.OFFICIAL


def test_junk_after_the_last_eof_is_trailing_data():
    verdict = _verify(SIGNED + b"\x00junk that is not PDF\n")
    assert ("trailing_data", "suspicious") in _kinds(verdict)
    assert "trailing_data" in verdict.reasons


def test_whitespace_after_the_last_eof_is_nothing():
    assert _verify(SIGNED + b"\r\n \n").verdict is VerdictKind.OFFICIAL


def test_rewriting_the_signed_content_stream_in_place():
    body = b"<< /Length 37 >>\nstream\nBT /F1 12 Tf 72 770 Td (X) Tj ET\n\nendstream"
    verdict = _verify(incremental_update(SIGNED, {5: body}))
    assert "page_content_modified" in verdict.reasons
    (report,) = [m for m in verdict.modifications if m.kind == "page_content_modified"]
    assert report.pages == (1,) and report.object_ids == ("5 0",)


def test_replacing_a_font_the_page_draws_with():
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>"
    verdict = _verify(incremental_update(SIGNED, {4: font}))
    (report,) = [m for m in verdict.modifications if m.kind == "page_content_modified"]
    assert "resource" in report.detail and report.pages == (1,)


def test_an_xref_entry_pointing_at_another_objects_bytes():
    """The shadow trick: object 5's new entry points at the bytes of another object."""
    data = incremental_update(SIGNED, {40: b"<< /Unrelated true >>"})
    offset = int(re.findall(rb"40 1\n(\d{10})", data)[-1])
    data = data.replace(b"40 1\n%010d" % offset, b"5 1\n%010d" % offset)
    verdict = _verify(data)
    assert "page_content_modified" in verdict.reasons


def test_rewriting_the_signature_dictionary_is_spoofing():
    at = SIGNED.index(b"/ByteRange")
    sig_num = int(re.findall(rb"(\d+) 0 obj", SIGNED[:at])[-1])
    body = object_body(SIGNED, sig_num).replace(b"/ByteRange", b"/Reason (Dong y) /ByteRange")
    verdict = _verify(incremental_update(SIGNED, {sig_num: body}))
    assert "signature_dictionary_modified" in verdict.reasons


def test_info_update_and_unreferenced_objects_are_benign():
    data = incremental_update(
        SIGNED, {6: b"<< /Producer (other) >>", 41: b"<< /Nothing /Refers /To /This >>"}
    )
    verdict = _verify(data)
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert {("info_updated", "benign"), ("unreferenced_objects", "benign")} <= _kinds(verdict)


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (_annot("Text", "20 700 40 720"), ("annotation_added", "benign")),
        (_annot("Square", "400 100 500 150"), ("annotation_added", "benign")),  # empty area
        (_annot("Square", "60 740 400 790", b"/F 2"), ("annotation_added", "benign")),  # hidden
        (_annot("Square", "60 740 400 790"), ("object_overlay", "suspicious")),
        (_annot("Text", "60 600 400 790"), ("object_overlay", "suspicious")),  # a huge "note"
        (_annot("Link", "60 740 400 790"), ("annotation_added", "benign")),
    ],
    ids=["note", "square in the margin", "hidden square", "square over text", "big note", "link"],
)
def test_annotations_are_judged_by_what_they_cover(annotation, expected):
    data = incremental_update(SIGNED, {3: _page_with_annots(SIGNED, 42), 42: annotation})
    verdict = _verify(data)
    assert expected in _kinds(verdict), verdict.modifications
    if expected[1] == "benign":
        assert verdict.verdict is VerdictKind.OFFICIAL


def test_a_hidden_annotation_made_visible_later_is_an_overlay():
    hidden = _annot("Square", "60 740 400 790", b"/F 2")
    data = incremental_update(SIGNED, {3: _page_with_annots(SIGNED, 42), 42: hidden})
    assert _verify(data).verdict is VerdictKind.OFFICIAL  # nothing shows yet
    shown = incremental_update(data, {42: _annot("Square", "60 740 400 790")})
    assert "object_overlay" in _verify(shown).reasons


def test_filling_a_reference_the_signed_page_left_dangling():
    # A page that, when signed, referred to an XObject that did not exist…
    page = object_body(SIGNED, 3).replace(b"/Font", b"/XObject << /X1 45 0 R >> /Font", 1)
    unsigned = incremental_update(vector_bytes("pdf-unsigned"), {3: page})
    signed = _sign(unsigned)
    assert _verify_online_free(signed)
    # …and a later revision defines it.
    image = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Length 0 >>\nstream\n\nendstream"
    )
    verdict = _verify(incremental_update(signed, {45: image}))
    assert "object_overlay" in verdict.reasons
    (report,) = [m for m in verdict.modifications if m.kind == "object_swapped_in"]
    assert "did not exist" in report.detail


def test_opening_action_added_after_signing_is_unclassified():
    catalog = object_body(SIGNED, 1)
    data = incremental_update(
        SIGNED, {1: catalog[:-2] + b" /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"}
    )
    assert "modification_unclassified" in _verify(data).reasons


def test_removing_the_page_is_a_page_change():
    pages = object_body(SIGNED, 2).replace(b"/Count 1", b"/Count 0").replace(b"3 0 R", b"")
    verdict = _verify(incremental_update(SIGNED, {2: pages}))
    assert "page_content_modified" in verdict.reasons


# -- form filling, FieldMDP and certification with fields (signed by pyHanko) ---------------


_PKI: list = []


def _sign(data: bytes, **step) -> bytes:
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    if not _PKI:
        spec = load_pki_spec(VECTORS)
        pki = build_pki(spec, VECTORS / KEYS_DIR, create_keys=False)
        _PKI.append((pki, {n: pki.build_crl(c) for n, c in spec.crls.items()}))
    pki, crls = _PKI[0]
    steps = [
        {"sign": "person-an", "time": SIGNED_AT, "field": "NguoiKy", **step},
        {
            "dss": {
                "certs": ["ca-official", "root-official"],
                "crls": ["ca-official", "root-official"],
                "ocsp": ["person-an"],
                "ocsp_clock": dt.datetime(2026, 5, 31, tzinfo=dt.UTC),
                "time": dt.datetime(2026, 5, 31, tzinfo=dt.UTC),
            }
        },
    ]
    signed, _made = pdf_vectors.apply_steps(pki, crls, data, steps, "test")
    return signed


def _verify_online_free(data: bytes) -> bool:
    return _verify(data).verdict is VerdictKind.OFFICIAL


def _with_text_field(value: bytes | None, *, lock: bool = False) -> bytes:
    """The unsigned letter with a text field "SoVanBan" on page 1, empty or holding ``value``;
    with ``lock``, also an empty signature field "NguoiKy" whose /Lock covers "SoVanBan"."""
    base = vector_bytes("pdf-unsigned")
    v = b" /V (%s)" % value if value is not None else b""
    ap = b"<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Length 0 >>\nstream\n\nendstream"
    field = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (SoVanBan) /Rect [300 600 500 620] /F 4"
        b" /P 3 0 R /AP << /N 21 0 R >>" + v + b" >>"
    )
    objects = {20: field, 21: ap}
    fields = b"20 0 R"
    if lock:
        objects[23] = (
            b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (NguoiKy) /Rect [0 0 0 0] /F 132"
            b" /P 3 0 R /Lock << /Type /SigFieldLock /Action /Include /Fields [(SoVanBan)] >> >>"
        )
        fields += b" 23 0 R"
    objects[1] = object_body(base, 1)[:-2] + b" /AcroForm << /Fields [%s] >> >>" % fields
    objects[3] = object_body(base, 3)[:-2] + b" /Annots [%s] >>" % fields
    return incremental_update(base, objects)


def _fill(data: bytes, value: bytes) -> bytes:
    field = object_body(data, 20)
    field = re.sub(rb" /V \([^)]*\)", b"", field)[:-2] + b" /V (%s) /AP << /N 22 0 R >> >>" % value
    ap = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 200 20] /Length 25 >>\nstream\n"
        b"BT /Helv 12 Tf (%s) Tj ET\nendstream" % value[:4].ljust(4)
    )
    return incremental_update(data, {20: field, 22: ap})


def test_filling_an_empty_field_is_benign():
    signed = _sign(_with_text_field(None))
    verdict = _verify(_fill(signed, b"2026"))
    assert verdict.verdict is VerdictKind.OFFICIAL, verdict.reasons
    assert ("form_filled", "benign") in _kinds(verdict)


def test_replacing_a_value_the_signer_saw_is_form_field_replaced():
    signed = _sign(_with_text_field(b"123"))
    verdict = _verify(_fill(signed, b"999"))
    assert "form_field_replaced" in verdict.reasons


def test_a_field_locked_by_the_signature_must_not_change_fieldmdp():
    signed = _sign(_with_text_field(None, lock=True))
    verdict = _verify(_fill(signed, b"2026"))
    assert "fieldmdp_violation" in verdict.reasons, verdict.modifications


def test_certification_p2_allows_filling_and_p1_does_not():
    signed = _sign(_with_text_field(None), certify=2)
    assert _verify(_fill(signed, b"2026")).verdict is VerdictKind.OFFICIAL
    locked = _sign(_with_text_field(None), certify=1)
    assert "docmdp_violation" in _verify(_fill(locked, b"2026")).reasons
