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
  process, never from the threaded daemon), load the configuration and keep it. A
  configuration reloaded on SIGHUP reaches them with the next message, which builds the new
  runtime there once; a message in progress finishes with the configuration it started with.
* A worker that dies (killed, out of memory) fails the messages it was given — they get the
  fail-safe answer, never lost — and a new set of workers replaces the broken one.
* Each message's bytes are copied to a worker once (a pipe); at most ``workers`` messages
  are in flight, as without processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import signal
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

from sigmail.milter.outcome import Outcome

if TYPE_CHECKING:
    from sigmail.milter.config import MilterConfig
    from sigmail.milter.runtime import Runtime

__all__ = ["VerifierProcesses"]

log = logging.getLogger("sigmail.milter")

# Runtimes a worker keeps, by configuration: the running one and the one before a reload.
_KEPT_RUNTIMES = 2


class VerifierProcesses:
    """``count`` worker processes verifying for this daemon (thread-safe)."""

    def __init__(self, count: int, config: MilterConfig) -> None:
        if count < 1:
            raise ValueError("at least one process")
        self.count = count
        self.restarts = 0
        self._lock = threading.Lock()
        self._pool = self._start(pickle.dumps(config))

    def _start(self, blob: bytes) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sigmail.milter.workers", "sigmail.milter.runtime"])
        pool = ProcessPoolExecutor(
            max_workers=self.count, mp_context=context, initializer=_init, initargs=(blob,)
        )
        # Start them all now (the pool starts a process per task it has no idle one for), so
        # the first messages do not wait for a worker to load the configuration.
        for future in [pool.submit(_ready) for _ in range(self.count)]:
            future.result()
        return pool

    def pids(self) -> list[int]:
        return list(self._pool._processes)  # for tests and the benchmark

    def outcome(self, blob: bytes, message: bytes, received_at: datetime) -> Outcome:
        """Verify ``message`` in a worker, under the configuration pickled in ``blob``.

        Raises BrokenProcessPool when the worker holding the message died (the caller gives
        the fail-safe answer: that message may be what killed it); a pool found broken
        before the message was handed over is replaced and the message given to the new one.
        """
        pool = self._pool
        try:
            future = pool.submit(_verify, blob, message, received_at)
        except BrokenProcessPool:
            pool = self._replace(pool, blob)
            future = pool.submit(_verify, blob, message, received_at)
        try:
            return future.result()
        except BrokenProcessPool:
            self._replace(pool, blob)
            raise

    def _replace(self, broken: ProcessPoolExecutor, blob: bytes) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken:  # the first thread to see it replaces it
                log.error("a verifying process died; starting new ones")
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start(blob)
                self.restarts += 1
            return self._pool

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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


def _init(blob: bytes) -> None:
    # The daemon decides when workers stop: SIGTERM and SIGINT also reach them (systemd signals
    # the whole control group, a terminal the process group), and a worker stopped mid-message
    # would fail it. The daemon shuts the pool down once messages in progress are answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _runtime(blob)


def _ready() -> bool:
    return True


def _verify(blob: bytes, message: bytes, received_at: datetime) -> Outcome:
    runtime = _runtime(blob)
    return runtime.outcome_of(runtime.verify(message, received_at=received_at))
