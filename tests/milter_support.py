"""Test helpers for the mail filter: S/MIME messages made with the test PKI, and the MTA side
of the milter protocol (the ``miltertest`` package's codec, driven the way Postfix drives it).

Messages: when the S/MIME vectors (``vectors/smime/*.eml``, manifest kind ``eml``) are there,
:func:`vector_message` uses them; :func:`signed_message` and friends build the same kinds of
message here (multipart/signed, RFC 1847, detached SignedData from ``vectors/testpki/cms.py``)
so these tests do not depend on them. Every message gets a fresh Message-ID unless one is
given: the end-to-end test counts them in the Maildir.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import shutil
import socket
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from miltertest import codec
from miltertest import constants as mc

from vectors.testpki.cms import Signer, signed_data

__all__ = [
    "AT",
    "AUTHSERV",
    "DaemonProcess",
    "MilterReply",
    "MilterStarter",
    "MtaClient",
    "Running",
    "base_config",
    "forwarded_message",
    "message_of_kind",
    "signed_message",
    "split_message",
    "tampered_message",
    "unsigned_message",
    "vector_message",
    "with_message_id",
]

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # the vectors' validation time
SIGNING_TIME = dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)
AN = "=?utf-8?b?Tmd1eeG7hW4gVsSDbiBBbg==?= <an.nv@stttt.tphcm.gov.vn>"  # Nguyễn Văn An
TO = "Van thu So Tu phap <vanthu@stp.kontum.gov.vn>"
LETTER = (
    "Kính gửi: Sở Tư pháp tỉnh Kon Tum\r\n\r\n"
    "Sở Thông tin và Truyền thông gửi Quyết định số 123/QĐ-STTTT.\r\n\r\n"
    "(Dữ liệu kiểm thử của sigmail; không có giá trị pháp lý.)\r\n"
)
_counter = itertools.count(1)


@cache
def _cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((VECTORS / f"pki/certs/{name}.pem").read_bytes())


@cache
def _key(name: str):
    return serialization.load_pem_private_key(
        (VECTORS / f"pki/keys/{name}.key.pem").read_bytes(),
        password=None,
        unsafe_skip_rsa_key_validation=True,
    )


@cache
def _issuer(name: str) -> str:
    manifest = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
    return next(c["issuer"] for c in manifest["pki"] if c["name"] == name)


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


def new_message_id() -> str:
    return f"<{next(_counter)}.{uuid.uuid4().hex[:12]}@sigmail.test>"


def _headers(from_: str, subject: str, message_id: str | None, extra: list[str]) -> str:
    lines = [
        f"From: {from_}",
        f"To: {TO}",
        f"Subject: {subject}",
        "Date: Wed, 20 May 2026 10:00:00 +0700",
        f"Message-ID: {message_id or new_message_id()}",
        *extra,
        "MIME-Version: 1.0",
    ]
    return "\r\n".join(lines) + "\r\n"


def _text_entity(text: str = LETTER) -> bytes:
    return (
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(text.encode()) + "\r\n"
    ).encode()


def signed_message(
    *,
    signer: str = "person-an",
    from_: str = AN,
    subject: str = "Quyet dinh so 123/QD-STTTT",
    message_id: str | None = None,
    extra_headers: list[str] | None = None,
    entity: bytes | None = None,
) -> bytes:
    """A multipart/signed message (detached SignedData over the first part)."""
    inner = entity if entity is not None else _text_entity()
    der = signed_data(
        inner,
        [Signer(_cert(signer), _key(signer), signing_time=SIGNING_TIME)],
        detached=True,
        certificates=[_cert(signer), _cert(_issuer(signer))],
    )
    boundary = f"sig-{uuid.uuid4().hex[:16]}"
    head = _headers(from_, subject, message_id, extra_headers or [])
    head += (
        f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        f'micalg=sha-256; boundary="{boundary}"\r\n\r\n'
    )
    body = (
        b"This is an S/MIME signed message\r\n\r\n"
        + f"--{boundary}\r\n".encode()
        + inner
        + f"\r\n--{boundary}\r\n".encode()
        + b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
        + b"Content-Transfer-Encoding: base64\r\n"
        + b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
        + _b64(der).encode()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return head.encode() + body


def tampered_message(**kwargs) -> bytes:
    """A signed message whose signed text was changed after signing (one digit)."""
    original = _text_entity()
    changed = _text_entity(LETTER.replace("123/", "124/"))
    return signed_message(**kwargs).replace(original, changed, 1)


def unsigned_message(*, message_id: str | None = None, extra_headers=None) -> bytes:
    head = _headers(AN, "Thong bao (khong ky)", message_id, extra_headers or [])
    return head.encode() + _text_entity()


def forwarded_message(inner: bytes, *, message_id: str | None = None) -> bytes:
    """An unsigned message from a clerk forwarding ``inner`` as message/rfc822."""
    boundary = f"fwd-{uuid.uuid4().hex[:16]}"
    head = _headers("Van thu <vanthu@stp.kontum.gov.vn>", "Fwd: Quyet dinh so 123", message_id, [])
    head += f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
    body = (
        f"--{boundary}\r\n".encode()
        + _text_entity("Chuyển tiếp thư của Sở Thông tin và Truyền thông.\r\n")
        + f"\r\n--{boundary}\r\n".encode()
        + b'Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"'
        + b"\r\n\r\n"
        + inner
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return head.encode() + body


def vector_message(name: str) -> bytes | None:
    """``vectors/smime/<name>.eml`` when the S/MIME vectors have it (None otherwise)."""
    manifest = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["vectors"]:
        if entry.get("kind") == "eml" and entry["path"] == f"smime/{name}.eml":
            path = VECTORS / entry["path"]
            return path.read_bytes() if path.is_file() else None
    return None


def with_message_id(message: bytes, message_id: str, *, extra_headers=()) -> bytes:
    """The message with its (outer, unsigned) Message-ID replaced and ``extra_headers``
    (``"Name: value"`` lines) added on top."""
    eol = b"\r\n" if b"\r\n" in message[:2000] else b"\n"
    head, sep, body = message.partition(eol + eol)
    lines = [line for line in head.split(eol) if not line.lower().startswith(b"message-id:")]
    top = [b"Message-ID: " + message_id.encode(), *(h.encode() for h in extra_headers)]
    return eol.join(top + lines) + sep + body


# The S/MIME vectors that stand for each kind of message the mail-filter tests send, and the
# builders used when the vectors are not there.
VECTOR_FOR = {
    "official": ("person-official", signed_message),
    "tampered": ("tampered-body", tampered_message),
    "spoofed": (
        "from-mismatch",
        lambda: signed_message(from_="Giam doc So <giamdoc@stttt.tphcm.gov.vn>"),
    ),
    "unsigned": ("unsigned", unsigned_message),
    "forwarded": ("forwarded-in-unsigned", lambda: forwarded_message(signed_message())),
}


def message_of_kind(kind: str) -> bytes:
    """The S/MIME vector for ``kind`` when present, else a message built here."""
    name, build = VECTOR_FOR[kind]
    vector = vector_message(name)
    return vector if vector is not None else build()


def split_message(message: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Header fields (unfolded as an MTA hands them to a milter) and the body."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields: list[list[str]] = []
    for line in head.decode("utf-8").split("\r\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        else:
            name, _, value = line.partition(":")
            fields.append([name, value.lstrip(" ")])
    return [(n, v) for n, v in fields], body


# -- the MTA side ----------------------------------------------------------------------------


@dataclass
class MilterReply:
    """Everything the milter answered at end of message."""

    final: tuple[str, dict]
    changes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def action(self) -> str:
        code = self.final[0]
        return {"a": "accept", "c": "accept", "r": "reject", "t": "tempfail"}.get(
            code, "reply" if code == "y" else code
        )

    def golden(self) -> list[str]:
        """A stable text form of the replies, for the golden files."""
        out = []
        for code, args in [*self.changes, self.final]:
            if code == mc.SMFIR_INSHEADER:
                out.append(f"insheader {args['index']} {args['name']}: {args['value']}")
            elif code == mc.SMFIR_CHGHEADER:
                value = args["value"] or "(delete)"
                out.append(f"chgheader {args['index']} {args['name']}: {value}")
            elif code == mc.SMFIR_ADDHEADER:
                out.append(f"addheader {args['name']}: {args['value']}")
            elif code == mc.SMFIR_QUARANTINE:
                out.append(f"quarantine {args['reason']}")
            elif code == mc.SMFIR_REPLYCODE:
                out.append(f"replycode {args['smtpcode']} {args['text']}")
            else:
                out.append({"a": "accept", "c": "continue", "t": "tempfail", "r": "reject"}[code])
        return out


class MtaClient:
    """Plays Postfix: negotiates, then sends each message the way smtpd does.

    Honours the no-reply steps the milter asks for (a step without a reply is sent without
    waiting), which is what makes one message one round trip.
    """

    def __init__(self, address, *, actions=mc.SMFI_V6_ACTS, protocol=mc.SMFI_V6_PROT):
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(address)
        self.buf = b""
        self.sock.sendall(codec.encode_optneg(actions, protocol))
        cmd, args = self._recv()
        assert cmd == mc.SMFIC_OPTNEG, cmd
        self.actions, self.protocol = args["actions"], args["protocol"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(codec.encode_msg(mc.SMFIC_QUIT))
        self.sock.close()

    def __enter__(self) -> MtaClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _recv(self) -> tuple[str, dict]:
        while True:
            try:
                cmd, args, self.buf = codec.decode_msg(self.buf)
            except codec.MilterIncomplete:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("milter closed the connection") from None
                self.buf += data
                continue
            if cmd != mc.SMFIR_PROGRESS:
                return cmd, args

    def _step(self, cmd: str, no_reply_bit: int, **args) -> None:
        self.sock.sendall(codec.encode_msg(cmd, **args))
        if not self.protocol & no_reply_bit:
            reply = self._recv()
            assert reply[0] == mc.SMFIR_CONTINUE, reply

    def send_message(
        self,
        message: bytes,
        *,
        sender: str = "<sender@stttt.tphcm.gov.vn>",
        recipients: tuple[str, ...] = ("<vanthu@stp.kontum.gov.vn>",),
        queue_id: str = "TESTQ1",
        chunk: int = mc.MILTER_CHUNK_SIZE,
    ) -> MilterReply:
        headers, body = split_message(message)
        send = self.sock.sendall
        send(codec.encode_msg(mc.SMFIC_MACRO, cmdcode=mc.SMFIC_MAIL, nameval=["i", queue_id]))
        self._step(mc.SMFIC_MAIL, mc.SMFIP_NR_MAIL, args=[sender])
        for rcpt in recipients:
            self._step(mc.SMFIC_RCPT, mc.SMFIP_NR_RCPT, args=[rcpt])
        for name, value in headers:
            self._step(mc.SMFIC_HEADER, mc.SMFIP_NR_HDR, name=name, value=value)
        self._step(mc.SMFIC_EOH, mc.SMFIP_NR_EOH)
        text = body.decode("utf-8")
        for start in range(0, len(text), chunk):
            self._step(mc.SMFIC_BODY, mc.SMFIP_NR_BODY, buf=text[start : start + chunk])
        send(codec.encode_msg(mc.SMFIC_MACRO, cmdcode=mc.SMFIC_BODYEOB, nameval=["i", queue_id]))
        send(codec.encode_msg(mc.SMFIC_BODYEOB))
        changes = []
        while True:
            cmd, args = self._recv()
            if cmd in (
                mc.SMFIR_ACCEPT,
                mc.SMFIR_CONTINUE,
                mc.SMFIR_REJECT,
                mc.SMFIR_TEMPFAIL,
                mc.SMFIR_REPLYCODE,
                mc.SMFIR_DISCARD,
            ):
                return MilterReply((cmd, args), changes)
            changes.append((cmd, args))


# -- a real milter server in this process --------------------------------------------------------

AUTHSERV = "mx.sigmail.test"
CERTS = VECTORS / "pki" / "certs"


def base_config(directory: str, **changes):
    """The test milter's configuration: the test PKI's anchors, the vectors' time."""
    from sigmail.milter.config import MilterConfig

    config = MilterConfig(
        socket=f"unix:{directory}/milter.sock",
        authserv_id=AUTHSERV,
        trust_official=(str(CERTS / "root-official.pem"),),
        trust_public=(str(CERTS / "root-national.pem"),),
        at=AT,
        fetch_allow=("127.0.0.1/32",),  # the test PKI's responder
        workers=2,
        processes=0,  # in this process (tests patch Runtime.verify): test_milter_processes
        log_level="info",
    )
    return config.with_(**changes)


class Running:
    """A MilterServer serving on a thread, on a unix socket in ``directory``."""

    def __init__(self, server, thread: threading.Thread, directory: str):
        self.server = server
        self.thread = thread
        self.directory = directory
        self.path = f"{directory}/milter.sock"

    def client(self, **kwargs) -> MtaClient:
        return MtaClient(self.path, **kwargs)

    def stop(self) -> None:
        self.server.request_stop()
        self.thread.join(20)
        assert not self.thread.is_alive()


class MilterStarter:
    """``with MilterStarter() as start: start(**config changes)`` → Running; all stopped
    and their directories removed at the end (the test modules' ``milter`` fixture)."""

    def __init__(self) -> None:
        self.started: list[Running] = []

    def __call__(self, load=None, directory=None, **changes) -> Running:
        from sigmail.milter.daemon import MilterServer
        from sigmail.milter.runtime import Runtime

        directory = directory or tempfile.mkdtemp(prefix="sm-")  # unix paths must stay short
        config = base_config(directory, **changes)
        server = MilterServer(load or (lambda: Runtime.load(config)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running = Running(server, thread, directory)
        self.started.append(running)
        return running

    def __enter__(self) -> MilterStarter:
        return self

    def __exit__(self, *exc) -> None:
        for running in self.started:
            if running.thread.is_alive():
                running.stop()
            shutil.rmtree(running.directory, ignore_errors=True)


class DaemonProcess:
    """``sigmail milter`` as its own process (optionally under a lower RLIMIT_NOFILE), with
    its log in a file and its memory read from /proc."""

    def __init__(self, directory: str, milter_settings: str = "", *, nofile: int | None = None):
        import subprocess
        import sys

        self.directory = directory
        self.path = f"{directory}/milter.sock"
        self.config = Path(directory) / "milter.toml"
        self.config.write_text(
            f'[milter]\nsocket = "unix:{self.path}"\nauthserv_id = "{AUTHSERV}"\n'
            f"{milter_settings}\n"
            f"[verify]\nat = 2026-06-01T00:00:00Z\n"
            f'[trust]\nofficial = ["{CERTS / "root-official.pem"}"]\n'
        )
        self.log = Path(directory) / "log"

        def limit():
            import resource

            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sigmail", "milter", "--config", str(self.config)],
                stderr=err,
                cwd=VECTORS.parent,
                preexec_fn=limit,
            )
        self.wait_for("listening")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        import time

        deadline = time.monotonic() + timeout
        while text not in self.log.read_text():
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"no {text!r} in: {self.log.read_text()[-3000:]}"
            time.sleep(0.05)

    def status(self, field: str) -> int:
        """A /proc/PID/status figure in kB (VmRSS, VmHWM) or a count (Threads)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def fds(self) -> int:
        return len(list(Path(f"/proc/{self.proc.pid}/fd").iterdir()))

    def stop(self) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
