"""One loaded configuration: trust store, policy, revocation source and the shared Verifier.

A :class:`Runtime` is built from a :class:`~sigmail.milter.config.MilterConfig` (this is where
every configuration error surfaces, before any mail is accepted) and is immutable; SIGHUP
builds a new one and swaps it in, so messages already in progress finish with the one they
started with. The Verifier, with its chain cache, and the revocation source, with its
CRL/OCSP caches, are shared by every message and every thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sigmail.errors import ConfigError
from sigmail.limits import Limits
from sigmail.milter.config import MilterConfig
from sigmail.policy.model import load_policy
from sigmail.revocation.factory import revocation_source
from sigmail.trust.store import TrustStore
from sigmail.verdict.model import Verdict
from sigmail.verifier import Verifier

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

    def verify(self, message: bytes, *, received_at: datetime) -> Verdict:
        """The verdict on one message: at the fixed time if configured, else at receipt."""
        at = self.config.at or received_at
        receipt = at if self.config.receipt_time else None
        return self.verifier.verify(message, at=at, receipt_time=receipt, name=None)
