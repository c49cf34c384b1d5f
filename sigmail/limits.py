"""Budgets on all work: every parser and every search stops at a documented limit.

:class:`Limits` is the configuration (a plain frozen struct whose defaults are documented);
:class:`Budget` is the running account of one verification. Exceeding a limit raises
:class:`LimitExceeded`, which the entry point turns into a ``limit_exceeded`` finding: a
verdict, never a hang or a traceback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

from sigmail.errors import ConfigError, InputSignal

__all__ = ["Budget", "LimitExceeded", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings for one verification call. Zero or negative values are refused."""

    max_input_bytes: int = 128 * 1024 * 1024
    """Size of the file, message or detached content handed to ``verify``."""
    max_signatures: int = 32
    """Signatures (signerInfos, PDF signature fields) per document."""
    max_certificates: int = 64
    """Certificates carried inside one CMS structure."""
    max_chain_length: int = 10
    """Certificates in a path, anchor included."""
    max_chain_signature_checks: int = 100
    """Signature verifications spent on building and validating chains (as pyca/cryptography)."""
    max_path_candidates: int = 200
    """Issuer candidates examined while building paths for one certificate."""
    max_revocation_items: int = 64
    """CRLs and OCSP responses considered for one signature."""
    max_crl_bytes: int = 32 * 1024 * 1024
    """Size of one CRL, embedded or fetched."""
    max_cms_nesting: int = 8
    """SignedData inside SignedData (a .p7m sealed over a signed .p7m)."""
    max_mime_depth: int = 16
    max_mime_parts: int = 512
    max_attachment_bytes: int = 64 * 1024 * 1024
    max_pdf_revisions: int = 64
    max_pdf_objects: int = 500_000
    max_pdf_decoded_bytes: int = 64 * 1024 * 1024
    """Stream data decoded for one PDF, all streams together (each stream once: decoded
    streams are cached); beyond it, limit_exceeded. Images are never decoded."""
    max_pdf_decode_steps: int = 500_000
    """Work the PDF stream decoders do one step at a time in Python, for one PDF, in steps of
    about a microsecond: half an LZW input byte, a RunLength run, a PNG-predictor Average or
    Paeth byte, five per run of PNG rows of one type (real xref and object streams have one)."""
    max_pdf_stream_tokens: int = 1_000_000
    """Tokens (and string escapes) parsed out of object streams for one PDF, up to a
    microsecond each: a 60 kB file can inflate to 30 million of them. The ceiling: a file
    gets 50,000 plus one per byte of its size, up to this (pdf.filters.DecodeAllowance)."""
    max_seconds: float = 30.0
    """Wall-clock budget for one verification (a resource limit, not the validation time)."""
    max_xml_bytes: int = 32 * 1024 * 1024
    """Size of one XML document parsed (a standalone .xml, one part of a package)."""
    max_xml_depth: int = 128
    """Element nesting in one XML document."""
    max_xml_references: int = 1024
    """ds:Reference elements in one signature (SignedInfo and Manifests together)."""
    max_xml_transforms: int = 8
    """ds:Transform elements in one reference."""
    max_xml_signatures: int = 16
    """ds:Signature elements in one XML document or package."""
    max_zip_entries: int = 4096
    """Entries in one ZIP package (.docx, .xlsx, .pptx)."""
    max_zip_entry_bytes: int = 64 * 1024 * 1024
    """Uncompressed size of one ZIP entry, as declared and as read."""
    max_zip_total_bytes: int = 256 * 1024 * 1024
    """Uncompressed size of all entries of one ZIP package together."""
    max_zip_ratio: int = 200
    """Uncompressed/compressed size of one entry larger than 1 MiB (a deflate bomb's mark)."""

    # -- network: what one verification may ask of the revocation/AIA fetching layer -------
    # (sigmail.revocation.allowance; cached answers cost nothing; once spent, further lookups
    # fail as unreachable, so the verdict is indeterminate, never official)
    max_network_fetches: int = 16
    """OCSP, CRL and caIssuers fetches made for one verification (a redirect is the same one)."""
    max_network_seconds: float = 20.0
    """Time one verification may wait on the network: its own fetches, and another thread's
    fetch of the same URL."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ConfigError(f"limit {f.name} must be positive, got {getattr(self, f.name)!r}")

    def with_(self, **changes: Any) -> Limits:
        return replace(self, **changes)


class LimitExceeded(InputSignal):
    """Raised inside the core when a budget runs out; entry points turn it into a finding."""

    def __init__(self, limit: str, value: int | float, observed: int | float | None = None):
        self.limit = limit
        self.value = value
        self.observed = observed
        what = f"{limit} = {value}"
        if observed is not None:
            what += f" (observed {observed})"
        super().__init__(what)


class Budget:
    """The running account of one verification: counters and a monotonic deadline."""

    __slots__ = ("_deadline", "limits", "signature_checks")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.signature_checks = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def check_size(self, limit: str, observed: int) -> None:
        ceiling = getattr(self.limits, limit)
        if observed > ceiling:
            raise LimitExceeded(limit, ceiling, observed)

    def spend_signature_check(self, n: int = 1) -> None:
        self.signature_checks += n
        if self.signature_checks > self.limits.max_chain_signature_checks:
            raise LimitExceeded(
                "max_chain_signature_checks", self.limits.max_chain_signature_checks
            )
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise LimitExceeded("max_seconds", self.limits.max_seconds)
