"""Helpers for the PDF tests: the generated PDF vectors, and incremental updates written by
hand (so a test can make exactly the change it is about, byte for byte)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from sigmail import Limits, OfflineRevocation, TrustStore, Verifier

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
PDF_VECTORS = {v["name"]: v for v in MANIFEST["vectors"] if v["kind"] == "pdf"}


def vector_bytes(name: str) -> bytes:
    return (VECTORS / PDF_VECTORS[name]["path"]).read_bytes()


def offline_verifier(limits: Limits | None = None, policy: str = "basic") -> Verifier:
    """Trusts the official test root; revocation only from what a file embeds (DSS)."""
    trust = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    return Verifier(
        trust=trust, policy=policy, revocation=OfflineRevocation(), limits=limits, strict=True
    )


def _last_startxref(data: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", data)[-1])


def _trailer_value(data: bytes, key: bytes) -> bytes:
    return re.findall(rb"/" + key + rb"\s+([^/>]+?)\s*(?=/|>>)", data)[-1].strip()


def incremental_update(data: bytes, objects: dict[int, bytes], *, size: int | None = None) -> bytes:
    """``data`` with an incremental update (classic xref table) writing ``objects``
    (number → the body between ``obj`` and ``endobj``). /Root and /Info are carried over."""
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for num in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    old_size = int(_trailer_value(data, b"Size"))
    size = size or max(old_size, max(objects) + 1)
    root = _trailer_value(data, b"Root")
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        _last_startxref(data),
        xref,
    )
    return bytes(out)


def object_body(data: bytes, num: int) -> bytes:
    """The last definition of object ``num`` in ``data`` (between ``obj`` and ``endobj``)."""
    found = re.findall(rb"(?<![0-9])%d 0 obj\s*(.*?)\s*endobj" % num, data, re.S)
    return found[-1]
