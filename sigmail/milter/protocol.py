"""The milter wire protocol, version 6 (Sendmail's libmilter, as Postfix speaks it).

Only the wire format lives here: packets, the command and reply codes, option negotiation
and the encoding of each reply. What a conversation *means* (one message, its headers and
body, the decision at end of message) is :mod:`sigmail.milter.session`.

A packet is ``uint32 length`` (network order, counting the command byte), one command byte,
then ``length - 1`` bytes of data. Strings are NUL-terminated; header names and values, body
chunks and macro values are passed through as bytes, never decoded here.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from enum import IntFlag

from sigmail.errors import InputSignal

__all__ = [
    "MAX_PACKET",
    "VERSION",
    "Action",
    "Cmd",
    "Negotiated",
    "PacketReader",
    "ProtocolError",
    "ReadTimeout",
    "Reply",
    "Step",
    "encode",
    "negotiate",
    "parse_connect",
    "parse_header",
    "parse_macros",
    "parse_optneg",
    "parse_strings",
    "reply_add_header",
    "reply_change_header",
    "reply_code",
    "reply_insert_header",
    "reply_optneg",
    "reply_quarantine",
    "reply_replace_body",
]

VERSION = 6
# libmilter's largest data size is 1 MiB (SMFIP_MDS_1M); Postfix sends body chunks of at most
# 64 KiB. Anything larger is a broken or hostile peer, not a message.
MAX_PACKET = 1024 * 1024 + 64


class ProtocolError(InputSignal):
    """The peer broke the protocol; the only safe answer is to close the connection."""


class Cmd:
    """Commands from the MTA (one byte each)."""

    ABORT = b"A"
    BODY = b"B"
    CONNECT = b"C"
    MACRO = b"D"
    BODYEOB = b"E"
    HELO = b"H"
    QUIT_NC = b"K"
    HEADER = b"L"
    MAIL = b"M"
    EOH = b"N"
    OPTNEG = b"O"
    QUIT = b"Q"
    RCPT = b"R"
    DATA = b"T"
    UNKNOWN = b"U"


class Reply:
    """Replies to the MTA (one byte each)."""

    ADDRCPT = b"+"
    REPLBODY = b"b"
    DELRCPT = b"-"
    ACCEPT = b"a"
    CONTINUE = b"c"
    DISCARD = b"d"
    ADDHEADER = b"h"
    INSHEADER = b"i"
    CHGHEADER = b"m"
    PROGRESS = b"p"
    QUARANTINE = b"q"
    REJECT = b"r"
    TEMPFAIL = b"t"
    REPLYCODE = b"y"
    OPTNEG = b"O"


class Action(IntFlag):
    """What a filter may do to a message (SMFIF_*), offered by the MTA, chosen by us."""

    ADDHDRS = 0x0001
    CHGBODY = 0x0002
    ADDRCPT = 0x0004
    DELRCPT = 0x0008
    CHGHDRS = 0x0010
    QUARANTINE = 0x0020
    CHGFROM = 0x0040
    ADDRCPT_PAR = 0x0080
    SETSYMLIST = 0x0100


class Step(IntFlag):
    """Protocol steps the MTA may leave out or not wait a reply for (SMFIP_*)."""

    NOCONNECT = 0x00000001
    NOHELO = 0x00000002
    NOMAIL = 0x00000004
    NORCPT = 0x00000008
    NOBODY = 0x00000010
    NOHDRS = 0x00000020
    NOEOH = 0x00000040
    NR_HDR = 0x00000080
    NOUNKNOWN = 0x00000100
    NODATA = 0x00000200
    SKIP = 0x00000400
    RCPT_REJ = 0x00000800
    NR_CONN = 0x00001000
    NR_HELO = 0x00002000
    NR_MAIL = 0x00004000
    NR_RCPT = 0x00008000
    NR_DATA = 0x00010000
    NR_UNKN = 0x00020000
    NR_EOH = 0x00040000
    NR_BODY = 0x00080000
    HDR_LEADSPC = 0x00100000


# What sigmail asks for: header changes (add, insert, delete its own forged headers) and the
# hold queue; the body only when a notice part is configured (``negotiate(extra_actions=)``).
# It never changes the envelope or the recipients.
WANTED_ACTIONS = Action.ADDHDRS | Action.CHGHDRS | Action.QUARANTINE

# Steps sigmail does not need (connection, HELO, DATA, unknown commands) and steps it never
# answers with anything but "continue" (so the MTA need not wait: one round trip per message
# instead of one per header). Each is requested only if the MTA offers it.
WANTED_STEPS = (
    Step.NOCONNECT
    | Step.NOHELO
    | Step.NODATA
    | Step.NOUNKNOWN
    | Step.NR_MAIL
    | Step.NR_RCPT
    | Step.NR_HDR
    | Step.NR_EOH
    | Step.NR_BODY
)

# A command whose reply the MTA waits for unless the matching NR_ step was negotiated.
NO_REPLY_STEP = {
    Cmd.CONNECT: Step.NR_CONN,
    Cmd.HELO: Step.NR_HELO,
    Cmd.MAIL: Step.NR_MAIL,
    Cmd.RCPT: Step.NR_RCPT,
    Cmd.DATA: Step.NR_DATA,
    Cmd.UNKNOWN: Step.NR_UNKN,
    Cmd.HEADER: Step.NR_HDR,
    Cmd.EOH: Step.NR_EOH,
    Cmd.BODY: Step.NR_BODY,
}


@dataclass(frozen=True, slots=True)
class Negotiated:
    """The outcome of option negotiation: what both sides agreed to."""

    version: int
    actions: Action
    steps: Step

    def replies_to(self, cmd: bytes) -> bool:
        """Does the MTA wait for a reply to ``cmd``?"""
        step = NO_REPLY_STEP.get(cmd)
        return step is None or not (self.steps & step)


# -- encoding ----------------------------------------------------------------------------------


def encode(code: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(data) + 1) + code + data


def _cstr(value: bytes | str) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if b"\0" in raw:
        raise ValueError("a milter string cannot contain NUL")
    return raw + b"\0"


def reply_optneg(negotiated: Negotiated) -> bytes:
    return encode(
        Reply.OPTNEG,
        struct.pack("!III", negotiated.version, int(negotiated.actions), int(negotiated.steps)),
    )


def reply_add_header(name: str, value: str | bytes) -> bytes:
    return encode(Reply.ADDHEADER, _cstr(name) + _cstr(value))


def reply_insert_header(index: int, name: str, value: str) -> bytes:
    return encode(Reply.INSHEADER, struct.pack("!I", index) + _cstr(name) + _cstr(value))


def reply_change_header(index: int, name: str | bytes, value: str | bytes) -> bytes:
    """Change the ``index``-th (from 1) header called ``name``; an empty value deletes it."""
    return encode(Reply.CHGHEADER, struct.pack("!I", index) + _cstr(name) + _cstr(value))


def reply_replace_body(body: bytes, chunk: int = 65535) -> bytes:
    """SMFIR_REPLBODY packets carrying the new body, in chunks the MTA accepts."""
    return b"".join(
        encode(Reply.REPLBODY, body[i : i + chunk]) for i in range(0, len(body), chunk)
    ) or encode(Reply.REPLBODY, b"")


def reply_quarantine(reason: str) -> bytes:
    return encode(Reply.QUARANTINE, _cstr(reason))


def reply_code(text: str) -> bytes:
    """A full SMTP reply, e.g. ``550 5.7.1 Signature invalid`` (SMFIR_REPLYCODE)."""
    return encode(Reply.REPLYCODE, _cstr(text))


# -- decoding ----------------------------------------------------------------------------------


def parse_optneg(data: bytes) -> tuple[int, Action, Step]:
    if len(data) < 12:
        raise ProtocolError(f"option negotiation of {len(data)} bytes (at least 12 expected)")
    version, actions, steps = struct.unpack("!III", data[:12])
    return version, Action(actions & 0x1FF), Step(steps & 0x1FFFFF)


def negotiate(data: bytes, *, extra_actions: Action | None = None) -> Negotiated:
    """Our answer to the MTA's SMFIC_OPTNEG: what we want of what it offers (and
    ``extra_actions``, such as CHGBODY when a notice part is configured)."""
    version, offered_actions, offered_steps = parse_optneg(data)
    if version < 2:
        raise ProtocolError(f"milter protocol version {version} is too old (2 or later needed)")
    missing = (Action.ADDHDRS | Action.CHGHDRS) & ~offered_actions
    if missing:
        raise ProtocolError(f"the MTA does not allow {missing!r}; headers cannot be added")
    return Negotiated(
        version=min(version, VERSION),
        actions=(WANTED_ACTIONS | (extra_actions or Action(0))) & offered_actions,
        steps=WANTED_STEPS & offered_steps,
    )


def parse_strings(data: bytes) -> list[bytes]:
    """A sequence of NUL-terminated strings (MAIL and RCPT arguments, macro pairs)."""
    if not data:
        return []
    if not data.endswith(b"\0"):
        raise ProtocolError("string list not NUL-terminated")
    return data[:-1].split(b"\0")


def parse_header(data: bytes) -> tuple[bytes, bytes]:
    parts = parse_strings(data)
    if len(parts) != 2:
        raise ProtocolError(f"header packet with {len(parts)} strings (2 expected)")
    return parts[0], parts[1]


def parse_macros(data: bytes) -> tuple[bytes, dict[str, bytes]]:
    """SMFIC_MACRO: the command the macros belong to, then name/value pairs."""
    if not data:
        raise ProtocolError("empty macro packet")
    stage, rest = data[:1], data[1:]
    items = parse_strings(rest)
    if len(items) % 2:
        items = items[:-1]  # libmilter ignores a name without a value; so do we
    macros = {}
    for name, value in zip(items[::2], items[1::2], strict=True):
        key = name.decode("ascii", "replace").strip("{}")
        macros[key] = value
    return stage, macros


def parse_connect(data: bytes) -> tuple[bytes, str, int | None, bytes | None]:
    """SMFIC_CONNECT: host name, family (U, L, 4, 6), then port and address unless unknown."""
    host, sep, rest = data.partition(b"\0")
    if not sep or not rest:
        raise ProtocolError("malformed connect packet")
    family = chr(rest[0])
    if family == "U" or len(rest) < 3:
        return host, family, None, None
    (port,) = struct.unpack("!H", rest[1:3])
    address = rest[3:].rstrip(b"\0")
    return host, family, port, address


# -- reading -----------------------------------------------------------------------------------


class ReadTimeout(ProtocolError):
    """The peer sent nothing for ``idle_timeout``, or stalled inside a packet."""


class PacketReader:
    """Reads whole packets from a stream socket (buffered; one packet per call).

    Two clocks: waiting for a packet to *start* may take ``idle_timeout``; once its first
    byte is in, the rest must arrive within ``read_timeout`` in total, however it trickles
    (a peer sending a byte every few seconds is stopped by the second, not the first).
    ``activity`` is the monotonic time of the last bytes received.
    """

    __slots__ = ("_buffer", "_sock", "_started", "activity", "idle_timeout", "read_timeout")

    def __init__(
        self,
        sock: socket.socket,
        *,
        idle_timeout: float | None = None,
        read_timeout: float | None = None,
    ) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._started: float | None = None  # when the packet being read began to arrive
        self.idle_timeout = idle_timeout
        self.read_timeout = read_timeout
        self.activity = time.monotonic()

    def _fill(self, want: int) -> bool:
        while len(self._buffer) < want:
            if not self._buffer:
                self._sock.settimeout(self.idle_timeout)
            elif self.read_timeout is not None:
                if self._started is None:
                    self._started = time.monotonic()
                left = self._started + self.read_timeout - time.monotonic()
                if left <= 0:
                    raise ReadTimeout(f"a packet took more than {self.read_timeout:g} s")
                self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(max(65536, want - len(self._buffer)))
            except TimeoutError:
                if not self._buffer:
                    raise ReadTimeout(f"idle for {self.idle_timeout:g} s") from None
                raise ReadTimeout(f"a packet took more than {self.read_timeout:g} s") from None
            if not chunk:
                return False
            self.activity = time.monotonic()
            if not self._buffer:
                self._started = self.activity
            self._buffer += chunk
        return True

    def read(self) -> tuple[bytes, bytes] | None:
        """The next ``(command, data)``, or None at a clean end of stream."""
        self._started = time.monotonic() if self._buffer else None
        if not self._fill(4):
            if self._buffer:
                raise ProtocolError("connection closed inside a packet header")
            return None
        (length,) = struct.unpack_from("!I", self._buffer)
        if length == 0 or length > MAX_PACKET:
            raise ProtocolError(f"packet length {length} out of range")
        if not self._fill(4 + length):
            raise ProtocolError("connection closed inside a packet")
        code = bytes(self._buffer[4:5])
        data = bytes(self._buffer[5 : 4 + length])
        del self._buffer[: 4 + length]
        return code, data
