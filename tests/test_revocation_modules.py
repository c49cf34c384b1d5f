"""The revocation package's layering: the chain validator never imports the fetching layer, and
the public names stay importable from where they were."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_HTTP_MODULES = (
    "sigmail.revocation.online",
    "sigmail.revocation.transport",
    "urllib3",
    "http.client",
    "urllib.request",
)


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps([m for m in {list(_HTTP_MODULES)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "statement",
    [
        "import sigmail.trust.chain",
        "import sigmail.verifier",
        "from sigmail.revocation import OfflineRevocation",
        "from sigmail import OfflineRevocation",
    ],
)
def test_the_core_and_offline_mode_import_no_http_code(statement):
    assert _loaded_after(statement) == []


def test_the_online_source_does_import_it():
    """The probe above can fail: importing the online source loads the HTTP client."""
    assert "sigmail.revocation.transport" in _loaded_after("import sigmail.revocation.online")


@pytest.mark.parametrize(
    "module",
    ["sigmail", "sigmail.revocation", "sigmail.revocation.sources"],
)
def test_public_names_stay_importable(module):
    import importlib

    mod = importlib.import_module(module)
    for name in ("OfflineRevocation", "OnlineRevocation"):
        assert getattr(mod, name).__name__ == name
    if module != "sigmail":
        for name in ("HttpTransport", "ca_issuer_urls", "crl_urls", "ocsp_urls"):
            assert callable(getattr(mod, name))
        assert callable(mod.published_certificates)


def test_ocsp_cert_id_hashes_for_every_hash_an_ocsp_response_may_use():
    # asn1crypto caches the CertID hashes for SHA-1 and SHA-256 only; sigmail's OCSP matcher
    # asked it for getattr(name, "sha512") and raised on a SHA-384/512 CertID.
    import hashlib
    from pathlib import Path

    from asn1crypto import pem, x509

    from sigmail.trust.revocation_status import cert_id_hashes

    certs = Path(__file__).resolve().parents[1] / "vectors" / "pki" / "certs"

    def load(name):
        return x509.Certificate.load(pem.unarmor((certs / name).read_bytes())[2])

    cert, issuer = load("ca-official.pem"), load("root-official.pem")
    key = bytes(issuer.public_key["public_key"])
    for algo in ("sha1", "sha256", "sha384", "sha512"):
        expected = (
            hashlib.new(algo, cert.issuer.dump()).digest(),
            hashlib.new(algo, key).digest(),
        )
        assert cert_id_hashes(algo, cert, issuer) == expected, algo
