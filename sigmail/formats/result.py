"""What a format handler returns, and the signature every handler has.

A handler turns the bytes of one kind of input (CMS file, e-mail, PDF) into signature reports
and findings; it never applies the policy and never decides the verdict — the verifier does,
in one place. A container (an e-mail) asks ``nested`` to verify what it carries (a PDF, a
.p7m, a forwarded message); each of those gets a verdict of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sigmail.cms.context import VerificationContext
from sigmail.verdict.model import (
    Finding,
    ModificationReport,
    PartReport,
    SignatureReport,
    Verdict,
)

__all__ = ["FormatHandler", "FormatResult", "NestedVerifier"]


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


class NestedVerifier(Protocol):
    """Verifies a document carried inside another input (same trust, policy, time, budget)."""

    def __call__(
        self, data: bytes, *, name: str | None, content: bytes | None = None
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
