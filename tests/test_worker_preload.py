"""Long-lived verifying processes (the milter's, the service's) start from a fork server that
has imported every format handler and the chain validator, so their first message does not
wait for imports (55-69 ms before, 15 ms after, measured through VerifierProcesses)."""

from __future__ import annotations

import importlib.util
import tempfile
from multiprocessing import forkserver

from milter_support import base_config

from sigmail.formats import HANDLERS, verifying_modules


def _preloaded() -> set[str]:
    return set(forkserver._forkserver._preload_modules)  # what the next fork server imports


def test_the_verifying_modules_exist_and_cover_every_handler():
    names = verifying_modules()
    assert "sigmail.trust.chain" in names
    for target in HANDLERS.values():
        assert target.partition(":")[0] in names
    for name in names:
        assert importlib.util.find_spec(name) is not None, name


def test_milter_workers_preload_the_verifying_modules():
    from sigmail.milter.workers import VerifierProcesses

    forkserver._forkserver._preload_modules = []
    with tempfile.TemporaryDirectory() as directory:
        processes = VerifierProcesses(1, base_config(directory, offline=True))
        try:
            assert set(verifying_modules()) <= _preloaded()
        finally:
            processes.shutdown()


def test_service_workers_preload_the_verifying_modules():
    from sigmail.service.config import ServiceConfig
    from sigmail.service.pool import VerifierPool

    forkserver._forkserver._preload_modules = []
    VerifierPool(ServiceConfig())  # the context is set up here; workers start in start()
    assert set(verifying_modules()) <= _preloaded()
