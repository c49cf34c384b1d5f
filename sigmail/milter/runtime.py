"""One loaded configuration: trust store, policy, revocation source and the shared Verifier.

A :class:`Runtime` is built from a :class:`~sigmail.milter.config.MilterConfig` (this is where
every configuration error surfaces, before any mail is accepted) and is immutable; SIGHUP
builds a new one and swaps it in, so messages already in progress finish with the one they
started with. The Verifier, with its chain cache, and the revocation source, with its
CRL/OCSP caches, are shared by every message and every thread.
"""

from __future__ import annotations

import logging
import pickle
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sigmail.errors import ConfigError
from sigmail.limits import Limits
from sigmail.milter.config import MilterConfig
from sigmail.milter.outcome import Outcome, outcome_of
from sigmail.policy.model import load_policy
from sigmail.revocation.factory import revocation_source
from sigmail.trust.store import TrustStore
from sigmail.verdict.model import Verdict
from sigmail.verifier import Verifier

if TYPE_CHECKING:
    from sigmail.milter.workers import VerifierProcesses

__all__ = ["Runtime", "load_trust"]

log = logging.getLogger("sigmail.milter")


def load_trust(config: MilterConfig) -> TrustStore:
    """The anchors the configuration names, else the installed trust directory."""
    from sigmail.cli.trust_dir import default_trust_dir, load_trust_dir

    if config.trust_official or config.trust_public:
        trust = TrustStore.load(
            official=list(config.trust_official),
            public=list(config.trust_public),
            intermediates=list(config.trust_intermediates),
        )
    else:
        installed = load_trust_dir(
            Path(config.trust_dir) if config.trust_dir else default_trust_dir()
        )
        extra = TrustStore.load(intermediates=list(config.trust_intermediates))
        trust = TrustStore(installed.anchors, (*installed.intermediates, *extra.intermediates))
    if not trust:
        # A filter without anchors would mark every signed message invalid and could reject
        # them all: refuse to start instead.
        raise ConfigError(
            "no trust anchors: give [trust] official/public files or install them with "
            "`sigmail trust add` (see docs/milter.md)"
        )
    return trust


@dataclass(frozen=True, slots=True)
class Runtime:
    config: MilterConfig
    verifier: Verifier
    processes: VerifierProcesses | None = None
    """The daemon's verifying processes (``processes`` > 0), else verification runs here."""
    _blob: bytes = field(default=b"", repr=False, compare=False)
    # Held while the daemon verifies a message itself (one at a time, see outcome).
    _inline: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def load(cls, config: MilterConfig) -> Runtime:
        policy = load_policy(config.policy)
        trust = load_trust(config)
        revocation = revocation_source(
            offline=config.offline,
            cache_dir=config.revocation_cache,
            timeout=config.fetch_timeout,
            fetch_allow=config.fetch_allow,
        )
        # The time budget is also the core's own wall-clock limit, so a verification that
        # overruns stops by itself instead of running on after the fail-safe answered.
        limits = Limits(
            max_seconds=config.time_budget,
            max_input_bytes=max(config.max_message_bytes, Limits().max_input_bytes),
        )
        verifier = Verifier(trust=trust, policy=policy, revocation=revocation, limits=limits)
        return cls(config=config, verifier=verifier)

    def with_processes(self, processes: VerifierProcesses | None) -> Runtime:
        """This runtime verifying in ``processes`` (the configuration goes to them pickled)."""
        blob = pickle.dumps(self.config) if processes is not None else b""
        return type(self)(self.config, self.verifier, processes, blob)

    def outcome(self, message: bytes, *, received_at: datetime) -> Outcome:
        """What the filter needs of the verdict on one message: verified here without
        processes, and with them too when the message is small (``inline_bytes``) and no
        process is busy; else in a worker process.

        Handing a message over wakes two processes and costs ~0.5 ms of wall time, as much as
        half a small message's verification, and with one SMTP session Postfix waits for
        every reply; when messages arrive together the processes take them, so both CPUs
        verify."""
        processes = self.processes
        if processes is None:
            return self.outcome_of(self.verify(message, received_at=received_at), keep=True)
        if (
            len(message) > self.config.inline_bytes
            or not processes.all_idle()
            or not self._inline.acquire(blocking=False)
        ):
            return processes.outcome(self._blob, message, received_at)
        try:
            return self.outcome_of(self.verify(message, received_at=received_at))
        finally:
            self._inline.release()

    def outcome_of(self, verdict: Verdict, *, keep: bool = False) -> Outcome:
        return outcome_of(verdict, self.config.authserv_id, keep=keep)

    def verify(self, message: bytes, *, received_at: datetime) -> Verdict:
        """The verdict on one message: at the fixed time if configured, else at receipt."""
        at = self.config.at or received_at
        receipt = at if self.config.receipt_time else None
        return self.verifier.verify(message, at=at, receipt_time=receipt, name=None)
