"""Worker processes for verification, with a bounded queue in front of them.

Verification is CPU-bound and synchronous; it runs in ``workers`` processes (both cores serve
and the event loop never blocks). At most ``workers + queue`` jobs are accepted at a time: the
next one is refused at once with :class:`PoolBusy` (503 + Retry-After) instead of waiting in an
unbounded backlog.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sigmail.errors import SigmailError
from sigmail.service.config import ServiceConfig
from sigmail.service.worker import Job, JobResult, init_worker, run_job, warm

__all__ = ["PoolBroken", "PoolBusy", "PoolTimeout", "VerifierPool"]


class PoolBusy(SigmailError):
    """Every worker is busy and the queue is full."""


class PoolTimeout(SigmailError):
    """A job outlived the time budget plus a margin (the core's own budget should end it first)."""


class PoolBroken(SigmailError):
    """A worker process died (killed, out of memory); the pool was started again."""


class VerifierPool:
    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.capacity = config.workers + config.queue
        self.in_flight = 0
        self._executor: ProcessPoolExecutor | None = None
        # Cut a job off only well after the core's own wall-clock budget has had its chance.
        self._deadline = config.time_budget_seconds * 1.5 + 5

    def _start(self) -> ProcessPoolExecutor:
        # forkserver: the workers do not inherit the event loop's threads and sockets.
        return ProcessPoolExecutor(
            max_workers=self.config.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=init_worker,
            initargs=(self.config,),
        )

    async def start(self) -> None:
        """Start every worker and wait until each has loaded its verifiers."""
        self._executor = self._start()
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, warm) for _ in range(self.config.workers))
        )

    @property
    def ready(self) -> bool:
        return self._executor is not None

    @property
    def waiting(self) -> int:
        return max(0, self.in_flight - self.config.workers)

    async def run(self, job: Job) -> JobResult:
        if self._executor is None:
            raise PoolBusy("the workers are not started")
        if self.in_flight >= self.capacity:
            raise PoolBusy(f"{self.in_flight} verifications in progress or waiting")
        self.in_flight += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, run_job, job)
            try:
                return await asyncio.wait_for(future, self._deadline)
            except TimeoutError as exc:
                raise PoolTimeout(f"verification took over {self._deadline:.0f} s") from exc
            except BrokenProcessPool as exc:
                self._restart()
                raise PoolBroken("a verification process died; it was started again") from exc
        finally:
            self.in_flight -= 1

    def _restart(self) -> None:
        old, self._executor = self._executor, self._start()
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Let running jobs finish (the server drained its requests before this)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
