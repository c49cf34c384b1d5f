"""The revocation cache directory, shared by the offline and the online source.

``<dir>/crl/<sha256(url)>.crl``, ``<dir>/ocsp/<key>.ocsp`` and ``<dir>/aia/<sha256(url)>.cer``,
written atomically; anything unreadable is only a cache miss.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import x509

from sigmail.errors import ConfigError
from sigmail.revocation.evidence import IssuerLookup, RevocationItem
from sigmail.revocation.responses import published_certificates

__all__ = ["DiskCache", "Entry", "cached_issuers", "ocsp_cache_key"]


@dataclass(slots=True)
class Entry:
    item: RevocationItem
    next_update: datetime | None


def ocsp_cache_key(url: str, cert: x509.Certificate, issuer: x509.Certificate) -> str:
    h = hashlib.sha256()
    h.update(url.encode())
    h.update(issuer.public_key.sha1)
    h.update(str(cert.serial_number).encode())
    return h.hexdigest()


class DiskCache:
    """``<dir>/crl/<sha256(url)>.crl`` and ``<dir>/ocsp/<key>.ocsp``, written atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            (self.root / "crl").mkdir(parents=True, exist_ok=True)
            (self.root / "ocsp").mkdir(parents=True, exist_ok=True)
            (self.root / "aia").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"revocation cache directory {self.root}: {exc.strerror}") from exc

    def crl_path(self, url: str) -> Path:
        return self.root / "crl" / f"{hashlib.sha256(url.encode()).hexdigest()}.crl"

    def ocsp_path(self, key: str) -> Path:
        return self.root / "ocsp" / f"{key}.ocsp"

    def issuer_path(self, url: str) -> Path:
        return self.root / "aia" / f"{hashlib.sha256(url.encode()).hexdigest()}.cer"

    def read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except OSError:
            return None

    def write(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a cache that cannot be written is only slower


def cached_issuers(disk: DiskCache | None, url: str) -> IssuerLookup:
    der = disk.read(disk.issuer_path(url)) if disk is not None else None
    if der:
        try:
            return IssuerLookup(tuple(published_certificates(der)))
        except ValueError:
            pass
    return IssuerLookup()
