"""Forgeries the modification analysis once accepted (issue 10, items 1-6): one generated
vector each (vectors/pdf.toml, "forgeries …"), the reason it must now get, hand-written
variants of the same trick, and what pyHanko's own analysis says about each vector.

The tests named after a forgery failed before these fixes (the file came out `official`, or,
for the copied /Contents, `invalid` for its ByteRange only). The others pin what the fixes
must not change (a second signature of its own, signing under P2, a document timestamp's
TSTInfo, /Perms rewritten) or ask pyHanko."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO

import pytest
from pdf_support import AT, VECTORS, incremental_update, object_body, offline_verifier, vector_bytes

from sigmail.verdict.model import SignatureStatus

VERIFIER = offline_verifier()


def _verify(data: bytes):
    return VERIFIER.verify(data, at=AT, name="forged.pdf")


def _reports(verdict, code: str):
    return [m for m in verdict.modifications if m.classification == "suspicious" and code in m.kind]


def _suspicious(verdict) -> list[tuple[str, str]]:
    return [(m.kind, m.detail) for m in verdict.modifications if m.classification == "suspicious"]


# -- 1. an object keeps the role it had when signed ------------------------------------------


def test_a_page_font_rewritten_and_listed_in_the_dss_is_still_the_pages_font():
    verdict = _verify(vector_bytes("pdf-font-rewritten-into-dss"))
    assert "page_content_modified" in verdict.reasons
    (report,) = [m for m in verdict.modifications if m.kind == "page_content_modified"]
    assert report.object_ids == ("4 0",) and report.pages == (1,)
    (dss,) = [m for m in verdict.modifications if m.kind == "dss_added"]
    assert "4 0" not in dss.object_ids  # the DSS explains its own objects only


def test_a_font_rewritten_into_an_existing_dss_is_still_the_pages_font():
    signed = vector_bytes("pdf-person-b-lt")  # DSS object 19; page font 4
    font = object_body(signed, 4).replace(b"/WinAnsiEncoding", b"/MacRomanEncoding")
    dss = object_body(signed, 19).replace(b"/Certs [", b"/Certs [ 4 0 R")
    verdict = _verify(incremental_update(signed, {4: font, 19: dss}))
    assert "page_content_modified" in verdict.reasons
    assert ("dss_updated", "benign") in {(m.kind, m.classification) for m in verdict.modifications}


def test_a_page_font_rewritten_and_named_as_the_document_information_is_still_the_font():
    signed = vector_bytes("pdf-person-only")
    font = object_body(signed, 4).replace(b"/WinAnsiEncoding", b"/MacRomanEncoding")
    data = incremental_update(signed, {4: font})
    at = data.rindex(b"/Root 1 0 R")
    data = data[:at] + b"/Root 1 0 R /Info 4 0 R" + data[at + len(b"/Root 1 0 R") :]
    verdict = _verify(data)
    assert "page_content_modified" in verdict.reasons
    (info,) = [m for m in verdict.modifications if m.kind == "info_updated"]
    assert info.object_ids == ()


def test_an_object_the_signed_page_referred_to_cannot_be_supplied_as_dss_material():
    """The signed page names an XObject that does not exist; a later DSS revision defines it
    (a stream in /Certs): content swapped in, not validation material."""
    base = vector_bytes("pdf-unsigned")
    page = object_body(base, 3).replace(b"/Font", b"/XObject << /X1 45 0 R >> /Font", 1)
    signed = _sign(incremental_update(base, {3: page}))
    image = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Length 0 >>\nstream\n\nendstream"
    )
    catalog = object_body(signed, 1)
    dss = b"<< /Certs [45 0 R] >>"
    forged = incremental_update(signed, {45: image, 46: dss, 1: catalog[:-2] + b" /DSS 46 0 R >>"})
    verdict = _verify(forged)
    assert "object_overlay" in verdict.reasons, verdict.modifications
    assert [m.kind for m in verdict.modifications if m.classification == "suspicious"] == [
        "object_swapped_in"
    ]


def test_a_page_font_rewritten_as_the_appearance_of_a_new_field_is_still_the_pages_font():
    signed = vector_bytes("pdf-person-only")
    font = b"<< /Length 8 >>\nstream\n0 0 m S\n\nendstream"
    widget = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (Moi) /Rect [400 60 500 80] /F 4"
        b" /P 3 0 R /AP << /N 4 0 R >> >>"
    )
    page = object_body(signed, 3).replace(b"/Annots [ 9 0 R ]", b"/Annots [ 9 0 R 40 0 R ]")
    form = object_body(signed, 8).replace(b"[ 9 0 R ]", b"[ 9 0 R 40 0 R ]")
    verdict = _verify(incremental_update(signed, {4: font, 40: widget, 3: page, 8: form}))
    assert "page_content_modified" in verdict.reasons
    assert ("form_field_added", "benign") in {
        (m.kind, m.classification) for m in verdict.modifications
    }


# -- 2. a signature shown twice --------------------------------------------------------------


def test_a_new_field_pointing_at_the_existing_signature_dictionary_is_signature_reused():
    verdict = _verify(vector_bytes("pdf-signature-recycled"))
    assert "signature_reused" in verdict.reasons
    (report,) = _reports(verdict, "signature_reused")
    assert "DongDau" in report.detail and "NguoiKy" in report.detail
    assert not [m for m in verdict.modifications if m.kind == "signature_added"]
    (sig,) = verdict.signatures  # one signature dictionary, reached from two fields
    assert sig.status is SignatureStatus.FAILED
    assert {f.code for f in sig.findings} >= {"signature_reused"}
    assert sig.field == "NguoiKy, DongDau"


def test_a_copied_signature_value_in_a_new_dictionary_is_signature_reused():
    verdict = _verify(vector_bytes("pdf-signature-contents-recycled"))
    first, copy = verdict.signatures
    assert any(f.code == "signature_reused" for f in first.findings)  # the revision after it
    assert {"signature_reused", "byte_range_invalid"} <= {f.code for f in copy.findings}
    assert first.status is copy.status is SignatureStatus.FAILED


def test_a_second_signature_of_its_own_is_not_reuse():
    verdict = _verify(vector_bytes("pdf-person-then-agency"))
    assert "signature_reused" not in verdict.reasons


# -- 3. DocMDP P2: filling in and signing only -----------------------------------------------


def test_p2_a_widget_that_belongs_to_no_field_is_an_annotation():
    verdict = _verify(vector_bytes("pdf-certified-p2-orphan-widget"))
    assert "docmdp_violation" in verdict.reasons
    (report,) = _suspicious(verdict)
    assert report[0] == "annotation_added" and "P=2" in report[1]


def test_without_certification_a_fieldless_widget_over_the_text_is_an_overlay():
    signed = vector_bytes("pdf-person-only")
    ap = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 300 40] /Length 20 >>\nstream\n"
        b"1 g 0 0 300 40 re f\nendstream"
    )
    widget = b"<< /Type /Annot /Subtype /Widget /Rect [70 730 370 770] /F 4 /AP << /N 41 0 R >> >>"
    page = object_body(signed, 3).replace(b"/Annots [ 9 0 R ]", b"/Annots [ 9 0 R 40 0 R ]")
    verdict = _verify(incremental_update(signed, {40: widget, 41: ap, 3: page}))
    assert "object_overlay" in verdict.reasons


def test_p2_an_empty_signature_field_is_not_signing():
    verdict = _verify(vector_bytes("pdf-certified-p2-empty-signature-field"))
    assert "docmdp_violation" in verdict.reasons
    (report,) = _suspicious(verdict)
    assert report[0] == "signature_field_added" and "KyDuyet" in report[1]


def test_p2_signing_stays_permitted():
    verdict = _verify(vector_bytes("pdf-certified-p2-signed"))
    assert not _suspicious(verdict)


def test_p2_changing_the_signed_fields_type_is_a_field_replaced():
    verdict = _verify(vector_bytes("pdf-certified-p2-field-type-changed"))
    assert "form_field_replaced" in verdict.reasons
    (report,) = _suspicious(verdict)
    assert "/Type" in report[1] and "/Annot → /Sig" in report[1]


@pytest.mark.parametrize(
    ("edit", "suspicious"),
    [(b"", True), (b"/Type /Widget", True)],
    ids=["type removed", "type changed"],
)
def test_a_fields_type_may_not_be_removed_or_changed(edit, suspicious):
    signed = vector_bytes("pdf-person-only")
    field = object_body(signed, 9).replace(b"/Type /Annot", edit)
    verdict = _verify(incremental_update(signed, {9: field}))
    assert ("form_field_replaced" in verdict.reasons) is suspicious


# -- 4. a field's widgets --------------------------------------------------------------------


def test_a_text_fields_kids_replaced_is_not_metadata():
    verdict = _verify(vector_bytes("pdf-field-kids-replaced"))
    assert "form_field_replaced" in verdict.reasons
    (report,) = _suspicious(verdict)
    assert "/Kids" in report[1] and "SoVanBan" in report[1]
    assert "benign_modification" not in verdict.reasons or not [
        m for m in verdict.modifications if m.kind == "form_filled"
    ]


@pytest.mark.parametrize("kids", [b"[1 2 3]", b"[5 0 R]", b"[]"], ids=["numbers", "ref", "empty"])
def test_kids_given_to_a_merged_field_are_not_metadata(kids):
    signed = _sign(_text_field(b"123"))
    field = object_body(signed, 20)
    verdict = _verify(incremental_update(signed, {20: field[:-2] + b" /Kids " + kids + b" >>"}))
    assert "form_field_replaced" in verdict.reasons


# -- 5. what a signature locks and shows -----------------------------------------------------


def test_an_old_signatures_widget_removed_from_the_page_is_reported():
    verdict = _verify(vector_bytes("pdf-signature-widget-removed"))
    assert "signature_dictionary_modified" in verdict.reasons
    (report,) = [m for m in verdict.modifications if m.classification == "suspicious"]
    assert report.kind == "annotation_removed" and report.pages == (1,)
    assert "NguoiKy" in report.detail and report.after_signatures == (0, 1)


def test_a_removed_signature_field_is_reported_once():
    signed = vector_bytes("pdf-person-then-agency")  # fields 9 (NguoiKy), 12 (CoQuan)
    page = re.sub(rb"/Annots \[[^\]]*\]", b"/Annots [ 12 0 R ]", object_body(signed, 3))
    form = object_body(signed, 8).replace(b"9 0 R ", b"")
    verdict = _verify(incremental_update(signed, {3: page, 8: form}))
    assert [m.kind for m in verdict.modifications if m.classification == "suspicious"] == [
        "signature_dictionary_modified"
    ]


def test_the_lock_of_a_signed_field_rewritten_is_a_fieldmdp_violation():
    verdict = _verify(vector_bytes("pdf-field-lock-changed"))
    assert "fieldmdp_violation" in verdict.reasons
    (report,) = _suspicious(verdict)
    assert "/Lock" in report[1] and "NguoiKy" in report[1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"/Action /Include", b"/Action /Exclude"),
        (b"/Fields [(SoVanBan)]", b"/Fields [(SoVanBan)] /P 3"),
    ],
    ids=["action", "docmdp level"],
)
def test_a_direct_lock_changed_is_a_fieldmdp_violation(old, new):
    signed = _sign(_text_field(None, lock=True))
    field = object_body(signed, 23)
    lock = re.search(rb"/Lock <<.*?>>", field, re.S).group(0)
    changed = re.sub(rb"\s+", b" ", lock).replace(b"[ (SoVanBan) ]", b"[(SoVanBan)]")
    assert old in changed
    field = field.replace(lock, changed.replace(old, new))
    verdict = _verify(incremental_update(signed, {23: field}))
    assert "fieldmdp_violation" in verdict.reasons, verdict.modifications


def test_perms_rewritten_after_certification_is_a_docmdp_violation():
    """Pins behaviour that was already right: /Perms moved and rewritten."""
    full = vector_bytes("pdf-certified-p2-signed")
    signed = full[: [m.end() for m in re.finditer(rb"%%EOF\n", full)][1]]
    catalog = object_body(signed, 1)
    moved = catalog.replace(b"/Perms <<\n/DocMDP 10 0 R\n>>", b"/Perms 40 0 R")
    data = incremental_update(signed, {1: moved, 40: b"<< /DocMDP 10 0 R >>"})
    data = incremental_update(data, {40: b"<< /DocMDP 10 0 R /UR3 10 0 R >>"})
    verdict = _verify(data)
    assert "docmdp_violation" in verdict.reasons
    assert {m.revision for m in _reports(verdict, "docmdp_violation")} == {3, 4}


# -- 6. no eContent in a PDF signature -------------------------------------------------------


def test_a_pdf_signature_carrying_econtent_is_rejected():
    verdict = _verify(vector_bytes("pdf-econtent"))
    (sig,) = verdict.signatures
    assert sig.status is SignatureStatus.FAILED
    assert [f.code for f in sig.findings] == ["econtent_in_detached"]
    assert "econtent_in_detached" in verdict.reasons


def test_a_document_timestamp_keeps_its_tstinfo_econtent():
    verdict = _verify(vector_bytes("pdf-person-b-lta"))
    assert "econtent_in_detached" not in verdict.reasons
    assert verdict.signatures[1].kind == "doc_timestamp"
    assert verdict.signatures[1].status is SignatureStatus.PASSED


# -- pyHanko's view of the same vectors ------------------------------------------------------

FORGERIES = (
    "pdf-font-rewritten-into-dss",
    "pdf-signature-recycled",
    "pdf-signature-contents-recycled",
    "pdf-certified-p2-orphan-widget",
    "pdf-certified-p2-empty-signature-field",
    "pdf-certified-p2-field-type-changed",
    "pdf-field-kids-replaced",
    "pdf-signature-widget-removed",
    "pdf-field-lock-changed",
    "pdf-econtent",
)


@pytest.mark.parametrize("name", FORGERIES)
def test_pyhanko_does_not_accept_the_forgery_either(name, caplog):
    """pyHanko's difference analysis (DEFAULT_DIFF_POLICY) or its CMS checks refuse each
    vector: for every one, some signature does not come out good. (For the copied
    /Contents pyHanko accepts the first signature and refuses only the copy, by coverage.)"""
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    raw = (VECTORS / "pki/certs/root-official.pem").read_bytes()
    root = x509.Certificate.load(pem.unarmor(raw)[2] if pem.detect(raw) else raw)
    reader = PdfFileReader(BytesIO(vector_bytes(name)), strict=False)
    good = []
    for sig in reader.embedded_signatures:
        context = ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail", moment=AT
        )
        try:
            status = validate_pdf_signature(sig, context)
        except SignatureValidationError:  # pyHanko raises on a structural failure (eContent)
            good.append(False)
            continue
        good.append(status.bottom_line)
    assert not all(good)


# -- helpers: a text field, signed by pyHanko ------------------------------------------------

_PKI: list = []
SIGNED_AT = dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)


def _sign(data: bytes, **step) -> bytes:
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    if not _PKI:
        spec = load_pki_spec(VECTORS)
        _PKI.append(build_pki(spec, VECTORS / KEYS_DIR, create_keys=False))
    steps = [{"sign": "person-an", "time": SIGNED_AT, "field": "NguoiKy", **step}]
    signed, _made = pdf_vectors.apply_steps(_PKI[0], {}, data, steps, "test")
    return signed


def _text_field(value: bytes | None, *, lock: bool = False) -> bytes:
    """The letter with a text field "SoVanBan" (field and widget merged, object 20), empty
    or holding ``value``; with ``lock``, an empty signature field "NguoiKy" (object 23)
    whose direct /Lock covers "SoVanBan"."""
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
