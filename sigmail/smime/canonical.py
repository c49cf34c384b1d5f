"""The exact bytes a ``multipart/signed`` signature covers (RFC 1847, RFC 8551 §3.1.1).

The signed entity is hashed as it stands in the message when that is what was signed (a
message received over SMTP is already in canonical CRLF form). A file saved to disk with
bare LF line ends is put back into canonical form — every line break CRLF — and hashed
again; only then, and only when the range has a bare LF, is anything copied. Either way the
bytes hashed are a rendering of the same entity: a signer who signed bytes with bare LFs
(not canonical, but seen) still verifies, and nothing else can.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import cms

from sigmail.cms.algorithms import AlgorithmProblem
from sigmail.cms.ber import count_elements
from sigmail.cms.plain_signer_info import parsed_field
from sigmail.cms.signed_data import MAX_SIGNED_ATTRIBUTES
from sigmail.cms.signer_info import ContentDigests, signed_attrs_as_signed
from sigmail.problems import ASN1_ERRORS

__all__ = ["SignedBytes", "canonicalize", "has_bare_lf", "signed_bytes"]


class SignedBytes:
    """The content digests a signature is checked against, and how they were taken."""

    __slots__ = ("canonicalized", "digests")

    def __init__(self, digests: ContentDigests, canonicalized: bool) -> None:
        self.digests = digests
        self.canonicalized = canonicalized


def has_bare_lf(buf: bytes, start: int, end: int) -> bool:
    return buf.count(b"\n", start, end) != buf.count(b"\r\n", start, end)


def canonicalize(text: bytes) -> bytes:
    """Every line break as CRLF (RFC 5322 §2.3, RFC 8551 §3.1.1)."""
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _claimed_digest(signer_infos: Sequence[cms.SignerInfo]) -> tuple[str, bytes] | None:
    """(digest algorithm, message-digest attribute) of the first signer that states one.

    Read from a copy of the signed attributes' encoding, so the SignerInfo itself is left
    untouched for :func:`sigmail.cms.signer_info.check_signer_info` (asn1crypto re-encodes
    a structure once its values have been read).
    """
    for si in signer_infos:
        try:
            signed = signed_attrs_as_signed(si)
            if signed is None:
                continue
            attrs = cms.CMSAttributes.load(signed)
            if count_elements(attrs, MAX_SIGNED_ATTRIBUTES) > MAX_SIGNED_ATTRIBUTES:
                continue  # the engine refuses it (limit_exceeded)
            for attr in attrs:
                if attr["type"].native == "message_digest" and len(attr["values"]) == 1:
                    digest_algo = parsed_field(si, "digest_algorithm")
                    return digest_algo["algorithm"].native, attr["values"][0].native
        except ASN1_ERRORS:
            continue
    return None


# Up to this size, counting the line ends costs less than reading a signer's attributes
# (0.09 ms for 64 KiB of short lines against 0.2 ms); above it, comparing the digest first
# spares two passes over a large entity that is most often canonical already.
_COUNT_LINE_ENDS_FIRST = 64 * 1024


def signed_bytes(
    buf: bytes, start: int, end: int, signer_infos: Sequence[cms.SignerInfo]
) -> SignedBytes:
    """Digests of ``buf[start:end]`` as received, or of its canonical form if that is what
    the signers' message-digest attribute matches (see the module docstring)."""
    raw = ContentDigests(memoryview(buf)[start:end])
    if end - start <= _COUNT_LINE_ENDS_FIRST and not has_bare_lf(buf, start, end):
        return SignedBytes(raw, canonicalized=False)  # canonical already: nothing to choose
    claimed = _claimed_digest(signer_infos)
    if claimed is not None:
        name, value = claimed
        try:
            if raw.get(name) == value:
                return SignedBytes(raw, canonicalized=False)
        except AlgorithmProblem:
            return SignedBytes(raw, canonicalized=False)  # the engine reports the algorithm
    if has_bare_lf(buf, start, end):
        return SignedBytes(ContentDigests(canonicalize(buf[start:end])), canonicalized=True)
    return SignedBytes(raw, canonicalized=False)
