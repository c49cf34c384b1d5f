"""The entry point: bytes + trust + policy + an explicit validation time → a :class:`Verdict`.

This is the one boundary where bad input and bugs are turned into verdicts: a malformed or
oversized input is a finding, never a traceback; a bug becomes ``internal_error`` (logged),
or is re-raised as :class:`InternalError` when ``strict`` is on (the test suite runs strict).
"""

from __future__ import annotations

import hashlib
import logging
import mmap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sigmail._version import __version__
from sigmail.contract import (
    PATH_SEPARATOR,
    CarriedDocument,
    DocumentObserver,
    VerificationContext,
)
from sigmail.errors import InternalError, UsageError
from sigmail.formats import FormatResult, InputKind, detect, detect_kind, handler_for
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.policy.apply import apply_policy, role_of_carried_document
from sigmail.policy.model import DEFAULT_POLICY, Policy, load_policy
from sigmail.policy.verdict_table import decide, reason_codes, retry_after
from sigmail.problems import InputProblem
from sigmail.revocation.allowance import fetch_allowance
from sigmail.revocation.evidence import RevocationSource
from sigmail.trust.chain_cache import ChainCache
from sigmail.trust.store import AnchorClass, TrustStore
from sigmail.verdict.model import Finding, Verdict

__all__ = ["Verifier", "verify"]

log = logging.getLogger("sigmail")


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise UsageError(f"{name} must be a timezone-aware datetime, got {value!r}")


class Verifier:
    """Verifies many inputs with one trust store, policy and revocation source.

    Keeps a cache of successful chain validations (each valid only inside the window where
    nothing it relied on changes), so the second document from a signer costs no chain work
    and no network request. Thread-safe.
    """

    def __init__(
        self,
        *,
        trust: TrustStore,
        policy: Policy | str | Path = DEFAULT_POLICY,
        revocation: RevocationSource | None = None,
        limits: Limits | None = None,
        strict: bool = False,
        chain_cache: ChainCache | None = None,
    ) -> None:
        if not isinstance(trust, TrustStore):
            raise UsageError("trust must be a sigmail.TrustStore (load it explicitly)")
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        # A certificate the policy pins keeps the pinned class (NEAC stays "public" even if it
        # was given as an official anchor by mistake).
        self.trust = trust.reclassified(
            {p.sha256: AnchorClass(p.anchor_class) for p in self.policy.anchors}
        )
        self.revocation = revocation
        self.limits = limits or Limits()
        self.strict = strict
        self.chain_cache = chain_cache if chain_cache is not None else ChainCache()

    def verify(
        self,
        data: bytes,
        *,
        at: datetime,
        name: str | None = None,
        content: bytes | None = None,
        receipt_time: datetime | None = None,
        on_document: DocumentObserver | None = None,
    ) -> Verdict:
        """The verdict on ``data`` as of ``at``.

        ``content`` is the signed file of a detached signature (.p7s). ``receipt_time`` is a
        time the caller vouches the input existed at (e.g. its own MTA's receipt): like a
        timestamp, it proves the signature was made no later than that. A large PDF may be
        given as an ``mmap`` opened with ``access=mmap.ACCESS_READ``: it is read in place and
        its pages are released once hashed. ``on_document`` is called with every document
        the input carries (at any depth, in the order they are verified), with its bytes.
        """
        _require_aware("at", at)
        _require_aware("receipt_time", receipt_time)
        if not isinstance(data, bytes | bytearray | memoryview | mmap.mmap):
            raise UsageError(f"data must be bytes, not {type(data).__name__}")
        # A PDF given as an mmap or memoryview is read in place (a 100 MB file is not
        # copied); everything else is frozen into bytes.
        if not (
            isinstance(data, mmap.mmap | memoryview)
            and detect_kind(bytes(data[:1024]), name) == InputKind.PDF
        ):
            data = bytes(data)
        budget = Budget(self.limits)
        ctx = VerificationContext(
            trust=self.trust,
            validation_time=at,
            budget=budget,
            algorithms=self.policy.algorithms,
            chain_params=self.policy.chain,
            revocation_source=self.revocation,
            receipt_time=receipt_time,
            chain_cache=self.chain_cache,
            tz_quirk=self.policy.tz_quirk,
        )
        with fetch_allowance(self.limits):  # the network this message may use, in all
            return self._verify(
                data,
                ctx=ctx,
                name=name,
                content=content,
                depth=0,
                document_role="document",
                carried=_Carried(on_document, ""),
            )

    def _verify(
        self,
        data: bytes,
        *,
        ctx: VerificationContext,
        name: str | None,
        content: bytes | None,
        depth: int,
        document_role: str,
        carried: _Carried,
    ) -> Verdict:
        """One input (the given one, or a document carried inside it) → its verdict."""
        at = ctx.validation_time
        result = self._run_handler(
            data, name=name, content=content, ctx=ctx, depth=depth, carried=carried
        )
        if result.kind == InputKind.EML:
            document_role = "message"
        signatures, findings = self._apply_policy(result, ctx=ctx, name=name, role=document_role)
        all_findings = [*findings, *(f for s in signatures for f in s.findings)]
        all_findings.extend(
            f for s in signatures if s.timestamp is not None for f in s.timestamp.findings
        )
        verdict = decide(all_findings)
        return Verdict(
            verdict=verdict,
            reasons=reason_codes(all_findings),
            validation_time=at,
            policy=self.policy.ref,
            name=name,
            kind=result.kind,
            sha256=result.sha256 or hashlib.sha256(data).hexdigest(),
            size=len(data),
            findings=tuple(findings),
            signatures=signatures,
            documents=result.documents,
            parts=result.parts,
            modifications=result.modifications,
            message_id=result.message_id,
            sender=result.sender,
            subject=result.subject,
            retry_after=retry_after(all_findings) if verdict.value == "indeterminate" else None,
            generator=f"sigmail {__version__}",
        )

    def _apply_policy(
        self, result: FormatResult, *, ctx: VerificationContext, name: str | None, role: str
    ) -> tuple[tuple, list[Finding]]:
        """The policy, inside the same boundary and time budget as the handler: a policy that
        runs out of time is limit_exceeded, a bug in it internal_error, never a traceback."""
        try:
            return apply_policy(self.policy, result, document_role=role, budget=ctx.budget)
        except LimitExceeded as exc:
            problem = Finding.of("limit_exceeded", "document", f"policy: {exc}")
        except Exception as exc:
            problem = self._internal_error(exc, name)
        return result.signatures, [*result.findings, problem]

    def _observe(self, observer: DocumentObserver, document: CarriedDocument) -> None:
        """Hand a carried document to the caller; the caller's failure never changes the
        verdict (logged; re-raised in strict mode)."""
        try:
            observer(document)
        except Exception as exc:
            log.exception("on_document failed on %s", document.path)
            if self.strict:
                raise InternalError(f"on_document failed on {document.path}: {exc!r}") from exc

    def _internal_error(self, exc: Exception, name: str | None) -> Finding:
        """A bug: logged, re-raised in strict mode, otherwise an internal_error finding."""
        log.exception("sigmail internal error on %s", name or "<input>")
        if self.strict:
            raise InternalError(f"internal error on {name or '<input>'}: {exc!r}") from exc
        return Finding.of("internal_error", "document", repr(exc))

    def _run_handler(
        self,
        data: bytes,
        *,
        name: str | None,
        content: bytes | None,
        ctx: VerificationContext,
        depth: int,
        carried: _Carried,
    ) -> FormatResult:
        """Run the format handler; this is where bad input and bugs become findings."""
        detected = detect(data, name)
        kind = detected.kind
        try:
            ctx.budget.check_size("max_input_bytes", len(data))
            if content is not None:
                ctx.budget.check_size("max_input_bytes", len(content))
            if depth > self.limits.max_mime_depth:
                raise LimitExceeded("max_mime_depth", self.limits.max_mime_depth, depth)
            handler = handler_for(kind)
            if handler is None:
                # Not a format sigmail reads: say what it is, do not call it broken.
                problem = Finding.of(
                    "unsupported",
                    "document",
                    f"{detected.label}: sigmail verifies CMS (.p7m/.p7s), PDF and e-mail",
                )
                return FormatResult(kind=kind, findings=[problem])

            documents_before = 0

            def nested(
                inner: bytes, /, *, name: str | None, content: bytes | None = None
            ) -> Verdict:
                nonlocal documents_before
                inner_kind = detect_kind(inner, name)
                role = role_of_carried_document(inner_kind, documents_before)
                if inner_kind in (
                    InputKind.CMS,
                    InputKind.PDF,
                    InputKind.XML,
                    InputKind.OOXML,
                    InputKind.ODF,
                ):
                    documents_before += 1
                path = f"{carried.prefix}{name}"
                verdict = self._verify(
                    inner,
                    ctx=ctx,
                    name=name,
                    content=content,
                    depth=depth + 1,
                    document_role=role,
                    carried=_Carried(carried.observer, path + PATH_SEPARATOR),
                )
                if carried.observer is not None:
                    self._observe(carried.observer, CarriedDocument(path, verdict, inner, content))
                return verdict

            return handler(data, name=name, content=content, ctx=ctx, nested=nested)
        except LimitExceeded as exc:
            return FormatResult(kind, [Finding.of("limit_exceeded", "document", str(exc))])
        except InputProblem as exc:
            return FormatResult(kind, [Finding.of(exc.code, exc.locator, exc.detail)])
        except Exception as exc:
            return FormatResult(kind, [self._internal_error(exc, name)])


@dataclass(frozen=True, slots=True)
class _Carried:
    """Who wants the carried documents, and the path of the document being verified."""

    observer: DocumentObserver | None
    prefix: str


def verify(
    data: bytes,
    *,
    trust: TrustStore,
    at: datetime,
    policy: Policy | str | Path = DEFAULT_POLICY,
    revocation: RevocationSource | None = None,
    limits: Limits | None = None,
    name: str | None = None,
    content: bytes | None = None,
    receipt_time: datetime | None = None,
    strict: bool = False,
) -> Verdict:
    """One-shot verification; use :class:`Verifier` to verify many inputs with shared caches."""
    verifier = Verifier(
        trust=trust, policy=policy, revocation=revocation, limits=limits, strict=strict
    )
    return verifier.verify(data, at=at, name=name, content=content, receipt_time=receipt_time)
