"""Evidence bundles: everything one verdict was decided with, in one zip, replayable offline.

    >>> verdict, bundle = verify_with_evidence(verifier, data, at=at, name="qd-123.pdf")
    >>> bundle.write("qd-123.evidence.zip")
    >>> replay("qd-123.evidence.zip").identical
    True

:func:`verify_with_evidence` runs the verifier's own verification with two recorders around
the core (see :mod:`sigmail.evidence.recorder`) and packs the input, the chains, the trust
anchors, every CRL/OCSP response consulted (embedded or fetched), the timestamp tokens, the
policy text and the verdict (:mod:`sigmail.evidence.bundle`). :func:`replay` rebuilds the
verifier from the bundle and verifies again with no network (:mod:`sigmail.evidence.replay`);
a bundle whose members do not match its manifest is refused with
:class:`~sigmail.errors.EvidenceBundleError`. The format is described in docs/forensics.md.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sigmail.contract import CarriedDocument
from sigmail.errors import EvidenceBundleError, UsageError
from sigmail.evidence.bundle import BUNDLE_SCHEMA, EvidenceBundle, build_bundle, read_bundle
from sigmail.evidence.recorder import RecordingChainCache, RecordingRevocation
from sigmail.evidence.replay import ReplayResult, ReplayRevocation, replay
from sigmail.evidence.timestamps import find_timestamp_tokens

if TYPE_CHECKING:
    from sigmail.policy.model import Policy
    from sigmail.verdict.model import Verdict
    from sigmail.verifier import Verifier

__all__ = [
    "BUNDLE_SCHEMA",
    "EvidenceBundle",
    "EvidenceBundleError",
    "RecordingChainCache",
    "RecordingRevocation",
    "ReplayResult",
    "ReplayRevocation",
    "policy_text",
    "read_bundle",
    "replay",
    "verify_with_evidence",
]


def policy_text(policy: Policy) -> str:
    """The text a loaded policy was parsed from, checked against its SHA-256.

    Raises :class:`UsageError` if the file changed since it was loaded, or if the policy was
    not loaded from a file (a bundle must hold the exact text its hash names).
    """
    source = policy.source
    if source.startswith("<builtin ") and source.endswith(">"):
        name = source[len("<builtin ") : -1]
        builtin = resources.files("sigmail.policy").joinpath("builtin", f"{name}.toml")
        text = builtin.read_text(encoding="utf-8")
    elif source and not source.startswith("<"):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"policy {source}: cannot read it again for the bundle: {exc}"
            ) from exc
    else:
        raise UsageError(
            "an evidence bundle needs the policy's text: load the policy by name or from a file"
        )
    if hashlib.sha256(text.encode()).hexdigest() != policy.sha256:
        raise UsageError(f"policy {source} changed since it was loaded (SHA-256 differs)")
    return text


def verify_with_evidence(
    verifier: Verifier,
    data: bytes,
    *,
    at: datetime,
    name: str | None = None,
    content: bytes | None = None,
    content_name: str | None = None,
    receipt_time: datetime | None = None,
) -> tuple[Verdict, EvidenceBundle]:
    """``verifier.verify(data, …)`` that also returns the evidence bundle of that verdict.

    The verification uses ``verifier``'s trust store, policy, revocation source, limits and
    strictness, but a chain cache of its own that never answers from memory: a cache hit
    makes no revocation lookup, and the bundle must hold all the evidence the verdict rests
    on. Works inside a running event loop (nothing here is async).
    """
    from sigmail.verifier import Verifier

    text = policy_text(verifier.policy)  # fail before doing the work
    revocation = RecordingRevocation(verifier.revocation)
    cache = RecordingChainCache()
    capture = Verifier(
        trust=verifier.trust,
        policy=verifier.policy,
        revocation=revocation,
        limits=verifier.limits,
        strict=verifier.strict,
        chain_cache=cache,
    )
    frozen = bytes(data)
    documents: list[CarriedDocument] = []
    verdict = capture.verify(
        frozen,
        at=at,
        name=name,
        content=content,
        receipt_time=receipt_time,
        on_document=documents.append,
    )
    bundle = build_bundle(
        verdict=verdict,
        data=frozen,
        name=name,
        content=content,
        content_name=content_name,
        at=at,
        receipt_time=receipt_time,
        policy=verifier.policy,
        policy_text=text,
        trust=capture.trust,
        limits=verifier.limits,
        lookups=list(revocation.lookups),
        issuer_fetches=list(revocation.issuer_fetches),
        validations=list(cache.validations),
        tokens=find_timestamp_tokens(frozen, name, limits=verifier.limits, documents=documents),
    )
    return verdict, bundle
