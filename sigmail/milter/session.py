"""One MTA connection: milter commands in, one message at a time, replies out.

The conversation (libmilter's order, as Postfix and Sendmail drive it)::

    OPTNEG → [MACRO] MAIL → [MACRO] RCPT… → HEADER… → EOH → BODY… → [MACRO] EOM
           → header changes, quarantine, then accept / reject / tempfail
    (ABORT resets the message; QUIT ends the connection; QUIT_NC starts a new one)

Replies go only where the MTA waits for one (the no-reply steps negotiated in
:mod:`.protocol`). The message is spooled as it arrives, header fields included
(:mod:`.spool`), and handed to :func:`.filter.judge` at end of message. A protocol error
closes the connection: the MTA then applies its ``milter_default_action`` (tempfail in our
deployment), which costs a retry, never a message.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor

from sigmail.milter import protocol as p
from sigmail.milter.actions import Disposition
from sigmail.milter.filter import Judgement, ReceivedMessage, judge
from sigmail.milter.runtime import Runtime
from sigmail.milter.spool import Spool

__all__ = ["Session"]

log = logging.getLogger("sigmail.milter")

_CONTINUE = p.encode(p.Reply.CONTINUE)


class Session:
    """Speaks the milter protocol on one connected socket until the MTA quits."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        runtime: Callable[[], Runtime],
        executor: Executor,
        peer: str = "?",
    ) -> None:
        self.sock = sock
        self._runtime = runtime
        self._executor = executor
        self.peer = peer
        self.negotiated: p.Negotiated | None = None
        self.macros: dict[bytes, dict[str, bytes]] = {}
        self.message: ReceivedMessage | None = None
        self.message_runtime: Runtime | None = None
        self.busy = False  # a message is between MAIL and the reply to its end
        self.closing = False  # shutting down: end after the message in progress
        self.lock = threading.Lock()
        self.messages = 0
        self.evicted = False  # closed by the server to make room for a new connection
        self.reader: p.PacketReader | None = None
        self._send_timeout: float | None = None

    # -- driving -------------------------------------------------------------------------------

    @property
    def activity(self) -> float:
        """The monotonic time this connection last received bytes."""
        return self.reader.activity if self.reader is not None else 0.0

    def run(self) -> None:
        config = self._runtime().config
        self.reader = reader = p.PacketReader(
            self.sock, idle_timeout=config.idle_timeout, read_timeout=config.read_timeout
        )
        self._send_timeout = config.read_timeout
        try:
            while True:
                packet = reader.read()
                if packet is None:
                    return
                if not self.handle(*packet):
                    return
        except p.ReadTimeout as exc:
            log.info("connection from %s: %s; closing", self.peer, exc)
        except p.ProtocolError as exc:
            log.warning("milter protocol error from %s: %s; closing", self.peer, exc)
        except OSError as exc:
            if not (self.closing or self.evicted):
                log.info("connection from %s lost: %s", self.peer, exc)
        finally:
            self._log_unfinished()
            self._drop_message()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _log_unfinished(self) -> None:
        """A message the connection ended inside (the MTA gave up or died): one line."""
        message = self.message
        if message is None:
            return
        for stage in (b"M", b"R", b"N", b"E"):
            message.macros.update(self.macros.get(stage, {}))
        why = "closed to make room" if self.evicted else "connection ended"
        if self.closing:
            why = "stopping"
        log.info(
            "queue_id=%s aborted: %s before the end of the message (size=%d, %d header fields)",
            message.queue_id or "-",
            why,
            message.spool.size,
            message.header_count,
        )

    def send(self, data: bytes) -> None:
        # The MTA must read our replies as promptly as it writes its commands.
        self.sock.settimeout(self._send_timeout)
        self.sock.sendall(data)

    def _ack(self, cmd: bytes) -> None:
        if self.negotiated is None or self.negotiated.replies_to(cmd):
            self.send(_CONTINUE)

    def handle(self, cmd: bytes, data: bytes) -> bool:
        """One command; False ends the connection."""
        if cmd == p.Cmd.OPTNEG:
            # Body changes are asked for only when a notice part may be written.
            wants_body = bool(self._runtime().config.unsigned_notice)
            self.negotiated = p.negotiate(
                data, extra_actions=p.Action.CHGBODY if wants_body else None
            )
            self.send(p.reply_optneg(self.negotiated))
        elif cmd == p.Cmd.MACRO:
            stage, values = p.parse_macros(data)
            self.macros[stage] = values
        elif cmd == p.Cmd.MAIL:
            message = self._new_message()
            args = p.parse_strings(data)
            message.sender = args[0].decode("utf-8", "replace") if args else None
            self._ack(cmd)
        elif cmd == p.Cmd.RCPT:
            args = p.parse_strings(data)
            if args:
                self._current().recipients.append(args[0].decode("utf-8", "replace"))
            self._ack(cmd)
        elif cmd == p.Cmd.HEADER:
            name, value = p.parse_header(data)
            self._current().add_header(name, value)
            self._ack(cmd)
        elif cmd == p.Cmd.EOH:
            self._current().end_of_header()
            self._ack(cmd)
        elif cmd == p.Cmd.BODY:
            self._current().spool.write(data)
            self._ack(cmd)
        elif cmd == p.Cmd.BODYEOB:
            message = self._current()
            if data:
                message.spool.write(data)
            self._end_of_message(message)
            return not self.closing
        elif cmd == p.Cmd.ABORT:
            if self.message is not None and self.message.header_count:
                log.info("queue_id=%s aborted by the MTA", self.message.queue_id or "-")
            self._drop_message()
        elif cmd == p.Cmd.QUIT:
            return False
        elif cmd == p.Cmd.QUIT_NC:
            self._drop_message()
            self.macros.clear()
        elif cmd in (p.Cmd.CONNECT, p.Cmd.HELO, p.Cmd.DATA, p.Cmd.UNKNOWN):
            self._ack(cmd)
        else:
            raise p.ProtocolError(f"unknown command {cmd!r}")
        return True

    # -- one message ---------------------------------------------------------------------------

    def _new_message(self) -> ReceivedMessage:
        self._drop_message()
        runtime = self._runtime()
        config = runtime.config
        with self.lock:
            self.busy = True
        self.message_runtime = runtime
        self.message = message = ReceivedMessage(
            spool=Spool(
                memory_bytes=config.spool_memory_bytes,
                max_bytes=config.max_message_bytes,
                directory=config.spool_dir,
            ),
            max_header_fields=config.max_header_fields,
            authserv_id=config.authserv_id,
        )
        return message

    def _current(self) -> ReceivedMessage:
        if self.message is None:  # an MTA told to skip MAIL: the message starts here
            return self._new_message()
        return self.message

    def _drop_message(self) -> None:
        if self.message is not None:
            self.message.spool.close()
        self.message = None
        self.message_runtime = None
        with self.lock:
            self.busy = False

    def _end_of_message(self, message: ReceivedMessage) -> None:
        started = time.monotonic()
        runtime = self.message_runtime or self._runtime()
        for stage in (b"M", b"R", b"N", b"E"):
            message.macros.update(self.macros.get(stage, {}))
        result = judge(
            message,
            runtime,
            self._executor,
            progress=lambda: self.send(p.encode(p.Reply.PROGRESS)),
        )
        self._reply(result)
        self.messages += 1
        _log_line(message, result, size=message.spool.size, seconds=time.monotonic() - started)
        self._drop_message()

    def _reply(self, result: Judgement) -> None:
        out = []
        for name, index in result.remove:
            out.append(p.reply_change_header(index, name, ""))
        # Inserted at the top, in reverse, so that they read in order above the MTA's own
        # Received field: Authentication-Results, then X-Sigmail-Verdict.
        for header in reversed(result.add):
            out.append(p.reply_insert_header(0, header.name, header.folded()))
        notice = result.notice if self._can(p.Action.CHGBODY) else None
        if notice is not None:
            for name, index in notice.remove:
                out.append(p.reply_change_header(index, name, ""))
            for name, value in notice.add:
                out.append(p.reply_add_header(name, value))
            out.append(p.reply_replace_body(notice.body))
        if result.subject is not None:
            if result.replace_subject:
                out.append(p.reply_change_header(1, "Subject", result.subject))
            else:
                out.append(p.reply_add_header("Subject", result.subject))
        decision = result.decision
        if decision.disposition is Disposition.QUARANTINE:
            if self._can(p.Action.QUARANTINE):
                out.append(p.reply_quarantine(decision.quarantine_reason or "sigmail"))
            else:
                log.warning("the MTA does not allow quarantine; message accepted, annotated")
            out.append(p.encode(p.Reply.ACCEPT))
        elif decision.disposition in (Disposition.REJECT, Disposition.TEMPFAIL):
            out.append(p.reply_code(decision.reply or ""))
        else:
            out.append(p.encode(p.Reply.ACCEPT))
        self.send(b"".join(out))

    def _can(self, action: p.Action) -> bool:
        return self.negotiated is None or bool(self.negotiated.actions & action)


def _log_line(message: ReceivedMessage, result: Judgement, *, size: int, seconds: float) -> None:
    """The one line per message: queue id, verdict, signer, action, time taken."""
    decision = result.decision
    action = str(decision.disposition)
    if decision.domain:
        action += f"({decision.domain})"
    log.info(
        "queue_id=%s verdict=%s smime=%s signer=%s action=%s reasons=%s documents=%d "
        "size=%d ms=%.1f message_id=%s%s",
        message.queue_id or "-",
        result.verdict,
        result.smime,
        result.signer or "-",
        action,
        ",".join(result.reasons) or "-",
        result.documents,
        size,
        seconds * 1000,
        result.message_id or "-",
        f" failure={result.failure}" if result.failure else "",
    )
