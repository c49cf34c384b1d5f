"""A real HTTP responder for the test PKI: CRLs, CA certificates, OCSP and an RFC 3161 TSA.

It listens on 127.0.0.1:47831 (the address the test certificates name) in a background thread::

    with PKIResponder(vectors_dir) as responder:
        responder.clock = datetime(2026, 3, 2, tzinfo=UTC)   # OCSP and TSA answer as of then
        responder.unavailable.add("/ocsp")                   # ... or answer 503
        responder.redirects["/crl/ca-official.crl"] = "ftp://…"  # ... or redirect (302)
        ...
        assert responder.requests["/ocsp/ca-official"] == 1
        assert responder.connections == 1                   # HTTP/1.1: kept alive

Routes (the keys of :attr:`PKIResponder.requests`):

- ``GET /crl/<name>.crl`` — a CRL file of ``vectors/pki/crl/`` (fixed, not re-signed per clock);
- ``GET /cert/<name>.crt`` — a CA certificate, DER;
- ``POST /ocsp/<ca>`` (DER OCSPRequest) and ``GET /ocsp/<ca>/<base64 request>`` — an OCSP
  response made on request by the CA's delegated responder, as of :attr:`PKIResponder.clock`;
- ``POST /tsa`` (DER TimeStampReq) — a TimeStampResp from tsa-official with genTime = clock.

Run it in the foreground with ``python -m vectors.testpki.responder [--port N] [--clock T]``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from asn1crypto import tsp
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from .endpoints import RESPONDER_HOST, RESPONDER_PORT
from .keys import hash_algorithm
from .pki import load_pki
from .revocation import CertId, make_ocsp_response
from .spec import load_vectors_spec
from .timestamps import TSA_POLICY_OID, rejection, timestamp_response, timestamp_token

__all__ = ["PKIResponder", "main"]

DEFAULT_VECTORS_DIR = Path(__file__).resolve().parent.parent
TSA_CERT = "tsa-official"
MAX_REQUEST_BYTES = 64 * 1024  # OCSP and TSA requests are a few hundred bytes
RETRY_AFTER_SECONDS = 60  # what a 503 tells the client

Answer = tuple[int, str, bytes]  # HTTP status, content type, body


class PKIResponder:
    """The test PKI's services on ``host:port``, with a settable clock and fault injection."""

    def __init__(
        self,
        vectors_dir: Path | str = DEFAULT_VECTORS_DIR,
        port: int = RESPONDER_PORT,
        *,
        host: str = RESPONDER_HOST,
        verbose: bool = False,
    ) -> None:
        self.vectors_dir = Path(vectors_dir)
        self.pki = load_pki(self.vectors_dir)
        # The default clock is the vectors' validation time, so an online verification at
        # `at` sees the revocation state the expected verdicts assume.
        self.default_clock = load_vectors_spec(self.vectors_dir, self.pki.spec).validation_time
        self.host = host
        self.port = port  # 0 picks a free port; the real one is known after start()
        self.verbose = verbose
        self.clock: dt.datetime = self.default_clock
        self.requests: Counter[str] = Counter()
        self.connections = 0  # TCP connections accepted (requests per connection: keep-alive)
        self.unavailable: set[str] = set()  # path prefixes answered with 503
        self.redirects: dict[str, str] = {}  # route -> Location, answered 302 instead
        self.delay_seconds: float = 0.0  # added before every answer
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> PKIResponder:
        """Bind and serve in a daemon thread. Raises OSError if the port is taken."""
        if self._server is not None:
            raise RuntimeError("the responder is already running")
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True  # a delayed answer must not keep the process alive
        server.responder = self  # type: ignore[attr-defined]
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"PKIResponder:{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> PKIResponder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget counted requests and undo clock changes and injected faults."""
        with self._lock:
            self.requests.clear()
            self.connections = 0
        self.unavailable.clear()
        self.redirects.clear()
        self.delay_seconds = 0.0
        self.clock = self.default_clock

    def _record(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def _record_connection(self) -> None:
        with self._lock:
            self.connections += 1

    # -- answers ---------------------------------------------------------------------------------

    def crl(self, name: str) -> Answer:
        crl = self.pki.spec.crls.get(name)
        if crl is None:
            return _not_found()
        return HTTPStatus.OK, "application/pkix-crl", (self.vectors_dir / crl.path).read_bytes()

    def ca_certificate(self, name: str) -> Answer:
        spec = self.pki.spec.certificates.get(name)
        if spec is None or not spec.ca:
            return _not_found()
        der = self.pki.certificates[name].public_bytes(serialization.Encoding.DER)
        return HTTPStatus.OK, "application/pkix-cert", der

    def ocsp(self, ca_name: str, request_der: bytes) -> Answer:
        if ca_name not in self.pki.spec.certificates or not self.pki.spec.ocsp_responder_of(
            ca_name
        ):
            return _not_found()
        clock = self.clock
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            cert_id = CertId(
                hash_name=request.hash_algorithm.name,
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial=request.serial_number,
            )
        except (ValueError, UnsupportedAlgorithm):
            response = ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            )
            return _ocsp_reply(response.public_bytes(serialization.Encoding.DER))
        try:
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        return _ocsp_reply(make_ocsp_response(self.pki, ca_name, cert_id, clock=clock, nonce=nonce))

    def timestamp(self, request_der: bytes) -> Answer:
        gen_time = self.clock
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            hash_name = imprint["hash_algorithm"]["algorithm"].native
            hashed_message = imprint["hashed_message"].native
            policy = request["req_policy"].native
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
        except (ValueError, TypeError, KeyError):
            return _tsa_reply(rejection("bad_data_format", "not a DER TimeStampReq"))
        try:
            expected_length = hash_algorithm(hash_name).digest_size
        except ValueError:
            return _tsa_reply(rejection("bad_alg", f"unsupported hash algorithm {hash_name}"))
        if len(hashed_message) != expected_length:
            return _tsa_reply(rejection("bad_data_format", "hashedMessage has the wrong length"))
        if policy is not None and policy != TSA_POLICY_OID:
            return _tsa_reply(
                rejection("unaccepted_policy", f"this TSA only issues {TSA_POLICY_OID}")
            )
        token = timestamp_token(
            self.pki.certificates[TSA_CERT],
            self.pki.keys[TSA_CERT],
            hashed_message=hashed_message,
            hash_name=hash_name,
            gen_time=gen_time,
            nonce=nonce,
            include_certificate=cert_req,
        )
        return _tsa_reply(timestamp_response(token))


def _not_found() -> Answer:
    return HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n"


def _ocsp_reply(der: bytes) -> Answer:
    return HTTPStatus.OK, "application/ocsp-response", der


def _tsa_reply(der: bytes) -> Answer:
    return HTTPStatus.OK, "application/timestamp-reply", der


def _decode_get_request(encoded: str) -> bytes | None:
    """RFC 6960 Appendix A.1: URL-encoding of the base64 of the DER request."""
    text = urllib.parse.unquote(encoded)
    text += "=" * (-len(text) % 4)
    try:
        # Clients differ: standard alphabet (as the RFC says) or the URL-safe one.
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "sigmail-test-pki/1"
    # HTTP/1.1 keeps connections alive, as deployed CRL/OCSP servers do (every answer has a
    # Content-Length); an idle one is closed after `timeout` seconds.
    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body are two writes: without TCP_NODELAY, Nagle holds the body until the
    # client's delayed ACK of the headers (40 ms per kept-alive answer).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.responder._record_connection()

    @property
    def responder(self) -> PKIResponder:
        return self.server.responder  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        if self.responder.verbose:
            super().log_message(format, *args)

    def _route(self) -> tuple[str, str]:
        """(route, rest): route is the counted key, rest the part after /ocsp/<ca>/ for GET."""
        path = urllib.parse.urlsplit(self.path).path
        parts = path.split("/", 3)  # "", "ocsp", "<ca>", "<encoded request>"
        if len(parts) == 4 and parts[1] == "ocsp":
            return f"/ocsp/{parts[2]}", parts[3]
        return path, ""

    def _answer(self, route: str, make: Callable[[], Answer]) -> None:
        responder = self.responder
        responder._record(route)
        if responder.delay_seconds:
            time.sleep(responder.delay_seconds)
        location = responder.redirects.get(route)
        if location is not None:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if any(route.startswith(prefix) for prefix in responder.unavailable):
            status, content_type, body = (
                HTTPStatus.SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                b"unavailable (injected fault)\n",
            )
        else:
            status, content_type, body = make()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == HTTPStatus.SERVICE_UNAVAILABLE:
                self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a test of its deadline): not the responder's error.
            self.close_connection = True

    def do_GET(self) -> None:
        route, rest = self._route()
        responder = self.responder
        if route.startswith("/crl/") and route.endswith(".crl"):
            name = route[len("/crl/") : -len(".crl")]
            self._answer(route, lambda: responder.crl(name))
        elif route.startswith("/cert/") and route.endswith(".crt"):
            name = route[len("/cert/") : -len(".crt")]
            self._answer(route, lambda: responder.ca_certificate(name))
        elif route.startswith("/ocsp/") and rest:
            request = _decode_get_request(rest)
            ca_name = route[len("/ocsp/") :]
            self._answer(route, lambda: responder.ocsp(ca_name, request or b""))
        else:
            self._answer(route, _not_found)

    def do_POST(self) -> None:
        route, _ = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        body = self.rfile.read(length)
        responder = self.responder
        if route.startswith("/ocsp/") and route.count("/") == 2:
            self._answer(route, lambda: responder.ocsp(route[len("/ocsp/") :], body))
        elif route == "/tsa":
            self._answer(route, lambda: responder.timestamp(body))
        else:
            self._answer(route, _not_found)


def _parse_clock(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vectors.testpki.responder",
        description="Serve the sigmail test PKI (CRLs, CA certificates, OCSP, TSA) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=RESPONDER_PORT)
    parser.add_argument("--clock", type=_parse_clock, help="responder time, e.g. 2026-06-01T00:00Z")
    parser.add_argument("--dir", type=Path, default=DEFAULT_VECTORS_DIR, help="vectors directory")
    args = parser.parse_args(argv)
    responder = PKIResponder(args.dir, port=args.port, verbose=True)
    if args.clock:
        responder.clock = args.clock
    try:
        responder.start()
    except OSError as error:
        print(f"cannot listen on {responder.url}: {error}", file=sys.stderr)
        return 1
    print(
        f"serving {args.dir} at {responder.url}, clock {responder.clock.isoformat()}; Ctrl-C stops"
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        responder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
