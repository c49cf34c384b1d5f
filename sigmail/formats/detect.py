"""What kind of input is this? Decided from the bytes, with the file name as a tie-breaker."""

from __future__ import annotations

import re

__all__ = ["InputKind", "detect_kind"]

_MIME_HEADER = re.compile(rb"^[A-Za-z0-9-]{1,76}:", re.ASCII)


class InputKind:
    PDF = "pdf"
    CMS = "cms"  # .p7m (attached) or .p7s (detached): told apart after parsing
    EML = "eml"
    UNKNOWN = "unknown"


def detect_kind(data: bytes, name: str | None = None) -> str:
    head = bytes(data[:1024])
    lower = (name or "").lower()
    if head.lstrip()[:5] == b"%PDF-" or (b"%PDF-" in head and lower.endswith(".pdf")):
        return InputKind.PDF
    if lower.endswith((".p7m", ".p7s", ".p7", ".p7b")):
        return InputKind.CMS
    stripped = head.lstrip()
    if stripped[:1] == b"\x30" or stripped.startswith(b"-----BEGIN"):
        return InputKind.CMS
    if lower.endswith((".eml", ".msg", ".mbox")) or _MIME_HEADER.match(stripped):
        return InputKind.EML
    return InputKind.UNKNOWN
