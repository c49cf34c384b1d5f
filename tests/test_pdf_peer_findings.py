"""False accepts the peer suites found in the modification analysis (docs/peer-suites.md,
issue 10): each test makes the one change after a signature that passed as benign before the
fix, and checks the verdict and the reason."""

from __future__ import annotations

import pytest
from pdf_support import incremental_update, object_body, vector_bytes
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


_XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>application/pdf</dc:format>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)


def _metadata_stream(data: bytes) -> bytes:
    return b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream" % (
        len(data),
        data,
    )


@pytest.mark.parametrize(
    ("metadata", "benign"),
    [
        (_metadata_stream(_XMP), True),
        (_metadata_stream(b"\xde\xad\xbe\xef not XML at all"), False),
        (_metadata_stream(b"<html><body>Approved</body></html>"), False),  # XML, not XMP
        (_metadata_stream(b'<!DOCTYPE x [<!ENTITY e "x">]>' + _XMP[_XMP.index(b"<x:") :]), False),
        (b"null", False),  # an indirect null
        (b"<< /Type /Metadata >>", False),  # a dictionary, not a stream
    ],
    ids=["xmp", "bytes", "html", "doctype", "indirect-null", "dictionary"],
)
def test_only_an_xmp_packet_added_as_metadata_is_benign(metadata, benign):
    # pyHanko's test_bogus_metadata_manipulation: a /Metadata that is not XMP used to pass as
    # metadata_updated.
    catalog = object_body(SIGNED, 1)[:-2] + b" /Metadata 42 0 R >>"
    verdict = _verify(incremental_update(SIGNED, {1: catalog, 42: metadata}))
    if benign:
        assert verdict.verdict is VerdictKind.OFFICIAL, verdict.modifications
        assert ("metadata_updated", "benign") in _kinds(verdict)
    else:
        assert "modification_unclassified" in verdict.reasons, verdict.modifications


def test_an_xmp_stream_rewritten_with_bogus_bytes_is_not_benign():
    catalog = object_body(SIGNED, 1)[:-2] + b" /Metadata 42 0 R >>"
    with_xmp = incremental_update(SIGNED, {1: catalog, 42: _metadata_stream(_XMP)})
    assert _verify(with_xmp).verdict is VerdictKind.OFFICIAL
    rewritten = incremental_update(with_xmp, {42: _metadata_stream(b"bogus")})
    assert "modification_unclassified" in _verify(rewritten).reasons
    xmp_again = incremental_update(with_xmp, {42: _metadata_stream(_XMP.replace(b"pdf", b"PDF"))})
    assert _verify(xmp_again).verdict is VerdictKind.OFFICIAL


_EXT = b"<< /XYZ << /Type /DeveloperExtensions /BaseVersion /1.7 /ExtensionLevel %d >> >>"


def _signed_with_indirect_extensions(*, also_a_page_resource: bool) -> bytes:
    """The letter with its catalog's /Extensions in object 42 (and perhaps named by the
    page's /Resources too), signed."""
    base = vector_bytes("pdf-unsigned")
    objects = {1: object_body(base, 1)[:-2] + b" /Extensions 42 0 R >>", 42: _EXT % 1}
    if also_a_page_resource:
        page = object_body(base, 3)
        objects[3] = page.replace(b"/Font", b"/Properties << /P0 42 0 R >> /Font", 1)
    return _sign(incremental_update(base, objects))


def test_an_indirect_extensions_dictionary_rewritten_is_a_catalog_update():
    # pyHanko's extensions-update-indirect.pdf: the object the catalog's /Extensions names
    # is rewritten after signing; it was an object with no role (modification_unclassified).
    signed = _signed_with_indirect_extensions(also_a_page_resource=False)
    assert _verify(signed).verdict is VerdictKind.OFFICIAL
    verdict = _verify(incremental_update(signed, {42: _EXT % 2}))
    assert verdict.verdict is VerdictKind.OFFICIAL, verdict.modifications
    assert ("catalog_updated", "benign") in _kinds(verdict)


def test_an_extensions_object_that_is_also_page_content_keeps_that_role():
    # pyHanko's extensions-indirect-not-all-paths: the same object is also a resource of the
    # signed page, so rewriting it is a page change, whatever else names it.
    signed = _signed_with_indirect_extensions(also_a_page_resource=True)
    assert _verify(signed).verdict is VerdictKind.OFFICIAL
    verdict = _verify(incremental_update(signed, {42: _EXT % 2}))
    assert "page_content_modified" in verdict.reasons, verdict.modifications
