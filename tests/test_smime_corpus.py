"""The public S/MIME attack corpus (../shared/corpora/attacks): every message gets an accepted
verdict, for the reason that names its attack.

Rows are those of MANIFEST.tsv under johnny-you-are-fired/ and openssl/test/smime-eml/ with a
``sigmail_expect`` (acceptable verdicts, ``|``-separated). Their ``trust_material`` files are
official anchors, validated at the date the row gives; revocation is checked only when
evidence is at hand (tests/data/corpus-policy.toml: these PKIs publish no reachable CRL or
OCSP). The verifier runs strict, so an attack "caught" by an exception fails the test.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "attacks"
POLICY = ROOT / "tests" / "data" / "corpus-policy.toml"
PREFIXES = ("johnny-you-are-fired/", "openssl/test/smime-eml/")
# Rows that name no date (OpenSSL's): inside the validity of their certificates (the PoC
# signer of pkcs7-empty-digest-set is valid 2026-05-08 to 2027-05-08, PKITS 2010 to 2030).
DEFAULT_AT = datetime(2026, 6, 1, tzinfo=UTC)

# The reason that names each attack (it must be among the verdict's reasons). Robustness rows
# (a structure that crashes clients) may be "malformed"; no other row may.
ATTACK_REASON = {
    "valid_email_from_manager.eml": None,
    "manager-smime.eml": None,
    "eve-smime.eml": None,
    "eContent_confusion.eml": "econtent_in_detached",
    "eContent_confusion_refinement.eml": "econtent_in_detached",
    "multiple_signerInfos_append_johnny.eml": "digest_mismatch",
    "multiple_signerInfos_prepend_johnny.eml": "digest_mismatch",
    "no_signerInfos_detached.eml": "no_signature",
    "no_signerInfos_no_certificates_detached.eml": "no_signature",
    "crash_01.eml": "malformed",
    "m1-smime.eml": "partially_signed",
    "m2-smime-mix.eml": "partially_signed",
    "m3-smime.eml": "partially_signed",
    "m4-smime.eml": "partially_signed",
    "i1-from-unequals-signer-smime.eml": "signer_mismatch",
    "i2-from-contains-signer-smime.eml": None,  # "The Manager <eve@…>" signed by eve: fine
    "i2-from-is-empty-smime.eml": "sender_ambiguous",
    "i2-from-is-nonexistent-smime.eml": "sender_ambiguous",
    "i2-from-is-only-a-name-smime.eml": "sender_ambiguous",
    "i2-from-is-sender-signer-a-smime.eml": "display_name_deceptive",
    "i2-from-is-signer-sender-a-smime.eml": "signer_mismatch",
    "i3-from-is-sender-sender-signer-smime.eml": "sender_ambiguous",
    "i3-from-is-sender-signer-sender-smime.eml": "sender_ambiguous",
    "i3-from-sender-others-signer-smime.eml": "signer_mismatch",
    "i3-from-signer-others-sender-smime.eml": "sender_header_differs",
    "i3-from1-sender-from2-signer-smime.eml": "sender_ambiguous",
    "i3-from1-signer-from2-sender-smime.eml": "sender_ambiguous",
    "u1-generic.eml": "no_signature",
    "pkcs7-empty-digest-set.eml": "untrusted_chain",
    "SignedInvalidMappingFromanyPolicyTest7.eml": "chain_invalid",
}
ROBUSTNESS = {"crash_01.eml", "pkcs7-empty-digest-set.eml"}


def _rows() -> list[dict[str, str]]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r for r in rows if r["file"].startswith(PREFIXES) and r["sigmail_expect"].strip()]


ROWS = _rows()
pytestmark = pytest.mark.skipif(
    not ROWS, reason=f"the attack corpus is not at {CORPUS} (../shared relative to the repo)"
)


def _trust_and_time(material: str) -> tuple[list[Path], datetime]:
    found = re.search(r"validate at (\d{4}-\d{2}-\d{2})", material)
    at = datetime.fromisoformat(f"{found.group(1)}T00:00:00+00:00") if found else DEFAULT_AT
    paths = []
    for item in re.sub(r"\(.*?\)", "", material).split(";"):
        item = item.strip()
        if item and (CORPUS / item).is_file():
            paths.append(CORPUS / item)
    return paths, at


@pytest.mark.parametrize("row", ROWS, ids=[Path(r["file"]).name for r in ROWS])
def test_corpus_message_gets_an_accepted_verdict_naming_its_attack(row):
    path = CORPUS / row["file"]
    anchors, at = _trust_and_time(row["trust_material"])
    verifier = Verifier(
        trust=TrustStore.load(official=anchors),
        policy=POLICY,
        revocation=OfflineRevocation(),
        strict=True,
    )
    verdict = verifier.verify(path.read_bytes(), at=at, name=path.name)
    accepted = row["sigmail_expect"].split("|")
    assert verdict.verdict.value in accepted, (row["attack_class"], verdict.reasons)
    assert "internal_error" not in verdict.reasons
    if path.name not in ROBUSTNESS:
        assert "malformed" not in verdict.reasons, verdict.reasons
    expected = ATTACK_REASON[path.name]
    if expected is not None:
        assert expected in verdict.reasons, (row["attack_class"], verdict.reasons)
    if verdict.verdict.value == "official":
        assert verdict.signatures and all(s.status.value == "passed" for s in verdict.signatures)
        assert not any(f.code == "partially_signed" for f in verdict.findings)


def test_every_corpus_message_is_listed_with_an_attack_reason():
    assert {Path(r["file"]).name for r in ROWS} == set(ATTACK_REASON)


def test_mime_wrapping_keeps_the_inner_signed_part_and_its_signer():
    """Johnny M1: the message is partially signed; the signed part itself is intact."""
    row = next(r for r in ROWS if r["file"].endswith("m1-smime.eml"))
    anchors, at = _trust_and_time(row["trust_material"])
    verifier = Verifier(
        trust=TrustStore.load(official=anchors), policy=POLICY, revocation=OfflineRevocation()
    )
    verdict = verifier.verify((CORPUS / row["file"]).read_bytes(), at=at, name="m1.eml")
    (signature,) = verdict.signatures
    assert signature.status.value == "passed" and signature.intact and signature.valid
    assert signature.covers == ("part 2.1",)
    parts = {p.locator: p for p in verdict.parts}
    assert parts["part 1"].covered_by == () and parts["part 2.1"].covered_by == (0,)
    assert verdict.sender == "manager@bigcorporation.de"
