"""What a file is, decided by its content (sigmail/formats/detect.py), and what a file sigmail
cannot read gets: ``unsupported`` naming the type, never ``malformed`` (issue 10, item 12).

The inputs are small real files in tests/data/formats/ (made by make_inputs.py there)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.formats.detect import InputKind, detect, file_suffix

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ROOT / "tests" / "data" / "formats"
MANIFEST = json.loads((FORMATS / "MANIFEST.json").read_text("utf-8"))
AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    trust = TrustStore.load(official=[ROOT / "vectors/pki/certs/root-official.pem"])
    return Verifier(trust=trust, policy="basic", revocation=OfflineRevocation(), strict=True)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_a_file_sigmail_cannot_read_is_unsupported_and_named(entry, verifier):
    data = (FORMATS / entry["file"]).read_bytes()
    verdict = verifier.verify(data, at=AT, name=entry["file"])
    assert verdict.verdict.value == "indeterminate"
    assert verdict.reasons == ("unsupported",)
    assert verdict.kind == entry["kind"]
    (finding,) = verdict.findings
    assert entry["label"] in finding.detail


@pytest.mark.parametrize("misleading", ["letter.p7m", "letter.pdf", "letter.eml", None])
@pytest.mark.parametrize("file", ["letter.docx", "image.png", "letter.odt", "archive.zip"])
def test_content_decides_not_the_file_name(file, misleading, verifier):
    data = (FORMATS / file).read_bytes()
    expected = next(e["kind"] for e in MANIFEST if e["file"] == file)
    assert detect(data, misleading).kind == expected
    assert verifier.verify(data, at=AT, name=misleading).reasons == ("unsupported",)


def test_the_name_breaks_ties_the_content_leaves_open():
    cms = (ROOT / "vectors/cms/person-official.p7m").read_bytes()
    as_text = base64.encodebytes(cms)
    assert detect(as_text, "quyet-dinh.p7m").kind == InputKind.CMS
    assert detect(as_text).kind == InputKind.TEXT
    assert detect(b"just some text\n", "message.eml").kind == InputKind.EML
    assert detect(b"\x00\x01\x02 no magic", "broken.pdf").kind == InputKind.PDF
    assert detect(cms, "image.png").kind == InputKind.CMS


@pytest.mark.parametrize(
    ("data", "name", "kind", "label"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "thu.msg", "ole", "Outlook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "qd.doc", "ole", "Word 97-2003"),
        (b"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEM\r\n", None, "openpgp", "OpenPGP"),
        (b"<!DOCTYPE html><html><body>x</body></html>", None, "text", "HTML"),
        (b"0301234567 is a tax code, not DER\n", None, "text", "plain text"),
        (b"\x8f\x01\xfe\x00" * 64, None, "unknown", "unrecognised"),
    ],
)
def test_other_kinds_are_recognised(data, name, kind, label, verifier):
    detected = detect(data, name)
    assert detected.kind == kind and label in detected.label
    verdict = verifier.verify(data, at=AT, name=name)
    assert verdict.reasons == ("unsupported",) and label in verdict.findings[0].detail


def test_xml_prolog_is_skipped_to_the_root_element():
    data = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a comment -->\n'
        b'<!DOCTYPE x [ <!ENTITY e "v"> ]>\n<?pi x?><ds:Signature xmlns:ds="urn:x"/>'
    )
    assert detect(data).label == "an XML document (root element <ds:Signature>)"
    assert detect(b"<!-- unterminated comment").kind != InputKind.XML


@pytest.mark.parametrize(
    ("vector", "name", "suffix"),
    [
        ("ooxml/ooxml-xlsx-agency.xlsx", None, ".xlsx"),
        ("ooxml/ooxml-docx-person-agency.docx", "x.DOCM", ".docm"),  # the name, same kind
        ("ooxml/ooxml-docx-person-agency.docx", "x.odt", ".docx"),  # another kind's name
        ("odf/odf-ods-agency.ods", "x.zip", ".ods"),
        ("xml/xml-agency.xml", None, ".xml"),
        ("cms/agency-official.p7m", "x.p7s", ".p7s"),
        ("cms/agency-official.p7m", "x.pdf", ".p7m"),
        ("pdf/pdf-person-b-lta.pdf", "x", ".pdf"),
    ],
)
def test_the_stored_suffix_follows_the_content(vector, name, suffix):
    data = (ROOT / "vectors" / vector).read_bytes()
    assert file_suffix(detect(data, name), name) == suffix


def test_what_sigmail_does_not_verify_has_no_suffix():
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    assert file_suffix(detect(png, "a.pdf"), "a.pdf") == ""
