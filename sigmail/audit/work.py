"""One item → its register rows: the unit of work both engines run, wherever they run it.

:func:`audit_item` reads the item itself (from its path: only descriptions travel between
processes and machines), finds its arrival time, calls the verifier once, reads the document
numbers and dates, and returns plain rows. The :class:`Settings` — trust store, policy,
revocation options, validation time, own MTAs — are loaded once by the front-end (so a bad
configuration fails before any work starts) and shipped to each worker, which keeps one
:class:`~sigmail.Verifier` per settings (its chain cache and CRL/OCSP caches then serve every
item that worker handles).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import mmap
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sigmail.audit.received import arrival, header_fields
from sigmail.audit.rows import ItemFacts, entry_rows
from sigmail.audit.sources import Item, read_item
from sigmail.audit.text import document_fields
from sigmail.contract import CarriedDocument
from sigmail.errors import InternalError
from sigmail.formats.detect import InputKind, detect_kind
from sigmail.limits import Limits
from sigmail.policy.model import Policy
from sigmail.trust.store import TrustStore

__all__ = ["ItemResult", "Settings", "audit_batch", "audit_item", "verifier_for"]

log = logging.getLogger("sigmail.audit")


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs; picklable (it travels to worker processes and Dask)."""

    trust: TrustStore = field(repr=False)
    policy: Policy = field(repr=False)
    at: datetime
    offline: bool = False
    revocation_cache: str | None = None
    timeout: float = 5.0
    fetch_allow: tuple[str, ...] = ()  # networks fetching may reach despite the deny-list
    own_mta: tuple[str, ...] = ()
    strict: bool = False
    limits: Limits | None = None
    token: str = ""  # identifies these settings in a worker's verifier cache


@dataclass(frozen=True, slots=True)
class ItemResult:
    seq: int
    rows: list[dict]
    error: str | None = None  # the item could not be read: nothing is registered
    size: int = 0


_LIMITS = Limits()  # the defaults, made once (a Limits checks every field when made)
_VERIFIERS: dict[str, object] = {}
_LOCK = threading.Lock()


def verifier_for(settings: Settings):
    """This process's Verifier for ``settings`` (made once; Verifier is thread-safe)."""
    with _LOCK:
        verifier = _VERIFIERS.get(settings.token)
        if verifier is None:
            from sigmail.revocation.factory import revocation_source
            from sigmail.verifier import Verifier

            revocation = revocation_source(
                offline=settings.offline,
                cache_dir=settings.revocation_cache,
                timeout=settings.timeout,
                fetch_allow=settings.fetch_allow,
            )
            verifier = Verifier(
                trust=settings.trust,
                policy=settings.policy,
                revocation=revocation,
                limits=settings.limits,
                strict=settings.strict,
            )
            _VERIFIERS.clear()  # one configuration at a time per process
            _VERIFIERS[settings.token] = verifier
        return verifier


def _fields(settings: Settings, data, name, content):
    """Document number and date; a bug here never costs the entry its verdict (unless strict)."""
    try:
        return tuple(
            document_fields(data, name, content=content, limits=settings.limits or _LIMITS)
        )
    except Exception as exc:
        if settings.strict:
            raise InternalError(f"reading the text of {name}: {exc!r}") from exc
        log.exception("cannot read the text of %s", name)
        return (None, None)


def _open(item: Item, limits: Limits):
    """The item's bytes: a read-only mmap for a PDF file (read in place), else bytes — at most
    one byte more than the verifier accepts, so an oversized item costs no more memory than
    the largest acceptable one (the verifier answers ``limit_exceeded``)."""
    if not item.mbox and item.path.lower().endswith(".pdf") and item.size > 0:
        with open(item.path, "rb") as fh:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    return read_item(item, limits.max_input_bytes)


def audit_item(seq: int, item: Item, digest: str, settings: Settings) -> ItemResult:
    """The register rows of one item (run in a worker)."""
    limits = settings.limits or _LIMITS
    try:
        data = _open(item, limits)
        content = None
        if item.content_path is not None:
            with open(item.content_path, "rb") as fh:
                content = fh.read()
    except OSError as exc:
        return ItemResult(seq, [], error=f"{item.path}: {exc.strerror or exc}", size=item.size)
    try:
        return _audit(seq, item, digest, settings, data, content)
    finally:
        if isinstance(data, mmap.mmap):
            _close(data)


def _close(buf: mmap.mmap) -> None:
    """Unmap now. The PDF reader's objects hold views of the map inside reference cycles
    (parsers with callbacks), which only the cycle collector frees."""
    try:
        buf.close()
    except BufferError:
        gc.collect()
        with contextlib.suppress(BufferError):  # still in use: unmapped when collected
            buf.close()


def _carried_fields(settings: Settings, documents: list[CarriedDocument], fields: dict) -> None:
    """The text fields of every document the message carried, received from the verification
    itself (the message is not walked again)."""
    for doc in documents:
        if doc.verdict.kind != "eml":
            fields[doc.path] = _fields(settings, doc.data, doc.verdict.name, doc.content)


def _audit(seq, item, digest, settings, data, content) -> ItemResult:
    verifier = verifier_for(settings)
    limits = settings.limits or _LIMITS
    name = item.name
    head = bytes(data[:1024])
    is_message = detect_kind(head, name) == InputKind.EML
    came = arrival(header_fields(data), settings.own_mta) if is_message else None
    received_at = came.received_at if came else None
    received_source = came.source if came else None
    if received_at is None:
        received_at = datetime.fromtimestamp(item.mtime, UTC)
        received_source = "file"
    receipt = came.receipt_time if came else None
    if receipt is not None and receipt > settings.at:
        receipt = None  # a receipt after the validation time proves nothing as of then
    documents: list[CarriedDocument] = []
    verdict = verifier.verify(
        data,
        at=settings.at,
        name=name,
        content=content,
        receipt_time=receipt,
        on_document=documents.append,
    )
    truncated = not isinstance(data, mmap.mmap) and len(data) > limits.max_input_bytes
    if truncated:
        # Only the start was read (limit_exceeded): its digest and size are not the item's.
        verdict = dataclasses.replace(
            verdict,
            sha256=digest if item.content_path is None else None,
            size=None if item.mbox else item.size,
        )
    fields: dict[str, tuple] = {}  # part path → (doc_number, doc_date); none if oversized
    if truncated:
        pass  # only the verdict (limit_exceeded) is known
    elif verdict.kind == "eml":
        _carried_fields(settings, documents, fields)
    else:
        fields[""] = _fields(settings, data, name, content)
    facts = ItemFacts(
        source=item.source,
        locator=item.locator,
        item_sha256=digest,
        name=name,
        received_at=received_at,
        received_source=received_source,
        receipt_time=receipt,
    )
    rows = entry_rows(verdict, facts, settings.policy, fields, audited_at=datetime.now(UTC))
    return ItemResult(seq, rows, size=item.size)


Batch = list[tuple[int, Item, str]]  # (sequence number, item, its SHA-256)


def audit_batch(batch: Batch, settings: Settings) -> list[ItemResult]:
    """Several items in one task: the per-task cost of a pool or a scheduler (pickling, a
    round trip, a scheduler decision) is paid once for the batch."""
    return [audit_item(seq, item, digest, settings) for seq, item, digest in batch]


def audit_task(batch: Batch, token: str) -> list[ItemResult]:
    """The Dask task: the same work, with the settings the run's worker plugin left here
    (:mod:`sigmail.audit.dask_worker`); a separate name keeps task keys readable."""
    settings = _DASK_SETTINGS.get(token)
    if settings is None:
        raise InternalError(f"audit settings {token} never reached this Dask worker")
    return audit_batch(batch, settings)


# -- worker processes (both engines) -----------------------------------------------------------

_SETTINGS: Settings | None = None


def _log_to_stderr() -> None:
    """A worker's log lines as the command's own: a logged exception is one line on stderr,
    once. A forked worker inherits the command's handler (``sigmail.cli``) and keeps it;
    a spawned one (fork server, Dask) gets one; a second is never added."""
    from sigmail.cli.stderr_log import StderrHandler, debug_env, stderr_handler

    logger = logging.getLogger("sigmail")
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        logger.addHandler(stderr_handler(tracebacks=debug_env()))
        logger.setLevel(logging.DEBUG if debug_env() else logging.WARNING)
    logger.propagate = False


def init_worker(settings: Settings) -> None:
    """Start of a worker process of the local engine: its settings, its log lines, and its
    Verifier made now (inherited already made when the worker was forked)."""
    global _SETTINGS
    _SETTINGS = settings
    _log_to_stderr()
    verifier_for(settings)


def audit_in_worker(batch: Batch) -> list[ItemResult]:
    assert _SETTINGS is not None, "init_worker was not called"
    return audit_batch(batch, _SETTINGS)


_DASK_SETTINGS: dict[str, Settings] = {}  # token → settings, on a Dask worker


def start_dask_worker(settings: Settings, *, separate: bool) -> None:
    """A Dask worker's share of a run (its plugin's ``setup``): the settings kept under their
    token, the Verifier made; in a worker process of its own, its log lines once on stderr."""
    with _LOCK:
        _DASK_SETTINGS[settings.token] = settings
    if separate:
        _log_to_stderr()
    verifier_for(settings)


def stop_dask_worker(token: str) -> None:
    """The end of a run on a Dask worker (its plugin's ``teardown``)."""
    with _LOCK:
        _DASK_SETTINGS.pop(token, None)
