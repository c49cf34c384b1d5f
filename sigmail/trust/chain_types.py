"""Inputs and outputs of chain validation (:func:`sigmail.trust.chain.validate_chain`).

The chain validator answers one question: *at time ``at``, does this certificate chain to an
anchor of the trust store, and what was the status of every certificate on the way?* It knows
nothing of signatures, proven signing times or policies: the caller decides what an expired or
revoked certificate means for its signature (see :mod:`sigmail.cms.verify`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from asn1crypto import x509

from sigmail.trust.store import Anchor
from sigmail.verdict.model import RevocationStatus

__all__ = [
    "DOCUMENT_SIGNING_PURPOSES",
    "ChainFailure",
    "ChainParams",
    "ChainProblem",
    "ChainResult",
    "RevocationRule",
]


class ChainProblem(StrEnum):
    """Why a chain did not validate. Ordered roughly from most to least specific."""

    REVOKED = "revoked"  # a certificate was revoked before `at` (not certificateHold)
    ON_HOLD = "on_hold"  # a certificate was on hold (certificateHold) at `at`
    EXPIRED = "expired"  # `at` is after a certificate's notAfter
    NOT_YET_VALID = "not_yet_valid"  # `at` is before a certificate's notBefore
    WEAK_ALGORITHM = "weak_algorithm"  # a certificate is signed with a disallowed algorithm
    INVALID = "invalid"  # a path exists but breaks RFC 5280 (signature, constraints, policy…)
    UNTRUSTED = "untrusted"  # no path to any anchor
    REVOCATION_UNAVAILABLE = "revocation_unavailable"  # required status evidence is missing
    REVOCATION_UNREACHABLE = "revocation_unreachable"  # …because a responder failed
    ISSUER_UNREACHABLE = "issuer_unreachable"  # no path, and an AIA caIssuers fetch failed
    UNSUPPORTED = "unsupported"  # a feature the validator cannot evaluate
    BUDGET = "budget"  # a Limits budget ran out


class RevocationRule(StrEnum):
    """How much revocation evidence a certificate needs (pyhanko-certvalidator's rules)."""

    REQUIRED = "required"  # CRL or OCSP must be found and valid
    IF_DECLARED = "if_declared"  # required when the certificate names a CRLDP or OCSP URL
    IF_AVAILABLE = "if_available"  # checked when evidence is at hand; missing is fine
    NONE = "none"  # never checked


# What a signer's certificate must be for when it has an extendedKeyUsage extension: S/MIME
# (RFC 8550 4.4.4: emailProtection, or anyExtendedKeyUsage), document signing (RFC 9336), or
# the document-signing purposes Microsoft Office and Adobe Acrobat know. A codeSigning- or
# clientAuth-only certificate was not issued for signing correspondence. (The real VGCA
# agency certificates list clientAuth, emailProtection and msSmartcardLogin.)
DOCUMENT_SIGNING_PURPOSES = frozenset(
    {
        "email_protection",
        "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning (RFC 9336)
        "1.3.6.1.4.1.311.10.3.12",  # Microsoft document signing
        "1.2.840.113583.1.1.5",  # Adobe Authentic Documents Trust
    }
)


@dataclass(frozen=True, slots=True)
class ChainParams:
    """Everything about *how* to validate; the defaults are sigmail's for document signers."""

    leaf_revocation: RevocationRule = RevocationRule.REQUIRED
    ca_revocation: RevocationRule = RevocationRule.IF_DECLARED
    # Hashes refused in certificate and CRL/OCSP signatures, and hashes accepted with a
    # ``legacy_algorithm`` warning (VGCA G1 certificates are signed with SHA-1).
    refused_hashes: frozenset[str] = frozenset({"md2", "md5"})
    legacy_hashes: frozenset[str] = frozenset({"sha1"})
    # RFC 5280 §6.1.1 inputs; ``None`` means any-policy.
    initial_policy_set: frozenset[str] | None = None
    initial_explicit_policy: bool = False
    initial_policy_mapping_inhibit: bool = False
    initial_any_policy_inhibit: bool = False
    # EKU the leaf must carry when it has an EKU extension (timeStamping for a TSA); every CA
    # above it with an EKU extension must allow it too. Empty: any purpose.
    required_leaf_eku: frozenset[str] = DOCUMENT_SIGNING_PURPOSES
    # Revocation evidence issued after `at` may prove status at `at` (needed to judge a
    # timestamped signature with today's CRL).
    retroactive_revocation: bool = True


@dataclass(frozen=True, slots=True)
class ChainFailure:
    problem: ChainProblem
    detail: str
    cert_index: int | None = None  # 0 = leaf; None = not about one certificate
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    retry_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The outcome for one leaf. ``path`` runs leaf first, anchor last."""

    path: tuple[x509.Certificate, ...]
    anchor: Anchor | None
    failure: ChainFailure | None
    revocation: tuple[RevocationStatus | None, ...] = ()  # aligned with ``path``
    warnings: tuple[tuple[str, str], ...] = ()  # (reason code, detail), e.g. legacy_algorithm
    at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None
