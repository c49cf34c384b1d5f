"""One received message → one core call → headers to add and remove, and an action.

This is the milter's one boundary between mail and the verifier, and the fail-safe lives
here: an internal error, a message over the time budget or over the size limit is never
lost and never passed as verified. It gets ``smime=temperror`` and ``X-Sigmail-Verdict:
indeterminate`` and the configured ``on_failure`` action (accept, or tempfail so the sender's
MTA retries). Forged headers are removed in every case.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sigmail.milter.actions import Decision, Disposition, resolve
from sigmail.milter.headers import (
    AddedHeader,
    failsafe_headers,
    forged_headers,
    smime_result,
    tagged_subject,
)
from sigmail.milter.notice import NoticeRewrite, notice_rewrite
from sigmail.milter.outcome import Outcome
from sigmail.milter.runtime import Runtime
from sigmail.milter.spool import Spool
from sigmail.verdict.model import Verdict

__all__ = ["Judgement", "ReceivedMessage", "judge"]

log = logging.getLogger("sigmail.milter")

PROGRESS_SECONDS = 5.0  # how often to tell the MTA we are still working


# The header fields the filter itself reads (forgeries to remove, the log line, the Subject
# tag); every field goes to the spool, only these are also kept aside, each cut at
# MAX_KEPT_VALUE bytes.
KEPT_FIELDS = (b"authentication-results", b"message-id", b"subject", b"mime-version")
MAX_KEPT_VALUE = 64 * 1024


@dataclass
class ReceivedMessage:
    """A message as the MTA handed it over: envelope, the fields the filter reads, and the
    whole message (header fields as they arrive, then the body) in the spool, which alone
    holds its bytes and counts them against ``max_message_bytes``."""

    spool: Spool
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # KEPT_FIELDS, X-Sigmail-*
    macros: dict[str, bytes] = field(default_factory=dict)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    max_header_fields: int = 10_000
    authserv_id: str = ""
    header_count: int = 0
    subject_fields: int = 0  # Subject fields received (kept or, over MAX_KEPT_VALUE, not)
    dropped_fields: int = 0  # fields the filter reads that were too long to keep
    body_start: int | None = None  # where the body starts in the spool (set at EOH)

    @property
    def too_many_headers(self) -> bool:
        return self.header_count > self.max_header_fields

    def add_header(self, name: bytes, value: bytes) -> None:
        """One header field from the MTA (an unfolded value with bare ``\n`` folds)."""
        self.header_count += 1
        if self.too_many_headers:
            return  # nothing more is kept: the message is not verified
        value = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.spool.write(name + b": " + value + b"\r\n")
        key = name.lower()
        if key == b"subject":
            self.subject_fields += 1
        if key in KEPT_FIELDS or key.startswith((b"x-sigmail-", b"content-")):
            if len(value) > MAX_KEPT_VALUE:
                if key != b"authentication-results":
                    self.dropped_fields += 1
                    return
                # No honest server writes 64 KiB of results; whoever it names, it goes.
                value = self.authserv_id.encode()
            self.headers.append((name, value))

    @property
    def queue_id(self) -> str | None:
        value = self.macros.get("i")
        return value.decode("ascii", "replace") if value else None

    def end_of_header(self) -> None:
        self.spool.write(b"\r\n")
        self.body_start = self.spool.size

    def content_fields(self) -> list[tuple[bytes, bytes]]:
        """The top-level Content-* and MIME-Version fields, in order, as received."""
        return [
            (name, value)
            for name, value in self.headers
            if name.lower().startswith(b"content-") or name.lower() == b"mime-version"
        ]

    def raw_header(self, name: bytes) -> bytes | None:
        """The first kept header field called ``name`` (lower case), as received."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header(self, name: str) -> str | None:
        """The first header field called ``name``, as text (for the log)."""
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("utf-8", "replace").strip()
        return None


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the filter decided, with what the log line and the tests need."""

    verdict: str
    smime: str
    reasons: tuple[str, ...]
    add: tuple[AddedHeader, ...]
    remove: tuple[tuple[str, int], ...]  # (header name, index among that name from 1)
    decision: Decision
    signer: str | None = None
    message_id: str | None = None
    documents: int = 0
    failure: str | None = None  # internal_error, time_budget, oversize, limit_exceeded
    result: Verdict | None = None
    subject: bytes | None = None  # the tagged Subject to set (None: leave the Subject)
    replace_subject: bool = False  # change the first Subject field (else add one)
    notice: NoticeRewrite | None = None  # the leading notice part, for unsigned messages


def judge(
    message: ReceivedMessage,
    runtime: Runtime,
    executor: Executor,
    *,
    progress: Callable[[], None] | None = None,
) -> Judgement:
    config = runtime.config
    remove: tuple[tuple[str, int], ...] = ()
    try:
        remove = tuple(forged_headers(message.headers, config.authserv_id))
        if message.too_many_headers:
            return _failsafe(
                message,
                runtime,
                remove,
                "limit_exceeded",
                f"more than {message.max_header_fields} header fields",
            )
        if message.spool.oversize:
            return _failsafe(
                message,
                runtime,
                remove,
                "oversize",
                f"message over {config.max_message_bytes} bytes",
            )
        # The message is read whole only inside a worker slot: at most ``workers`` messages
        # are in memory at once, however many connections are waiting for a verdict.
        future = executor.submit(_verify_spooled, runtime, message.spool, message.received_at)
        deadline = time.monotonic() + config.time_budget
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                future.cancel()
                return _failsafe(
                    message,
                    runtime,
                    remove,
                    "time_budget",
                    f"time budget {config.time_budget:g} s",
                )
            try:
                outcome = future.result(timeout=min(left, PROGRESS_SECONDS))
                break
            except FutureTimeout:
                if progress is not None:
                    progress()
        decision = resolve(config.actions, outcome.verdict, message.recipients)
        return Judgement(
            **_subject_tag(message, config, outcome.verdict),
            notice=_notice(message, config, outcome),
            verdict=outcome.verdict,
            smime=smime_result(outcome.verdict, outcome.reasons),
            reasons=outcome.reasons,
            add=outcome.add,
            remove=remove,
            decision=decision,
            signer=outcome.signer,
            message_id=outcome.message_id,
            documents=outcome.documents,
            result=outcome.result,
        )
    except Exception:
        log.exception("internal error on message %s", message.queue_id or "?")
        return _failsafe(message, runtime, remove, "internal_error", None)


def _subject_tag(message: ReceivedMessage, config, verdict: str) -> dict:
    """The Judgement fields that put the verdict's tag in front of the Subject."""
    if message.subject_fields > 1 or (
        message.subject_fields and not message.raw_header(b"subject")
    ):
        return {}  # several Subjects, or one too long to keep: which one a reader shows is moot
    subject = tagged_subject(message.raw_header(b"subject"), config.subject_tags.get(verdict, ""))
    if subject is None:
        return {}
    return {"subject": subject, "replace_subject": message.subject_fields == 1}


def _notice(message: ReceivedMessage, config, outcome: Outcome) -> NoticeRewrite | None:
    """The notice part, only for a message with no signature anywhere in it."""
    if (
        not config.unsigned_notice
        or outcome.verdict != "unsigned"
        or outcome.signed
        or message.dropped_fields
        or message.body_start is None
        or message.spool.oversize
    ):
        return None
    body = message.spool.read_from(message.body_start)
    return notice_rewrite(config.unsigned_notice, message.content_fields(), body)


def _verify_spooled(runtime: Runtime, spool: Spool, received_at: datetime) -> Outcome:
    return runtime.outcome(spool.read(), received_at=received_at)


def _failsafe(
    message: ReceivedMessage,
    runtime: Runtime,
    remove: tuple[tuple[str, int], ...],
    failure: str,
    detail: str | None,
) -> Judgement:
    config = runtime.config
    reason = "internal_error" if failure == "internal_error" else "limit_exceeded"
    added = failsafe_headers(reason, config.authserv_id, detail)
    if config.on_failure is Disposition.TEMPFAIL:
        decision = Decision(Disposition.TEMPFAIL, reply=config.actions.default.tempfail_reply)
    else:
        decision = Decision(Disposition.ACCEPT)
    return Judgement(
        **_subject_tag(message, config, "indeterminate"),
        verdict="indeterminate",
        smime="temperror",
        reasons=(reason,),
        add=added,
        remove=remove,
        decision=decision,
        failure=failure,
        message_id=message.header("Message-ID"),
    )
