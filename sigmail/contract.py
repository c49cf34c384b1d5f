"""The contract between the verifier and the format handlers, in one place.

The verifier builds one :class:`VerificationContext` per call (trust, time, policy knobs,
budget) and hands it with the input's bytes to the handler of the input's kind
(:func:`sigmail.formats.handler_for`); the handler returns a :class:`FormatResult`: signature
reports and findings, never a verdict (the verifier applies the policy, in one place). A
container (an e-mail) verifies what it carries through :class:`NestedVerifier`; each carried
document gets a verdict of its own. A new format is one handler behind :class:`FormatHandler`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from asn1crypto import x509

from sigmail.cms.algorithms import AlgorithmPolicy
from sigmail.limits import Budget
from sigmail.revocation.evidence import RevocationItem, RevocationSource
from sigmail.trust.chain_cache import ChainCache
from sigmail.trust.chain_types import ChainParams, ChainResult, RevocationRule
from sigmail.trust.store import TrustStore
from sigmail.verdict.model import (
    Finding,
    ModificationReport,
    PartReport,
    SignatureReport,
    Verdict,
)

__all__ = [
    "PATH_SEPARATOR",
    "TSA_CHAIN_PARAMS",
    "CarriedDocument",
    "DocumentObserver",
    "FormatHandler",
    "FormatResult",
    "NestedVerifier",
    "VerificationContext",
]

# A TSA certificate must be for time-stamping (RFC 3161 §2.3).
TSA_CHAIN_PARAMS = ChainParams(
    leaf_revocation=RevocationRule.IF_DECLARED,
    required_leaf_eku=frozenset({"time_stamping"}),
)


@dataclass(frozen=True, slots=True)
class VerificationContext:
    """Trust, time, policy knobs and budget for one call; the core reads nothing else."""

    trust: TrustStore
    validation_time: datetime
    budget: Budget
    algorithms: AlgorithmPolicy = field(default_factory=AlgorithmPolicy)
    chain_params: ChainParams = field(default_factory=ChainParams)
    tsa_chain_params: ChainParams = TSA_CHAIN_PARAMS
    revocation_source: RevocationSource | None = None
    receipt_time: datetime | None = None
    chain_cache: ChainCache | None = None
    # The policy's "+7 h" signingTime quirk (local time written as UTC); None: not looked for.
    tz_quirk: timedelta | None = timedelta(hours=7)

    def with_(self, **changes) -> VerificationContext:
        return replace(self, **changes)

    def validate_chain(
        self,
        leaf: x509.Certificate,
        *,
        at: datetime,
        intermediates: Sequence[x509.Certificate],
        revocation_items: Sequence[RevocationItem],
        params: ChainParams | None = None,
    ) -> ChainResult:
        from sigmail.trust.chain import validate_chain

        params = params or self.chain_params
        cache = self.chain_cache
        key = None
        if cache is not None:
            key = cache.key(leaf, intermediates, revocation_items, self.trust, params)
            hit = cache.get(key, at)
            if hit is not None:
                return hit
        result = validate_chain(
            leaf,
            trust=self.trust,
            at=at,
            intermediates=intermediates,
            revocation_items=revocation_items,
            revocation_source=self.revocation_source,
            params=params,
            budget=self.budget,
        )
        if cache is not None and key is not None:
            cache.put(key, result)
        return result


@dataclass(slots=True)
class FormatResult:
    kind: str  # "p7m" | "p7s" | "eml" | "pdf" | "unknown"
    findings: list[Finding] = field(default_factory=list)
    signatures: tuple[SignatureReport, ...] = ()
    parts: tuple[PartReport, ...] = ()
    modifications: tuple[ModificationReport, ...] = ()
    documents: tuple[Verdict, ...] = ()
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    # The input's SHA-256 (hex), when the handler hashed the whole input anyway (a PDF's one
    # pass over its bytes); the verifier computes it otherwise.
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class CarriedDocument:
    """A document found inside an input, as the verification met it: so that a caller that
    wants the documents' bytes (the register's text fields, the evidence bundle's tokens)
    receives them from the one walk of the message instead of parsing it again."""

    path: str  # where it is: "quyet-dinh.pdf", "part 2.eml / quyet-dinh.p7m"
    verdict: Verdict
    data: bytes
    content: bytes | None = None  # what a detached .p7s signs


DocumentObserver = Callable[[CarriedDocument], None]
PATH_SEPARATOR = " / "


class NestedVerifier(Protocol):
    """Verifies a document carried inside another input (same trust, policy, time, budget)."""

    def __call__(
        self, data: bytes, /, *, name: str | None, content: bytes | None = None
    ) -> Verdict: ...


class FormatHandler(Protocol):
    def __call__(
        self,
        data: bytes,
        *,
        name: str | None,
        content: bytes | None,
        ctx: VerificationContext,
        nested: NestedVerifier,
    ) -> FormatResult: ...
