"""What the clerk reads (issue 11, item 7): an intact signature on an untrusted chain is not a
"failed" signature, two findings never contradict each other, and a receipt time does not
hide the claimed signing time. Read off the real command's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from sigmail import OfflineRevocation, TrustStore, Verifier
from sigmail.policy.model import load_policy
from sigmail.verdict.model import Finding, SignatureReport, SignatureStatus
from sigmail.verdict.serialize import from_dict, to_dict

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))["vectors"]
OFFICIAL = str(VECTORS / "pki/certs/root-official.pem")
AT = "2026-06-01T00:00:00Z"


def sigmail(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed command, with an empty trust directory (not the user's)."""
    env = {**os.environ, "SIGMAIL_TRUST_DIR": str(tmp_path / "trust")}
    return subprocess.run(
        [sys.executable, "-m", "sigmail", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )


def test_no_anchors_intact_pair_is_untrusted_not_failed(tmp_path):
    vector = str(VECTORS / "cms/vn-official-offline.p7m")
    run = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--lang", "en", vector)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "signature FAILED" not in run.stdout
    assert run.stdout.count("signature intact, but the certificate is NOT trusted") == 2
    assert "missing_person_signature" not in run.stdout
    assert "missing_agency_signature" not in run.stdout
    assert "[untrusted_chain" in run.stdout

    vi = sigmail(tmp_path, "verify", "--offline", "--at", AT, vector)
    assert "KHÔNG ĐẠT" not in vi.stdout
    assert vi.stdout.count("chữ ký nguyên vẹn, nhưng chứng thư số KHÔNG được tin cậy") == 2

    # With no anchor installed at all, "untrusted" says nothing about the sender.
    assert "Return it to the sender" not in run.stdout
    assert "install them (sigmail trust add) and check again" in run.stdout
    broken = sigmail(
        tmp_path,
        "verify",
        "--offline",
        "--at",
        AT,
        "--lang",
        "en",
        str(VECTORS / "cms/tampered-econtent.p7m"),
    )
    assert "Return it to the sender" in broken.stdout  # broken whatever the anchors

    js = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--json", vector)
    doc = json.loads(js.stdout)
    assert doc["reasons"] == ["untrusted_chain"]
    halves = {(s["status"], s["integrity"], s["trust"]) for s in doc["signatures"]}
    assert halves == {("failed", "passed", "failed")}


def test_a_broken_signature_still_reads_failed(tmp_path):
    vector = str(VECTORS / "cms/tampered-econtent.p7m")
    run = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--lang", "en", vector)
    assert "signature FAILED" in run.stdout
    assert "intact" not in run.stdout
    # The most severe reason comes first.
    reasons = run.stdout.split("Reasons:\n")[1]
    assert reasons.lstrip().startswith("✗")


def test_only_the_person_signed_is_said_once_and_truly(tmp_path):
    vector = str(VECTORS / "cms/person-official.p7m")
    run = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--lang", "en", vector)
    assert "missing_agency_signature" in run.stdout
    assert "missing_person_signature" not in run.stdout


def test_receipt_time_is_shown_beside_the_claimed_time(tmp_path):
    vector = str(VECTORS / "cms/vn-official-offline.p7m")
    args = ["verify", "--offline", "--at", AT, "--trust", OFFICIAL, vector]
    en = sigmail(tmp_path, *args, "--lang", "en", "--receipt-time", "2026-05-21T00:00:00Z")
    assert en.returncode == 0, en.stdout + en.stderr
    line = en.stdout.splitlines()[2]
    assert "signed 2026-05-20 10:00 (+07:00) as claimed" in line
    assert "existed at 2026-05-21 07:00 (+07:00), proven by the receipt time" in line
    vi = sigmail(tmp_path, *args, "--receipt-time", "2026-05-21T00:00:00Z")
    line = vi.stdout.splitlines()[2]
    assert "ký lúc 20/05/2026 10:00 (+07:00) theo khai báo" in line
    assert "đã tồn tại lúc 21/05/2026 07:00 (+07:00), chứng minh bằng thời điểm nhận thư" in line
    # Without a receipt time the claim is marked unproven, and nothing else is shown.
    bare = sigmail(tmp_path, *args, "--lang", "en")
    assert "as claimed (not proven)" in bare.stdout and "existed at" not in bare.stdout


def _verdicts():
    """Every manifest vector under vn-gov, with its anchors and with none, offline."""
    for vector in MANIFEST:
        at = datetime.fromisoformat(vector["at"].replace("Z", "+00:00"))
        data = (VECTORS / vector["path"]).read_bytes()
        content = (VECTORS / vector["content"]).read_bytes() if vector.get("content") else None
        for anchors in (True, False):
            trust = TrustStore.load(
                official=[VECTORS / p for p in vector["trust"].get("official", [])]
                if anchors
                else [],
            )
            verifier = Verifier(
                trust=trust, policy=load_policy("vn-gov"), revocation=OfflineRevocation()
            )
            yield (
                f"{vector['name']} anchors={anchors}",
                verifier.verify(data, at=at, name=vector["name"], content=content),
            )


def _all_signatures(verdict):
    yield from verdict.signatures
    for doc in verdict.documents:
        yield from _all_signatures(doc)


def test_no_vector_gets_contradicting_findings_or_halves():
    checked = 0
    for name, verdict in _verdicts():
        stack = [verdict]
        while stack:
            v = stack.pop()
            stack.extend(v.documents)
            assert not {"missing_person_signature", "missing_agency_signature"} <= set(v.reasons), (
                name
            )
        for sig in _all_signatures(verdict):
            checked += 1
            # The bottom line is exactly the worse of the two halves.
            halves = (sig.integrity, sig.trust)
            worst = next(
                (s for s in (SignatureStatus.FAILED, SignatureStatus.INDETERMINATE) if s in halves),
                SignatureStatus.PASSED,
            )
            assert sig.status is worst, (name, sig.locator, sig.status, halves)
    assert checked > 100


def test_an_untrusted_document_timestamp_is_intact_not_failed(tmp_path):
    vector = str(VECTORS / "pdf/pdf-doc-timestamp-only.pdf")
    run = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--lang", "en", "--json", vector)
    (stamp,) = json.loads(run.stdout)["signatures"]
    assert (stamp["kind"], stamp["integrity"], stamp["trust"]) == (
        "doc_timestamp",
        "passed",
        "indeterminate",
    )
    text = sigmail(tmp_path, "verify", "--offline", "--at", AT, "--lang", "en", "-v", vector)
    assert "signature FAILED" not in text.stdout and "signature intact" in text.stdout


@pytest.mark.parametrize(
    ("intact", "valid", "codes", "integrity", "trust"),
    [
        (True, True, ["untrusted_chain"], "passed", "failed"),
        (True, True, ["revocation_unreachable"], "passed", "indeterminate"),
        (False, True, ["digest_mismatch", "untrusted_chain"], "failed", "failed"),
        (True, False, ["signature_invalid"], "failed", "indeterminate"),
        (True, True, ["unsupported_algorithm"], "indeterminate", "indeterminate"),
    ],
)
def test_halves_are_derived_from_the_findings(intact, valid, codes, integrity, trust):
    sig = SignatureReport(
        index=0,
        locator="signature 0",
        status=SignatureStatus.FAILED,
        intact=intact,
        valid=valid,
        findings=tuple(Finding.of(c, "signature 0") for c in codes),
    )
    assert (sig.integrity.value, sig.trust.value) == (integrity, trust)
    # They are not given: JSON that carries other values is read back to the derived ones.
    data = {**json.loads(json.dumps(to_dict(sig))), "trust": "passed"}
    assert from_dict(SignatureReport, data).trust.value == trust


def test_the_notebook_display_keeps_the_halves_and_both_times():
    vector = VECTORS / "cms/vn-official-offline.p7m"
    at = datetime.fromisoformat(AT.replace("Z", "+00:00"))
    untrusted = Verifier(trust=TrustStore.load(), revocation=OfflineRevocation())
    page = untrusted.verify(vector.read_bytes(), at=at)._repr_html_()
    assert page.count("intact, untrusted</span>") >= 2
    assert page.count("(integrity passed, trust failed)") >= 2
    trusted = Verifier(trust=TrustStore.load(official=[OFFICIAL]), revocation=OfflineRevocation())
    receipt = datetime.fromisoformat("2026-05-21T00:00:00+00:00")
    page = trusted.verify(vector.read_bytes(), at=at, receipt_time=receipt)._repr_html_()
    assert "claimed</span>" in page and "proven by receipt" in page
    assert "claimed, not proven" not in page
