"""Budgeted construction of candidate certification paths (leaf → trust anchor).

pyhanko-certvalidator implements the RFC 5280 §6 *validation* algorithm well, but its own path
builder has no budget (a 100-certificate same-subject chain keeps it busy for more than ten
minutes). sigmail builds the paths itself, here, and hands each one to certvalidator.

The search is a depth-first walk from the leaf towards an anchor:

* issuer candidates of a certificate are the anchors and the intermediates whose subject equals
  its issuer name (asn1crypto compares names as RFC 5280 §7.1 asks: case and whitespace
  normalised). Candidates whose subject key identifier matches the certificate's authority key
  identifier come first, mismatching ones last; then anchors before intermediates, certificates
  valid at the validation time before the others, and those not signed with a legacy or refused
  hash before those that are;
* an edge is kept only if the candidate's key verifies the certificate's signature (or the
  signature cannot be checked here, e.g. DSA parameters inherited from further up: then
  certvalidator decides); every verification is charged to the :class:`~sigmail.limits.Budget`;
* no certificate appears twice in a path, a path has at most ``max_chain_length`` certificates
  (anchor included), and at most ``max_path_candidates`` issuer candidates are examined in all.

Paths are produced lazily, most preferred first; the caller stops at the first that validates.
When none is found the builder keeps :class:`DeadEnd` records that say why (no issuer, a
signature that no candidate's key verifies, an impostor of a trusted root, a cycle, a path too
long).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from asn1crypto import algos, keys, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from pyhanko_certvalidator.errors import AlgorithmNotSupported, DSAParametersUnavailable
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from sigmail.bounded_cache import BoundedCache
from sigmail.limits import Budget, LimitExceeded, Limits
from sigmail.problems import ASN1_ERRORS
from sigmail.trust.store import Anchor, TrustStore

__all__ = [
    "CandidatePath",
    "DeadEnd",
    "DeadEndKind",
    "PathBuilder",
    "SigOutcome",
    "SignatureChecker",
]


class SigOutcome(Enum):
    VERIFIED = "verified"
    FAILED = "failed"  # the key does not verify the signature
    UNKNOWN = "unknown"  # could not be checked here (unsupported algorithm, inherited parameters)


@dataclass(frozen=True, slots=True)
class _SigResult:
    outcome: SigOutcome
    error: BaseException | None = None

    def __post_init__(self) -> None:
        # The result is cached process-wide (up to 8,192 entries): an exception kept with its
        # traceback keeps every frame of the failed check alive, certificates and all — a
        # fuzz worker grew by ~3 MB per 1,000 verifications that way. The error's type and
        # arguments are all reraise() needs.
        if self.error is not None:
            self.error.__traceback__ = None
            self.error.__context__ = None
            self.error.__cause__ = None

    def reraise(self) -> None:
        """Raise a fresh copy of the recorded error (cached results are shared)."""
        assert self.error is not None
        raise type(self.error)(*self.error.args)


_VERIFIER = DefaultSignatureValidator()
# Keyed by a SHA-256 of the four inputs; a result holds an outcome and a small error.
_cache: BoundedCache[bytes, _SigResult] = BoundedCache(
    max_entries=8192, max_weight=8 * 1024 * 1024, weigh=lambda _key, _result: 512
)


def _verify_uncached(
    signature: bytes,
    signed_data: bytes,
    public_key: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
) -> _SigResult:
    try:
        _VERIFIER.validate_signature(signature, signed_data, public_key, algorithm)
    except (DSAParametersUnavailable, AlgorithmNotSupported) as exc:
        return _SigResult(SigOutcome.UNKNOWN, exc)
    except InvalidSignature as exc:
        return _SigResult(SigOutcome.FAILED, exc)
    except AssertionError as exc:  # key type does not fit the signature mechanism
        return _SigResult(SigOutcome.FAILED, InvalidSignature(f"key/algorithm mismatch {exc}"))
    except (UnsupportedAlgorithm, ValueError, TypeError, KeyError, NotImplementedError) as exc:
        return _SigResult(SigOutcome.UNKNOWN, exc)
    return _SigResult(SigOutcome.VERIFIED)


class SignatureChecker:
    """Signature verification for one ``validate_chain`` call, charged to its budget.

    Each distinct (algorithm, key, signature, data) is charged once per call, whether or not
    the process-wide result cache already knows the answer: the budget counts the checks a
    verification *needs*, so the outcome never depends on what ran before. The cache (bounded,
    keyed by a digest of all four inputs, so a pure function) saves the CPU.
    """

    __slots__ = ("_budget", "_memo")

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._memo: dict[bytes, _SigResult] = {}

    @staticmethod
    def _key(
        signature: bytes,
        signed_data: bytes,
        public_key: keys.PublicKeyInfo,
        algorithm: algos.SignedDigestAlgorithm,
    ) -> bytes:
        h = hashlib.sha256()
        for part in (algorithm.dump(), public_key.dump(), signature, signed_data):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
        return h.digest()

    def check(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key: keys.PublicKeyInfo,
        algorithm: algos.SignedDigestAlgorithm,
    ) -> _SigResult:
        key = self._key(signature, signed_data, public_key, algorithm)
        result = self._memo.get(key)
        if result is not None:
            return result
        # Refuse before counting, so the counter never exceeds the limit it enforces.
        ceiling = self._budget.limits.max_chain_signature_checks
        if self._budget.signature_checks >= ceiling:
            raise LimitExceeded("max_chain_signature_checks", ceiling)
        self._budget.spend_signature_check()
        result = _cache.get_or_make(
            key, lambda: _verify_uncached(signature, signed_data, public_key, algorithm)
        )
        self._memo[key] = result
        return result

    def was_verified(self, signature: bytes, signed_data: bytes, public_key, algorithm) -> bool:
        """Whether this call already verified exactly this signature (no new charge)."""
        result = self._memo.get(self._key(signature, signed_data, public_key, algorithm))
        return result is not None and result.outcome is SigOutcome.VERIFIED

    def check_certificate(self, cert: x509.Certificate, issuer_key: keys.PublicKeyInfo):
        return self.check(
            cert["signature_value"].native,
            cert["tbs_certificate"].dump(),
            issuer_key,
            cert["signature_algorithm"],
        )


@dataclass(frozen=True, slots=True)
class CandidatePath:
    """A chain from the leaf to an anchor; ``certs`` excludes the anchor (empty if the leaf is
    itself an anchor)."""

    certs: tuple[x509.Certificate, ...]
    anchor: Anchor

    @property
    def full(self) -> tuple[x509.Certificate, ...]:
        """Leaf first, anchor certificate last."""
        return (*self.certs, self.anchor.certificate)


class DeadEndKind(Enum):
    NO_ISSUER = "no_issuer"  # no anchor or intermediate carries the issuer name
    BAD_SIGNATURE = "bad_signature"  # certificates with the issuer name exist; none verifies
    IMPOSTOR = "impostor"  # the issuer name is an anchor's, but no anchor's key verifies
    TOO_LONG = "too_long"  # an issuer exists but the path would exceed max_chain_length
    CYCLE = "cycle"  # every issuer candidate is already in the path


@dataclass(frozen=True, slots=True)
class DeadEnd:
    kind: DeadEndKind
    index: int  # position of ``cert`` in the partial chain (0 = leaf)
    cert: x509.Certificate
    anchors_named: int = 0
    intermediates_named: int = 0


def _safe(fn, default=None):
    try:
        return fn()
    except ASN1_ERRORS:
        return default


def _valid_at(cert: x509.Certificate, at: datetime) -> bool:
    return bool(_safe(lambda: cert.not_valid_before <= at <= cert.not_valid_after, False))


class PathBuilder:
    """Candidate paths for one leaf; see the module docstring for the search rules."""

    def __init__(
        self,
        *,
        trust: TrustStore,
        intermediates: Sequence[x509.Certificate],
        at: datetime,
        checker: SignatureChecker,
        limits: Limits,
        avoid_hashes: frozenset[str] = frozenset(),
    ) -> None:
        self._trust = trust
        self._avoid = avoid_hashes
        self._at = at
        self._checker = checker
        self._max_len = limits.max_chain_length
        self._max_candidates = limits.max_path_candidates
        self.examined = 0
        self.dead_ends: list[DeadEnd] = []
        seen: set[bytes] = set()
        by_subject: dict[object, list[x509.Certificate]] = {}
        for cert in intermediates:
            fp = cert.sha256
            if fp in seen or trust.anchor_for(cert) is not None:
                continue
            seen.add(fp)
            subject = _safe(lambda c=cert: c.subject.hashable)
            if subject is not None:
                by_subject.setdefault(subject, []).append(cert)
        self._by_subject = by_subject

    def paths(self, leaf: x509.Certificate) -> Iterator[CandidatePath]:
        anchor = self._trust.anchor_for(leaf)
        if anchor is not None:
            yield CandidatePath((), anchor)
        yield from self._extend((leaf,), {leaf.sha256})

    def _count(self) -> None:
        self.examined += 1
        if self.examined > self._max_candidates:
            raise LimitExceeded("max_path_candidates", self._max_candidates)

    def _rank(self, cert: x509.Certificate, candidate: x509.Certificate, is_anchor: bool):
        aki = _safe(lambda: cert.authority_key_identifier)
        ski = _safe(lambda: candidate.key_identifier)
        key_rank = 1 if aki is None or ski is None else (0 if aki == ski else 2)
        weak = not is_anchor and _safe(
            lambda: candidate["signature_algorithm"].hash_algo in self._avoid, False
        )
        return (key_rank, not is_anchor, not _valid_at(candidate, self._at), weak)

    def _extend(
        self, chain: tuple[x509.Certificate, ...], in_chain: set[bytes]
    ) -> Iterator[CandidatePath]:
        cert = chain[-1]
        issuer = _safe(lambda: cert.issuer.hashable)
        anchors = self._trust.anchors_named(cert.issuer) if issuer is not None else []
        inters = self._by_subject.get(issuer, []) if issuer is not None else []
        ordered = sorted(
            [(self._rank(cert, a.certificate, True), i, a) for i, a in enumerate(anchors)]
            + [(self._rank(cert, c, False), len(anchors) + i, c) for i, c in enumerate(inters)],
            key=lambda item: item[:2],
        )
        produced = False
        failed = anchor_failed = verified = too_long = cycles = 0
        for _rank, _i, candidate in ordered:
            self._count()
            if isinstance(candidate, Anchor):
                if len(chain) + 1 > self._max_len:
                    too_long += 1
                    continue
                result = self._checker.check_certificate(cert, candidate.certificate.public_key)
                if result.outcome is SigOutcome.FAILED:
                    failed += 1
                    anchor_failed += 1
                    continue
                verified += 1
                produced = True
                yield CandidatePath(chain, candidate)
            else:
                fp = candidate.sha256
                if fp in in_chain:
                    cycles += 1
                    continue
                if len(chain) + 2 > self._max_len:  # the candidate and at least an anchor
                    too_long += 1
                    continue
                result = self._checker.check_certificate(cert, candidate.public_key)
                if result.outcome is SigOutcome.FAILED:
                    failed += 1
                    continue
                verified += 1
                in_chain.add(fp)
                try:
                    for path in self._extend((*chain, candidate), in_chain):
                        produced = True
                        yield path
                finally:
                    in_chain.discard(fp)
        if produced or verified:
            return  # paths were found, or the dead ends are further up and recorded there
        if too_long:
            kind = DeadEndKind.TOO_LONG
        elif anchors and anchor_failed == len(anchors):
            kind = DeadEndKind.IMPOSTOR
        elif failed:
            kind = DeadEndKind.BAD_SIGNATURE
        elif cycles:
            kind = DeadEndKind.CYCLE
        else:
            kind = DeadEndKind.NO_ISSUER
        self.dead_ends.append(DeadEnd(kind, len(chain) - 1, cert, len(anchors), len(inters)))
