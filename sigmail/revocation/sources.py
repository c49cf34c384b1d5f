"""Where revocation evidence comes from besides the signed object itself.

* :class:`OfflineRevocation` — no network: CRLs (and OCSP responses) from a local cache
  directory, the one :class:`OnlineRevocation` fills, plus any ``*.crl`` dropped into it.
* :class:`OnlineRevocation` — OCSP first, then CRLs, over HTTP; responses are cached in memory
  and on disk until their ``nextUpdate``; failures are cached until a retry time, so a dead
  responder costs one timeout, not one per message.

Both only *collect* evidence. Judging it (signatures, scope, freshness at the wanted time) is
the chain validator's job, so a wrong or stale file here can never make a certificate good.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms, crl, ocsp, pem, x509

from sigmail.errors import ConfigError
from sigmail.revocation.evidence import (
    EvidenceKind,
    FetchFailure,
    IssuerLookup,
    RevocationItem,
    RevocationLookup,
)

__all__ = [
    "HttpTransport",
    "OfflineRevocation",
    "OnlineRevocation",
    "ca_issuer_urls",
    "crl_urls",
    "ocsp_urls",
    "published_certificates",
]

Transport = Callable[[str, bytes | None, float], bytes]


def crl_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) URLs of the certificate's CRL distribution points (LDAP is not fetched)."""
    out = []
    for dp in cert.crl_distribution_points or ():
        name = dp["distribution_point"]
        if name.name == "full_name":
            out.extend(gn.native for gn in name.chosen if gn.name == "uniform_resource_identifier")
    return [u for u in out if u.lower().startswith(("http:", "https:"))]


def ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) caIssuers URLs of the certificate's AIA extension."""
    aia = cert.authority_information_access_value
    out = []
    for desc in aia or ():
        if desc["access_method"].native == "ca_issuers":
            location = desc["access_location"]
            if location.name == "uniform_resource_identifier":
                out.append(location.native)
    return [u for u in out if u.lower().startswith(("http:", "https:"))]


def published_certificates(data: bytes) -> list[x509.Certificate]:
    """The certificates of a caIssuers response: one DER or PEM certificate, or a PKCS#7
    "certs-only" bundle (.p7b/.p7c). Raises ValueError when there is none."""
    from sigmail.trust.certificates import load_certificate, parse_certificates

    if data[:1] == b"0":
        try:
            info = cms.ContentInfo.load(data)
            if info["content_type"].native == "signed_data":
                return [
                    load_certificate(c.chosen.dump())
                    for c in info["content"]["certificates"] or ()
                    if c.name == "certificate"
                ]
        except (ValueError, TypeError, KeyError):
            pass
    return parse_certificates(data)


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    return [u for u in cert.ocsp_urls if u.lower().startswith(("http:", "https:"))]


def _crl_next_update(der: bytes) -> datetime | None:
    value = crl.CertificateList.load(der)["tbs_cert_list"]["next_update"].native
    return value.astimezone(UTC) if value else None


def _ocsp_next_update(der: bytes) -> datetime | None:
    resp = ocsp.OCSPResponse.load(der)
    if resp["response_status"].native != "successful":
        raise ValueError(f"OCSP response status {resp['response_status'].native}")
    single = resp.basic_ocsp_response["tbs_response_data"]["responses"][0]
    value = single["next_update"].native
    return value.astimezone(UTC) if value else None


def _to_der_crl(data: bytes) -> bytes:
    if pem.detect(data):
        _kind, _hdr, data = pem.unarmor(data)
    return data


def _ocsp_cache_key(url: str, cert: x509.Certificate, issuer: x509.Certificate) -> str:
    h = hashlib.sha256()
    h.update(url.encode())
    h.update(issuer.public_key.sha1)
    h.update(str(cert.serial_number).encode())
    return h.hexdigest()


class HttpTransport:
    """Plain HTTP(S) with a timeout and a size ceiling; no proxy unless one is configured.

    TLS certificates of CRL/OCSP servers are *not* verified against any trust store: the
    evidence is signed and checked by the chain validator, and sigmail never consults the
    OS or certifi stores.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        proxy: str | None = None,
        user_agent: str = "sigmail",
    ) -> None:
        import ssl  # imported here: offline runs never pay for the HTTP stack
        import urllib.request

        self.max_bytes = max_bytes
        self.user_agent = user_agent
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        handlers = [
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}),
            urllib.request.HTTPSHandler(context=tls),
        ]
        self._opener = urllib.request.build_opener(*handlers)

    def __call__(self, url: str, body: bytes | None, timeout: float) -> bytes:
        headers = {"User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = "application/ocsp-request"
        import urllib.request

        request = urllib.request.Request(
            url, data=body, headers=headers, method="POST" if body is not None else "GET"
        )
        with self._opener.open(request, timeout=timeout) as response:
            data = response.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise ValueError(f"response larger than {self.max_bytes} bytes")
        return data


@dataclass(slots=True)
class _Entry:
    item: RevocationItem
    next_update: datetime | None


class _DiskCache:
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


class OfflineRevocation:
    """Evidence from a local directory only; never touches the network."""

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self._disk = _DiskCache(cache_dir) if cache_dir is not None else None
        self._by_issuer: dict[str, list[bytes]] | None = None
        self._lock = threading.Lock()

    def _loose_crls(self) -> dict[str, list[bytes]]:
        """CRLs dropped anywhere in the directory, indexed by issuer name (loaded once)."""
        with self._lock:
            if self._by_issuer is None:
                index: dict[str, list[bytes]] = {}
                if self._disk is not None:
                    for path in sorted(self._disk.root.rglob("*.crl")):
                        try:
                            der = _to_der_crl(path.read_bytes())
                            issuer = crl.CertificateList.load(der).issuer.hashable
                        except (OSError, ValueError, TypeError, KeyError):
                            continue
                        index.setdefault(issuer, []).append(der)
                self._by_issuer = index
            return self._by_issuer

    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        if self._disk is None:
            return RevocationLookup()
        items: dict[bytes, RevocationItem] = {}
        for url in ocsp_urls(cert):
            der = self._disk.read(self._disk.ocsp_path(_ocsp_cache_key(url, cert, issuer)))
            if der:
                items[der] = RevocationItem(EvidenceKind.OCSP, der, "cache", url)
        for der in self._loose_crls().get(cert.issuer.hashable, ()):
            items.setdefault(der, RevocationItem(EvidenceKind.CRL, der, "cache"))
        return RevocationLookup(items=tuple(items.values()))

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """Issuer certificates fetched earlier into the cache directory (never the network)."""
        return _cached_issuers(self._disk, url)


def _cached_issuers(disk: _DiskCache | None, url: str) -> IssuerLookup:
    der = disk.read(disk.issuer_path(url)) if disk is not None else None
    if der:
        try:
            return IssuerLookup(tuple(published_certificates(der)))
        except ValueError:
            pass
    return IssuerLookup()


class OnlineRevocation:
    """Fetches OCSP (preferred) and CRLs over HTTP, caching each until its ``nextUpdate``.

    ``clock`` is the real time by default; cache freshness is a question about *now*, not
    about the validation time. ``transport`` is injectable so unit tests need no server.
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
        retry_delay: timedelta = timedelta(minutes=15),
        default_ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] | None = None,
        transport: Transport | None = None,
        max_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.default_ttl = default_ttl
        self.clock = clock or (lambda: datetime.now(UTC))
        self.transport = transport or HttpTransport(max_bytes=max_bytes)
        self._disk = _DiskCache(cache_dir) if cache_dir is not None else None
        self._memory: dict[str, _Entry] = {}
        self._failures: dict[str, FetchFailure] = {}
        self._issuers: dict[str, tuple[datetime, IssuerLookup]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # network requests made, for tests and logs

    # -- one URL ---------------------------------------------------------------------------
    def _fresh(self, entry: _Entry | None, now: datetime) -> bool:
        return entry is not None and (entry.next_update is None or now < entry.next_update)

    def _get(
        self,
        key: str,
        url: str,
        kind: EvidenceKind,
        body: Callable[[], bytes] | None,
        disk_path: Path | None,
    ) -> RevocationItem | FetchFailure:
        """``body`` makes the POST body (an OCSP request) only when a fetch is needed."""
        now = self.clock()
        with self._lock:
            entry = self._memory.get(key)
            if self._fresh(entry, now):
                return entry.item
            failure = self._failures.get(key)
            if (
                failure is not None
                and failure.retry_after is not None
                and now < failure.retry_after
            ):
                return failure
        parse_next = _crl_next_update if kind is EvidenceKind.CRL else _ocsp_next_update
        if disk_path is not None and self._disk is not None:
            der = self._disk.read(disk_path)
            if der:
                try:
                    entry = _Entry(RevocationItem(kind, der, "cache", url), parse_next(der))
                except (ValueError, TypeError, KeyError, IndexError):
                    entry = None
                if self._fresh(entry, now):
                    with self._lock:
                        self._memory[key] = entry
                    return entry.item
        try:
            with self._lock:
                self.fetches += 1
            der = self.transport(url, body() if body is not None else None, self.timeout)
            if kind is EvidenceKind.CRL:
                der = _to_der_crl(der)
            next_update = parse_next(der)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:  # URLError is OSError
            failure = FetchFailure(url, kind, _describe(exc), retry_after=now + self.retry_delay)
            with self._lock:
                self._failures[key] = failure
            return failure
        entry = _Entry(
            RevocationItem(kind, der, "fetched", url), next_update or now + self.default_ttl
        )
        with self._lock:
            self._memory[key] = entry
            self._failures.pop(key, None)
        if disk_path is not None and self._disk is not None:
            self._disk.write(disk_path, der)
        return entry.item

    # -- RevocationSource ------------------------------------------------------------------
    def lookup(
        self, cert: x509.Certificate, issuer: x509.Certificate, *, at: datetime
    ) -> RevocationLookup:
        items: list[RevocationItem] = []
        failures: list[FetchFailure] = []
        for url in ocsp_urls(cert):
            key = "ocsp:" + _ocsp_cache_key(url, cert, issuer)
            disk = self._disk.ocsp_path(key[5:]) if self._disk else None
            got = self._get(key, url, EvidenceKind.OCSP, lambda: _ocsp_request(cert, issuer), disk)
            (items if isinstance(got, RevocationItem) else failures).append(got)
            if isinstance(got, RevocationItem):
                return RevocationLookup(items=tuple(items))
        for url in crl_urls(cert):
            disk = self._disk.crl_path(url) if self._disk else None
            got = self._get("crl:" + url, url, EvidenceKind.CRL, None, disk)
            (items if isinstance(got, RevocationItem) else failures).append(got)
            if isinstance(got, RevocationItem):
                break
        return RevocationLookup(items=tuple(items), failures=tuple(failures))

    def fetch_issuers(self, url: str) -> IssuerLookup:
        """The certificates at an AIA caIssuers URL, cached in memory and on disk."""
        now = self.clock()
        key = "aia:" + url
        with self._lock:
            cached = self._issuers.get(key)
            if cached is not None and now < cached[0]:
                return cached[1]
            failure = self._failures.get(key)
            if (
                failure is not None
                and failure.retry_after is not None
                and now < failure.retry_after
            ):
                return IssuerLookup(failure=failure)
        on_disk = _cached_issuers(self._disk, url)
        if on_disk.certificates:
            found = on_disk
        else:
            try:
                with self._lock:
                    self.fetches += 1
                data = self.transport(url, None, self.timeout)
                found = IssuerLookup(tuple(published_certificates(data)))
            except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
                failure = FetchFailure(
                    url, EvidenceKind.CRL, _describe(exc), now + self.retry_delay
                )
                with self._lock:
                    self._failures[key] = failure
                return IssuerLookup(failure=failure)
            if self._disk is not None:
                self._disk.write(self._disk.issuer_path(url), data)
        with self._lock:
            # Issuer certificates change rarely; a day is how long a fetched one is reused.
            self._issuers[key] = (now + timedelta(days=1), found)
        return found


def _ocsp_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """An RFC 6960 request with a SHA-1 CertID (what deployed responders index by)."""
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": hashlib.sha1(cert.issuer.dump()).digest(),
            "issuer_key_hash": issuer.public_key.sha1,
            "serial_number": cert.serial_number,
        }
    )
    return ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()


def _describe(exc: BaseException) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
