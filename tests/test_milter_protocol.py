"""The milter protocol, spoken by a real MilterServer to an MTA client (the miltertest codec).

Each message kind is checked against a golden file of the milter's replies
(tests/data/milter/*.replies): header deletions, insertions, quarantine and the final reply.
Set SIGMAIL_UPDATE_GOLDEN=1 to rewrite them after an intended change, and review the diff.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import pytest
from milter_support import (
    AT,
    AUTHSERV,
    MilterStarter,
    MtaClient,
    base_config,
    forwarded_message,
    signed_message,
    split_message,
    tampered_message,
    unsigned_message,
)
from miltertest import codec
from miltertest import constants as mc

from sigmail.milter import protocol as p
from sigmail.milter.actions import Disposition
from sigmail.milter.config import parse_config
from sigmail.milter.daemon import MilterServer
from sigmail.milter.runtime import Runtime
from sigmail.milter.spool import Spool

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "vectors" / "pki" / "certs"
GOLDEN = Path(__file__).resolve().parent / "data" / "milter"
SPOOFED_FROM = "Giam doc So <giamdoc@stttt.tphcm.gov.vn>"
AGENCY = "=?utf-8?b?U+G7niBUSMOUTkcgVElOIFbDgCBUUlVZ4buATiBUSMOUTkc=?= <stttt@tphcm.gov.vn>"
PUB = "Tran Thi Binh <binh.tt@example.com.vn>"


@pytest.fixture
def milter(responder):
    """Start an in-process milter: ``milter(**config changes)`` → Running."""
    with MilterStarter() as start:
        yield start


def check_golden(name: str, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    path = GOLDEN / f"{name}.replies"
    if os.environ.get("SIGMAIL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path} (run with SIGMAIL_UPDATE_GOLDEN=1)"
    assert text == path.read_text(encoding="utf-8"), f"replies differ from {path.name}"


FORGED = [
    f"Authentication-Results: {AUTHSERV}; smime=pass (forged by the sender)",
    "Authentication-Results: MX.SIGMAIL.TEST (upper case); smime=pass",
    "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=sender@example.net",
    "X-Sigmail-Verdict: official",
]


@pytest.mark.parametrize(
    ("case", "make", "action"),
    [
        ("official", lambda: signed_message(), "accept"),
        ("agency-official", lambda: signed_message(signer="agency-stttt", from_=AGENCY), "accept"),
        ("invalid-tampered", lambda: tampered_message(), "accept"),
        ("invalid-from-spoofed", lambda: signed_message(from_=SPOOFED_FROM), "accept"),
        ("unsigned", lambda: unsigned_message(), "accept"),
        ("forged-headers-removed", lambda: signed_message(extra_headers=FORGED), "accept"),
        (
            "public-ca-not-official",
            lambda: signed_message(signer="public-signer", from_=PUB),
            "accept",
        ),
    ],
)
def test_replies_per_message_kind(milter, case, make, action):
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(make())
    assert reply.action == action
    check_golden(case, reply.golden())


def test_forwarded_message_gets_the_verdict_the_library_gives(milter, responder):
    """Whether an unsigned wrapper around an official message is ``unsigned`` or
    ``not_official`` (partially_signed) is the S/MIME verifier's decision, not the milter's:
    the milter must write exactly the headers of the library's verdict, documents included."""
    import sigmail
    from sigmail.milter.headers import headers_for
    from sigmail.revocation import OnlineRevocation

    message = forwarded_message(signed_message())
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(message)
    trust = sigmail.TrustStore.load(official=[str(CERTS / "root-official.pem")])
    verdict = sigmail.Verifier(
        trust=trust, revocation=OnlineRevocation(allow_networks=["127.0.0.1/32"])
    ).verify(message, at=AT, receipt_time=AT)
    expected = headers_for(verdict, AUTHSERV)
    inserted = [args for code, args in reply.changes if code == mc.SMFIR_INSHEADER]
    assert [(h["name"], h["value"]) for h in reversed(inserted)] == [
        (h.name, h.folded()) for h in expected
    ]
    assert str(verdict.verdict) in ("unsigned", "not_official")
    assert '; documents: official "fwd.eml"' in expected[1].value


def test_headers_say_the_verdict_in_order_on_top(milter):
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(tampered_message())
    inserted = [args for code, args in reply.changes if code == mc.SMFIR_INSHEADER]
    # Inserted at index 0 in reverse: the MTA shows Authentication-Results first.
    assert [h["name"] for h in inserted] == ["X-Sigmail-Verdict", "Authentication-Results"]
    assert all(h["index"] == 0 for h in inserted)
    assert inserted[0]["value"].startswith("invalid")
    assert "smime=fail" in inserted[1]["value"]


def test_negotiation_asks_only_for_what_the_mta_offers(milter):
    running = milter()
    with running.client() as mta:
        assert mta.actions == int(p.Action.ADDHDRS | p.Action.CHGHDRS | p.Action.QUARANTINE)
        assert mta.protocol & mc.SMFIP_NR_HDR and mta.protocol & mc.SMFIP_NR_BODY
        assert not mta.protocol & mc.SMFIP_NOHDRS and not mta.protocol & mc.SMFIP_NOBODY
    # An MTA offering no optional steps gets a reply to every command, and it still works.
    with running.client(protocol=0) as mta:
        assert mta.protocol == 0
        assert mta.send_message(signed_message()).action == "accept"
    with running.client(actions=mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS, protocol=0) as mta:
        assert mta.actions == mc.SMFIF_ADDHDRS | mc.SMFIF_CHGHDRS


def test_an_mta_that_forbids_header_changes_is_refused(milter):
    running = milter()
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(running.path)
    sock.sendall(codec.encode_optneg(mc.SMFIF_QUARANTINE, mc.SMFI_V6_PROT))
    assert sock.recv(100) == b""  # closed: the MTA applies milter_default_action
    sock.close()
    with running.client() as mta:  # the server is still serving
        assert mta.send_message(unsigned_message()).action == "accept"


def test_several_messages_abort_and_quit_nc_on_one_connection(milter):
    running = milter()
    with running.client() as mta:
        assert mta.send_message(signed_message()).action == "accept"
        # A message aborted half way (RSET) leaves nothing behind.
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<x@y>"]))
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_HEADER, name="From", value="x@y"))
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_ABORT))
        second = mta.send_message(unsigned_message())
        assert "insheader 0 X-Sigmail-Verdict: unsigned (no_signature)" in second.golden()
        # QUIT_NC: the MTA reuses the connection for a new SMTP session.
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_QUIT_NC))
        mta.sock.sendall(
            codec.encode_msg(
                mc.SMFIC_CONNECT, hostname="h", family="4", port=25, address="127.0.0.1"
            )
        )
        assert mta._recv()[0] == mc.SMFIR_CONTINUE
        assert mta.send_message(tampered_message()).golden()[-1] == "accept"


def test_garbage_closes_the_connection_and_the_server_keeps_serving(milter):
    running = milter()
    for garbage in (
        struct.pack("!I", 0),
        struct.pack("!I", 50_000_000) + b"B",
        codec.encode_optneg(mc.SMFI_V6_ACTS, mc.SMFI_V6_PROT) + struct.pack("!I", 1) + b"Z",
    ):
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(10)
        sock.connect(running.path)
        sock.sendall(garbage)
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        sock.close()
    with running.client() as mta:
        assert mta.send_message(signed_message()).action == "accept"


# -- actions ------------------------------------------------------------------------------------

ACTIONS = """
[actions]
invalid = "reject"
reject_reply = "550 5.7.1 Chu ky so khong hop le (sigmail)"
unsigned = "quarantine"
quarantine_reason = "sigmail held: {verdict}"
not_official = "tempfail"

[domains."hold.test"]
invalid = "quarantine"

[domains."*.relaxed.test"]
invalid = "accept"
unsigned = "accept"
"""


def actions_config():
    return parse_config(ACTIONS).actions


@pytest.mark.parametrize(
    ("case", "make", "recipients", "action"),
    [
        ("action-reject", lambda: tampered_message(), ("<a@stp.kontum.gov.vn>",), "reply"),
        ("action-quarantine", lambda: unsigned_message(), ("<a@stp.kontum.gov.vn>",), "accept"),
        (
            "action-tempfail",
            lambda: signed_message(signer="public-signer", from_=PUB),
            ("<a@stp.kontum.gov.vn>",),
            "reply",
        ),
        ("action-domain-quarantine", lambda: tampered_message(), ("<a@hold.test>",), "accept"),
        ("action-wildcard-accept", lambda: tampered_message(), ("<a@x.relaxed.test>",), "accept"),
        (
            "action-strictest-recipient",
            lambda: tampered_message(),
            ("<a@x.relaxed.test>", "<b@hold.test>", "<c@stp.kontum.gov.vn>"),
            "reply",
        ),
        ("action-official-accept", lambda: signed_message(), ("<a@stp.kontum.gov.vn>",), "accept"),
    ],
)
def test_actions_from_the_config(milter, case, make, recipients, action):
    running = milter(actions=actions_config())
    with running.client() as mta:
        reply = mta.send_message(make(), recipients=recipients)
    assert reply.action == action
    check_golden(case, reply.golden())


# -- fail-safe ----------------------------------------------------------------------------------


def test_internal_error_accepts_with_temperror(milter, monkeypatch):
    def broken(self, message, *, received_at):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Runtime, "verify", broken)
    running = milter()
    with running.client() as mta:
        reply = mta.send_message(signed_message(extra_headers=FORGED))
    assert reply.action == "accept"
    check_golden("failsafe-internal-error", reply.golden())


def test_internal_error_can_tempfail(milter, monkeypatch):
    monkeypatch.setattr(Runtime, "verify", lambda *a, **k: 1 / 0)
    running = milter(on_failure=Disposition.TEMPFAIL)
    with running.client() as mta:
        reply = mta.send_message(signed_message())
    assert reply.final == (
        mc.SMFIR_REPLYCODE,
        {"smtpcode": "451", "space": " ", "text": reply.final[1]["text"]},
    )
    assert reply.final[1]["text"].startswith("4.7.1 ")


def test_time_budget_answers_in_time_with_temperror(milter, monkeypatch):
    release = threading.Event()

    def slow(self, message, *, received_at):
        release.wait(10)
        raise AssertionError("the answer must not wait for this")

    monkeypatch.setattr(Runtime, "verify", slow)
    running = milter(time_budget=0.5)
    started = time.monotonic()
    with running.client() as mta:
        reply = mta.send_message(signed_message())
    elapsed = time.monotonic() - started
    release.set()
    assert 0.4 < elapsed < 5
    assert reply.action == "accept"
    check_golden("failsafe-time-budget", reply.golden())


def test_oversize_message_is_not_verified_but_annotated(milter):
    running = milter(max_message_bytes=20_000, spool_memory_bytes=4096)
    big = signed_message(extra_headers=[f"X-Filler-{i}: {'x' * 60}" for i in range(400)])
    with running.client() as mta:
        reply = mta.send_message(big)
        normal = mta.send_message(signed_message())  # the next message is judged normally
    assert reply.action == "accept"
    check_golden("failsafe-oversize", reply.golden())
    assert "smime=pass" in "\n".join(normal.golden())


def test_progress_keeps_the_mta_waiting(milter, monkeypatch):
    import sigmail.milter.filter as filter_module

    monkeypatch.setattr(filter_module, "PROGRESS_SECONDS", 0.1)
    original = Runtime.verify

    def slowish(self, message, *, received_at):
        time.sleep(0.45)
        return original(self, message, received_at=received_at)

    monkeypatch.setattr(Runtime, "verify", slowish)
    running = milter()
    mta = running.client()
    progress = []
    real = codec.decode_msg

    def spy(data):
        cmd, args, rest = real(data)
        progress.append(cmd)
        return cmd, args, rest

    monkeypatch.setattr(codec, "decode_msg", spy)
    reply = mta.send_message(signed_message())
    mta.close()
    assert progress.count(mc.SMFIR_PROGRESS) >= 2
    assert "smime=pass" in "\n".join(reply.golden())


# -- life cycle ---------------------------------------------------------------------------------


def test_sighup_reload_changes_the_config_and_a_bad_one_is_ignored(milter):
    directory = tempfile.mkdtemp(prefix="sm-")
    state = {"actions": None, "fail": False}

    def load():
        if state["fail"]:
            return Runtime.load(parse_config("[actions]\ninvalid = 'bounce'\n"))
        config = base_config(directory)
        if state["actions"] is not None:
            config = config.with_(actions=state["actions"])
        return Runtime.load(config)

    running = milter(load=load, directory=directory)
    with running.client() as mta:
        assert mta.send_message(tampered_message()).action == "accept"
        state["actions"] = actions_config()
        running.server.request_reload()
        deadline = time.monotonic() + 5
        while running.server.runtime.config.actions != state["actions"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert mta.send_message(tampered_message()).action == "reply"  # reject now
    state["fail"] = True
    assert running.server.reload() is False  # a failing reload keeps the running one
    with running.client() as mta:
        assert mta.send_message(tampered_message()).action == "reply"


def test_sigterm_finishes_the_message_in_progress(milter):
    running = milter()
    busy = running.client()
    idle = running.client()
    headers_only = signed_message()
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<s@x>"]))
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_RCPT, args=["<r@stp.kontum.gov.vn>"]))
    fields, body = split_message(headers_only)
    for name, value in fields:
        busy.sock.sendall(codec.encode_msg(mc.SMFIC_HEADER, name=name, value=value))
    deadline = time.monotonic() + 5
    while not any(s.busy for s in running.server.sessions):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    running.server.request_stop()
    time.sleep(0.3)
    # The listening socket is gone: no new connection is accepted.
    assert not os.path.exists(running.path)
    # The idle connection was closed.
    idle.sock.settimeout(5)
    assert idle.sock.recv(10) == b""
    # The message in progress completes and gets its verdict.
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_EOH))
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_BODY, buf=body.decode()))
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_BODYEOB))
    replies = []
    while True:
        cmd, args = busy._recv()
        replies.append((cmd, args))
        if cmd == mc.SMFIR_ACCEPT:
            break
    assert any("smime=pass" in str(args) for _, args in replies)
    running.thread.join(10)
    assert not running.thread.is_alive()
    assert running.server.stopped.is_set()


def test_inet_socket_sets_tcp_nodelay(responder, monkeypatch):
    directory = tempfile.mkdtemp(prefix="sm-")
    seen = []
    real_accept = socket.socket.accept

    def accept(self):
        conn, peer = real_accept(self)
        seen.append(conn)
        return conn, peer

    monkeypatch.setattr(socket.socket, "accept", accept)
    config = base_config(directory, socket="inet:1@127.0.0.1")  # replaced by the listener
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    server = MilterServer(lambda: Runtime.load(config), listener=listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with MtaClient(listener.getsockname()) as mta:
            assert mta.send_message(signed_message()).action == "accept"
            assert seen and seen[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        server.request_stop()
        thread.join(10)
        shutil.rmtree(directory, ignore_errors=True)


def test_open_listener_replaces_a_stale_socket_and_refuses_a_live_one(tmp_path):
    from sigmail.errors import ConfigError
    from sigmail.milter.daemon import open_listener

    directory = tempfile.mkdtemp(prefix="sm-")
    try:
        path = f"{directory}/s.sock"
        first = open_listener(f"unix:{path}", mode=0o600)
        with pytest.raises(ConfigError, match="another milter"):
            open_listener(f"unix:{path}")
        first.close()  # the file stays behind, as after a crash
        assert os.path.exists(path)
        second = open_listener(f"unix:{path}", mode=0o660)
        assert oct(os.stat(path).st_mode & 0o777) == "0o660"
        second.close()
        Path(f"{directory}/plain").write_text("x")
        with pytest.raises(ConfigError, match="not a socket"):
            open_listener(f"unix:{directory}/plain")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- pieces -------------------------------------------------------------------------------------


def test_spool_memory_then_disk_then_ceiling(tmp_path):
    with Spool(memory_bytes=10, max_bytes=100, directory=str(tmp_path)) as spool:
        spool.write(b"12345")
        assert not spool.on_disk
        spool.write(b"6789012345")
        assert spool.on_disk
        assert spool.read() == b"123456789012345"
        spool.write(b"x" * 100)
        assert spool.oversize and spool.size == 115
        with pytest.raises(ValueError):
            spool.read()


def test_packet_reader_and_encoders():
    a, b = socket.socketpair()
    try:
        a.sendall(p.encode(b"L", b"Subject\0hi\0") + p.encode(b"E"))
        reader = p.PacketReader(b)
        cmd, data = reader.read()
        assert (cmd, p.parse_header(data)) == (b"L", (b"Subject", b"hi"))
        assert reader.read() == (b"E", b"")
        a.close()
        assert reader.read() is None
    finally:
        b.close()
    assert p.parse_macros(b"E{i}\0ABC\0j\0mx\0") == (b"E", {"i": b"ABC", "j": b"mx"})
    assert p.parse_connect(b"host\x004\x00\x19127.0.0.1\0") == (b"host", "4", 25, b"127.0.0.1")
    assert p.parse_connect(b"host\0U") == (b"host", "U", None, None)
    assert p.reply_code("550 5.7.1 no") == struct.pack("!I", 14) + b"y550 5.7.1 no\0"
    with pytest.raises(ValueError):
        p.reply_add_header("X", "a\0b")
    with pytest.raises(p.ProtocolError):
        p.negotiate(struct.pack("!III", 6, int(p.Action.QUARANTINE), 0))
    with pytest.raises(p.ProtocolError):
        p.parse_strings(b"no terminator")


def test_real_signals_reload_and_stop_the_daemon(responder):
    """SIGHUP re-reads the file (a broken one is ignored), SIGTERM exits cleanly."""
    import signal
    import subprocess
    import sys

    directory = tempfile.mkdtemp(prefix="sm-")
    path = f"{directory}/milter.sock"
    config = Path(directory) / "milter.toml"
    base = (
        f'[milter]\nsocket = "unix:{path}"\nauthserv_id = "{AUTHSERV}"\n'
        f"[verify]\nat = 2026-06-01T00:00:00Z\n"
        f'[trust]\nofficial = ["{CERTS / "root-official.pem"}"]\n'
    )
    config.write_text(base)
    log = Path(directory) / "log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sigmail", "milter", "--config", str(config)],
            stderr=err,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 30
        while "listening" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with MtaClient(path) as mta:
            assert mta.send_message(tampered_message()).action == "accept"
        config.write_text(base + '[actions]\ninvalid = "reject"\n')
        proc.send_signal(signal.SIGHUP)
        while "configuration reloaded" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        with MtaClient(path) as mta:
            assert mta.send_message(tampered_message()).action == "reply"
        config.write_text(base + '[actions]\ninvalid = "bounce"\n')
        proc.send_signal(signal.SIGHUP)
        while "reload failed" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert "milter.toml:9: invalid must be one of" in log.read_text()
        with MtaClient(path) as mta:  # the running configuration is kept
            assert mta.send_message(tampered_message()).action == "reply"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert not os.path.exists(path)
        assert log.read_text().count("queue_id=TESTQ1") == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
