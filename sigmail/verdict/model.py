"""The verdict: document or message → signatures → findings, as frozen dataclasses.

This is the stable, versioned result type (JSON schema ``sigmail.verdict/1``). Times are aware
datetimes in UTC. ``None`` always means "not known / not applicable", never "false".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from sigmail.verdict.reasons import Effect, ReasonCode, reason
from sigmail.verdict.vocabulary import (
    ChainRole,
    Classification,
    Coverage,
    RevocationState,
    SignatureStatus,
    SignerRole,
    TimeSource,
    VerdictKind,
)

__all__ = [
    "SCHEMA",
    "CertificateSummary",
    "ChainElement",
    "ChainRole",
    "Classification",
    "Coverage",
    "Finding",
    "ModificationReport",
    "PartReport",
    "PolicyRef",
    "ReasonCode",
    "RevocationState",
    "RevocationStatus",
    "SignatureReport",
    "SignatureStatus",
    "SignerRole",
    "TimeSource",
    "TimestampReport",
    "Verdict",
    "VerdictKind",
]

SCHEMA = "sigmail.verdict/1"


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation, with its stable reason code and where it was made."""

    code: ReasonCode
    effect: Effect
    check: str
    locator: str
    message_vi: str
    message_en: str
    basis: str
    detail: str | None = None
    retry_after: datetime | None = None

    @classmethod
    def of(
        cls,
        code: str,
        locator: str,
        detail: str | None = None,
        *,
        retry_after: datetime | None = None,
    ) -> Finding:
        row = reason(code)
        return cls(
            code=ReasonCode(code),
            effect=row.effect,
            check=row.check,
            locator=locator,
            message_vi=row.vi,
            message_en=row.en,
            basis=row.basis,
            detail=detail,
            retry_after=retry_after,
        )


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What a reader needs to know of a certificate, without ASN.1 objects."""

    subject: str
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime
    common_name: str | None = None
    organization: str | None = None
    organizational_units: tuple[str, ...] = ()
    locality: str | None = None
    uid: str | None = None
    emails: tuple[str, ...] = ()
    key: str | None = None  # e.g. "RSA-2048", "EC-P256"
    subject_key_id: str | None = None  # hex
    key_usage: tuple[str, ...] = ()
    extended_key_usage: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    state: RevocationState
    source: str | None = None  # "crl" | "ocsp"
    origin: str | None = None  # "embedded" | "fetched" | "cache" | "supplied"
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChainElement:
    role: ChainRole
    certificate: CertificateSummary
    revocation: RevocationStatus | None = None


@dataclass(frozen=True, slots=True)
class TimestampReport:
    """An RFC 3161 timestamp over a signature value (or a document timestamp)."""

    status: SignatureStatus
    gen_time: datetime | None = None
    tsa: CertificateSummary | None = None
    digest_algorithm: str | None = None
    chain: tuple[ChainElement, ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class SignatureReport:
    index: int
    locator: str
    status: SignatureStatus
    intact: bool | None  # the content digest matches
    valid: bool | None  # the signature value verifies with the signer's key
    kind: str = "cms"  # "cms" | "smime" | "pades" | "doc_timestamp"
    signer: CertificateSummary | None = None
    anchor_class: str | None = None  # "official" | "public"
    anchor: str | None = None  # subject of the trust anchor the chain ends in
    chain: tuple[ChainElement, ...] = ()
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    claimed_signing_time: datetime | None = None
    proven_signing_time: datetime | None = None
    proven_by: TimeSource | None = None
    checked_at: datetime | None = None  # the time the chain and revocation were judged at
    timestamp: TimestampReport | None = None
    findings: tuple[Finding, ...] = ()
    # What the signature covers. S/MIME: the locators of the MIME parts it signs. PDF: the
    # signature field, the revision it signs (1 = the first), its ByteRange, and "coverage"
    # ("entire_file" | "entire_revision" | "partial").
    covers: tuple[str, ...] = ()
    field: str | None = None
    revision: int | None = None
    byte_range: tuple[int, ...] = ()
    coverage: Coverage | None = None
    # Signing order (NĐ 30 Art 32(2)(d)): indices of the signatures already inside the revision
    # this one signs. A PDF certification signature's DocMDP level (1, 2, 3), if any.
    earlier_signatures: tuple[int, ...] = ()
    certification_level: int | None = None
    # Who signed, as the policy classifies the certificate: "person" | "agency", and which rule
    # decided ("registry" | "uid" | "common_name" | "default").
    role: SignerRole | None = None
    role_source: str | None = None
    # (dataclasses.field: the attribute ``field`` above shadows the name in this body.)
    # The two halves of ``status``, kept apart as pyHanko's status keeps intact/valid apart
    # from trusted. Derived from the fields above on every construction (never given, so
    # they cannot disagree with the findings): ``integrity`` — the digest and the signature
    # value verify and nothing broke what was signed (everything but C3/C4); ``trust`` — the
    # chain reaches an allowed anchor and holds at ``checked_at`` (C3, C4). An intact
    # signature on an untrusted chain is integrity passed, trust failed, status failed.
    integrity: SignatureStatus = dataclasses.field(
        default=SignatureStatus.INDETERMINATE, init=False
    )
    trust: SignatureStatus = dataclasses.field(default=SignatureStatus.INDETERMINATE, init=False)

    def __post_init__(self) -> None:
        integrity, trust = _halves(self)
        object.__setattr__(self, "integrity", integrity)
        object.__setattr__(self, "trust", trust)

    def _repr_html_(self) -> str:
        """Jupyter's rich display (sigmail/verdict/html.py); not part of the JSON."""
        from sigmail.verdict.html import signature_html

        return signature_html(self)


# The checks whose findings say whether the signer is trusted; every other blocking finding
# of a signature is about its integrity (C2 what was signed, C5 the algorithm, "-" the input).
TRUST_CHECKS = frozenset({"C3", "C4"})
_BLOCKING = (Effect.INVALID, Effect.INDETERMINATE)


def _worst(findings: list[Finding]) -> SignatureStatus | None:
    effects = {f.effect for f in findings}
    if Effect.INVALID in effects:
        return SignatureStatus.FAILED
    if Effect.INDETERMINATE in effects:
        return SignatureStatus.INDETERMINATE
    return None


def _more(a: SignatureStatus | None, b: SignatureStatus | None) -> SignatureStatus | None:
    order = (SignatureStatus.FAILED, SignatureStatus.INDETERMINATE)
    return next((s for s in order if s in (a, b)), None)


def _halves(sig: SignatureReport) -> tuple[SignatureStatus, SignatureStatus]:
    blocking = [f for f in sig.findings if f.effect in _BLOCKING]
    trust = _worst([f for f in blocking if f.check in TRUST_CHECKS])
    integrity = _worst([f for f in blocking if f.check not in TRUST_CHECKS])
    token = sig.timestamp if sig.kind == "doc_timestamp" else None
    document_timestamp = token is not None
    if token is not None:
        # The token's findings are warnings (on a signature they stamp, they only fail to
        # prove a time); as a document timestamp they are its halves, at the token's status.
        # Its ``valid`` is the token's status, trust included, so it is not read here.
        half = token.status if token.status is not SignatureStatus.PASSED else None
        for f in token.findings:
            if f.code == "timestamp_untrusted":
                trust = _more(trust, half)
            elif f.effect in (*_BLOCKING, Effect.WARNING):
                integrity = _more(integrity, half)
    if sig.intact is False or (sig.valid is False and not document_timestamp):
        integrity = SignatureStatus.FAILED
    if integrity is None:
        held = sig.intact is True and (sig.valid is True or document_timestamp)
        integrity = SignatureStatus.PASSED if held else SignatureStatus.INDETERMINATE
    if trust is None:
        # No trust finding: trusted if a chain was judged, otherwise not known.
        judged = bool(sig.chain) or sig.status is SignatureStatus.PASSED
        trust = SignatureStatus.PASSED if judged else SignatureStatus.INDETERMINATE
    return integrity, trust


@dataclass(frozen=True, slots=True)
class PartReport:
    """One MIME part of a message and the signatures that cover it."""

    locator: str  # "message", "part 1", "part 1.2", … (RFC 3501 numbering)
    content_type: str
    filename: str | None = None
    size: int | None = None  # decoded size in bytes
    sha256: str | None = None  # of the decoded content
    covered_by: tuple[int, ...] = ()  # indices into Verdict.signatures
    document: str | None = None  # name of the Verdict.documents entry made from this part
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class ModificationReport:
    """A change made after a signature's revision (PDF incremental updates), explained."""

    revision: int  # the revision that made the change
    kind: str  # e.g. "dss_added", "annotation_added", "page_content_changed"
    classification: Classification
    detail: str
    object_ids: tuple[str, ...] = ()  # "12 0"
    pages: tuple[int, ...] = ()  # 1-based page numbers
    after_signatures: tuple[int, ...] = ()  # signatures whose signed revision precedes it


@dataclass(frozen=True, slots=True)
class PolicyRef:
    name: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The verdict of one document or message; attached documents carry their own."""

    verdict: VerdictKind
    reasons: tuple[ReasonCode, ...]
    validation_time: datetime
    policy: PolicyRef
    name: str | None = None
    kind: str | None = None  # "p7m" | "p7s" | "eml" | "pdf" | "unknown"
    sha256: str | None = None
    size: int | None = None
    findings: tuple[Finding, ...] = ()
    signatures: tuple[SignatureReport, ...] = ()
    documents: tuple[Verdict, ...] = ()
    parts: tuple[PartReport, ...] = ()
    modifications: tuple[ModificationReport, ...] = ()
    # Messages: the header facts a register needs (None for documents).
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    retry_after: datetime | None = None
    generator: str = ""
    schema: str = field(default=SCHEMA)

    def all_findings(self) -> tuple[Finding, ...]:
        """Findings of the document and of its signatures (not of attached documents)."""
        out = list(self.findings)
        for sig in self.signatures:
            out.extend(sig.findings)
            if sig.timestamp is not None:
                out.extend(sig.timestamp.findings)
        return tuple(out)

    def to_dict(self) -> dict:
        from sigmail.verdict.serialize import to_dict

        return to_dict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        from sigmail.verdict.serialize import to_json

        return to_json(self, indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        """The verdict ``to_dict`` gave; :class:`~sigmail.errors.VerdictSchemaError` for
        anything that does not say it is a ``sigmail.verdict/1`` verdict."""
        from sigmail.errors import VerdictSchemaError
        from sigmail.verdict.serialize import from_dict

        schema = data.get("schema") if isinstance(data, dict) else None
        if schema != SCHEMA:
            raise VerdictSchemaError(f"not a {SCHEMA} verdict (schema: {schema!r})")
        try:
            return from_dict(cls, data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # e.g. a reason code this release does not know: a newer verdict, not ours to read
            raise VerdictSchemaError(f"not a {SCHEMA} verdict this release reads: {exc}") from exc

    def _repr_html_(self) -> str:
        """Jupyter's rich display: badge, signers, chains, timeline, PDF coverage
        (sigmail/verdict/html.py); not part of the JSON."""
        from sigmail.verdict.html import verdict_html

        return verdict_html(self)
