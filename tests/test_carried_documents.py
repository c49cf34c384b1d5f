"""The documents a message carries reach the caller from the verification itself
(``Verifier.verify(on_document=…)``): the audit's text fields and the evidence bundle's
timestamp tokens no longer walk the message a second time."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.contract import CarriedDocument
from sigmail.evidence import verify_with_evidence

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
PDF = (VECTORS / "pdf/pdf-person-b-lt.pdf").read_bytes()  # a signature timestamp inside
FORWARDED = (VECTORS / "smime/timestamped.eml").read_bytes()  # its signature is timestamped
WITH_PDF = (VECTORS / "smime/pdf-attachment.eml").read_bytes()  # carries an unsigned PDF


def _verifier(strict: bool = True) -> Verifier:
    trust = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    return Verifier(trust=trust, revocation=OfflineRevocation(), strict=strict)


def _message() -> bytes:
    """An unsigned message carrying a signed PDF and two forwarded signed messages."""
    msg = EmailMessage()
    msg["From"] = "van-thu@stttt.example.gov.vn"
    msg["To"] = "nhan@example.gov.vn"
    msg["Subject"] = "Chuyen tiep"
    msg.set_content("Kinh gui.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="quyet-dinh.pdf")
    for name, raw in (("timestamped.eml", FORWARDED), ("kem-pdf.eml", WITH_PDF)):
        msg.add_attachment(raw, maintype="message", subtype="rfc822", filename=name)
    return msg.as_bytes(policy=SMTP)


def _documents(data: bytes, **kw) -> tuple[object, list[CarriedDocument]]:
    seen: list[CarriedDocument] = []
    verdict = _verifier(**kw).verify(data, at=AT, name="in.eml", on_document=seen.append)
    return verdict, seen


def test_every_carried_document_is_handed_over_with_its_bytes_and_path():
    verdict, seen = _documents(_message())
    by_path = {d.path: d for d in seen}
    names = [d.name for d in verdict.documents]
    assert len(names) == 3
    # the first level: the verdict's own documents, same verdicts, same bytes
    for doc in verdict.documents:
        assert by_path[doc.name].verdict == doc
    assert by_path[names[0]].data == PDF
    # one level down: the PDF inside the second forwarded message, named under it
    nested = [d for d in seen if d.path.startswith(names[2] + " / ")]
    assert len(nested) == 1 and nested[0].verdict.kind == "pdf"
    assert nested[0].verdict == verdict.documents[2].documents[0]
    assert len(seen) == 4


def test_a_failing_observer_never_changes_the_verdict():
    data = _message()
    plain = _verifier(strict=False).verify(data, at=AT, name="in.eml")

    def broken(_document):
        raise RuntimeError("the caller's bug")

    observed = _verifier(strict=False).verify(data, at=AT, name="in.eml", on_document=broken)
    assert observed == plain


def test_the_bundle_has_the_tokens_of_the_message_and_of_every_document():
    _verdict, bundle = verify_with_evidence(_verifier(), _message(), at=AT, name="in.eml")
    wheres = [t["where"] for t in bundle.manifest["timestamps"]]
    assert any(w.startswith("quyet-dinh.pdf / PDF field") for w in wheres), wheres
    assert any(w.startswith("timestamped.eml / part 2") for w in wheres), wheres
    assert len(wheres) == 2


def test_a_signed_messages_own_token_is_found_in_its_signature_part():
    _verdict, bundle = verify_with_evidence(_verifier(), FORWARDED, at=AT, name="m.eml")
    (stamp,) = bundle.manifest["timestamps"]
    assert stamp["where"].startswith("part 2 (application/")
