"""End to end through a real Postfix: smtplib → Postfix → sigmail milter → Maildir.

A private Postfix instance (tests/postfix_lab.py) on 127.0.0.1, with ``smtpd_milters`` pointing
at ``sigmail milter`` running as its own process on a unix socket, verifies the milter's
contract where it matters: the headers a clerk sees in the delivered message, the reject and
quarantine actions as Postfix carries them out, and that killing the filter in the middle of
a stream of messages loses and duplicates none (``milter_default_action = tempfail``).

Postfix is installed with apt when it is missing and we are root; otherwise the module is
skipped with the reason. The test stops the Postfix master and the milters it started, by PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from email.utils import getaddresses
from pathlib import Path

import pytest
from milter_support import (
    AT,
    VECTOR_FOR,
    message_of_kind,
    new_message_id,
    signed_message,
    tampered_message,
    with_message_id,
)
from postfix_lab import PostfixLab, ensure_postfix, maildir_messages

from sigmail.milter.headers import smime_result

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "vectors" / "pki" / "certs"
AUTHSERV = "mx.sigmail.test"
CLERK = "vanthu@stp.kontum.gov.vn"
REJECT_TEXT = "Signature invalid, message refused (sigmail e2e)"
NOTICE = "Thư này không có chữ ký số (sigmail e2e)."

MILTER_CONFIG = """\
[milter]
socket = "unix:{socket}"
socket_mode = "0666"
authserv_id = "{authserv}"
time_budget = 10.0
shutdown_timeout = 5.0

[verify]
at = 2026-06-01T00:00:00Z
fetch_allow = ["127.0.0.1/32"]  # the test PKI's responder

[trust]
official = ["{certs}/root-official.pem"]
public = ["{certs}/root-national.pem"]

[notice]
unsigned = "{notice}"

[domains."reject.test"]
invalid = "reject"
reject_reply = "550 5.7.1 {reject_text}"

[domains."hold.test"]
invalid = "quarantine"
unsigned = "quarantine"
quarantine_reason = "sigmail e2e: {{verdict}}"
"""


@pytest.fixture(scope="session")
def postfix_installed():
    """Postfix, installed with apt if missing. Skipped only when we are not root (and so can
    neither install nor run it); a failed installation as root is a failure."""
    why_not = ensure_postfix()
    if why_not and os.geteuid() != 0:
        pytest.skip(f"no real Postfix for the end-to-end mail filter test: {why_not}")
    if why_not:
        pytest.fail(f"cannot provide Postfix for the end-to-end test: {why_not}", pytrace=False)


class MailSystem:
    """Postfix + the milter, and what the tests do with them."""

    def __init__(self, lab: PostfixLab):
        self.lab = lab
        self.socket = lab.root / "milter.sock"
        self.config = lab.root / "milter.toml"
        self.milter_log = lab.root / "milter.log"
        self.milter: subprocess.Popen | None = None
        self.milters_started: list[subprocess.Popen] = []

    def start_milter(self) -> subprocess.Popen:
        log = self.milter_log.open("a")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sigmail", "milter", "--config", str(self.config)],
            stderr=log,
            stdout=log,
            cwd=ROOT,
        )
        log.close()
        self.milters_started.append(proc)
        deadline = time.monotonic() + 30
        while not self._listening():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the milter did not start:\n{self.milter_log.read_text()}")
            time.sleep(0.05)
        self.milter = proc
        return proc

    def _listening(self) -> bool:
        import socket

        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop_milters(self) -> None:
        for proc in self.milters_started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)

    def send(self, message: bytes, to: str = CLERK) -> None:
        with smtplib.SMTP("127.0.0.1", self.lab.port, timeout=30) as smtp:
            smtp.sendmail("sender@stttt.tphcm.gov.vn", [to], message)

    def delivered(self) -> dict[str, object]:
        """Delivered messages by Message-ID (the last one if, wrongly, there were several)."""
        return {str(h["Message-ID"]): h for _, h in maildir_messages(self.lab.maildir)}

    def wait_delivered(self, ids: list[str], timeout: float = 30.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.delivered()
            if all(i in got for i in ids):
                return got
            if time.monotonic() > deadline:
                missing = [i for i in ids if i not in got]
                pytest.fail(
                    f"not delivered: {missing}\nmaillog:\n{self.lab.log_tail(40)}\n"
                    f"milter log:\n{self.milter_log.read_text()[-3000:]}"
                )
            time.sleep(0.05)


@pytest.fixture(scope="module")
def mail(postfix_installed, responder):
    lab = PostfixLab()
    lab.root.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.root, 0o755)
    system = MailSystem(lab)
    system.config.write_text(
        MILTER_CONFIG.format(
            socket=system.socket,
            authserv=AUTHSERV,
            certs=CERTS,
            reject_text=REJECT_TEXT,
            notice=NOTICE,
        )
    )
    lab.milter = f"unix:{system.socket}"
    try:
        system.start_milter()
        lab.start()
        yield system
    finally:
        lab.stop()
        system.stop_milters()
        lab.cleanup()


def library_verifier():
    import sigmail
    from sigmail.revocation import OnlineRevocation

    trust = sigmail.TrustStore.load(
        official=[str(CERTS / "root-official.pem")], public=[str(CERTS / "root-national.pem")]
    )
    return sigmail.Verifier(
        trust=trust, revocation=OnlineRevocation(allow_networks=["127.0.0.1/32"])
    )


def ours(header, name: str) -> list[str]:
    """Values of ``name`` fields in a delivered header (unfolded)."""
    return [" ".join(str(v).split()) for v in header.get_all(name) or []]


def test_verdicts_arrive_in_the_maildir_with_the_right_headers(mail):
    forged = [
        f"Authentication-Results: {AUTHSERV}; smime=pass (forged)",
        "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=a@example.net",
        "X-Sigmail-Verdict: official",
    ]
    messages = {kind: message_of_kind(kind) for kind in VECTOR_FOR}
    # An unsigned wrapper around an official message: the S/MIME verifier decides whether
    # that is "unsigned" or "not_official" (partially_signed); the milter must say the same.
    wrapper = str(library_verifier().verify(messages["forwarded"], at=AT, receipt_time=AT).verdict)
    cases = {
        "official": ("official", "pass"),
        "tampered": ("invalid", "fail"),
        "spoofed": ("invalid", "fail"),
        "unsigned": ("unsigned", "none"),
        "forwarded": (wrapper, smime_result(wrapper, ("partially_signed",))),
    }
    assert wrapper in ("unsigned", "not_official")
    ids = {}
    for kind in cases:
        mid = new_message_id()
        extra = forged if kind == "official" else ()
        mail.send(with_message_id(messages[kind], mid, extra_headers=extra))
        ids[kind] = mid
    delivered = mail.wait_delivered(list(ids.values()))
    for kind, (verdict, smime) in cases.items():
        header = delivered[ids[kind]]
        results = [v for v in ours(header, "Authentication-Results") if v.startswith(AUTHSERV)]
        assert len(results) == 1, (kind, results)
        assert f"smime={smime}" in results[0], (kind, results)
        (summary,) = ours(header, "X-Sigmail-Verdict")
        assert summary.split()[0] == verdict, (kind, summary)
    # The reasons a clerk sees.
    assert "digest_mismatch" in ours(delivered[ids["tampered"]], "X-Sigmail-Verdict")[0]
    assert "signer_mismatch" in ours(delivered[ids["spoofed"]], "X-Sigmail-Verdict")[0]
    # The forwarded official message is reported as a document of its own.
    assert '; documents: official "' in ours(delivered[ids["forwarded"]], "X-Sigmail-Verdict")[0]
    # The forged headers are gone; the other server's result is kept.
    official = delivered[ids["official"]]
    assert "(forged)" not in " ".join(ours(official, "Authentication-Results"))
    assert any(v.startswith("relay.example.net") for v in ours(official, "Authentication-Results"))
    assert ours(official, "X-Sigmail-Verdict") == ["official"]
    assert (
        "body.smime-identifier=an.nv@stttt.tphcm.gov.vn"
        in ours(official, "Authentication-Results")[0]
    )
    # Ours sit on top of the message, above Postfix's own Received field.
    path = next(
        p for p, h in maildir_messages(mail.lab.maildir) if h["Message-ID"] == ids["official"]
    )
    names = [line.split(":")[0] for line in path.read_text().splitlines() if line[:1].isalpha()]
    assert names.index("Authentication-Results") < names.index("Received")
    assert names.index("X-Sigmail-Verdict") < names.index("Received")
    # One log line per message, with the queue id, verdict, signer and time taken.
    log = mail.milter_log.read_text()
    for kind, (verdict, _) in cases.items():
        line = next(row for row in log.splitlines() if ids[kind] in row)
        assert f"verdict={verdict}" in line and "queue_id=" in line and " ms=" in line
        assert "queue_id=-" not in line
    assert "signer=an.nv@stttt.tphcm.gov.vn" in next(
        row for row in log.splitlines() if ids["official"] in row
    )


def test_the_clerk_sees_the_verdict_in_the_subject_and_the_signature_still_verifies(mail):
    """The Maildir copy shows the Subject tag of its verdict (none for official), and
    ``sigmail verify`` on the delivered file still gives the verdict the milter wrote: the
    Subject is outside a multipart/signed body."""
    from email.header import decode_header, make_header

    from sigmail.milter.config import DEFAULT_SUBJECT_TAGS

    ids = {}
    for kind in ("official", "tampered", "unsigned", "spoofed"):
        ids[kind] = new_message_id()
        mail.send(with_message_id(message_of_kind(kind), ids[kind]))
    mail.wait_delivered(list(ids.values()))
    delivered = {str(h["Message-ID"]): (p, h) for p, h in maildir_messages(mail.lab.maildir)}
    verdicts = {}
    for kind, mid in ids.items():
        path, header = delivered[mid]
        verdicts[kind] = verdict = ours(header, "X-Sigmail-Verdict")[0].split()[0]
        (raw_subject,) = header.get_all("Subject")
        subject = str(make_header(decode_header(str(raw_subject))))
        tag = DEFAULT_SUBJECT_TAGS[verdict]
        if tag:
            assert subject.startswith(tag + " ") and subject[len(tag) + 1] != " ", subject
        else:
            assert not subject.startswith("["), (kind, subject)
        trust = ["--trust", str(CERTS / "root-official.pem")]
        trust += ["--trust-public", str(CERTS / "root-national.pem")]
        times = ["--at", AT.isoformat(), "--receipt-time", AT.isoformat()]
        allow = ["--fetch-allow", "127.0.0.1/32"]  # the test PKI's responder, as the milter's
        again = subprocess.run(
            [
                sys.executable,
                "-m",
                "sigmail",
                "verify",
                str(path),
                "--json",
                *trust,
                *times,
                *allow,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert json.loads(again.stdout)["verdict"] == verdict, (kind, again.stderr[-2000:])
    assert verdicts == {
        "official": "official",
        "tampered": "invalid",
        "unsigned": "unsigned",
        "spoofed": "invalid",
    }
    # The unsigned one, and only it, has the notice as its first part, the original after it.
    import email
    from email import policy

    for kind, mid in ids.items():
        parsed = email.message_from_bytes(delivered[mid][0].read_bytes(), policy=policy.default)
        if kind != "unsigned":
            assert NOTICE not in parsed.as_string(), kind
            continue
        assert parsed.get_content_type() == "multipart/mixed"
        first, second = parsed.get_payload()
        assert first.get_content().strip() == NOTICE
        original = email.message_from_bytes(message_of_kind("unsigned"), policy=policy.default)
        assert second.get_content() == original.get_content()


ANNEXES = {
    # label: (content type, file name, annex file, agency-signed)
    "xlsx-agency": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "phu-luc.xlsx",
        "vectors/ooxml/ooxml-xlsx-agency.xlsx",
        True,
    ),
    "xlsx-unsigned": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "phu-luc.xlsx",
        "tests/data/formats/table.xlsx",
        False,
    ),
    "ods-agency": (
        "application/vnd.oasis.opendocument.spreadsheet",
        "phu-luc.ods",
        "vectors/odf/odf-ods-agency.ods",
        True,
    ),
}


def annex_message(label: str) -> bytes:
    """The agency's signed message carrying the signed decision (PDF) and an Office annex."""
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.smime_vectors import signed_message as smime_signed_message
    from vectors.testpki.spec import load_pki_spec

    vectors = ROOT / "vectors"
    pki = build_pki(load_pki_spec(vectors), vectors / KEYS_DIR, create_keys=False)
    ctype, name, annex, _ = ANNEXES[label]
    main = (vectors / "pdf/pdf-person-then-agency.pdf").read_bytes()
    return smime_signed_message(
        pki,
        "agency-stttt",
        attachments=(
            ("application/pdf", "quyet-dinh.pdf", main),
            (ctype, name, (ROOT / annex).read_bytes()),
        ),
        label=f"c10-{label}",
    )


def test_a_signed_office_annex_gets_its_c10_answer_in_the_delivered_header(mail):
    """C10 (attachments carry the agency's signature) through a real Postfix: the agency's
    signed .xlsx (OOXML) and .ods (ODF) annexes satisfy it, an unsigned .xlsx does not (a
    warning: the message stays official); ``sigmail verify`` on the delivered file agrees
    with the header the milter wrote."""
    ids = {label: new_message_id() for label in ANNEXES}
    for label, mid in ids.items():
        mail.send(with_message_id(annex_message(label), mid))
    mail.wait_delivered(list(ids.values()))
    delivered = {str(h["Message-ID"]): (p, h) for p, h in maildir_messages(mail.lab.maildir)}
    trust = ["--trust", str(CERTS / "root-official.pem")]
    trust += ["--trust-public", str(CERTS / "root-national.pem")]
    times = ["--at", AT.isoformat(), "--receipt-time", AT.isoformat()]
    allow = ["--fetch-allow", "127.0.0.1/32"]  # the test PKI's responder, as the milter's
    for label, mid in ids.items():
        _, name, _, agency_signed = ANNEXES[label]
        path, header = delivered[mid]
        (summary,) = ours(header, "X-Sigmail-Verdict")
        results = [v for v in ours(header, "Authentication-Results") if v.startswith(AUTHSERV)]
        assert summary.split()[0] == "official", (label, summary)
        assert "smime=pass" in results[0], (label, results)
        assert ("attachment_not_agency_signed" in summary) is not agency_signed, (label, summary)
        assert ("attachment_not_agency_signed" in results[0]) is not agency_signed
        assert 'official "quyet-dinh.pdf"' in summary
        if agency_signed:
            assert f'official "{name}"' in summary, (label, summary)
        again = subprocess.run(
            [
                sys.executable,
                "-m",
                "sigmail",
                "verify",
                str(path),
                "--json",
                *trust,
                *times,
                *allow,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        verdict = json.loads(again.stdout)
        assert verdict["verdict"] == summary.split()[0], (label, again.stderr[-2000:])
        assert ("attachment_not_agency_signed" in verdict["reasons"]) is not agency_signed
        annex = next(d for d in verdict["documents"] if d["name"] == name)
        assert annex["kind"] == ("odf" if name.endswith(".ods") else "ooxml")
        agency = [s for s in annex["signatures"] if s["role"] == "agency"]
        assert bool(agency) is agency_signed
        if agency_signed:
            assert annex["verdict"] == "official" and agency[0]["status"] == "passed"


def test_reject_action_refuses_with_the_configured_reply(mail):
    mid = new_message_id()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(with_message_id(tampered_message(), mid), to="clerk@reject.test")
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.decode() == f"5.7.1 {REJECT_TEXT}"
    # An official message to the same domain goes through.
    good = new_message_id()
    mail.send(with_message_id(signed_message(), good), to="clerk@reject.test")
    delivered = mail.wait_delivered([good])
    assert mid not in delivered


def test_quarantine_action_puts_the_message_in_the_hold_queue(mail):
    mid = new_message_id()
    mail.send(with_message_id(tampered_message(), mid), to="clerk@hold.test")
    deadline = time.monotonic() + 20
    held = []
    while not held:
        held = [m for m in mail.lab.queue() if m.get("queue_name") == "hold"]
        assert time.monotonic() < deadline, f"nothing held: {mail.lab.queue()}"
        time.sleep(0.1)
    (entry,) = held
    text = mail.lab.postcat(entry["queue_id"])
    assert f"Message-ID: {mid}" in text
    assert "X-Sigmail-Verdict: invalid (digest_mismatch)" in text
    assert f"Authentication-Results: {AUTHSERV}; smime=fail" in text
    assert mid not in mail.delivered()
    log = mail.lab.maillog.read_text()
    assert f"{entry['queue_id']}: milter-hold: END-OF-MESSAGE" in log
    mail.lab.flush_hold()
    assert not [m for m in mail.lab.queue() if m.get("queue_name") == "hold"]


class RetryingSender(threading.Thread):
    """Sends each message until Postfix accepts it, as a sending MTA does: a 4xx reply or a
    lost connection means "try again", a 5xx is a test failure."""

    def __init__(self, port: int, messages: list[tuple[str, bytes]]):
        super().__init__(daemon=True)
        self.port = port
        self.messages = messages
        self.accepted: list[str] = []
        self.temporary_failures = 0
        self.current: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        smtp = None
        try:
            for mid, message in self.messages:
                while True:
                    try:
                        if smtp is None:
                            smtp = smtplib.SMTP("127.0.0.1", self.port, timeout=60)
                        self.current = mid
                        smtp.sendmail("sender@stttt.tphcm.gov.vn", [CLERK], message)
                        self.accepted.append(mid)
                        break
                    except (smtplib.SMTPException, OSError) as exc:
                        code = getattr(exc, "smtp_code", None)
                        if isinstance(exc, smtplib.SMTPRecipientsRefused):
                            code = min(c for c, _ in exc.recipients.values())
                        if code is not None and code >= 500:
                            raise
                        self.temporary_failures += 1
                        with contextlib.suppress(Exception):
                            smtp.close()
                        smtp = None
                        time.sleep(0.2)
            self.current = None
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            if smtp is not None:
                with contextlib.suppress(Exception):
                    smtp.quit()


def test_killing_the_milter_mid_stream_loses_and_duplicates_nothing(mail):
    messages = [
        (mid, with_message_id(signed_message(), mid))
        for mid in (new_message_id() for _ in range(30))
    ]
    sender = RetryingSender(mail.lab.port, messages)
    victim = mail.milter
    sender.start()
    deadline = time.monotonic() + 60
    while len(sender.accepted) < 8:
        assert sender.is_alive() and time.monotonic() < deadline, sender.error
        time.sleep(0.01)
    # Freeze the milter so that the next message is caught half way (Postfix has sent it
    # and waits for the end-of-message reply), then kill it.
    victim.send_signal(signal.SIGSTOP)
    time.sleep(0.3)  # a reply the milter sent just before it froze still lands
    caught = len(sender.accepted)
    time.sleep(0.5)
    assert len(sender.accepted) == caught  # the message in progress waits on the milter
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    time.sleep(1.0)  # Postfix answers 4xx meanwhile; the sender keeps retrying
    mail.start_milter()
    sender.join(timeout=120)
    assert not sender.is_alive() and sender.error is None, sender.error
    assert sender.temporary_failures >= 1
    ids = [mid for mid, _ in messages]
    mail.wait_delivered(ids)
    counts = Counter(
        str(h["Message-ID"])
        for _, h in maildir_messages(mail.lab.maildir)
        if str(h["Message-ID"]) in set(ids)
    )
    assert counts == Counter(dict.fromkeys(ids, 1))  # every message exactly once
    # None slipped through unfiltered while the milter was down.
    for _, header in maildir_messages(mail.lab.maildir):
        if str(header["Message-ID"]) in set(ids):
            assert ours(header, "X-Sigmail-Verdict") == ["official"]
            assert getaddresses([str(header["From"])])[0][1] == "an.nv@stttt.tphcm.gov.vn"
    log = mail.lab.maillog.read_text()
    # Postfix saw the filter die at end of message and answered 4xx (the message was caught
    # half way), then could not connect while it was down.
    assert "milter-reject: END-OF-MESSAGE" in log and "4.7.1" in log
    assert "connect to Milter service" in log
    if os.environ.get("SIGMAIL_E2E_VERBOSE"):
        print(f"temporary failures: {sender.temporary_failures}")
        print("\n".join(row for row in log.splitlines() if "milter" in row or "4.7" in row))
