"""A SignerInfo read from its encoding when it is in the plain form nearly every signer
writes: each field a definite-length element with a one-byte tag, in the order RFC 5652
§5.3 gives them, the identifier a SEQUENCE (issuer and serial number) or a primitive [0]
(subject key identifier).

Each message from a signer repeats the same identifier and algorithm identifiers; asn1crypto
would parse the SignerInfo's children and then each of those anew. Here the fields are
slices of the encoding; the identifier and the two algorithms are parsed once per encoding
(a bounded, shared memo) and the rest is read by :mod:`sigmail.cms.signer_info` from the
bytes. Anything else — and any reader that asks for a field by name — gets asn1crypto's
SignerInfo built from the same bytes, which decides every unusual encoding as before.
"""

from __future__ import annotations

from asn1crypto import algos, cms, core

from sigmail.bounded_cache import BoundedCache
from sigmail.cms.ber import plain_elements
from sigmail.problems import ASN1_ERRORS

__all__ = ["PlainSignerInfo", "parsed_field", "read_signer_info", "shared_field"]

_SID_TAGS = (0x30, 0x80)  # IssuerAndSerialNumber; [0] IMPLICIT SubjectKeyIdentifier


class PlainSignerInfo:
    """The fields of one SignerInfo as received; ``si[name]`` answers what asn1crypto's
    SignerInfo answers (built on first use from the same bytes)."""

    __slots__ = (
        "_asn1",
        "der",
        "digest_algorithm",
        "sid",
        "signature",
        "signature_algorithm",
        "signed_attrs",
        "unsigned_attrs",
    )

    def __init__(
        self,
        der: bytes,
        sid: bytes,
        digest_algorithm: bytes,
        signed_attrs: tuple[bytes, bytes] | None,
        signature_algorithm: bytes,
        signature: bytes,
        unsigned_attrs: bytes | None,
    ) -> None:
        self.der = der
        self.sid = sid  # the whole element
        self.digest_algorithm = digest_algorithm  # the whole element
        self.signed_attrs = signed_attrs  # (header, contents), None when absent
        self.signature_algorithm = signature_algorithm  # the whole element
        self.signature = signature  # the OCTET STRING's contents
        self.unsigned_attrs = unsigned_attrs  # the whole element, None when absent
        self._asn1: cms.SignerInfo | None = None

    def asn1(self) -> cms.SignerInfo:
        if self._asn1 is None:
            # As SetOf builds its children (core._parse_build with the child spec).
            self._asn1 = core._parse_build(self.der, spec=cms.SignerInfo)[0]
        return self._asn1

    def dump(self) -> bytes:
        return self.asn1().dump()

    def __getitem__(self, name: str):
        # The absent optional fields as asn1crypto gives them, without building it.
        if name == "unsigned_attrs" and self.unsigned_attrs is None:
            return core.VOID
        if name == "signed_attrs" and self.signed_attrs is None:
            return core.VOID
        return self.asn1()[name]


def read_signer_info(der: bytes) -> PlainSignerInfo | None:
    """The fields of the SignerInfo ``der`` (an element with a one-byte tag and a definite
    length, as read_plain gives it), or None unless it is in the plain form."""
    body = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    found = plain_elements(der, body, len(der))
    if found is None or not 5 <= len(found) <= 7:
        return None
    tags = [e[0] for e in found]
    signed = tags[3] == 0xA0
    layout = [0x02, tags[1], 0x30, *([0xA0] if signed else []), 0x30, 0x04]
    if tags[1] not in _SID_TAGS or tags[: len(layout)] != layout:
        return None
    rest = tags[len(layout) :]
    if rest not in ([], [0xA1]):
        return None
    # A header whose length octets end in 0x80 is re-encoded by asn1crypto's dump(): those
    # are left to it, so every field here is exactly what asn1crypto would give.
    if any(der[contents - 1] == 0x80 for _, _, contents, _ in found[1:]):
        return None
    fields = [der[start:end] for _, start, _, end in found]
    signature = found[len(layout) - 1]
    return PlainSignerInfo(
        der=der,
        sid=fields[1],
        digest_algorithm=fields[2],
        signed_attrs=(
            (der[found[3][1] : found[3][2]], der[found[3][2] : found[3][3]]) if signed else None
        ),
        signature_algorithm=fields[len(layout) - 2],
        signature=der[signature[2] : signature[3]],
        unsigned_attrs=fields[-1] if rest else None,
    )


# The parsed identifier and algorithm identifiers by encoding; each entry holds its encoding
# as the key and again in a parsed object, a multiple of it, so it is weighed by it.
_shared: BoundedCache[tuple[type, bytes], core.Asn1Value] = BoundedCache(
    max_entries=4096, max_weight=4 * 1024 * 1024, weigh=lambda key, value: 3 * len(key[1])
)
_SPECS = {
    "sid": cms.SignerIdentifier,
    "digest_algorithm": algos.DigestAlgorithm,
    "signature_algorithm": algos.SignedDigestAlgorithm,
}


def parsed_field(si: cms.SignerInfo | PlainSignerInfo, name: str) -> core.Asn1Value:
    """The field ``name`` (sid, digest_algorithm or signature_algorithm) of either kind of
    SignerInfo: a plain one's from the shared memo, a parsed one's from asn1crypto."""
    return shared_field(si, name) if isinstance(si, PlainSignerInfo) else si[name]


def shared_field(si: PlainSignerInfo, name: str) -> core.Asn1Value:
    """The parsed field ``name`` (sid, digest_algorithm or signature_algorithm) of ``si``,
    one object per encoding. A shared object is parsed whole before it is kept (``native``),
    so that readers in other threads only read it; one that does not parse whole is not
    kept, and the caller reads a fresh one, which fails where asn1crypto's SignerInfo would."""
    spec = _SPECS[name]
    raw = getattr(si, name)
    key = (spec, raw)
    found = _shared.get(key)
    if found is not None:
        return found
    value = core._parse_build(raw, spec=spec)[0]
    try:
        value.native  # noqa: B018
    except ASN1_ERRORS:
        return core._parse_build(raw, spec=spec)[0]
    return _shared.put(key, value)
