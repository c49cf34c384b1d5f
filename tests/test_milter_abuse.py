"""The milter under abuse, against the real daemon (a MilterServer thread, or ``sigmail milter``
as a process under a lowered descriptor limit), with the MTA side played by miltertest:
descriptor exhaustion, idle and slow peers, a connection flood, memory bounded by the limits,
too many header fields, a socket path too long, a message cut off by a disconnect."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time

import pytest
from milter_support import (
    DaemonProcess,
    MilterStarter,
    MtaClient,
    signed_message,
    unsigned_message,
)
from miltertest import codec
from miltertest import constants as mc

from sigmail.errors import ConfigError, MilterConfigError
from sigmail.milter.config import parse_config

# A functional timeout, generous for a loaded 2-core machine: never a measurement.
PATIENCE = 60


@pytest.fixture
def milter(responder):
    with MilterStarter() as start:
        yield start


@pytest.fixture
def workdir():
    directory = tempfile.mkdtemp(prefix="sm-")  # unix socket paths must stay short
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def idle_peer(path: str, *, negotiate: bool = True) -> socket.socket:
    """A connection that negotiates (as Postfix does when it opens one) and then says nothing."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(PATIENCE)
    sock.connect(path)
    if negotiate:
        sock.sendall(codec.encode_optneg(mc.SMFI_V6_ACTS, mc.SMFI_V6_PROT))
        sock.recv(64)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Has the milter closed this connection? (Waits up to PATIENCE for it.)"""
    sock.settimeout(PATIENCE)
    try:
        while chunk := sock.recv(4096):
            del chunk
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


# -- 2. timeouts and the connection cap -----------------------------------------------------------


def test_an_idle_connection_is_closed_after_idle_timeout(milter):
    running = milter(idle_timeout=0.5)
    peer = idle_peer(running.path)
    assert closed_by_server(peer)
    with running.client() as mta:  # a connection in use is served as before
        assert mta.send_message(signed_message()).action == "accept"


def test_a_slowloris_peer_is_closed_after_read_timeout(milter):
    """One byte every 0.2 s resets no idle clock: the packet as a whole must arrive within
    read_timeout."""
    running = milter(read_timeout=1.0, idle_timeout=PATIENCE * 2)
    peer = idle_peer(running.path)
    packet = codec.encode_msg(mc.SMFIC_MAIL, args=["<slow@example.net>"])
    closed = False
    for byte in packet * 50:
        try:
            peer.send(bytes([byte]))
        except OSError:
            closed = True
            break
        time.sleep(0.2)
    assert closed or closed_by_server(peer)


def test_at_the_connection_cap_the_longest_idle_connection_makes_room(milter, caplog):
    running = milter(max_connections=4)
    peers = []
    for _ in range(4):
        peers.append(idle_peer(running.path))
        time.sleep(0.01)  # distinct last-activity times: the first is the longest idle
    with caplog.at_level(logging.WARNING, "sigmail.milter"), running.client() as mta:
        assert mta.send_message(signed_message()).action == "accept"
    assert closed_by_server(peers[0])
    assert "max_connections: closed the connection" in caplog.text
    for peer in peers:
        peer.close()


def test_a_connection_with_a_message_in_progress_is_never_evicted(milter):
    running = milter(max_connections=1)
    busy = running.client()
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<a@b.example>"]))
    busy.sock.sendall(codec.encode_msg(mc.SMFIC_HEADER, name="From", value="a@b.example"))
    time.sleep(0.2)  # let the milter read MAIL (busy from then on)
    refused = idle_peer(running.path, negotiate=False)
    assert closed_by_server(refused)
    reply = busy.send_message(unsigned_message())
    assert reply.action == "accept"
    busy.close()


# -- 1. descriptor exhaustion, and the load run ---------------------------------------------------


def connect_flood(path: str, count: int) -> list[socket.socket]:
    """``count`` connections that send nothing; those the backlog cannot hold yet are retried
    (the milter accepts them as it closes idle ones)."""
    peers: list[socket.socket] = []
    deadline = time.monotonic() + PATIENCE
    while len(peers) < count and time.monotonic() < deadline:
        sock = socket.socket(socket.AF_UNIX)
        sock.setblocking(False)
        try:
            sock.connect(path)
        except (BlockingIOError, InterruptedError):
            sock.close()
            time.sleep(0.001)
            continue
        peers.append(sock)
    return peers


def test_descriptor_exhaustion_backs_off_and_keeps_serving(responder, workdir):
    """Under RLIMIT_NOFILE 256 (the default max_connections does not fit), 1,000 idle peers, a
    slowloris and then a real client: the client is served, the open connection with a message
    keeps working, and the log stays a few lines (it was ~100 MB in 15 s, at 100 % CPU)."""
    with DaemonProcess(workdir, "read_timeout = 2.0", nofile=256) as d:
        with MtaClient(d.path) as early:
            assert early.send_message(signed_message()).action == "accept"
            slow = idle_peer(d.path)
            slow.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<s@x.example>"])[:3])
            peers = connect_flood(d.path, 1000)
            assert len(peers) == 1000
            threads, fds = d.status("Threads"), d.fds()
            with MtaClient(d.path) as late:
                assert late.send_message(signed_message()).action == "accept"
            assert early.send_message(unsigned_message()).action == "accept"
        assert closed_by_server(slow)
        for peer in peers:
            peer.close()
        assert fds <= 256 and threads < 256
        log = d.log.read_text()
        assert "lowered to" in log  # max_connections fitted under the limit
        noisy = [line for line in log.splitlines() if "accept failed" in line]
        assert len(noisy) < 20, noisy[:5]
        assert os.path.getsize(d.log) < 200_000
    assert d.proc.returncode == 0


# The daemon with its connection cap taken off, so that accept() itself runs out of descriptors
# (as it does when spool files, revocation fetches or a leak use them up).
UNCAPPED_DAEMON = """
import logging, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
sys.path.insert(0, "tests")
from milter_support import base_config
from sigmail.milter.daemon import MilterServer
from sigmail.milter.runtime import Runtime
config = base_config(sys.argv[1])
server = MilterServer(lambda: Runtime.load(config))
server.max_connections = 100_000
server.install_signal_handlers()
server.serve_forever()
"""


def test_out_of_descriptors_accept_backs_off_and_makes_room(responder, workdir):
    import subprocess
    import sys
    from pathlib import Path

    log = Path(workdir) / "log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", UNCAPPED_DAEMON, workdir],
            stderr=err,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        deadline = time.monotonic() + PATIENCE
        while "listening" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        path = f"{workdir}/milter.sock"
        with MtaClient(path) as early:
            assert early.send_message(signed_message()).action == "accept"
            peers = connect_flood(path, 300)
            time.sleep(1.0)  # the loop meets EMFILE again and again meanwhile
            with MtaClient(path) as late:
                assert late.send_message(signed_message()).action == "accept"
            assert early.send_message(unsigned_message()).action == "accept"
        for peer in peers:
            peer.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    noisy = [line for line in text.splitlines() if "accept failed" in line]
    assert noisy and "Too many open files" in noisy[0]
    assert len(noisy) < 10, noisy[:5]
    assert "descriptor limit: closed the connection" in text


# -- 3. memory bounded by the limits --------------------------------------------------------------


def big_headers(count: int, size: int) -> list[tuple[str, str]]:
    return [(f"X-Filler-{i}", "x" * size) for i in range(count)]


def send_raw_headers(path: str, headers: list[tuple[str, str]], body: bytes = b"hi\r\n"):
    """One message of huge header fields, sent the way Postfix sends them (no replies)."""
    with MtaClient(path) as mta:
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<a@b.example>"]))
        for name, value in headers:
            mta.sock.sendall(codec.encode_msg(mc.SMFIC_HEADER, name=name, value=value))
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_EOH))
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_BODY, buf=body.decode()))
        mta.sock.sendall(codec.encode_msg(mc.SMFIC_BODYEOB))
        changes = []
        while True:
            cmd, args = mta._recv()
            if cmd in (mc.SMFIR_ACCEPT, mc.SMFIR_REPLYCODE, mc.SMFIR_TEMPFAIL):
                return cmd, changes
            changes.append((cmd, args))


def test_header_fields_count_against_the_size_limit_and_are_not_held(responder, workdir):
    """150 header fields of 1 MiB: the spool holds them (then stops, over max_message_bytes);
    they are not also kept in memory (this cost ~200 MB RSS)."""
    with DaemonProcess(workdir, "max_message_bytes = 8388608\nworkers = 1") as d:
        before = d.status("VmRSS")
        cmd, changes = send_raw_headers(d.path, big_headers(150, 1024 * 1024 - 200))
        grown = d.status("VmHWM") - before
    verdict = [a["value"] for c, a in changes if c == mc.SMFIR_INSHEADER]
    assert cmd == mc.SMFIR_ACCEPT
    assert any(v.startswith("indeterminate (limit_exceeded)") for v in verdict), verdict
    assert grown < 64 * 1024, f"peak RSS grew by {grown} kB for 150 MiB of header fields"


def test_too_many_header_fields_is_a_limit_not_malformed(milter):
    running = milter(max_header_fields=200)
    headers = [f"X-Filler-{i}: {i}" for i in range(201)]
    with running.client() as mta:
        reply = mta.send_message(signed_message(extra_headers=headers))
        assert reply.action == "accept"
        text = "\n".join(reply.golden())
        assert "X-Sigmail-Verdict: indeterminate (limit_exceeded)" in text
        assert "more\n than 200 header fields" in text
        within = mta.send_message(signed_message(extra_headers=headers[:150]))
        assert "X-Sigmail-Verdict: official" in "\n".join(within.golden())


def test_ten_thousand_and_one_header_fields_by_default(milter):
    """The default is the core's own header limit, so the milter says limit_exceeded where the
    core would have said malformed (and `invalid = reject` rejected the message)."""
    running = milter(actions=parse_config('[actions]\ninvalid = "reject"\n').actions)
    headers = [f"X-F{i}: {i}" for i in range(10_001)]
    with running.client() as mta:
        reply = mta.send_message(unsigned_message(extra_headers=headers))
    assert reply.action == "accept"
    assert "X-Sigmail-Verdict: indeterminate (limit_exceeded)" in "\n".join(reply.golden())


def test_ten_thousand_and_one_header_fields_inside_a_part_are_a_limit_too(milter):
    """The same limit inside a MIME part is the core's: limit_exceeded, not malformed (which
    `invalid = reject` turned into a refusal)."""
    running = milter(actions=parse_config('[actions]\ninvalid = "reject"\n').actions)
    fields = b"".join(f"X-F{i}: {i}\r\n".encode() for i in range(10_001))
    entity = b"Content-Type: text/plain; charset=utf-8\r\n" + fields + b"\r\nVan ban.\r\n"
    with running.client() as mta:
        reply = mta.send_message(signed_message(entity=entity))
    assert reply.action == "accept"
    assert "X-Sigmail-Verdict: indeterminate (limit_exceeded)" in "\n".join(reply.golden())


# -- 5. configuration and log lines ---------------------------------------------------------------


def test_a_socket_path_over_107_bytes_is_a_clear_config_error(workdir):
    long_path = workdir + "/" + "s" * (108 - len(workdir))
    with pytest.raises(MilterConfigError, match=r"the path is 109 bytes; .* at most 107"):
        parse_config(f'[milter]\nsocket = "unix:{long_path}"\n', source="milter.toml")
    from sigmail.milter.daemon import open_listener

    with pytest.raises(ConfigError, match=r"at most 107"):
        open_listener(f"unix:{long_path}")
    ok = workdir + "/" + "s" * (106 - len(workdir))
    assert len(ok) == 107
    open_listener(f"unix:{ok}").close()


def test_a_message_cut_off_by_a_disconnect_leaves_a_log_line(milter, caplog):
    running = milter()
    with caplog.at_level(logging.INFO, "sigmail.milter"):
        sock = idle_peer(running.path)
        sock.sendall(
            codec.encode_msg(mc.SMFIC_MACRO, cmdcode=mc.SMFIC_MAIL, nameval=["i", "CUTQ1"])
        )
        sock.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<a@b.example>"]))
        sock.sendall(codec.encode_msg(mc.SMFIC_HEADER, name="Subject", value="cut"))
        sock.close()
        deadline = time.monotonic() + PATIENCE
        while "queue_id=CUTQ1 aborted" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "queue_id=CUTQ1 aborted: connection ended before the end of the message" in (caplog.text)


def test_at_most_workers_messages_are_held_whole(milter, monkeypatch):
    """Four connections end their messages at once against one worker whose verification is
    slow: the message bytes are read out of the spool only inside the worker slot, so one
    message is held whole at a time (before, each connection's thread read its own)."""
    import threading

    from sigmail.milter.runtime import Runtime
    from sigmail.milter.spool import Spool

    lock = threading.Lock()
    held, most = [0], [0]
    real_read, real_verify = Spool.read, Runtime.verify

    def read(self):
        data = real_read(self)
        with lock:
            held[0] += 1
            most[0] = max(most[0], held[0])
        return data

    def verify(self, message, *, received_at):
        try:
            time.sleep(0.3)
            return real_verify(self, message, received_at=received_at)
        finally:
            with lock:
                held[0] -= 1

    monkeypatch.setattr(Spool, "read", read)
    monkeypatch.setattr(Runtime, "verify", verify)
    running = milter(workers=1)
    actions = []

    def send():
        with running.client() as mta:
            actions.append(mta.send_message(signed_message()).action)

    clients = [threading.Thread(target=send) for _ in range(4)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(PATIENCE)
    assert actions == ["accept"] * 4
    assert most[0] == 1


def test_no_thread_to_be_had_refuses_the_connection_and_keeps_serving(milter, monkeypatch):
    """Thread creation failing (memory, RLIMIT_NPROC) ended serve_forever with a traceback;
    now that connection is refused and the next one served."""
    import threading

    running = milter()
    real_start = threading.Thread.start
    failures = [1]

    def start(self):
        if self.name == "sigmail-milter" and failures:
            failures.pop()
            raise RuntimeError("can't start new thread")
        return real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    refused = idle_peer(running.path, negotiate=False)
    assert closed_by_server(refused)
    with running.client() as mta:
        assert mta.send_message(signed_message()).action == "accept"
    assert running.thread.is_alive()
