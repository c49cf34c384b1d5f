"""``sigmail serve`` through a real uvicorn server on 127.0.0.1 (issue 14).

Every vector answers over HTTP the bytes ``sigmail verify --json`` prints with the same
options; the error statuses are RFC 9457 problems; an upload over the limit is refused while
it streams, without the server's memory growing; 32 concurrent uploads are all answered; a
full queue is 503; SIGTERM lets a request in flight finish. The answers are checked against
the service's own /openapi.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from serve_support import (
    TRUST,
    VECTORS,
    ServeProcess,
    cli_json,
    problem,
    vector_request,
)

from sigmail.evidence import read_bundle

MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))
ONLINE = [v for v in MANIFEST["vectors"] if v["mode"] == "online"]
OFFLINE = [v for v in MANIFEST["vectors"] if v["mode"] == "offline"]
AT = "2026-06-01T00:00:00Z"
OFFICIAL = VECTORS / "cms/agency-official.p7m"


@pytest.fixture(scope="module")
def spool(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spool")


@pytest.fixture(scope="module")
def online(tmp_path_factory, responder, spool):
    """Online (the test responder answers CRL/OCSP), room for 32 uploads at once."""
    tmp = tmp_path_factory.mktemp("online")
    server = ServeProcess(tmp, *TRUST, "--workers", "2", config="queue = 40\n", tmpdir=spool)
    yield server
    server.terminate()


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    server = ServeProcess(tmp_path_factory.mktemp("offline"), *TRUST, "--offline", "--workers", "1")
    yield server
    server.terminate()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, responder):
    """Tokens required (page too), one worker and no queue, a short idle cut-off, CORS for
    one origin, an archive directory."""
    tmp = tmp_path_factory.mktemp("guarded")
    (tmp / "tokens").write_text("# API clients\nsecret-token-1\nsecret-token-2\n")
    (tmp / "archive").mkdir()
    config = (
        f'tokens_file = "{tmp / "tokens"}"\npage = "token"\nworkers = 1\nqueue = 0\n'
        f'upload_idle_seconds = 1.0\ncors_origins = ["https://dms.example"]\n'
        f'archive_dir = "{tmp / "archive"}"\nretry_after_seconds = 7\n'
    )
    server = ServeProcess(tmp, *TRUST, config=config)
    server.archive = tmp / "archive"
    yield server
    server.terminate()


AUTH = {"authorization": "Bearer secret-token-2"}


# -- the verdict: byte-identical to the CLI ---------------------------------------------------
_RETRY_AFTER = re.compile(rb'"retry_after": "[^"]+"')


def _same_but_retry_after(served: bytes, printed: bytes) -> bool:
    """An unreachable responder makes ``retry_after`` = the time of the failed fetch + 15 min:
    the wall clock, different on each side (and the server answers from its failure cache).
    Everything else must be the same bytes."""
    assert _RETRY_AFTER.findall(served) and _RETRY_AFTER.findall(printed)
    return _RETRY_AFTER.sub(b'"retry_after": "T"', served) == _RETRY_AFTER.sub(
        b'"retry_after": "T"', printed
    )


@pytest.mark.parametrize("vector", ONLINE, ids=[v["name"] for v in ONLINE])
def test_online_vector_gives_the_cli_json(online, vector):
    files, fields, options = vector_request(vector)
    answer = httpx.post(online.url + "/v1/verify", files=files, data=fields, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    printed = cli_json(*TRUST, *options)
    if vector["name"] == "unreachable-responder":
        assert _same_but_retry_after(answer.content, printed)
    else:
        assert answer.content == printed
    assert answer.headers["x-sigmail-verdict"] == json.loads(answer.content)["verdict"]


@pytest.mark.parametrize("vector", OFFLINE, ids=[v["name"] for v in OFFLINE])
def test_offline_vector_gives_the_cli_json(offline, vector):
    files, fields, options = vector_request(vector)
    answer = httpx.post(offline.url + "/v1/verify", files=files, data=fields, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.content == cli_json(*TRUST, "--offline", *options)
    assert json.loads(answer.content)["verdict"] == vector["expect"]["verdict"]


def test_a_raw_body_with_its_name_is_the_same_as_the_form(offline):
    query = {"name": OFFICIAL.name, "at": AT, "policy": "basic"}
    raw = httpx.post(
        offline.url + "/v1/verify",
        params=query,
        content=OFFICIAL.read_bytes(),
        headers={"content-type": "application/pkcs7-mime"},
    )
    assert raw.status_code == 200
    assert raw.content == cli_json(
        *TRUST, "--offline", "--at", AT, "--policy", "basic", str(OFFICIAL)
    )


def test_garbage_gets_a_verdict_not_an_error(offline):
    answer = httpx.post(
        offline.url + "/v1/verify",
        files={"file": ("junk.p7m", b"\x30\x80garbage")},
        data={"at": AT},
    )
    assert answer.status_code == 200
    assert json.loads(answer.content)["reasons"] == ["malformed"]


def test_evidence_bundle_holds_the_same_verdict(online):
    files, fields, _ = vector_request(next(v for v in ONLINE if v["name"] == "agency-official"))
    plain = httpx.post(online.url + "/v1/verify", files=files, data=fields, timeout=60)
    zipped = httpx.post(
        online.url + "/v1/verify", params={"evidence": "1"}, files=files, data=fields, timeout=60
    )
    assert zipped.status_code == 200
    assert zipped.headers["content-type"] == "application/zip"
    assert 'filename="agency-official.evidence.zip"' in zipped.headers["content-disposition"]
    bundle = read_bundle(zipped.content)
    assert bundle.verdict.to_dict() == json.loads(plain.content)
    assert bundle.data == files["file"][1]


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("files", "fields", "slug"),
    [
        ({"other": ("x.pdf", b"%PDF-1.7")}, {}, "bad-upload"),
        ({"file": ("a.p7m", OFFICIAL.read_bytes())}, {"at": "yesterday"}, "bad-time"),
        ({"file": ("a.p7m", OFFICIAL.read_bytes())}, {"at": "2026-06-01T00:00:00"}, "bad-time"),
        ({"file": ("a.p7m", OFFICIAL.read_bytes())}, {"receipt_time": "soon"}, "bad-time"),
        ({"file": ("a.p7m", OFFICIAL.read_bytes())}, {"policy": "lenient"}, "bad-policy"),
        ({"file": ("a.p7m", OFFICIAL.read_bytes())}, {"lang": "fr"}, "bad-lang"),
    ],
    ids=["no-file", "bad-at", "at-without-offset", "bad-receipt-time", "unknown-policy", "lang"],
)
def test_bad_requests_are_400_problems(offline, files, fields, slug):
    answer = httpx.post(offline.url + "/v1/verify", files=files, data=fields)
    assert answer.status_code == 400
    assert problem(answer)["type"] == f"urn:sigmail:problem:{slug}"


def test_an_empty_raw_body_is_400(offline):
    answer = httpx.post(offline.url + "/v1/verify", content=b"")
    assert answer.status_code == 400 and problem(answer)["type"].endswith("bad-upload")


def _raw_post(port: int, body: bytes, boundary: bytes = b"sigmailtest") -> str:
    """POST this multipart body as it is (Content-Length given) and return the answer."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        s.settimeout(60)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer.decode(errors="replace")


def _part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return b"--sigmailtest\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + value


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # cut off inside the document: Starlette's form parser took what had arrived
        (_part("file", OFFICIAL.read_bytes()[:2000], "a.p7m"), "truncated"),
        # the whole document, then no closing boundary
        (_part("file", OFFICIAL.read_bytes(), "a.p7m") + b"\r\n", "truncated"),
        (b"".join(_part("file", b"x", f"{i}.pdf") + b"\r\n" for i in range(3)) + b"--sigmailtest--"
         b"\r\n", "more than 2 files"),
        (b"".join(_part(f"f{i}", b"x") + b"\r\n" for i in range(17))
         + _part("file", b"x", "a.pdf") + b"\r\n--sigmailtest--\r\n", "more than 16 fields"),
        (_part("at", b"2" * (64 * 1024 + 1)) + b"\r\n" + _part("file", b"x", "a.pdf")
         + b"\r\n--sigmailtest--\r\n", "over 65,536 bytes"),
        (b"--sigmailtest\r\nContent-Type: text/plain\r\n\r\nx\r\n--sigmailtest--\r\n", "no name"),
    ],
    ids=["truncated-inside", "no-closing-boundary", "3-files", "17-fields", "field-64k", "no-name"],
)  # fmt: skip
def test_an_unusable_multipart_body_is_a_400_problem(offline, body, words):
    answer = _raw_post(offline.port, body)
    head, _, text = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400"), answer[:500]
    assert "application/problem+json" in head
    detail = json.loads(text)
    assert detail["type"] == "urn:sigmail:problem:bad-upload" and words in detail["detail"], detail


def test_a_whole_multipart_body_by_hand_is_verified(offline):
    """The same parser on a body written here (no client library): the parts that are not
    the service's are skipped, a field of 64 KiB is still taken, the verdict is the CLI's."""
    body = (
        _part("note", b"n" * (64 * 1024)) + b"\r\n" + _part("at", AT.encode()) + b"\r\n"
        + _part("other", b"ignored", "other.bin") + b"\r\n"
        + _part("file", OFFICIAL.read_bytes(), OFFICIAL.name) + b"\r\n--sigmailtest--\r\n"
    )  # fmt: skip
    answer = _raw_post(offline.port, body)
    head, _, text = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200"), answer[:500]
    assert text.encode() == cli_json(*TRUST, "--offline", "--at", AT, str(OFFICIAL))


def test_content_length_over_the_limit_is_413_before_the_body(offline):
    with socket.create_connection(("127.0.0.1", offline.port)) as s:
        s.sendall(
            b"POST /v1/verify?name=big.pdf HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/pdf\r\nContent-Length: 209715200\r\n\r\n"
        )
        head = s.recv(65536).decode()  # answered although no byte of the body was sent
    assert head.startswith("HTTP/1.1 413"), head
    assert "application/problem+json" in head


def _chunked_upload(port: int, total: int) -> tuple[str, int]:
    """Stream ``total`` bytes of a multipart body (chunked: no Content-Length) from a
    generator; stop when the server answers. Returns (answer, bytes sent)."""
    boundary = b"sigmailboundary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"'
        b"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    )
    block = b"%" + b"x" * (1024 * 1024 - 2) + b"\n"

    def body():
        yield head
        for _ in range(total // len(block)):
            yield block

    sent = 0
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n\r\n"
        )
        for chunk in body():
            if select.select([s], [], [], 0)[0]:
                break
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        s.settimeout(60)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = s.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    return answer.decode(errors="replace"), sent


def test_a_200_mb_upload_is_refused_while_streaming_and_memory_stays_flat(offline):
    before = sum(offline.status("VmRSS", pid) for pid in [offline.proc.pid, *offline.children()])
    answer, sent = _chunked_upload(offline.port, 200 * 1024 * 1024)
    assert answer.startswith("HTTP/1.1 413"), answer
    assert 64 * 1024 * 1024 <= sent < 200 * 1024 * 1024  # refused once past the 64 MiB limit
    peak = offline.status("VmHWM")  # the server process's peak RSS, in kB
    assert peak - before < 48 * 1024, f"peak RSS {peak} kB after {before} kB"
    assert httpx.get(offline.url + "/healthz").status_code == 200


def test_a_stalled_upload_is_cut_off(guarded):
    with socket.create_connection(("127.0.0.1", guarded.port)) as s:
        s.sendall(
            b"POST /v1/verify?name=slow.pdf HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            b"secret-token-1\r\nContent-Type: application/pdf\r\nContent-Length: 1000\r\n\r\n%PDF"
        )
        s.settimeout(60)
        head = s.recv(65536).decode()
    assert head.startswith("HTTP/1.1 408"), head


def test_tokens_guard_the_api_and_the_page(guarded):
    files = {"file": (OFFICIAL.name, OFFICIAL.read_bytes())}
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic x"}):
        answer = httpx.post(guarded.url + "/v1/verify", files=files, headers=headers)
        assert answer.status_code == 401
        assert problem(answer)["type"].endswith("token-required")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(guarded.url + "/").status_code == 401
    assert httpx.get(guarded.url + "/v1/trust").status_code == 401
    assert httpx.get(guarded.url + "/metrics").status_code == 401
    assert httpx.get(guarded.url + "/v1/reasons").status_code == 200  # public reference data
    answer = httpx.post(
        guarded.url + "/v1/verify", files=files, data={"at": AT}, headers=AUTH, timeout=60
    )
    assert answer.status_code == 200
    assert httpx.get(guarded.url + "/", headers=AUTH).status_code == 200


def test_the_archive_keeps_uploads_only_when_configured(guarded, online, spool):
    data = OFFICIAL.read_bytes()
    files = {"file": (OFFICIAL.name, data)}
    answer = httpx.post(guarded.url + "/v1/verify", files=files, headers=AUTH, timeout=60)
    digest = json.loads(answer.content)["sha256"]
    assert (guarded.archive / f"{digest}.p7m").read_bytes() == data
    # Without an archive nothing stays behind, even a body large enough to spool to disk.
    big = (VECTORS / "pdf/pdf-person-b-lta.pdf").read_bytes() + b"%" * (3 * 1024 * 1024)
    answer = httpx.post(online.url + "/v1/verify", files={"file": ("big.pdf", big)}, timeout=60)
    assert answer.status_code == 200
    assert [p for p in spool.rglob("*") if p.is_file()] == []  # (forkserver keeps a socket)


def test_a_full_queue_is_503_with_retry_after(guarded, responder):
    files = {"file": (OFFICIAL.name, OFFICIAL.read_bytes())}
    responder.delay_seconds = 3.0  # the one worker waits on the revocation fetch
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(
                httpx.post, guarded.url + "/v1/verify", files=files, headers=AUTH, timeout=60
            )
            guarded.wait_for("sigmail_verifications_in_flight", 1, **AUTH)
            second = httpx.post(guarded.url + "/v1/verify", files=files, headers=AUTH)
            assert second.status_code == 503
            assert problem(second)["type"].endswith(":busy")
            assert second.headers["retry-after"] == "7"
            assert first.result().status_code == 200
    finally:
        responder.reset()


def test_32_concurrent_uploads_are_all_answered(online):
    vectors = [v for v in ONLINE if v["kind"] in ("p7m", "pdf")][:32]
    assert len(vectors) == 32

    def one(vector):
        files, fields, _ = vector_request(vector)
        answer = httpx.post(online.url + "/v1/verify", files=files, data=fields, timeout=120)
        return vector, answer

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(one, vectors))
    for vector, answer in answers:
        assert answer.status_code == 200, answer.text
        assert json.loads(answer.content)["verdict"] == vector["expect"]["verdict"], vector["name"]


def test_sigterm_lets_the_request_in_flight_finish(tmp_path, responder):
    server = ServeProcess(tmp_path, *TRUST, "--workers", "1")
    files = {"file": (OFFICIAL.name, OFFICIAL.read_bytes())}
    responder.delay_seconds = 2.0
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(
                httpx.post,
                server.url + "/v1/verify",
                files=files,
                data={"at": AT, "policy": "basic"},
                timeout=60,
            )
            server.wait_for("sigmail_verifications_in_flight", 1)
            code = server.terminate()
            answer = first.result()
    finally:
        responder.reset()
    assert answer.status_code == 200
    assert json.loads(answer.content)["verdict"] == "official"
    assert code in (0, -15)
    assert "Finished server process" in server.log()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/healthz")


# -- the other routes, headers, log, metrics --------------------------------------------------
def test_every_answer_carries_the_strict_headers(offline):
    for answer in (
        httpx.get(offline.url + "/"),
        httpx.get(offline.url + "/static/app.js"),
        httpx.post(offline.url + "/v1/verify", files={"file": ("a.p7m", b"x")}),
        httpx.post(offline.url + "/v1/verify", content=b""),
    ):
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_cors_is_off_unless_configured(offline, guarded):
    preflight = {
        "origin": "https://dms.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
    }
    off = httpx.options(offline.url + "/v1/verify", headers=preflight)
    assert "access-control-allow-origin" not in off.headers
    on = httpx.options(guarded.url + "/v1/verify", headers=preflight)
    assert on.headers["access-control-allow-origin"] == "https://dms.example"
    other = httpx.options(
        guarded.url + "/v1/verify", headers={**preflight, "origin": "https://x.example"}
    )
    assert "access-control-allow-origin" not in other.headers


def test_one_log_line_per_request_with_hash_size_verdict_and_no_content(offline):
    data = OFFICIAL.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    before = [line for line in offline.log().splitlines() if digest in line]
    answer = httpx.post(
        offline.url + "/v1/verify", files={"file": ("secret-name.p7m", data)}, data={"at": AT}
    )
    doc = json.loads(answer.content)
    lines = [line for line in offline.log().splitlines() if digest in line]
    assert len(lines) == len(before) + 1
    line = lines[-1]
    assert f"size={len(data)}" in line and f"verdict={doc['verdict']}" in line
    assert "reasons=" + (",".join(doc["reasons"]) or "-") in line and " ms=" in line
    assert "secret-name" not in offline.log()  # no file name, no content


def test_metrics_count_requests_verdicts_and_revocation(online):
    files, fields, _ = vector_request(next(v for v in ONLINE if v["name"] == "agency-official"))
    httpx.post(online.url + "/v1/verify", files=files, data=fields, timeout=60)
    text = httpx.get(online.url + "/metrics").text
    assert 'sigmail_verdicts_total{verdict="official"}' in text
    assert 'sigmail_http_requests_total{route="/v1/verify",status="200"}' in text
    assert "sigmail_verify_seconds_bucket" in text and "sigmail_queue_depth" in text
    assert online.metric("sigmail_revocation_fetches_total") >= 1
    assert "sigmail_revocation_cache_hits_total" in text
    assert all(line.startswith(("#", "sigmail_")) for line in text.splitlines() if line.strip())


def test_reasons_trust_and_probes(online):
    from sigmail.verdict.reasons import REASONS

    reasons = httpx.get(online.url + "/v1/reasons").json()
    assert {row["code"] for row in reasons} == set(REASONS)
    trust = httpx.get(online.url + "/v1/trust").json()
    assert {a["class"] for a in trust["anchors"]} == {"official", "public"}
    assert trust["policies"][0] == "vn-gov" and "basic" in trust["policies"]
    assert httpx.get(online.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(online.url + "/readyz").json()
    assert ready["status"] == "ready" and all(ready["checks"].values())


def test_an_unusable_configuration_fails_at_start(tmp_path):
    import subprocess
    import sys

    from serve_support import free_port

    bad = tmp_path / "bad.toml"
    bad.write_text("workers = 0\n")
    for extra in (["--config", str(bad)], ["--trust", str(tmp_path / "missing.pem")]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "sigmail",
                "serve",
                "--listen",
                f"127.0.0.1:{free_port()}",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 64, done.stderr
        assert "Traceback" not in done.stderr


# -- the OpenAPI document against real answers ------------------------------------------------
def _schema_for(doc: dict, path: str, method: str, answer: httpx.Response) -> dict | None:
    responses = doc["paths"][path][method]["responses"]
    described = responses[str(answer.status_code)]
    media = answer.headers["content-type"].split(";")[0]
    content = described.get("content")
    if content is None:
        return None
    assert media in content or "*/*" in content, (path, answer.status_code, media)
    return content.get(media, content.get("*/*"))["schema"]


def test_real_answers_match_the_openapi_document(online, guarded):
    doc = httpx.get(online.url + "/openapi.json").json()
    validate_openapi(doc)  # a valid OpenAPI 3.1 document
    registry = Registry().with_resource("urn:sigmail:openapi", DRAFT202012.create_resource(doc))
    files, fields, _ = vector_request(next(v for v in ONLINE if v["name"] == "agency-official"))
    calls = [
        (
            "/v1/verify",
            "post",
            httpx.post(online.url + "/v1/verify", files=files, data=fields, timeout=60),
        ),
        ("/v1/verify", "post", httpx.post(online.url + "/v1/verify", files={"x": ("a", b"")})),
        (
            "/v1/verify",
            "post",
            httpx.post(online.url + "/v1/verify", files=files, data={"at": "x"}),
        ),
        ("/v1/verify", "post", httpx.post(guarded.url + "/v1/verify", files=files)),
        ("/v1/reasons", "get", httpx.get(online.url + "/v1/reasons")),
        ("/v1/trust", "get", httpx.get(online.url + "/v1/trust")),
        ("/v1/trust", "get", httpx.get(guarded.url + "/v1/trust")),
        ("/healthz", "get", httpx.get(online.url + "/healthz")),
        ("/readyz", "get", httpx.get(online.url + "/readyz")),
        ("/metrics", "get", httpx.get(online.url + "/metrics")),
        ("/openapi.json", "get", httpx.get(online.url + "/openapi.json")),
        ("/", "get", httpx.get(online.url + "/")),
        ("/static/{file}", "get", httpx.get(online.url + "/static/app.css")),
    ]
    for path, method, answer in calls:
        schema = _schema_for(doc, path, method, answer)
        if schema is None or answer.headers["content-type"].startswith(
            ("text/", "application/zip")
        ):
            continue
        validator = jsonschema.Draft202012Validator(
            {"$ref": "urn:sigmail:openapi#" + schema["$ref"][1:]} if "$ref" in schema else schema,
            registry=registry,
            format_checker=jsonschema.FormatChecker(),
        )
        validator.validate(answer.json())
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert {(p, m) for p, m, _ in calls} <= documented
    routes = {
        "/v1/verify",
        "/v1/reasons",
        "/v1/trust",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/",
        "/static/{file}",
    }
    assert set(doc["paths"]) == routes


def test_the_time_budget_ends_a_verification_with_a_verdict(tmp_path):
    server = ServeProcess(
        tmp_path, *TRUST, "--offline", "--workers", "1", config="time_budget_seconds = 1e-6\n"
    )
    try:
        answer = httpx.post(
            server.url + "/v1/verify",
            files={"file": (OFFICIAL.name, OFFICIAL.read_bytes())},
            data={"at": AT},
            timeout=60,
        )
    finally:
        server.terminate()
    assert answer.status_code == 200
    assert "limit_exceeded" in json.loads(answer.content)["reasons"]


def test_a_killed_worker_is_replaced(tmp_path):
    server = ServeProcess(tmp_path, *TRUST, "--offline", "--workers", "2")
    files = {"file": (OFFICIAL.name, OFFICIAL.read_bytes())}
    try:
        workers = [pid for child in server.children() for pid in _children(child)]
        assert len(workers) == 2, workers
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        statuses = []
        for _ in range(3):
            answer = httpx.post(server.url + "/v1/verify", files=files, data={"at": AT}, timeout=60)
            statuses.append(answer.status_code)
            if answer.status_code != 200:
                assert problem(answer)["type"].endswith(":unavailable")
                assert "retry-after" in answer.headers
        assert statuses[-1] == 200, statuses
        assert "replaced" in server.log()
    finally:
        server.terminate()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize(
    ("vector", "sent_as", "kept_as"),
    [
        ("ooxml/ooxml-docx-person-agency.docx", "annex.docm", ".docm"),  # its kind's name
        ("ooxml/ooxml-xlsx-agency.xlsx", "annex.pdf", ".xlsx"),  # a name of another kind
        ("odf/odf-odt-person-agency.odt", "upload", ".odt"),
        ("xml/xml-agency.xml", "hoso.txt", ".xml"),
        ("pdf/pdf-person-b-lta.pdf", "trick.exe", ".pdf"),
    ],
)
def test_the_archive_names_an_upload_by_its_content(guarded, online, vector, sent_as, kept_as):
    data = (VECTORS / vector).read_bytes()
    answer = httpx.post(
        guarded.url + "/v1/verify", files={"file": (sent_as, data)}, headers=AUTH, timeout=60
    )
    assert answer.status_code == 200
    digest = json.loads(answer.content)["sha256"]
    assert [p.name for p in guarded.archive.glob(f"{digest}.*")] == [f"{digest}{kept_as}"]
