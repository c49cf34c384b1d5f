"""Replay: the same verification again, offline, from nothing but a bundle.

The verifier is rebuilt from the bundle — its anchors with their classes, its configured
intermediates, its policy text, its limits — and asked about the bundled input at the
recorded validation and receipt times. Revocation comes from :class:`ReplayRevocation`, which
answers each lookup exactly as it was answered when the bundle was made (fetched items keep
their origin, an unreachable responder is unreachable again) and never touches the network
or the disk.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import x509

from sigmail.errors import EvidenceBundleError
from sigmail.evidence.bundle import EvidenceBundle, read_bundle, safe_name
from sigmail.evidence.recorder import RecordingChainCache
from sigmail.limits import Limits
from sigmail.revocation.evidence import IssuerLookup, RevocationLookup
from sigmail.trust.certificates import fingerprint, parse_certificates
from sigmail.trust.store import Anchor, AnchorClass, TrustStore
from sigmail.verdict.model import Verdict

__all__ = ["ReplayResult", "ReplayRevocation", "replay"]


def _key(cert_fp: str, issuer_fp: str, at: str) -> tuple[str, str, str]:
    return (cert_fp, issuer_fp, at)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ReplayRevocation:
    """A :class:`RevocationSource` answering only from recorded lookups (no network, no disk).

    A question that was not asked when the bundle was made gets an empty answer (no evidence)
    and is listed in :attr:`unanswered`.
    """

    def __init__(
        self,
        lookups: list[tuple[str, str, str, RevocationLookup]],
        issuer_fetches: Sequence[tuple[str, IssuerLookup]] = (),
    ) -> None:
        self._answers: dict[tuple[str, str, str], RevocationLookup] = {}
        for cert_fp, issuer_fp, at, answer in lookups:
            self._answers.setdefault(_key(cert_fp, issuer_fp, at), answer)
        self._issuers = dict(issuer_fetches)
        self.unanswered: list[tuple[str, str, str]] = []

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """The AIA caIssuers answer recorded for ``url`` (empty if it was not fetched)."""
        return self._issuers.get(url, IssuerLookup())

    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        key = _key(fingerprint(cert), fingerprint(issuer), _iso(at))
        answer = self._answers.get(key)
        if answer is None:
            self.unanswered.append(key)
            return RevocationLookup()
        return answer


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The replayed verdict next to the recorded one."""

    verdict: Verdict
    recorded: Verdict
    bundle: EvidenceBundle
    unanswered: tuple[tuple[str, str, str], ...] = ()  # lookups the bundle could not answer

    @property
    def identical(self) -> bool:
        """The replayed verdict JSON is the recorded one, byte for byte."""
        return self.verdict.to_json() == self.recorded.to_json()


def _trust(bundle: EvidenceBundle) -> TrustStore:
    anchors = []
    for klass, der in bundle.anchors():
        (cert,) = parse_certificates(der)
        anchors.append(Anchor(cert, AnchorClass(klass), fingerprint(cert), "bundle"))
    helpers = [c for der in bundle.intermediates() for c in parse_certificates(der)]
    return TrustStore(anchors, helpers)


def replay(
    source: EvidenceBundle | str | Path | bytes,
    *,
    strict: bool = False,
) -> ReplayResult:
    """Verify a bundle's input again from the bundle alone.

    ``source`` is a bundle, or a zip given as a path or bytes (read with
    :func:`~sigmail.evidence.read_bundle`, which raises
    :class:`~sigmail.errors.EvidenceBundleError` for a bundle that does not match its
    manifest). Never touches the network.
    """
    from sigmail.policy.model import load_policy
    from sigmail.verifier import Verifier

    bundle = source if isinstance(source, EvidenceBundle) else read_bundle(source)
    manifest = bundle.manifest
    try:  # a manifest whose hashes match but whose tables do not parse is refused too
        revocation = ReplayRevocation(bundle.lookups(), bundle.issuer_fetches())
        limits = Limits(**manifest["limits"])
        trust = _trust(bundle)
        at, receipt_time = bundle.validation_time, bundle.receipt_time
        content, name = bundle.content, bundle.name
        with tempfile.TemporaryDirectory(prefix="sigmail-replay-") as tmp:
            # load_policy reads files; the text is the bundle's, its hash checked already.
            policy_file = Path(tmp) / f"{safe_name(manifest['policy']['name'], 'policy')}.toml"
            policy_file.write_bytes(bundle.policy_text.encode("utf-8"))
            policy = load_policy(policy_file)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # (PolicyError, ConfigError and TrustStoreError are ValueErrors too)
        raise EvidenceBundleError(
            f"cannot rebuild the verification: {type(exc).__name__}: {exc}",
            member="manifest.json",
        ) from exc
    verifier = Verifier(
        trust=trust,
        policy=policy,
        revocation=revocation,
        limits=limits,
        strict=strict,
        chain_cache=RecordingChainCache(),
    )
    verdict = verifier.verify(
        bundle.data, at=at, name=name, content=content, receipt_time=receipt_time
    )
    return ReplayResult(
        verdict=verdict,
        recorded=bundle.verdict,
        bundle=bundle,
        unanswered=tuple(revocation.unanswered),
    )
