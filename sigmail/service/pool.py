"""Worker processes for verification, with a bounded queue in front of them.

Verification is CPU-bound and synchronous; it runs in ``workers`` processes (both cores serve
and the event loop never blocks). Each worker has its own pipe; the event loop writes a job
to an idle worker and is woken by the loop's own reader on that pipe when the result is back
(no executor threads: no GIL hand-offs between threads on every request). At most
``workers + queue`` jobs are accepted at a time; the next one is refused at once with
:class:`PoolBusy` (503 + Retry-After) instead of waiting in an unbounded backlog. A worker
that outlives its deadline is killed and replaced, so a stuck verification frees its slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import struct
from multiprocessing.connection import Connection

from sigmail.errors import SigmailError
from sigmail.service.config import ServiceConfig
from sigmail.service.worker import Job, JobResult, init_worker, run_job

__all__ = ["PoolBroken", "PoolBusy", "PoolTimeout", "VerifierPool"]

log = logging.getLogger("sigmail.service")

# Bodies above this are written to the pipe from a thread: the worker reads as it arrives,
# but a 64 MiB write must not hold the event loop.
_WRITE_INLINE = 1024 * 1024


class PoolBusy(SigmailError):
    """Every worker is busy and the queue is full."""


class PoolTimeout(SigmailError):
    """A job outlived the time budget plus a margin (the core's own budget should end it first);
    its worker was killed and replaced."""


class PoolBroken(SigmailError):
    """A worker process died (killed, out of memory) or failed; it was replaced."""


def _serve(jobs: Connection, results: Connection, config: ServiceConfig) -> None:
    """A worker process: load the verifiers once, then one job at a time until EOF."""
    init_worker(config)
    results.send_bytes(b"ready")
    while True:
        try:
            message = jobs.recv_bytes()
        except (EOFError, OSError):  # the server is gone or closed the pipe: stop
            return
        try:
            answer: object = run_job(pickle.loads(message))
        except Exception as exc:  # a bug in the worker must cost one request, not the process
            answer = PoolBroken(f"verification failed in the worker: {exc!r}")
        results.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


class _Worker:
    """One process and two one-way pipes. The event loop watches the results pipe (which an
    event loop may turn non-blocking, so it is read with os.read and the framing of
    multiprocessing.Connection is undone here); the jobs pipe stays blocking."""

    def __init__(self, context, config: ServiceConfig) -> None:
        jobs_r, self.jobs = context.Pipe(duplex=False)
        self.results, results_w = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(jobs_r, results_w, config), name="sigmail-verify", daemon=True
        )
        self.process.start()
        jobs_r.close()
        results_w.close()
        self.waiting: asyncio.Future | None = None
        self._buffer = bytearray()

    def watch(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future:
        """A future for the next message from this worker (read by the event loop itself)."""
        self.waiting = loop.create_future()
        loop.add_reader(self.results.fileno(), self._readable, loop)
        return self.waiting

    def _message(self) -> bytes | None:
        """One whole message from the buffer, if it holds one (``!i`` length, or -1 then
        ``!Q`` length, then the bytes: multiprocessing.connection's framing)."""
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        (size,) = struct.unpack("!i", buffer[:4])
        start = 4
        if size == -1:
            if len(buffer) < 12:
                return None
            (size,) = struct.unpack("!Q", buffer[4:12])
            start = 12
        if len(buffer) < start + size:
            return None
        message = bytes(buffer[start : start + size])
        del buffer[: start + size]
        return message

    def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            chunk = os.read(self.results.fileno(), 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self._buffer += chunk
            message = self._message()
            if message is None:
                return  # more to come
        else:
            message = None
        loop.remove_reader(self.results.fileno())
        future, self.waiting = self.waiting, None
        if future is None or future.done():
            return
        if message is None:
            future.set_exception(PoolBroken("a verification process died; it was replaced"))
        else:
            future.set_result(message)

    def stop(self, loop: asyncio.AbstractEventLoop | None, *, kill: bool = False) -> None:
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(self.results.fileno())
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
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: list[_Worker] = []
        # Cut a job off only well after the core's own wall-clock budget has had its chance.
        self._deadline = config.time_budget_seconds * 1.5 + 5

    async def _new_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        worker = _Worker(self._context, self.config)
        ready = await worker.watch(loop)  # loading trust and policies: PoolBroken if it fails
        if ready != b"ready":
            raise PoolBroken(f"a verification process did not start: {ready!r}")
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
        healthy = False
        try:
            payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            answer = worker.watch(loop)
            if len(payload) > _WRITE_INLINE:
                await loop.run_in_executor(None, worker.jobs.send_bytes, payload)
            else:
                worker.jobs.send_bytes(payload)
            try:
                data = await asyncio.wait_for(answer, self._deadline)
            except TimeoutError as exc:
                raise PoolTimeout(f"verification took over {self._deadline:.0f} s") from exc
            result = pickle.loads(data)
            healthy = True
            if isinstance(result, PoolBroken):
                raise result
            return result
        except (OSError, EOFError) as exc:
            raise PoolBroken("a verification process died; it was replaced") from exc
        finally:
            if healthy:
                self._idle.put_nowait(worker)
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
                    self._idle.put_nowait(await self._new_worker())

    def close(self) -> None:
        """Stop the workers (the server drained its requests before this)."""
        loop = None
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
        for worker in self._workers:
            worker.stop(loop)
        self._workers = []
        self._idle = None
