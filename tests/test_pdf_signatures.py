"""Signed PDFs: what each signature covers, in which order, at which proven time, and the
facts the vn-gov policy reads (earlier_signatures, certification_level). Every vector's
verdict itself is checked in test_vectors.py; these tests look inside the verdicts."""

from __future__ import annotations

import asyncio
import mmap
from datetime import UTC, datetime

import pytest
from pdf_support import PDF_VECTORS, VECTORS, offline_verifier, vector_bytes

from sigmail import OnlineRevocation, TrustStore, Verifier
from sigmail.verdict.model import SignatureStatus, TimeSource, VerdictKind


def _verify(name: str):
    return offline_verifier().verify(vector_bytes(name), at=_at(name), name=f"{name}.pdf")


def _at(name: str) -> datetime:
    return datetime.fromisoformat(PDF_VECTORS[name]["at"].replace("Z", "+00:00"))


def test_every_pdf_vector_is_in_the_manifest():
    expected = {
        "pdf-person-only",
        "pdf-person-then-agency",
        "pdf-agency-then-person",
        "pdf-person-b-t",
        "pdf-person-b-lt",
        "pdf-person-b-lta",
        "pdf-revoked-before-tst",
        "pdf-revoked-after-tst",
        "pdf-expired-proven-lt",
        "pdf-expired-proven-by-doc-timestamp",
        "pdf-tampered-byte",
        "pdf-page-changed",
        "pdf-appended-objects",
        "pdf-benign-note",
        "pdf-freetext-overlay",
        "pdf-doc-timestamp-only",
        "pdf-unsigned",
        "pdf-certified-p1-note",
        "pdf-certified-p2-note",
        "pdf-certified-p2-signed",
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
    }
    assert expected <= set(PDF_VECTORS)
    assert all(v["deterministic"] for v in PDF_VECTORS.values())


@pytest.mark.parametrize(
    ("name", "order"),
    [
        ("pdf-person-then-agency", ["Nguyễn Văn An", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]),
        ("pdf-agency-then-person", ["SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Nguyễn Văn An"]),
    ],
)
def test_earlier_signatures_record_the_signing_order(name, order):
    verdict = _verify(name)
    first, second = verdict.signatures
    assert [first.signer.common_name, second.signer.common_name] == order
    assert first.earlier_signatures == ()
    assert second.earlier_signatures == (0,)
    assert (first.revision, second.revision) == (2, 3)
    assert (first.coverage, second.coverage) == ("entire_revision", "entire_file")
    assert {first.kind, second.kind} == {"pades"}
    # The second signature's revision adds a signature: benign, reported, after signature 0.
    (added,) = [m for m in verdict.modifications if m.kind == "signature_added"]
    assert added.classification == "benign" and added.after_signatures == (0,)


def test_a_signature_reports_field_revision_and_byte_range():
    verdict = _verify("pdf-person-b-lt")
    sig = verdict.signatures[0]
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert sig.field == "NguoiKy" and sig.revision == 2 and sig.coverage == "entire_revision"
    a, b, c, d = sig.byte_range
    data = vector_bytes("pdf-person-b-lt")
    assert a == 0 and data[b : b + 1] == b"<" and data[c - 1 : c] == b">" and c + d < len(data)
    assert sig.proven_by is TimeSource.TIMESTAMP
    assert sig.chain[0].revocation.origin == "embedded"
    kinds = {(m.kind, m.classification) for m in verdict.modifications}
    assert ("dss_added", "benign") in kinds


def test_document_timestamp_proves_the_time_of_the_signatures_it_covers():
    verdict = _verify("pdf-expired-proven-by-doc-timestamp")
    assert verdict.verdict is VerdictKind.OFFICIAL
    sig, dts = verdict.signatures
    assert dts.kind == "doc_timestamp" and dts.status is SignatureStatus.PASSED
    assert sig.timestamp is None  # no signature timestamp of its own
    assert sig.proven_signing_time == dts.proven_signing_time == datetime(2023, 6, 2, tzinfo=UTC)
    assert sig.proven_by is TimeSource.TIMESTAMP and sig.checked_at == sig.proven_signing_time
    assert any(f.code == "time_proven_by_document_timestamp" for f in sig.findings)


def test_b_lta_document_timestamp_covers_the_dss_revision():
    verdict = _verify("pdf-person-b-lta")
    sig, dts = verdict.signatures
    assert dts.kind == "doc_timestamp" and dts.earlier_signatures == (0,)
    assert dts.revision == 4 and dts.coverage == "entire_file"
    # The signature's own timestamp is earlier than the document timestamp: it wins.
    assert sig.proven_signing_time == datetime(2026, 5, 20, 3, tzinfo=UTC)


def test_certification_level_is_reported():
    assert _verify("pdf-certified-p1-note").signatures[0].certification_level == 1
    signed = _verify("pdf-certified-p2-signed")
    assert [s.certification_level for s in signed.signatures] == [2, None]


def test_a_forbidden_change_after_certification_names_the_level():
    verdict = _verify("pdf-certified-p2-note")
    (report,) = [m for m in verdict.modifications if m.classification == "suspicious"]
    assert report.kind == "annotation_added" and "P=2" in report.detail
    assert "docmdp_violation" in verdict.reasons


def test_suspicious_change_is_explained_with_objects_and_pages():
    verdict = _verify("pdf-page-changed")
    (report,) = [m for m in verdict.modifications if m.kind == "page_content_modified"]
    assert report.pages == (1,) and report.object_ids and report.after_signatures == (0,)
    assert report.revision == 3
    sig = verdict.signatures[0]
    assert sig.status is SignatureStatus.FAILED
    assert any(f.code == "page_content_modified" for f in sig.findings)


def test_a_sticky_note_is_benign_and_reported(responder):
    trust = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    at = _at("pdf-benign-note")
    online = Verifier(
        trust=trust,
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: at, allow_networks=["127.0.0.1/32"]),
        strict=True,
    )
    verdict = online.verify(vector_bytes("pdf-benign-note"), at=at, name="note.pdf")
    assert verdict.verdict is VerdictKind.OFFICIAL
    assert verdict.reasons == ("benign_modification",)
    (note,) = [m for m in verdict.modifications if m.kind == "annotation_added"]
    assert note.classification == "benign" and note.pages == (1,)


def test_an_annotation_over_the_text_is_an_overlay():
    verdict = _verify("pdf-freetext-overlay")
    (overlay,) = [m for m in verdict.modifications if m.kind == "object_overlay"]
    assert "covers content the signer saw" in overlay.detail and overlay.pages == (1,)


def test_a_document_timestamp_alone_is_not_a_signature():
    verdict = _verify("pdf-doc-timestamp-only")
    assert verdict.verdict is VerdictKind.UNSIGNED
    assert [s.kind for s in verdict.signatures] == ["doc_timestamp"]


def test_a_pdf_given_as_mmap_or_memoryview_is_read_in_place(tmp_path):
    data = vector_bytes("pdf-person-b-lt")
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    verifier = offline_verifier()
    reference = verifier.verify(data, at=_at("pdf-person-b-lt"), name="signed.pdf")
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        mapped = verifier.verify(m, at=_at("pdf-person-b-lt"), name="signed.pdf")
    viewed = verifier.verify(memoryview(data), at=_at("pdf-person-b-lt"), name="signed.pdf")
    assert mapped == reference == viewed
    assert reference.sha256 == PDF_VECTORS["pdf-person-b-lt"]["sha256"]


def test_verify_works_inside_a_running_event_loop():
    async def inside():
        asyncio.get_running_loop()  # as in a Jupyter cell or an asyncio mail filter
        return _verify("pdf-person-b-lta")

    assert asyncio.run(inside()).verdict is VerdictKind.OFFICIAL


def test_detached_p7s_over_a_pdf_goes_through_the_cms_engine():
    p7s = (VECTORS / "pdf/pdf-detached-p7s.p7s").read_bytes()
    pdf = (VECTORS / "pdf/document.pdf").read_bytes()
    verifier = offline_verifier()
    verdict = verifier.verify(p7s, at=_at("pdf-person-only"), content=pdf, name="letter.pdf.p7s")
    assert verdict.kind == "p7s"
    assert verdict.signatures[0].intact is True and verdict.signatures[0].valid is True
    # Offline there is no revocation evidence for a bare CMS signature: indeterminate.
    assert verdict.verdict is VerdictKind.INDETERMINATE
    changed = verifier.verify(
        p7s, at=_at("pdf-person-only"), content=vector_bytes("pdf-person-only"), name="x.p7s"
    )
    assert "digest_mismatch" in changed.reasons
