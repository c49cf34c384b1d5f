"""Where the test PKI's services live: the only place that names the responder's address.

Every HTTP URL written into a test certificate is built here, so moving the responder means
changing :data:`RESPONDER_PORT` and regenerating the vectors.
"""

from __future__ import annotations

__all__ = [
    "RESPONDER_HOST",
    "RESPONDER_PORT",
    "RESPONDER_URL",
    "UNREACHABLE_URL",
    "ca_issuers_url",
    "crl_url",
    "ocsp_url",
]

RESPONDER_HOST = "127.0.0.1"
RESPONDER_PORT = 47831
RESPONDER_URL = f"http://{RESPONDER_HOST}:{RESPONDER_PORT}"

# Port 9 is the "discard" service: nothing listens there on a test machine, so a connection is
# refused at once. Certificates whose endpoints say "unreachable" point here.
UNREACHABLE_URL = f"http://{RESPONDER_HOST}:9"

_BASES = {"responder": RESPONDER_URL, "unreachable": UNREACHABLE_URL}


def base_url(endpoints: str) -> str:
    """The base URL for an ``endpoints`` setting of pki.toml ("responder" or "unreachable")."""
    try:
        return _BASES[endpoints]
    except KeyError:
        raise ValueError(f"endpoints must be one of {sorted(_BASES)}, not {endpoints!r}") from None


def crl_url(ca_name: str, endpoints: str = "responder") -> str:
    return f"{base_url(endpoints)}/crl/{ca_name}.crl"


def ocsp_url(ca_name: str, endpoints: str = "responder") -> str:
    return f"{base_url(endpoints)}/ocsp/{ca_name}"


def ca_issuers_url(ca_name: str, endpoints: str = "responder") -> str:
    return f"{base_url(endpoints)}/cert/{ca_name}.crt"
