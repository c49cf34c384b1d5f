"""Verifying processes: the daemon's pre-fork mode, so that every CPU verifies.

The verifier is pure Python, so threads verify one message at a time whatever the number of
CPUs. With ``processes = N`` the daemon keeps N worker processes, each holding one warm
:class:`~sigmail.milter.runtime.Runtime` (its verifier, chain cache and revocation caches),
and a verification slot (one of the ``workers`` threads) hands each message to one of them.

Why the parent keeps the connections and the protocol (instead of each worker accepting):
the defences of issue 11 — the connection cap and the eviction of idle connections, the
``accept()`` back-off on EMFILE, the idle and read timeouts, the spool, the time budget and
the fail-safe answer — need one view of every connection and must survive a worker's
death. Here they stay, unchanged, in the one process that owns the sockets; a worker only
ever sees a message's bytes and returns an :class:`~sigmail.milter.outcome.Outcome` (a few
hundred bytes: a whole Verdict costs as much to pickle as to compute). The parent's share
per message is the protocol, a fraction of a verification. And Postfix opens one long-lived
connection per SMTP session: with each worker accepting for itself, several of a few
sessions would often land on the same worker and leave a CPU idle; here any free worker
takes the next message.

* Workers start with the daemon (``forkserver``: forked from a clean single-threaded
  process, never from the threaded daemon, that has imported every format handler and the
  chain validator), load the configuration and keep it. A
  configuration reloaded on SIGHUP reaches them with the next message, which builds the new
  runtime there once; a message in progress finishes with the configuration it started with.
* A worker that dies (killed, out of memory) fails the message it was verifying — that one
  gets the fail-safe answer, never lost — and a new worker takes its place; a worker found
  dead before a message is handed over is replaced and the message given to the new one.
* Each message's bytes are copied to a worker once, over a pipe of its own, by the thread
  that waits for the answer (no queue-feeding or result threads: ProcessPoolExecutor's cost
  ~0.29 ms of CPU a message, a pipe ~0.05 ms); at most ``workers`` messages are in flight,
  as without processes.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sigmail.errors import ConfigError, SigmailException
from sigmail.formats import verifying_modules
from sigmail.milter.outcome import Outcome

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from sigmail.milter.config import MilterConfig
    from sigmail.milter.runtime import Runtime

__all__ = ["VerifierProcesses", "WorkerDied", "WorkerFailed"]

log = logging.getLogger("sigmail.milter")

# Runtimes a worker keeps, by configuration: the running one and the one before a reload.
_KEPT_RUNTIMES = 2
# How long a stopping worker may take to exit before it is killed.
_STOP_SECONDS = 5.0


class WorkerDied(SigmailException, RuntimeError):
    """The worker verifying a message died before answering (the message gets the
    fail-safe answer: it may be what killed it)."""


class WorkerFailed(SigmailException, RuntimeError):
    """A worker raised instead of giving a verdict (a bug: the fail-safe answers)."""


class _Worker:
    __slots__ = ("blob", "conn", "process")

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.blob: bytes | None = None  # the configuration this worker has last been sent


class VerifierProcesses:
    """``count`` worker processes verifying for this daemon (thread-safe: each caller takes
    an idle worker, waiting for one when all are busy)."""

    def __init__(self, count: int, config: MilterConfig) -> None:
        if count < 1:
            raise ValueError("at least one process")
        self.count = count
        self.restarts = 0
        self.handed = 0  # messages handed to a worker (the rest the daemon verified itself)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(
            ["sigmail.milter.workers", "sigmail.milter.runtime", *verifying_modules()]
        )
        self._blob = pickle.dumps(config)
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        started = [self._spawn(self._blob) for _ in range(self.count)]
        try:
            for worker in started:  # all load in parallel; a configuration error surfaces here
                self._ready(worker)
        except BaseException:
            for worker in started:
                self._stop(worker)
            raise
        for worker in started:
            self._idle.put(worker)

    def _spawn(self, blob: bytes) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, blob), name="sigmail-verify", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        worker.blob = blob
        with self._lock:
            self._all.append(worker)
        return worker

    @staticmethod
    def _ready(worker: _Worker) -> None:
        try:
            kind, value = worker.conn.recv()
        except (EOFError, OSError) as exc:
            raise ConfigError(f"a verifying process did not start: {exc}") from exc
        if kind != "ready":
            raise ConfigError(f"a verifying process could not load the configuration: {value}")

    def _replace(self, dead: _Worker) -> _Worker:
        self._stop(dead)
        with self._lock:
            self.restarts += 1
        log.error(
            "verifying process %s died (exit code %s); starting a new one",
            dead.process.pid,
            dead.process.exitcode,
        )
        worker = self._spawn(self._blob)
        self._ready(worker)
        return worker

    def all_idle(self) -> bool:
        """No worker is verifying a message (a hint: another thread may take one next)."""
        return self._idle.qsize() >= self.count

    def pids(self) -> list[int]:
        """The workers' process ids (for tests and the benchmark)."""
        with self._lock:
            return [w.process.pid for w in self._all]

    def outcome(self, blob: bytes, message: bytes, received_at: datetime) -> Outcome:
        """Verify ``message`` in a worker, under the configuration pickled in ``blob``.

        Raises WorkerDied when the worker died holding the message, WorkerFailed when it
        raised; either way the caller gives the fail-safe answer.
        """
        worker = self._idle.get()
        with self._lock:
            self.handed += 1
        try:
            for attempt in (1, 2):
                if not worker.process.is_alive():  # died idle: not this message's doing
                    worker = self._replace(worker)
                try:
                    worker.conn.send((blob if blob != worker.blob else None, received_at))
                    worker.conn.send_bytes(message)  # as it is: no pickled copy of a big message
                    worker.conn.recv()  # "taken": the worker holds the message now
                except (EOFError, OSError) as exc:
                    # Dead before it took the message: killed while idle, and is_alive() had
                    # not seen it yet (a forkserver child is reaped by the forkserver, later).
                    # Not this message's doing: a fresh worker gets it, once.
                    code = worker.process.exitcode
                    worker = self._replace(worker)
                    if attempt == 2:
                        raise WorkerDied(f"the verifying process died (exit code {code})") from exc
                    continue
                worker.blob = blob
                try:
                    kind, value = worker.conn.recv()
                except (EOFError, OSError) as exc:
                    worker.process.join(1.0)
                    code = worker.process.exitcode
                    worker = self._replace(worker)
                    raise WorkerDied(f"the verifying process died (exit code {code})") from exc
                break
        finally:
            self._idle.put(worker)
        if kind != "ok":
            raise WorkerFailed(value)
        return value

    def shutdown(self) -> None:
        """Stop every worker (call it once no message is in flight)."""
        with self._lock:
            workers, self._all = list(self._all), []
        for worker in workers:
            self._stop(worker)

    @staticmethod
    def _stop(worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.process.join(_STOP_SECONDS)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(_STOP_SECONDS)
        worker.conn.close()


# -- in the worker ------------------------------------------------------------------------------

_runtimes: OrderedDict[bytes, Runtime] = OrderedDict()


def _runtime(blob: bytes) -> Runtime:
    from sigmail.milter.runtime import Runtime

    runtime = _runtimes.get(blob)
    if runtime is None:
        runtime = Runtime.load(pickle.loads(blob))
        _runtimes[blob] = runtime
        while len(_runtimes) > _KEPT_RUNTIMES:
            _runtimes.popitem(last=False)
    else:
        _runtimes.move_to_end(blob)
    return runtime


def _serve(conn: Connection, blob: bytes) -> None:
    # The daemon decides when workers stop: SIGTERM and SIGINT also reach them (systemd signals
    # the whole control group, a terminal the process group), and a worker stopped mid-message
    # would fail it. The daemon stops them once messages in progress are answered.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    try:
        _runtime(blob)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return  # the daemon is gone
        if item is None:
            return
        sent, received_at = item
        try:
            message = conn.recv_bytes()
            conn.send(("taken", None))
        except (EOFError, OSError):
            return
        if sent is not None:
            blob = sent
        try:
            runtime = _runtime(blob)
            reply: tuple[str, Any] = (
                "ok",
                runtime.outcome_of(runtime.verify(message, received_at=received_at)),
            )
        except Exception as exc:  # a bug, or a configuration that no longer loads
            log.exception("verifying process: internal error")
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)
