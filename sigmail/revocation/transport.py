"""HTTP(S) for the online revocation source: one URL in, the response body out.

Built on urllib3's ``PoolManager``: connections to a responder are kept alive and reused
(a CRL and the OCSP answers of one CA come from the same few hosts). On top of it, what a
fetcher of attacker-influenced URLs needs:

* every connection goes to an address the :class:`~sigmail.revocation.addresses.NetworkPolicy`
  allows, resolved once and connected to as resolved (the pool is keyed by that address; the
  ``Host`` header and TLS SNI carry the name);
* redirects are followed by hand, at most ``max_redirects``, only to ``http:``/``https:``, and
  each hop is resolved and checked again;
* one deadline per fetch (``timeout``) for connecting, redirects and reading status, headers
  and body (each receive waits only for what is left of it), and a size ceiling checked against
  ``Content-Length`` before reading and while reading, so an oversized answer is refused
  without being read whole;
* no proxy, whatever the environment says (urllib3 never reads ``HTTP_PROXY``); no content
  decoding (``Accept-Encoding: identity``; a compressed answer is refused, so the size
  ceiling is the size of what is parsed).

TLS certificates of CRL/OCSP servers are *not* verified against any trust store: the
evidence is signed and checked by the chain validator, and sigmail never consults the OS or
certifi stores.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util import Timeout, parse_url

from sigmail.revocation.addresses import NetworkPolicy
from sigmail.revocation.failures import FetchDenied, FetchError, FetchTimeout

__all__ = ["HttpTransport", "Transport", "describe"]

Transport = Callable[[str, bytes | None, float], bytes]
"""``(url, body, timeout) -> bytes``: GET when ``body`` is None, else POST it (an OCSP
request); ``timeout`` bounds the whole fetch. Raises OSError (or ValueError) on failure."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHUNK = 64 * 1024
_TLS = {"cert_reqs": "CERT_NONE", "assert_hostname": False}  # see the module docstring


_FETCH = threading.local()  # .deadline: time.monotonic() by which this thread's fetch ends


class _DeadlineReader(io.RawIOBase):
    """A connection's socket, each receive given only what is left of the fetch's deadline.

    A socket timeout bounds one receive; a server sending a byte just within it, status line,
    headers or body, would otherwise hold the fetch for as many timeouts as it sends bytes."""

    def __init__(self, sock, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response (which urllib3 wraps), reading through a :class:`_DeadlineReader`."""

    def __init__(self, sock, *args, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = getattr(_FETCH, "deadline", None)
        if deadline is not None:
            self.fp.close()
            self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    # The TLS handshake needs nothing more: Python's ssl takes the socket timeout (the
    # connect timeout, what is left of the deadline) as the bound of the whole handshake.
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _UnverifiedHTTPSPool(HTTPSConnectionPool):
    """HTTPS without the per-request InsecureRequestWarning: not verifying the server is the
    design here (see the module docstring), not an oversight to be warned about."""

    ConnectionCls = _HTTPSConnection

    def _validate_conn(self, conn) -> None:
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class HttpTransport:
    """GET/POST over kept-alive connections to allowed addresses only.

    ``network`` says which addresses may be connected to (default: the public Internet only,
    see :mod:`sigmail.revocation.addresses`); ``max_bytes`` caps one response body.
    Thread-safe: urllib3's pools are.
    """

    def __init__(
        self,
        *,
        max_bytes: int = 32 * 1024 * 1024,
        max_redirects: int = 3,
        network: NetworkPolicy | None = None,
        user_agent: str = "sigmail",
        max_pools: int = 32,
        connections_per_pool: int = 4,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.network = network if network is not None else NetworkPolicy()
        self.user_agent = user_agent
        self._pools = urllib3.PoolManager(
            num_pools=max_pools,
            maxsize=connections_per_pool,
            block=False,  # a burst opens extra connections rather than waiting for one
            retries=False,
        )
        self._pools.pool_classes_by_scheme = {
            "http": _HTTPPool,
            "https": _UnverifiedHTTPSPool,
        }

    def close(self) -> None:
        """Close every kept-alive connection."""
        self._pools.clear()

    def __call__(self, url: str, body: bytes | None, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        _FETCH.deadline = deadline
        try:
            return self._fetch(url, body, deadline)
        finally:
            _FETCH.deadline = None

    def _fetch(self, url: str, body: bytes | None, deadline: float) -> bytes:
        method = "POST" if body is not None else "GET"
        for _hop in range(self.max_redirects + 1):
            response = self._request(url, method, body, deadline)
            status = response.status
            if status in _REDIRECTS:
                location = response.headers.get("Location")
                _discard(response)
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location")
                url = _join(url, location)
                if status in (301, 302, 303) and method == "POST":
                    method, body = "GET", None  # as browsers and urllib do
                continue
            if status != 200:
                _discard(response)
                raise FetchError(f"HTTP {status} {response.reason or ''}".rstrip())
            return self._read(response, deadline)
        raise FetchError(f"more than {self.max_redirects} redirects")

    # -- one hop ---------------------------------------------------------------------------
    def _request(self, url: str, method: str, body: bytes | None, deadline: float):
        try:
            parsed = parse_url(url)
        except LocationParseError as exc:
            raise FetchError(f"bad URL {url!r}: {exc}") from None
        scheme = (parsed.scheme or "").lower()
        if scheme not in _DEFAULT_PORTS:
            raise FetchDenied(f"denied: {scheme or 'no'} scheme in {url!r} (only http and https)")
        if not parsed.host:
            raise FetchError(f"bad URL {url!r}: no host")
        port = parsed.port or _DEFAULT_PORTS[scheme]
        host = parsed.host
        # FetchDenied unless every address is allowed; FetchTimeout past the deadline.
        addresses = self.network.resolve(host, port, timeout=deadline - time.monotonic())
        headers = {
            "Host": host if parsed.port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}",
            "User-Agent": self.user_agent,
            "Accept-Encoding": "identity",
        }
        if body is not None:
            headers["Content-Type"] = "application/ocsp-request"
        name = host.strip("[]")
        last: BaseException | None = None
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # TLS options go to HTTPS pools only (urllib3 < 2.8 hands them to HTTP ones too).
            pool_kwargs = _TLS | {"server_hostname": name} if scheme == "https" else None
            pool = self._pools.connection_from_host(address, port, scheme, pool_kwargs)
            for attempt in (1, 2):
                try:
                    return pool.urlopen(
                        method,
                        parsed.request_uri,
                        body=body,
                        headers=headers,
                        retries=False,
                        redirect=False,
                        assert_same_host=False,
                        timeout=Timeout(connect=remaining, read=remaining),
                        preload_content=False,
                        decode_content=False,
                    )
                except (NewConnectionError, ConnectTimeoutError) as exc:
                    last = exc  # this address does not answer: try the next one
                    break
                except ProtocolError as exc:
                    # A kept-alive connection the server closed meanwhile: one fresh try.
                    last = exc
                    remaining = deadline - time.monotonic()
                    if attempt == 2 or remaining <= 0:
                        raise FetchError(describe(exc)) from exc
                except (HTTPError, OSError) as exc:
                    if time.monotonic() >= deadline:  # whatever broke, it was cut at the deadline
                        raise FetchTimeout("timed out") from exc
                    raise _failure(exc) from exc
        if last is None:
            raise FetchTimeout("timed out")
        raise _failure(last)

    def _read(self, response, deadline: float) -> bytes:
        """The body, refused as soon as it is known to exceed ``max_bytes`` or the deadline."""
        try:
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise FetchError(f"content-encoding {encoding} refused")
            declared = response.headers.get("Content-Length")
            if declared and declared.strip().isdigit() and int(declared) > self.max_bytes:
                raise FetchError(
                    f"response larger than {self.max_bytes} bytes (Content-Length {declared})"
                )
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise FetchTimeout("timed out")
                chunk = response.read1(min(_CHUNK, self.max_bytes + 1 - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"response larger than {self.max_bytes} bytes")
                chunks.append(chunk)
        except FetchError:
            _discard(response)
            raise
        except (HTTPError, OSError) as exc:
            _discard(response)
            raise _failure(exc) from exc
        response.release_conn()  # read to the end: the connection goes back to the pool
        return b"".join(chunks)


def _discard(response) -> None:
    """Close a response whose body is not read, so its connection is not reused mid-body."""
    response.close()
    response.release_conn()


def _join(base: str, location: str) -> str:
    return urljoin(base, location.strip())


def _failure(exc: BaseException) -> FetchError:
    if _timed_out(exc):
        return FetchTimeout("timed out")
    return FetchError(describe(exc))


def _timed_out(exc: BaseException) -> bool:
    # urllib3's NewConnectionError (refused, unreachable) is a subclass of its timeout error.
    if isinstance(exc, NewConnectionError):
        return False
    return isinstance(exc, ReadTimeoutError | ConnectTimeoutError | TimeoutError)


def describe(exc: BaseException) -> str:
    """A short reason for a failed fetch, as shown in findings."""
    if isinstance(exc, FetchError):
        return str(exc)
    if _timed_out(exc):
        return "timed out"
    if isinstance(exc, NewConnectionError):
        return f"unreachable: {_reason(exc)}"
    if isinstance(exc, ProtocolError):
        return f"connection broken: {_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _reason(exc: BaseException) -> str:
    """The OS error under a urllib3 error ("[Errno 111] Connection refused"), else its text."""
    seen: BaseException = exc
    while (inner := seen.__cause__ or seen.__context__) is not None:
        seen = inner
    if isinstance(seen, OSError) and seen.strerror:
        return seen.strerror
    return str(exc)
