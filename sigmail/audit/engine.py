"""Running an audit: list the items, skip the registered ones, verify the rest in parallel,
write their rows in listing order.

Two engines run the same unit of work (:func:`sigmail.audit.work.audit_item`):

* ``local``: a pool of worker processes on this machine (``workers``, default the number of
  CPUs; with 1, everything runs in this process). Workers start from a fork server that has
  already imported sigmail, and each keeps one Verifier for the whole run.
* ``dask``: the tasks of a Dask distributed cluster: an existing one (``scheduler`` is its
  address), or without one a ``LocalCluster`` of ``workers`` processes (default the number
  of CPUs) started for the run and stopped after it. The workers read the items from the
  same paths, so the sources must be on storage every worker mounts at the same place; the
  register is written here, by the client.

Items go to the workers in batches (8 locally, 48 to Dask: a task's round trip and, with
Dask, the scheduler's decision are paid once per batch). Memory is bounded the same way in
both engines: only descriptions of items travel (each worker reads its item itself, at most
one byte more than the verifier accepts; a PDF is memory-mapped, not loaded), at most
``window`` items are submitted and not yet written (default four batches per worker), and rows
are written as soon as every earlier item's are. Writing in listing order makes the register
the same whichever engine ran it and however the work was scheduled — only the wall-clock
columns (``audited_at``, ``retry_after``) differ.

A re-run skips every item whose ``(source, SHA-256)`` is registered; the SHA-256 is computed
here, reading each item once in chunks (about 1 GB/s), before deciding.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field

from sigmail.audit.progress import Progress
from sigmail.audit.register import Register, open_register
from sigmail.audit.sources import Item, check_sources, estimate, item_digest, scan
from sigmail.audit.work import (
    Batch,
    ItemResult,
    Settings,
    audit_batch,
    audit_in_worker,
    init_worker,
)
from sigmail.errors import UsageError
from sigmail.formats import verifying_modules

__all__ = ["ENGINES", "AuditSummary", "run_audit"]

ENGINES = ("local", "dask")


@dataclass
class AuditSummary:
    """What one run did."""

    engine: str
    workers: int
    items: int = 0  # new items registered
    rows: int = 0
    skipped: int = 0  # already registered
    unreadable: list[str] = field(default_factory=list)  # not registered: retried next run
    verdicts: Counter = field(default_factory=Counter)  # (kind, verdict) → rows
    seconds: float = 0.0
    bytes: int = 0

    @property
    def rate(self) -> float:
        """New items per second."""
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "engine": self.engine,
            "workers": self.workers,
            "items": self.items,
            "rows": self.rows,
            "messages": sum(n for (k, _v), n in self.verdicts.items() if k == "message"),
            "documents": sum(n for (k, _v), n in self.verdicts.items() if k == "document"),
            "skipped": self.skipped,
            "unreadable": self.unreadable,
            "verdicts": {
                kind: {v: n for (k, v), n in sorted(self.verdicts.items()) if k == kind}
                for kind in ("message", "document")
            },
            "seconds": round(self.seconds, 3),
            "items_per_second": round(self.rate, 2),
        }


class _Pool:
    """submit(batch) → a future of its results; wait_any(futures) → the done ones."""

    workers: int = 1
    batch: int = 1  # items per task

    def submit(self, batch: Batch) -> Future:
        raise NotImplementedError

    def wait_any(self, futures) -> set:
        return wait_futures(futures, return_when=FIRST_COMPLETED).done

    def close(self) -> None:
        pass


def _here(batch: Batch, settings: Settings) -> Future:
    """A batch audited in this process, as a finished future."""
    future: Future = Future()
    try:
        future.set_result(audit_batch(batch, settings))
    except BaseException as exc:
        future.set_exception(exc)
    return future


class _Inline(_Pool):
    """Everything in this process (workers = 1): no pickling, easiest to debug."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def submit(self, batch):
        return _here(batch, self.settings)


class _Processes(_Pool):
    """Worker processes on this machine, each with one Verifier for the whole run.

    When this process runs no other thread (``sigmail audit`` itself), the workers are forked
    from it after it has audited the first batch: they start with sigmail imported, the
    Verifier made and its caches warm (trust store, policy, parsed CRLs, validated chains),
    shared copy-on-write (``gc.freeze`` keeps the collector from touching those pages). With
    other threads running (a library caller, the test suite), a forked child could inherit a
    lock one of them holds, so the workers come from a fork server that has imported
    sigmail, and each makes its Verifier when it starts.
    """

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings = settings
        self.workers = workers
        self.batch = 8
        self.pool: ProcessPoolExecutor | None = None
        self.frozen = False
        methods = multiprocessing.get_all_start_methods()
        # Not on macOS, whose system libraries do not survive a fork (Python's default there
        # is spawn).
        self.fork = "fork" in methods and sys.platform != "darwin" and threading.active_count() == 1
        if not self.fork:
            method = "forkserver" if "forkserver" in methods else "spawn"
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                context.set_forkserver_preload(
                    ["sigmail.audit.work", "sigmail.verifier", *verifying_modules()]
                )
            self.pool = self._executor(context)

    def _executor(self, context) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(self.settings,),
        )

    def submit(self, batch):
        if self.pool is None:
            # The first batch here, warming this process's Verifier; the workers are forked
            # at the next submit (a fork pool starts them all then, before its threads).
            future = _here(batch, self.settings)
            # The young generations: the first batch's garbage. A full collection here cost
            # 8-13 ms before any worker starts and found ~25 objects among the imports.
            gc.collect(1)
            gc.freeze()
            self.frozen = True
            self.pool = self._executor(multiprocessing.get_context("fork"))
            return future
        future = self.pool.submit(audit_in_worker, batch)
        if self.frozen:  # forked: this process's collector may look at everything again
            gc.unfreeze()
            self.frozen = False
        return future

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.frozen:
            gc.unfreeze()
            self.frozen = False


class _Dask(_Pool):
    def __init__(self, settings: Settings, scheduler: str | None, workers: int | None) -> None:
        try:
            from distributed import Client, as_completed

            from sigmail.audit.dask_worker import AuditPlugin, local_cluster
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise UsageError(
                "--engine dask needs Dask distributed: pip install 'sigmail[audit]'"
            ) from exc
        from sigmail.audit.work import audit_task

        self.cluster = None
        if scheduler is None:
            # No cluster given: one on this machine for this run (sigmail.audit.dask_worker).
            self.cluster = local_cluster(workers or os.cpu_count() or 1)
            scheduler = self.cluster.scheduler_address
        try:
            self.client = Client(scheduler, timeout="20s", set_as_default=False)
        except OSError as exc:
            self._stop_cluster()
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        self.task = audit_task
        self.workers = max(1, sum(self.client.nthreads().values()))
        self.batch = 48  # a task costs the scheduler, the client and a worker: amortise it
        # The settings reach every worker once, and its Verifier is made before any task.
        self.plugin = AuditPlugin(settings)
        self.client.register_plugin(self.plugin)
        self.token = settings.token
        # Every submitted future, yielded as it finishes.
        self.completed = as_completed(loop=self.client.loop)

    def submit(self, batch):
        future = self.client.submit(self.task, batch, self.token, pure=False)
        self.completed.add(future)
        return future

    def wait_any(self, futures) -> set:
        return set(self.completed.next_batch(block=True))

    def close(self) -> None:
        try:
            if self.cluster is None:  # a shared cluster: leave its workers as they were
                self.client.unregister_worker_plugin(self.plugin.name)
        finally:
            self.client.close()
            self._stop_cluster()

    def _stop_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def _plan(
    items: Iterable[Item],
    register: Register,
    in_flight: set[tuple[str, str]],
    summary: AuditSummary,
    progress: Progress,
) -> Iterator[tuple[Item, str]]:
    for item in items:
        try:
            digest = item_digest(item)
        except OSError as exc:
            summary.unreadable.append(f"{item.path}: {exc.strerror or exc}")
            progress.advance(item.size, skipped=True)
            continue
        key = (item.source, digest)
        if key in in_flight or register.known(*key):
            summary.skipped += 1
            progress.advance(item.size, skipped=True)
            continue
        in_flight.add(key)
        yield item, digest


def run_audit(
    sources: Iterable[str],
    register_path: str | os.PathLike[str],
    *,
    settings: Settings,
    fmt: str | None = None,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    window: int | None = None,
    progress: bool = False,
    on_result: Callable[[ItemResult], None] | None = None,
) -> AuditSummary:
    """Audit ``sources`` into the register at ``register_path`` (see the module docstring)."""
    sources = list(sources)
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r} ({', '.join(ENGINES)})")
    if engine == "dask" and scheduler and workers is not None:
        raise UsageError("--workers sizes a local cluster; with --scheduler, the cluster's count")
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    check_sources(sources)  # a missing source is a usage error before anything starts
    items = scan(sources)
    started = time.monotonic()
    bar = Progress(estimate(sources), enabled=progress)
    register = open_register(register_path, fmt)
    pool: _Pool | None = None
    try:
        if engine == "dask":
            pool = _Dask(settings, scheduler or None, workers)
        else:
            count = workers or os.cpu_count() or 1
            pool = _Inline(settings) if count == 1 else _Processes(settings, count)
        summary = AuditSummary(engine=engine, workers=pool.workers)
        window = max(window or 4 * pool.workers * pool.batch, pool.batch)
        _drive(pool, register, items, summary, bar, window, on_result)
    finally:
        # Also on an error or ^C: every item added is complete, and kept for the next run.
        if pool is not None:
            pool.close()
        register.close(keep=True)
        bar.close()
    summary.seconds = time.monotonic() - started
    return summary


def _drive(
    pool: _Pool,
    register: Register,
    items: Iterator[Item],
    summary: AuditSummary,
    bar: Progress,
    window: int,
    on_result: Callable[[ItemResult], None] | None,
) -> None:
    in_flight: set[tuple[str, str]] = set()
    plan = _plan(items, register, in_flight, summary, bar)
    pending: dict = {}  # future → its batch's keys
    ready: dict[int, ItemResult] = {}
    keys: dict[int, tuple[str, str]] = {}
    next_seq = 0
    next_write = 0
    exhausted = False

    def fill() -> None:
        nonlocal next_seq, exhausted
        # Whole batches only, while the window has room for one (the last may be short).
        while not exhausted and window - (next_seq - next_write) >= pool.batch:
            batch: Batch = []
            while len(batch) < pool.batch:
                step = next(plan, None)
                if step is None:
                    exhausted = True
                    break
                item, digest = step
                batch.append((next_seq, item, digest))
                keys[next_seq] = (item.source, digest)
                next_seq += 1
            if batch:
                pending[pool.submit(batch)] = batch

    fill()
    while pending:
        for future in pool.wait_any(list(pending)):
            del pending[future]
            for result in future.result():  # a worker's exception ends the run here
                ready[result.seq] = result
        while next_write in ready:
            result = ready.pop(next_write)
            in_flight.discard(keys.pop(next_write))
            next_write += 1
            bar.advance(result.size)
            if result.error is not None:
                summary.unreadable.append(result.error)
                continue
            register.add(result.rows)
            summary.items += 1
            summary.rows += len(result.rows)
            summary.bytes += result.size
            summary.verdicts.update((r["kind"], r["verdict"]) for r in result.rows)
            if on_result is not None:
                on_result(result)
        fill()
