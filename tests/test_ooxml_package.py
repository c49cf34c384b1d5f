"""Office packages (sigmail/ooxml, sigmail/formats/ooxml.py): ZIP safety, the OPC relationship
transform, coverage, and a signed .xlsx annex in a message (C10). The signed vectors in
vectors/ooxml/ are checked against the manifest by test_vectors.py."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.limits import Budget, Limits
from sigmail.ooxml.relationships import MDSSI, relationship_transform, transform_parameters
from sigmail.ooxml.zipsafe import read_zip
from sigmail.problems import MalformedInput, UnsupportedInput

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
R = "http://schemas.openxmlformats.org/package/2006/relationships"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def trust() -> TrustStore:
    return TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )


def offline(**limits) -> Verifier:
    return Verifier(
        trust=trust(),
        policy="basic",
        revocation=OfflineRevocation(),
        limits=Limits().with_(**limits) if limits else None,
        strict=True,
    )


def zipped(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 5, 20, 0, 0, 0))
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# -- the relationship transform ------------------------------------------------------------


def _transform(rels: bytes, ids=(), types=()) -> bytes:
    element = relationship_transform(rels, set(ids), set(types), Budget(Limits()), "test")
    return etree.tostring(element, method="c14n")


def test_relationship_transform_selects_sorts_and_fills_target_mode():
    rels = (
        f'<Relationships xmlns="{R}" xmlns:x="urn:x">\n  <!-- c -->\n'
        '  <Relationship Id="rId3" Type="t3" Target="c.xml" x:extra="1">text</Relationship>\n'
        '  <Relationship Id="rId1" Type="t1" Target="a.xml" TargetMode="External"/>\n'
        '  <Relationship Id="rId2" Type="t2" Target="b.xml"/>\n'
        "</Relationships>"
    ).encode()
    assert (
        _transform(rels, ids=("rId3", "rId1"))
        == (
            f'<Relationships xmlns="{R}">'
            '<Relationship Id="rId1" Target="a.xml" TargetMode="External" Type="t1"></Relationship>'
            '<Relationship Id="rId3" Target="c.xml" TargetMode="Internal" Type="t3"></Relationship>'
            "</Relationships>"
        ).encode()
    )
    # SourceType selects by Type; nothing selected leaves an empty Relationships element.
    assert b'Id="rId2"' in _transform(rels, types=("t2",))
    assert _transform(rels) == f'<Relationships xmlns="{R}"></Relationships>'.encode()


def test_relationship_transform_parameters_are_read_from_the_transform_element():
    transform = etree.fromstring(
        f'<T xmlns:mdssi="{MDSSI}"><mdssi:RelationshipReference SourceId="rId1"/>'
        '<mdssi:RelationshipsGroupReference SourceType="urn:t"/></T>'
    )
    assert transform_parameters(transform) == ({"rId1"}, {"urn:t"})


def test_a_relationships_part_with_a_doctype_is_refused():
    rels = f'<!DOCTYPE r><Relationships xmlns="{R}"/>'.encode()
    with pytest.raises(MalformedInput, match="DOCTYPE"):
        _transform(rels)


# -- ZIP safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../evil.xml", "/abs.xml", "word\\document.xml", "C:/x.xml", "a/./b.xml", "a/../b"]
)
def test_entry_names_outside_the_package_are_malformed(name):
    with pytest.raises(MalformedInput, match="not a relative path"):
        read_zip(zipped([("ok.xml", b"x"), (name, b"x")]), Budget(Limits()))


def test_duplicate_entry_names_are_malformed_also_case_insensitively():
    with pytest.raises(MalformedInput, match="twice"):
        read_zip(zipped([("word/a.xml", b"1"), ("Word/A.xml", b"2")]), Budget(Limits()))


def test_an_encrypted_entry_is_unsupported_not_read():
    data = bytearray(zipped([("a.xml", b"x")]))
    # The "encrypted" flag (bit 0 of the general-purpose flags) in the local and the central
    # header, as a password-protected ZIP has it (zipfile does not write it).
    data[6] |= 0x1
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1
    with pytest.raises(UnsupportedInput, match="encrypted"):
        read_zip(bytes(data), Budget(Limits()))


def test_not_a_zip_is_malformed():
    with pytest.raises(MalformedInput, match="ZIP"):
        read_zip(b"PK\x03\x04" + b"\x00" * 64, Budget(Limits()))


@pytest.mark.parametrize(
    ("limit", "value", "entries"),
    [
        ("max_zip_entries", 2, [(f"{n}.xml", b"x") for n in range(3)]),
        ("max_zip_entry_bytes", 1000, [("a.xml", b"x" * 1001)]),
        ("max_zip_total_bytes", 1500, [("a.xml", b"x" * 1000), ("b.xml", b"y" * 1000)]),
        ("max_zip_ratio", 200, [("zeros.bin", b"\x00" * (2 * 1024 * 1024))]),
    ],
)
def test_every_zip_budget_is_enforced_before_decompression(limit, value, entries):
    data = zipped([("[Content_Types].xml", b"<Types/>"), *entries])
    verdict = offline(**{limit: value}).verify(data, at=AT, name="x.docx")
    assert verdict.reasons == ("limit_exceeded",)
    assert limit in verdict.findings[0].detail


def test_a_zip_bomb_vector_is_refused_by_ratio(vectors_dir):
    data = (vectors_dir / "ooxml/ooxml-zip-bomb.docx").read_bytes()
    verdict = offline().verify(data, at=AT, name="x.docx")
    assert verdict.reasons == ("limit_exceeded",)
    assert "max_zip_ratio" in verdict.findings[0].detail


# -- coverage --------------------------------------------------------------------------------


def test_a_changed_part_is_named_in_each_signature(vectors_dir):
    data = (vectors_dir / "ooxml/ooxml-docx-tampered.docx").read_bytes()
    verdict = offline().verify(data, at=AT, name="x.docx")
    assert verdict.kind == "ooxml" and len(verdict.signatures) == 2
    for sig in verdict.signatures:
        assert sig.intact is False and sig.valid is True
        (finding,) = [f for f in sig.findings if f.code == "digest_mismatch"]
        assert "/word/document.xml" in finding.detail
        assert "/word/document.xml" in sig.covers


def test_an_added_part_is_named_as_not_covered(vectors_dir):
    data = (vectors_dir / "ooxml/ooxml-docx-added-part.docx").read_bytes()
    verdict = offline().verify(data, at=AT, name="x.docx")
    (finding,) = [f for f in verdict.findings if f.code == "content_not_covered"]
    assert "/customXml/item1.xml" in finding.detail
    assert all(s.intact for s in verdict.signatures)


def test_signature_count_is_budgeted_in_packages(vectors_dir):
    data = (vectors_dir / "ooxml/ooxml-docx-person-agency.docx").read_bytes()
    verdict = offline(max_xml_signatures=1).verify(data, at=AT, name="x.docx")
    assert verdict.reasons == ("limit_exceeded",)


def test_the_signers_are_classified_person_and_agency(vectors_dir, responder):
    data = (vectors_dir / "ooxml/ooxml-docx-person-agency.docx").read_bytes()
    verifier = Verifier(
        trust=trust(),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )
    verdict = verifier.verify(data, at=AT, name="x.docx")
    assert verdict.verdict.value == "official"
    assert [s.role for s in verdict.signatures] == ["person", "agency"]
    assert all(s.kind == "ooxml" and s.claimed_signing_time for s in verdict.signatures)


# -- C10: a signed .xlsx annex in a message --------------------------------------------------


def _message(annex: bytes) -> bytes:
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.smime_vectors import signed_message
    from vectors.testpki.spec import load_pki_spec

    pki = build_pki(load_pki_spec(VECTORS), VECTORS / KEYS_DIR, create_keys=False)
    main = (VECTORS / "pdf/pdf-person-then-agency.pdf").read_bytes()
    return signed_message(
        pki,
        "agency-stttt",
        attachments=(
            ("application/pdf", "quyet-dinh.pdf", main),
            (XLSX, "phu-luc.xlsx", annex),
        ),
        label="c10-xlsx",
    )


@pytest.mark.parametrize(
    ("annex", "agency_signed"),
    [("vectors/ooxml/ooxml-xlsx-agency.xlsx", True), ("tests/data/formats/table.xlsx", False)],
)
def test_an_xlsx_annex_answers_c10(annex, agency_signed, responder):
    message = _message((ROOT / annex).read_bytes())
    verifier = Verifier(
        trust=trust(),
        policy="vn-gov",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )
    verdict = verifier.verify(message, at=AT, name="thu.eml")
    kinds = [d.kind for d in verdict.documents]
    assert kinds == ["pdf", "ooxml"]
    annex_verdict = verdict.documents[1]
    assert ("attachment_not_agency_signed" in verdict.reasons) is not agency_signed
    if agency_signed:
        (sig,) = annex_verdict.signatures
        assert sig.role == "agency" and sig.status.value == "passed"
