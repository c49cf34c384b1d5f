"""Running ``sigmail serve`` for the service tests: a real uvicorn process on 127.0.0.1.

:class:`ServeProcess` starts ``python -m sigmail serve`` on a free port (optionally with a
TOML config file), waits for ``/readyz``, and stops it with SIGTERM. The vectors' trust is
the default; tests compare what it answers with ``sigmail verify --json`` run in process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sigmail.cli import main as sigmail_main

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "vectors"
TRUST = (
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
    "--fetch-allow",
    "127.0.0.1/32",  # the test PKI's responder (fetching denies loopback by default)
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    def __init__(
        self, tmp: Path, *args: str, config: str | None = None, tmpdir: Path | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "sigmail", "serve", "--listen", f"127.0.0.1:{self.port}"]
        if config is not None:
            path = tmp / f"serve-{self.port}.toml"
            path.write_text(config, encoding="utf-8")
            command += ["--config", str(path)]
        self._log = self.log_path.open("wb")
        env = env_without_proxy()
        if tmpdir is not None:  # where the server spools uploads (tests look it is left empty)
            env["TMPDIR"] = str(tmpdir)
        self.proc = subprocess.Popen(
            [*command, *args], stdout=self._log, stderr=subprocess.STDOUT, cwd=tmp, env=env
        )
        self._wait_ready()

    def _wait_ready(self, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sigmail serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"sigmail serve not ready after {limit} s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text("utf-8", errors="replace")

    def status(self, field: str, pid: int | None = None) -> int:
        """A field of /proc/PID/status in kB (VmRSS, VmHWM)."""
        text = Path(f"/proc/{pid or self.proc.pid}/status").read_text()
        for line in text.splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def metric(self, name: str, client: httpx.Client | None = None, **headers: str) -> float:
        text = (client or httpx).get(self.url + "/metrics", headers=headers).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def wait_for(self, name: str, value: float, limit: float = 60.0, **headers: str) -> None:
        """Until the metric ``name`` reaches ``value`` (a state to wait for, not a timing)."""
        deadline = time.monotonic() + limit
        while self.metric(name, **headers) < value:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} never reached {value}:\n{self.log()}")
            time.sleep(0.05)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []


def cli_json(*args: str) -> bytes:
    """What ``sigmail verify --json ARGS`` prints (the CLI's own code, in this process)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        sigmail_main(["verify", "--json", *args])
    return out.getvalue().encode("utf-8")


def vector_request(vector: dict) -> tuple[dict, dict, list[str]]:
    """The multipart files and fields of one vector, and the CLI options that match them."""
    path = VECTORS / vector["path"]
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    fields = {"at": vector["at"], "policy": vector["policy"]}
    options = ["--at", vector["at"], "--policy", vector["policy"]]
    if vector.get("content"):
        content = VECTORS / vector["content"]
        files["content"] = (content.name, content.read_bytes(), "application/octet-stream")
        options += ["--content", str(content)]
    return files, fields, [*options, str(path)]


def env_without_proxy() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def problem(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = json.loads(response.content)
    assert body["status"] == response.status_code
    return body


EVIL_CN = "<img src=x onerror=alert(1)>"
EVIL_ORG = '<script>alert("org")</script> & "Sở"'
EVIL_FILE_NAME = "<img src=x onerror=alert(1)>.pdf"


def _rfc4514_value(text: str) -> str:
    return "".join("\\" + c if c in '\\,+"<>;=#' else c for c in text)


def pdf_signed_by_html_name() -> bytes:
    """vectors/pdf/document.pdf signed with pyHanko by a person certificate of the test PKI
    whose CN and O are HTML (the same key, issuer and extensions as person-an, new subject)."""
    import dataclasses
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from vectors.testpki.pdf_vectors import _asn1_cert, _asn1_key
    from vectors.testpki.pki import _build_certificate, load_pki

    pki = load_pki(VECTORS)
    base = pki.spec.certificates["person-an"]
    spec = dataclasses.replace(
        base,
        name="person-html",
        subject=f"CN={_rfc4514_value(EVIL_CN)},O={_rfc4514_value(EVIL_ORG)},C=VN",
    )
    issuer = pki.certificates[base.issuer]
    cert = _build_certificate(spec, pki.keys["person-an"], issuer.subject, pki.keys[base.issuer])
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(cert),
        signing_key=_asn1_key(pki.keys["person-an"]),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(issuer)]),
    )
    writer = IncrementalPdfFileWriter(BytesIO((VECTORS / "pdf/document.pdf").read_bytes()))
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256")
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()


def common_name(cert_name: str) -> str:
    """The CN of a test-PKI certificate, from the manifest."""
    manifest = json.loads((VECTORS / "manifest.json").read_text("utf-8"))
    (entry,) = [c for c in manifest["pki"] if c["name"] == cert_name]
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    subject = x509.Name.from_rfc4514_string(entry["subject"])
    return subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
