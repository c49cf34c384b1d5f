"""False accepts the peer suites found in the modification analysis (docs/peer-suites.md,
issue 10): each test makes the one change after a signature that passed as benign before the
fix, and checks the verdict and the reason."""

from __future__ import annotations

import pytest
from pdf_support import incremental_update, object_body
from test_pdf_modifications import (
    SIGNED,
    _annot,
    _fill,
    _kinds,
    _page_with_annots,
    _sign,
    _verify,
    _with_text_field,
)

from sigmail.verdict.model import VerdictKind


def _locked_with_p(p: int) -> bytes:
    """The letter with a text field "SoVanBan" and a signature field "NguoiKy" whose PDF 2.0
    /Lock locks no existing field but sets a DocMDP level ``/P``; signed (pyHanko copies the
    lock into a FieldMDP /Reference)."""
    base = _with_text_field(None, lock=True)
    lock = object_body(base, 23).replace(b"/Fields [(SoVanBan)]", b"/Fields [(Nothing)] /P %d" % p)
    return _sign(incremental_update(base, {23: lock}), field="NguoiKy")


def test_a_field_lock_p_is_obeyed_when_a_fieldmdp_reference_names_the_lock():
    # PDF 2.0 (12.7.5.5): a signature field lock's /P restricts the document after that
    # signature as DocMDP does. It used to be read only when no FieldMDP /Reference existed.
    signed = _locked_with_p(1)
    assert _verify(signed).verdict is VerdictKind.OFFICIAL
    verdict = _verify(_fill(signed, b"2026"))
    assert "docmdp_violation" in verdict.reasons, verdict.modifications
    # P2 allows filling in the (unlocked) field
    assert _verify(_fill(_locked_with_p(2), b"2026")).verdict is VerdictKind.OFFICIAL


_LINK_RECT = "20 700 40 720"  # in the margin: covers nothing the signer saw


@pytest.mark.parametrize(
    ("annotation", "benign"),
    [
        (_annot("Link", _LINK_RECT, b"/A << /S /URI /URI (https://example.gov.vn/) >>"), True),
        (_annot("Link", _LINK_RECT, b"/A << /S /GoTo /D [3 0 R /Fit] >>"), True),
        (_annot("Link", _LINK_RECT, b"/A << /S /JavaScript /JS (this.getField('x')) >>"), False),
        (_annot("Link", _LINK_RECT, b"/A << /S /Launch /F (cmd.exe) >>"), False),
        (_annot("Text", _LINK_RECT, b"/AA << /PO << /S /JavaScript /JS (1) >> >>"), False),
        (
            _annot(
                "Link", _LINK_RECT, b"/A << /S /URI /URI (x) /Next << /S /Hide /T (SoVanBan) >> >>"
            ),
            False,
        ),
    ],
    ids=["uri", "goto", "javascript", "launch", "note-aa-javascript", "uri-then-hide"],
)
def test_an_action_added_with_an_annotation_is_not_benign(annotation, benign):
    # A script (or a launched program, a Hide action) an annotation runs can change what the
    # document shows; a link that only goes somewhere cannot.
    data = incremental_update(SIGNED, {3: _page_with_annots(SIGNED, 42), 42: annotation})
    verdict = _verify(data)
    if benign:
        assert verdict.verdict is VerdictKind.OFFICIAL, verdict.modifications
        assert ("annotation_added", "benign") in _kinds(verdict)
    else:
        assert "modification_unclassified" in verdict.reasons, verdict.modifications
        assert ("action_added", "suspicious") in _kinds(verdict)


def test_a_new_form_field_with_a_script_is_not_benign():
    # A text field added after signing (form_field_added, benign without a certification)
    # whose keystroke action runs JavaScript.
    acroform = object_body(SIGNED, 8)
    fields = acroform.replace(b"/Fields [", b"/Fields [ 42 0 R", 1)
    assert fields != acroform
    widget = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (GhiChu) /Rect [%s] /F 4 /P 3 0 R"
        b" /AA << /K << /S /JavaScript /JS (event.value = 'x') >> >> >>" % _LINK_RECT.encode()
    )
    plain = widget.replace(b" /AA << /K << /S /JavaScript /JS (event.value = 'x') >> >>", b"")
    for body, benign in ((plain, True), (widget, False)):
        data = incremental_update(SIGNED, {3: _page_with_annots(SIGNED, 42), 8: fields, 42: body})
        verdict = _verify(data)
        if benign:
            assert verdict.verdict is VerdictKind.OFFICIAL, verdict.modifications
        else:
            assert "modification_unclassified" in verdict.reasons, verdict.modifications
