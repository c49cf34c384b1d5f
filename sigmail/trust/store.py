"""Trust anchors, loaded explicitly. There is no OS or certifi store anywhere in sigmail.

Each anchor carries a class: *official* (the official-duty CA of Ban Cơ yếu Chính phủ) or
*public* (a licensed public CA under the national root). The policy decides what each class
is worth; the chain validator only reports which class a chain ends in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from asn1crypto import x509

from sigmail.errors import TrustStoreError
from sigmail.trust.certificates import fingerprint, parse_certificates

__all__ = ["Anchor", "AnchorClass", "TrustStore"]

_CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der", ".cert"}


class AnchorClass(StrEnum):
    OFFICIAL = "official"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Anchor:
    certificate: x509.Certificate
    anchor_class: AnchorClass
    sha256: str
    source: str | None = None

    @property
    def subject(self) -> x509.Name:
        return self.certificate.subject


def _read_sources(path: str | os.PathLike[str]) -> list[tuple[str, x509.Certificate]]:
    p = Path(path)
    if not p.exists():
        raise TrustStoreError("no such file or directory", path=str(p))
    files = (
        sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _CERT_SUFFIXES)
        if p.is_dir()
        else [p]
    )
    out: list[tuple[str, x509.Certificate]] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"cannot read: {exc.strerror}", path=str(f)) from exc
        try:
            certs = parse_certificates(data)
        except ValueError as exc:
            raise TrustStoreError(f"not a certificate ({exc})", path=str(f)) from exc
        out.extend((str(f), c) for c in certs)
    return out


class TrustStore:
    """An immutable set of trust anchors with classes, plus untrusted helper intermediates.

    Build it with :meth:`load` (files and directories, PEM or DER) or
    :meth:`from_certificates`. An empty store trusts nothing: every chain is ``untrusted_chain``.
    """

    __slots__ = ("_by_fp", "_by_subject", "_identity", "anchors", "intermediates")

    def __init__(
        self,
        anchors: Iterable[Anchor] = (),
        intermediates: Iterable[x509.Certificate] = (),
    ) -> None:
        by_fp: dict[str, Anchor] = {}
        for anchor in anchors:
            existing = by_fp.get(anchor.sha256)
            if existing is not None and existing.anchor_class != anchor.anchor_class:
                raise TrustStoreError(
                    f"certificate {anchor.sha256} given as both {existing.anchor_class} "
                    f"and {anchor.anchor_class}",
                    path=anchor.source,
                )
            by_fp.setdefault(anchor.sha256, anchor)
        self.anchors: tuple[Anchor, ...] = tuple(by_fp.values())
        self._by_fp = by_fp
        by_subject: dict[str, list[Anchor]] = {}
        for anchor in self.anchors:
            by_subject.setdefault(anchor.subject.hashable, []).append(anchor)
        self._by_subject = by_subject
        self.intermediates: tuple[x509.Certificate, ...] = tuple(
            {fingerprint(c): c for c in intermediates if fingerprint(c) not in by_fp}.values()
        )
        self._identity: str | None = None

    @classmethod
    def load(
        cls,
        official: Iterable[str | os.PathLike[str]] = (),
        public: Iterable[str | os.PathLike[str]] = (),
        intermediates: Iterable[str | os.PathLike[str]] = (),
    ) -> TrustStore:
        """Load anchors from files or directories; raises :class:`TrustStoreError` at once."""
        anchors: list[Anchor] = []
        for paths, klass in ((official, AnchorClass.OFFICIAL), (public, AnchorClass.PUBLIC)):
            for path in paths:
                for source, cert in _read_sources(path):
                    anchors.append(Anchor(cert, klass, fingerprint(cert), source))
        helpers = [cert for path in intermediates for _src, cert in _read_sources(path)]
        return cls(anchors, helpers)

    @classmethod
    def from_certificates(
        cls,
        official: Iterable[bytes | x509.Certificate] = (),
        public: Iterable[bytes | x509.Certificate] = (),
        intermediates: Iterable[bytes | x509.Certificate] = (),
    ) -> TrustStore:
        def certs(items: Iterable[bytes | x509.Certificate]) -> list[x509.Certificate]:
            out: list[x509.Certificate] = []
            for item in items:
                if isinstance(item, x509.Certificate):
                    out.append(item)
                else:
                    try:
                        out.extend(parse_certificates(item))
                    except ValueError as exc:
                        raise TrustStoreError(f"not a certificate ({exc})") from exc
            return out

        anchors = [
            Anchor(c, klass, fingerprint(c))
            for items, klass in ((official, AnchorClass.OFFICIAL), (public, AnchorClass.PUBLIC))
            for c in certs(items)
        ]
        return cls(anchors, certs(intermediates))

    def reclassified(self, classes: dict[str, AnchorClass]) -> TrustStore:
        """The same anchors, those whose SHA-256 is in ``classes`` with that class (a policy's
        pins decide the class of the certificates they name, whatever they were loaded as)."""
        if not any(a.sha256 in classes for a in self.anchors):
            return self
        anchors = [
            replace(a, anchor_class=classes.get(a.sha256, a.anchor_class)) for a in self.anchors
        ]
        return TrustStore(anchors, self.intermediates)

    def __len__(self) -> int:
        return len(self.anchors)

    def __bool__(self) -> bool:
        return bool(self.anchors)

    def anchor_by_fingerprint(self, sha256: str) -> Anchor | None:
        return self._by_fp.get(sha256.upper())

    def anchor_for(self, cert: x509.Certificate) -> Anchor | None:
        """The anchor that *is* ``cert`` (same DER), if any."""
        return self._by_fp.get(fingerprint(cert))

    def anchors_named(self, name: x509.Name) -> list[Anchor]:
        """Anchors whose subject equals ``name`` (issuer candidates during path building)."""
        return list(self._by_subject.get(name.hashable, ()))

    @property
    def identity(self) -> str:
        """A stable digest of the anchor set, for cache keys and evidence bundles (worked out
        once: every chain validation's cache key asks for it)."""
        if self._identity is None:
            import hashlib

            h = hashlib.sha256()
            for anchor in sorted(self.anchors, key=lambda a: a.sha256):
                h.update(f"{anchor.anchor_class}:{anchor.sha256}\n".encode())
            self._identity = h.hexdigest()
        return self._identity
