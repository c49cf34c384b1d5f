"""The HTTP transport against real servers: the test PKI's responder, and a small server of
this file (redirects, oversized and compressed answers) on the loopback of the test namespace.

Requests and connections are counted on the server side.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sigmail.revocation.addresses import NetworkPolicy
from sigmail.revocation.failures import FetchDenied, FetchError, FetchTimeout
from sigmail.revocation.responses import ocsp_next_update, ocsp_request
from sigmail.revocation.transport import HttpTransport
from sigmail.trust.certificates import parse_certificates

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
TEST_PKI = NetworkPolicy(allow=["127.0.0.1/32"])
BIG = 64 * 1024 * 1024  # what the "big" routes claim or send; the cap in these tests is 1 MiB
CAP = 1024 * 1024
DRIP = 100  # bytes the "/drip" route sends, one every 0.1 s


def _cert(name: str):
    (cert,) = parse_certificates((VECTORS / f"pki/certs/{name}.pem").read_bytes())
    return cert


class _Server:
    """A real HTTP/1.1 server with routes for what a hostile or broken responder does."""

    def __init__(self, responder_url: str) -> None:
        self.responder_url = responder_url
        self.requests: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body bytes written per route
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def redirect(self, status: int, location: str) -> None:
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def do_GET(self) -> None:
                route = self.path
                with owner.lock:
                    owner.requests[route] += 1
                base = f"http://127.0.0.1:{owner.port}"
                if route == "/to-ftp":
                    self.redirect(302, "ftp://127.0.0.1/crl/ca-official.crl")
                elif route == "/to-file":
                    self.redirect(301, "file:///etc/passwd")
                elif route == "/to-metadata":
                    self.redirect(302, "http://169.254.169.254/latest/meta-data/")
                elif route == "/to-ipv6-loopback":
                    self.redirect(307, f"http://[::1]:{owner.port}/crl")
                elif route == "/to-private":
                    self.redirect(302, "http://10.0.0.1/ca.crl")
                elif route == "/to-responder":
                    self.redirect(302, f"{owner.responder_url}/crl/ca-official.crl")
                elif route == "/ocsp-307":  # keeps the POST and its body
                    self.redirect(307, f"{owner.responder_url}/ocsp/ca-official")
                elif route.startswith("/loop"):
                    self.redirect(302, f"{base}/loop{len(route)}")
                elif route == "/big-declared":
                    self.stream(route, declared=True)
                elif route == "/big-chunked":
                    self.stream(route, declared=False)
                elif route == "/drip":  # one byte at a time, each well within a read timeout
                    self.send_response(200)
                    self.send_header("Content-Length", str(DRIP))
                    self.end_headers()
                    try:
                        for _ in range(DRIP):
                            self.wfile.write(b"\0")
                            self.wfile.flush()
                            with owner.lock:
                                owner.sent[route] += 1
                            time.sleep(0.1)
                    except OSError:
                        self.close_connection = True
                elif route == "/drip-headers":  # the status line, then a header, a byte at a time
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                    try:
                        for _ in range(DRIP):
                            self.wfile.write(b"a")
                            self.wfile.flush()
                            with owner.lock:
                                owner.sent[route] += 1
                            time.sleep(0.1)
                    except OSError:
                        pass
                    self.close_connection = True
                elif route == "/gzip":
                    self.send_response(200)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", "4")
                    self.end_headers()
                    self.wfile.write(b"\x1f\x8b\x08\x00")
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def stream(self, route: str, *, declared: bool) -> None:
                """BIG bytes of zeros, written until the client stops reading."""
                self.send_response(200)
                if declared:
                    self.send_header("Content-Length", str(BIG))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"\0" * 65536
                try:
                    for _ in range(BIG // len(chunk)):
                        if declared:
                            self.wfile.write(chunk)
                        else:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        with owner.lock:
                            owner.sent[route] += len(chunk)
                    if not declared:
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True  # the client hung up: what we want

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(responder) -> Iterator[_Server]:
    responder.reset()
    s = _Server(responder.url)
    yield s
    s.stop()
    responder.reset()


@pytest.fixture
def transport() -> Iterator[HttpTransport]:
    t = HttpTransport(network=TEST_PKI, max_bytes=CAP)
    yield t
    t.close()


def test_a_crl_from_the_responder_is_the_published_file(responder, transport):
    responder.reset()
    data = transport(f"{responder.url}/crl/ca-official.crl", None, 5.0)
    assert data == (VECTORS / "pki/crl/ca-official.crl").read_bytes()
    assert responder.requests["/crl/ca-official.crl"] == 1


def test_the_loopback_is_refused_by_default_without_a_request(responder):
    responder.reset()
    with pytest.raises(FetchDenied, match=r"127\.0\.0\.1 is loopback"):
        HttpTransport()(f"{responder.url}/crl/ca-official.crl", None, 5.0)
    assert sum(responder.requests.values()) == 0 and responder.connections == 0


def test_ocsp_lookups_share_one_kept_alive_connection(responder, transport):
    """Before (urllib): one TCP connection per request. Now: one for all of them."""
    responder.reset()
    body = ocsp_request(_cert("person-an"), _cert("ca-official"))
    for _ in range(20):
        der = transport(f"{responder.url}/ocsp/ca-official", body, 5.0)
        assert ocsp_next_update(der) is not None  # a successful response each time
    assert responder.requests["/ocsp/ca-official"] == 20
    assert responder.connections == 1


def test_a_redirect_to_an_allowed_address_is_followed(server, responder, transport):
    data = transport(f"{server.url}/to-responder", None, 5.0)
    assert data == (VECTORS / "pki/crl/ca-official.crl").read_bytes()
    assert responder.requests["/crl/ca-official.crl"] == 1


def test_a_307_redirect_keeps_the_ocsp_post(server, responder, transport):
    body = ocsp_request(_cert("person-an"), _cert("ca-official"))
    der = transport(f"{server.url}/ocsp-307", body, 5.0)
    assert ocsp_next_update(der) is not None
    assert responder.requests["/ocsp/ca-official"] == 1


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ("/to-ftp", r"denied: ftp scheme"),
        ("/to-file", r"denied: file scheme"),
        ("/to-metadata", r"169\.254\.169\.254 is cloud metadata service"),
        ("/to-private", r"10\.0\.0\.1 is private"),
        ("/to-ipv6-loopback", r"::1 is loopback"),  # the server is there, but not allowed
    ],
)
def test_a_redirect_to_a_denied_scheme_or_address_is_refused(server, transport, route, reason):
    with pytest.raises(FetchDenied, match=reason):
        transport(f"{server.url}{route}", None, 5.0)
    assert server.requests[route] == 1
    assert sum(server.requests.values()) == 1, "the redirect target was never asked"


def test_redirects_are_limited(server, transport):
    with pytest.raises(FetchError, match="more than 3 redirects"):
        transport(f"{server.url}/loop", None, 5.0)
    assert sum(server.requests.values()) == 4  # the URL and 3 redirects


def test_a_declared_oversize_answer_is_refused_before_its_body_is_read(server, transport):
    with pytest.raises(FetchError, match=r"larger than 1048576 bytes \(Content-Length 67108864\)"):
        transport(f"{server.url}/big-declared", None, 5.0)
    assert server.sent["/big-declared"] < BIG // 2


def test_an_undeclared_oversize_answer_is_cut_at_the_cap(server, transport):
    with pytest.raises(FetchError, match=r"larger than 1048576 bytes$"):
        transport(f"{server.url}/big-chunked", None, 5.0)
    assert server.sent["/big-chunked"] < BIG // 2


def test_a_dripping_answer_is_cut_at_the_deadline(server, transport):
    """Each byte comes well within a read timeout; the whole body does not come within the
    deadline. (urllib's read(n) waited for all n bytes, one read timeout per byte.)"""
    with pytest.raises(FetchTimeout):
        transport(f"{server.url}/drip", None, 1.0)
    assert server.requests["/drip"] == 1
    assert server.sent["/drip"] < DRIP


def test_dripping_headers_are_cut_at_the_deadline(server, transport):
    """The headers never end, each byte well within a read timeout."""
    with pytest.raises(FetchTimeout):
        transport(f"{server.url}/drip-headers", None, 1.0)
    assert server.sent["/drip-headers"] < DRIP


def test_a_compressed_answer_is_refused(server, transport):
    with pytest.raises(FetchError, match="content-encoding gzip refused"):
        transport(f"{server.url}/gzip", None, 5.0)


def test_an_http_error_status_is_a_failure_with_its_code(server, transport):
    with pytest.raises(FetchError, match="HTTP 404"):
        transport(f"{server.url}/nothing-here", None, 5.0)


def test_a_refused_connection_is_unreachable(transport):
    with pytest.raises(FetchError, match="unreachable"):
        transport("http://127.0.0.1:9/crl", None, 2.0)


# -- HTTPS -----------------------------------------------------------------------------------


@pytest.fixture
def https_server(tmp_path) -> Iterator[tuple[int, list[str]]]:
    """A real TLS server with a throw-away self-signed certificate, serving one CRL file; it
    records the SNI names clients send."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the name asked for")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name) and None
    body = (VECTORS / "pki/crl/ca-official.crl").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield httpd.server_address[1], names
    httpd.shutdown()
    httpd.server_close()


def test_https_sends_the_name_as_sni_and_does_not_judge_the_server_certificate(https_server):
    """The evidence is signed; the responder's TLS certificate (self-signed, another name) is
    not what makes it trustworthy, and not verifying it is not warned about per request."""
    import warnings

    port, names = https_server
    transport = HttpTransport(network=NetworkPolicy(allow=["127.0.0.0/8", "::1/128"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = transport(f"https://localhost:{port}/crl", None, 5.0)
    transport.close()
    assert data == (VECTORS / "pki/crl/ca-official.crl").read_bytes()
    assert names == ["localhost"]


def test_a_dripping_tls_handshake_is_cut_at_the_deadline():
    """A server that answers the ClientHello with a TLS record header announcing 16 KiB and
    then a byte at a time: each byte within a read timeout, the record never complete. (Python's
    ssl bounds the whole handshake by the socket timeout, the deadline's remainder.)"""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sent = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the ClientHello
            try:
                conn.sendall(b"\x16\x03\x03\x40\x00")  # handshake record, 16384 bytes
                for _ in range(DRIP):
                    conn.sendall(b"\x02")
                    sent.append(1)
                    time.sleep(0.1)
            except OSError:
                pass  # the client hung up: what we want

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = HttpTransport(network=TEST_PKI)
    try:
        with pytest.raises(FetchTimeout):
            transport(f"https://127.0.0.1:{port}/crl", None, 1.0)
        assert len(sent) < DRIP
    finally:
        transport.close()
        listener.close()
