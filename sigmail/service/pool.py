"""Worker processes for verification, with a bounded queue in front of them.

Verification is CPU-bound and synchronous; it runs in ``workers`` processes (both cores serve
and the event loop never blocks). Each worker has two persistent pipes of its own; the event
loop writes a job's frame (:mod:`sigmail.service.worker`: a small header and the document's
raw bytes, written with ``writev`` straight from the received bytes, the rest of a large one
when the pipe has room) to an idle worker and is woken by its own reader on the other pipe
when the answer's frame is back (no pickling, no executor threads: no GIL hand-offs between
threads on every request). At most
``workers + queue`` jobs are accepted at a time; the next one is refused at once with
:class:`PoolBusy` (503 + Retry-After) instead of waiting in an unbounded backlog. A worker
that outlives its deadline is killed and replaced, so a stuck verification frees its slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

import orjson

from sigmail.errors import SigmailError
from sigmail.formats import verifying_modules
from sigmail.service.config import ServiceConfig
from sigmail.service.worker import (
    PREFIX,
    Job,
    JobResult,
    decode_result,
    encode_job,
    init_worker,
    serve_jobs,
)

__all__ = ["PoolBroken", "PoolBusy", "PoolTimeout", "VerifierPool"]

log = logging.getLogger("sigmail.service")


class PoolBusy(SigmailError):
    """Every worker is busy and the queue is full."""


class PoolTimeout(SigmailError):
    """A job outlived the time budget plus a margin (the core's own budget should end it first);
    its worker was killed and replaced."""


class PoolBroken(SigmailError):
    """A worker process died (killed, out of memory) or failed; it was replaced."""


_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux


def _widen(fd: int) -> None:
    """A 1 MiB pipe buffer (Linux's default /proc/sys/fs/pipe-max-size) instead of 64 KiB: a
    document of up to 1 MiB goes in one write, not sixteen wake-ups of the loop (0.26 -> 0.20
    ms of CPU per MB, 16 -> 1.5 writes). Best effort: elsewhere the pipe keeps its size."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, 1 << 20)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _serve(jobs: Connection, results: Connection, config: ServiceConfig) -> None:
    """A worker process: load the verifiers once, then one job at a time until EOF."""
    init_worker(config)
    serve_jobs(jobs.fileno(), results.fileno())


class _Worker:
    """One process and two one-way pipes (multiprocessing's, for their passing to a
    forkserver child; their framing is not used). The event loop watches the results pipe
    and writes the jobs pipe, both non-blocking on this side."""

    def __init__(self, context: Any, config: ServiceConfig) -> None:
        jobs_r, self.jobs = context.Pipe(duplex=False)
        self.results, results_w = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(jobs_r, results_w, config), name="sigmail-verify", daemon=True
        )
        self.process.start()
        jobs_r.close()
        results_w.close()
        for fd in (self.jobs.fileno(), self.results.fileno()):
            os.set_blocking(fd, False)
            _widen(fd)
        self.waiting: asyncio.Future[tuple[dict, bytes]] | None = None
        self._buffer = bytearray()
        self._need = 0  # the whole frame's length once its prefix is in
        self._reading = False

    def watch(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[tuple[dict, bytes]]:
        """A future for the next frame from this worker (read by the event loop itself). The
        loop watches the results pipe from the first call to the worker's end: no epoll
        registration and removal per job (two system calls and a libuv handle each)."""
        self.waiting = loop.create_future()
        self._buffer.clear()
        self._need = 0
        if not self._reading:
            loop.add_reader(self.results.fileno(), self._readable, loop)
            self._reading = True
        return self.waiting

    async def send(self, loop: asyncio.AbstractEventLoop, frame: list) -> None:
        """Write a frame: what the pipe takes now, the rest as it drains (a 64 MiB document
        never holds the loop)."""
        fd = self.jobs.fileno()
        views = [memoryview(b) for b in frame if len(b)]
        while views:
            try:
                done = os.writev(fd, views)
            except BlockingIOError:
                done = 0
            while done:
                if done >= len(views[0]):
                    done -= len(views.pop(0))
                else:
                    views[0], done = views[0][done:], 0
            if views:
                writable = loop.create_future()
                loop.add_writer(fd, _wake, writable)
                try:
                    await writable
                finally:
                    loop.remove_writer(fd)

    def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        buffer = self._buffer
        want = (self._need or PREFIX.size + (1 << 16)) - len(buffer)
        try:
            chunk = os.read(self.results.fileno(), max(want, 1 << 16))
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        frame: tuple[dict, bytes] | None = None
        if chunk:
            buffer += chunk
            if not self._need and len(buffer) >= PREFIX.size:
                header_size, size = PREFIX.unpack_from(buffer)
                self._need = PREFIX.size + header_size + size
            if not self._need or len(buffer) < self._need:
                return  # more to come
            header_end = PREFIX.size + PREFIX.unpack_from(buffer)[0]
            with memoryview(buffer) as view:  # one copy of the answer, into bytes
                frame = (orjson.loads(view[PREFIX.size : header_end]), view[header_end:].tobytes())
            buffer.clear()
            self._need = 0
        else:  # EOF: the worker is gone; stop watching (an EOF is readable for ever)
            loop.remove_reader(self.results.fileno())
            self._reading = False
        future, self.waiting = self.waiting, None
        if future is None or future.done():
            return
        if frame is None:
            future.set_exception(PoolBroken("a verification process died; it was replaced"))
        else:
            future.set_result(frame)

    def stop(self, loop: asyncio.AbstractEventLoop | None, *, kill: bool = False) -> None:
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(self.results.fileno())
            with contextlib.suppress(Exception):
                loop.remove_writer(self.jobs.fileno())
        if kill:
            self.process.kill()
        self.jobs.close()  # the worker reads EOF and returns
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.results.close()


class VerifierPool:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.capacity = config.workers + config.queue
        self.in_flight = 0
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["sigmail.service.worker", *verifying_modules()])
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: list[_Worker] = []
        # Cut a job off only well after the core's own wall-clock budget has had its chance.
        self._deadline = config.time_budget_seconds * 1.5 + 5

    async def _new_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        worker = _Worker(self._context, self.config)
        header, _ = await worker.watch(loop)  # loading trust and policies: PoolBroken if not
        if header != {"ready": True}:
            raise PoolBroken(f"a verification process did not start: {header!r}")
        self._workers.append(worker)
        return worker

    async def start(self) -> None:
        """Start every worker and wait until each has loaded its verifiers."""
        self._idle = asyncio.Queue()
        for worker in await asyncio.gather(
            *(self._new_worker() for _ in range(self.config.workers))
        ):
            self._idle.put_nowait(worker)

    @property
    def ready(self) -> bool:
        return self._idle is not None and bool(self._workers)

    @property
    def waiting(self) -> int:
        return max(0, self.in_flight - self.config.workers)

    async def run(self, job: Job) -> JobResult:
        if self._idle is None:
            raise PoolBusy("the workers are not started")
        if self.in_flight >= self.capacity:
            raise PoolBusy(f"{self.in_flight} verifications in progress or waiting")
        self.in_flight += 1
        try:
            worker = await self._idle.get()
            return await self._run_on(worker, job)
        finally:
            self.in_flight -= 1

    async def _run_on(self, worker: _Worker, job: Job) -> JobResult:
        loop = asyncio.get_running_loop()
        idle = self._idle
        assert idle is not None, "run() checked that the pool is started"
        healthy = False
        try:
            answer = worker.watch(loop)
            try:
                async with asyncio.timeout(self._deadline):  # a timer, not a task (wait_for)
                    await worker.send(loop, encode_job(job))
                    header, payload = await answer
            except TimeoutError as exc:
                raise PoolTimeout(f"verification took over {self._deadline:.0f} s") from exc
            healthy = True
            if "error" in header:
                raise PoolBroken(header["error"])
            return decode_result(header, payload)
        except (OSError, EOFError) as exc:
            raise PoolBroken("a verification process died; it was replaced") from exc
        finally:
            if healthy:
                idle.put_nowait(worker)
            else:  # dead, stuck or interrupted half-way: replace it
                log.warning(
                    "verification process %d replaced (exit code %s)",
                    worker.process.pid,
                    worker.process.exitcode,
                    exc_info=True,
                )
                self._workers.remove(worker)
                worker.stop(loop, kill=True)
                with contextlib.suppress(Exception):
                    idle.put_nowait(await self._new_worker())

    def close(self) -> None:
        """Stop the workers (the server drained its requests before this)."""
        loop = None
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
        for worker in self._workers:
            worker.stop(loop)
        self._workers = []
        self._idle = None
