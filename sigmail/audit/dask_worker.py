"""The Dask side of the audit: what a worker of the cluster is given once, before any task.

* :class:`AuditPlugin` (a ``WorkerPlugin``, registered by the client at the start of a run,
  also on workers that join later) carries the run's :class:`~sigmail.audit.work.Settings`;
  its ``setup`` makes the worker's one Verifier, so a task finds it made and its caches
  serving every later task of that worker. A task then carries only its batch and the
  settings' token.
* ``dask_setup`` — this module as a worker *preload* (``distributed.LocalCluster(preload=…)``,
  ``dask worker --preload sigmail.audit.dask_worker``) — imports sigmail's verifier, format
  handlers and chain validator when the worker starts instead of during its first tasks.
* :data:`QUIET` — the Dask configuration of a local cluster started for a run: no dashboard,
  no spilling to disk or memory-pause chatter (the audit holds a few batches per worker, and
  the register bounds nothing a worker keeps), no statistical profiler sampling the work
  every 10 ms, event loops and system monitors woken rarely.

Log lines of the verifier in a worker go once to the worker's stderr
(``sigmail.audit.work``), not again through Dask's handlers.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from distributed import LocalCluster, WorkerPlugin

from sigmail.audit import work
from sigmail.audit.work import Settings

__all__ = ["QUIET", "AuditPlugin", "dask_setup", "local_cluster"]

QUIET: dict[str, Any] = {
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
    "distributed.worker.memory.terminate": False,
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.limit": "60s",  # no "event loop unresponsive" on a busy machine
    # Each process's event loop woken every second, not 50 times a second, and the system
    # monitor every 5 s: an idle 2-worker cluster burns 1.5 % of a core instead of 5.9 %.
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.logging.distributed": "critical",
}


class AuditPlugin(WorkerPlugin):
    """One run's settings on every worker, and the worker's Verifier made before its tasks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = f"sigmail-audit-{settings.token}"  # one per run: runs may share a cluster

    def setup(self, worker: Any) -> None:
        work.start_dask_worker(self.settings, separate=_separate_process())

    def teardown(self, worker: Any) -> None:
        work.stop_dask_worker(self.settings.token)


def _separate_process() -> bool:
    """True in a worker process of its own; False for a threads-only cluster inside the
    client's process, whose logging belongs to the caller."""
    return multiprocessing.parent_process() is not None


def dask_setup(worker: Any) -> None:
    """The preload hook: sigmail's verifier, its format handlers and the chain validator
    imported as the worker starts (what the local engine's fork server preloads), so that a
    run's first tasks do not wait for them in every worker."""
    import importlib

    import sigmail.verifier  # noqa: F401
    from sigmail.formats import verifying_modules

    for module in verifying_modules():
        importlib.import_module(module)


def local_cluster(workers: int) -> LocalCluster:
    """A cluster on this machine for one run: ``workers`` processes of one thread each
    (verification holds the GIL), sigmail preloaded, no dashboard. Made while :data:`QUIET`
    is set: the nannies hand that configuration to their workers."""
    import dask

    with dask.config.set(QUIET):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,  # logging.CRITICAL: no heartbeat errors while the cluster stops
            preload=["sigmail.audit.dask_worker"],
        )
