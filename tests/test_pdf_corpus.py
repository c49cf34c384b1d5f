"""Every PDF of the public attack corpus (../shared/corpora/attacks) gets an acceptable verdict,
and every attack is caught by a reason that names the kind of change.

The manifest's ``sigmail_expect`` lists the acceptable verdicts; ``trust_material`` names the
anchors and the validation date. Rows whose trust material is "none" are *structural*: their
signers chain to roots the corpus does not ship, so they are judged by the reason — an attack
must produce the reason recorded below, a baseline must produce no structural reason.
REASONS is the record of which reason each attack must produce (data, reviewed by hand).
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.limits import Budget, Limits
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.signatures import find_signatures

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpora" / "attacks"
POLICY = REPO / "tests" / "data" / "corpus-policy.toml"
# Generated rows name no date; they were made (and their certificates issued) in November 2026.
DEFAULT_AT = datetime(2026, 11, 23, tzinfo=UTC)

# The reason each attack must produce: the kind of change (or ByteRange rule) it exploits.
REASONS = {
    # pdf-attacker shadow attacks (Mainka et al. 2021)
    "hide/variant-1_hide-via-referenced-object/4_original-document-shadowed-signed-manipulated_v1"
    ".pdf": "page_content_modified",  # the xref entry of the page image points at other bytes
    "hide/variant-1_hide-via-referenced-object/4_original-document-shadowed-signed-manipulated_v2"
    ".pdf": "page_content_modified",
    "hide-form-via-form/4_original-document-shadowed-signed-manipulated.pdf": "object_overlay",
    "hide-text-via-form/4_original-document-shadowed-signed-manipulated.pdf": "object_overlay",
    "replace/variant-1_replace-via-overlay/4_original-document-shadowed-signed-manipulated.pdf": (
        "appearance_overridden"
    ),
    "replace/variant-2_replace-via-overwrite/4_original-document-shadowed-signed-manipulated.pdf": (
        "page_content_modified"  # a font of page 1 redefined without an xref entry
    ),
    "variant-1_change_object_references/4_original-document-shadowed-signed-manipulated.pdf": (
        "page_content_modified"  # the page object swapped for another
    ),
    "variant-2_change_objects_usage/4_original-document-shadowed-signed-manipulated.pdf": (
        "object_overlay"  # an annotation the signed page already referenced is swapped in
    ),
    "mkl-testarea-itext7/hide-shadow-file-signed.pdf": "page_content_modified",
    "mkl-testarea-itext7/replace-shadow-file-signed-manipulated.pdf": "appearance_overridden",
    "mkl-testarea-itext7/hide-and-replace-shadow-file-signed-1.pdf": "page_content_modified",
    "mkl-testarea-itext7/hide-and-replace-shadow-file-signed-3.pdf": "page_content_modified",
    # signature wrapping and ByteRange anomalies
    "openpdf/openpdf_siwa.pdf": "byte_range_invalid",
    "esig-dss/pdf-byterange-overlap.pdf": "byte_range_invalid",
    "esig-dss/pdf-eof.pdf": "byte_range_invalid",
    "esig-dss/pdf-signed-out-of-byteRange.pdf": "byte_range_invalid",
    "pyhanko/pdf/coverage-anomalies/tail-uncovered.pdf": "byte_range_invalid",
    "pyhanko/pdf/coverage-anomalies/signature-gap-too-big.pdf": "byte_range_invalid",
    "pyhanko/pdf/coverage-anomalies/weird-byterange.pdf": "byte_range_invalid",
    # changes after signing
    "esig-dss/dss-2236/annotation-and-visible-change.pdf": "appearance_overridden",
    "esig-dss/pdf-spoofing-attack.pdf": "signature_dictionary_modified",
    "esig-dss/pades-spoofing-replaced-reason.pdf": "signature_dictionary_modified",
    "esig-dss/pdf-removed-pages.pdf": "page_content_modified",
    "esig-dss/pdf-signed-added-page.pdf": "page_content_modified",
    "pyhanko/pdf/form-update-override-appearance-stream-sneaky.pdf": "appearance_overridden",
    "pyhanko/pdf/form-update-ap-indirect-sneaky-trailer.pdf": "appearance_overridden",
    # generated (universal signature forgery, incremental saving, evil annotation, sneaky
    # signature)
    "generated/pdf/g01-usf-contents-zeroed.pdf": "signature_invalid",
    "generated/pdf/g02-usf-byterange-renamed.pdf": "byte_range_invalid",
    "generated/pdf/g03-usf-byterange-zero.pdf": "byte_range_invalid",
    "generated/pdf/g04-isa-page-content-replaced.pdf": "page_content_modified",
    "generated/pdf/g05-isa-objects-appended-no-xref.pdf": "appended_without_xref",
    "generated/pdf/g07-eaa-freetext-over-certified-p2.pdf": "docmdp_violation",
    "generated/pdf/g07-eaa-freetext-over-certified-p3.pdf": "object_overlay",
    "generated/pdf/g08-ssa-visible-sig-over-certified-p2.pdf": "object_overlay",
    "generated/pdf/g08-ssa-visible-sig-over-certified-p3.pdf": "object_overlay",
}

# Reasons about the document's structure or integrity (not about trust): a baseline must have
# none of them.
STRUCTURAL = {
    "malformed",
    "internal_error",
    "digest_mismatch",
    "signature_invalid",
    "byte_range_invalid",
    "page_content_modified",
    "appearance_overridden",
    "form_field_replaced",
    "object_overlay",
    "appended_without_xref",
    "trailing_data",
    "docmdp_violation",
    "fieldmdp_violation",
    "modification_unclassified",
    "signature_dictionary_modified",
}

# Rows whose named anchor did not issue the signer (so the manifest's verdict could not be
# reached by any verifier): the anchor is the signer's own self-signed certificate.
SELF_SIGNED_SIGNER = {
    # pyHanko's own source marks this file "untrusted": it is signed by "Lord Testerino", a
    # self-signed certificate, not by pyHanko's testing CA. The row is about the benign second
    # signature (form filling), which is what it tests here.
    "pyhanko/pdf/minimal-signed-twice-both-created.pdf",
}


def _rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["file"].endswith(".pdf")]


ROWS = _rows()


def _reason_for(path: str) -> str | None:
    for suffix, code in REASONS.items():
        if path.endswith(suffix):
            return code
    return None


def _signer_certificates(data: bytes) -> list[bytes]:
    doc = PdfDocument(data, Budget(Limits()))
    out = []
    for sig in find_signatures(doc):
        info = cms.ContentInfo.load(sig.contents, strict=False)
        out += [c.chosen.dump() for c in info["content"]["certificates"] if c.name == "certificate"]
    return out


def _verifier(row: dict[str, str], data: bytes) -> tuple[Verifier, datetime]:
    material = row["trust_material"].strip()
    at = DEFAULT_AT
    anchors: list[Path] = []
    extra: list[bytes] = []
    if material and not material.startswith("none"):
        m = re.match(r"(\S+)(?: \(validate at (\d{4}-\d{2}-\d{2})\))?", material)
        anchors.append(CORPUS / m.group(1))
        if m.group(2):
            at = datetime.fromisoformat(m.group(2)).replace(tzinfo=UTC)
    if row["file"] in SELF_SIGNED_SIGNER:
        extra = _signer_certificates(data)[:1]
    trust = TrustStore.from_certificates(official=[p.read_bytes() for p in anchors] + extra)
    verifier = Verifier(trust=trust, policy=POLICY, revocation=OfflineRevocation(), strict=True)
    return verifier, at


def test_the_corpus_is_there():
    if not ROWS:
        pytest.skip(f"the attack corpus is not at {CORPUS} (../shared beside the repository)")
    assert len(ROWS) >= 40
    for row in ROWS:
        structural = row["trust_material"].strip().startswith("none")
        if row["sigmail_expect"] == "invalid":
            assert _reason_for(row["file"]), f"no reason recorded for attack {row['file']}"
        assert structural or row["trust_material"].strip(), row["file"]


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_corpus_pdf_gets_an_acceptable_verdict(row):
    data = (CORPUS / row["file"]).read_bytes()
    verifier, at = _verifier(row, data)
    verdict = verifier.verify(data, at=at, name=Path(row["file"]).name)
    expected = set(row["sigmail_expect"].split("|"))
    structural = row["trust_material"].strip().startswith("none")
    reasons = set(verdict.reasons)
    assert "internal_error" not in reasons, verdict.to_json()
    assert verdict.signatures, "every corpus PDF carries at least one signature"
    for report in verdict.modifications:
        assert report.detail and report.kind and report.classification in ("benign", "suspicious")

    attack = expected == {"invalid"}
    if attack:
        code = _reason_for(row["file"])
        assert verdict.verdict.value == "invalid"
        assert code in reasons, f"{row['file']}: {code} not in {sorted(reasons)}"
        assert reasons & STRUCTURAL - {"malformed"}, "caught only as malformed"
    elif structural:
        # Judged by the reason: the signers' roots are not in the corpus.
        assert not reasons & STRUCTURAL, f"{row['file']}: {sorted(reasons & STRUCTURAL)}"
    else:
        assert verdict.verdict.value in expected, (
            f"{row['file']}: {verdict.verdict.value} {verdict.reasons}"
        )
        assert not reasons & STRUCTURAL, sorted(reasons & STRUCTURAL)
