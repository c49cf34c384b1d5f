"""A ContentInfo holding SignedData, read from its encoding when it is in the plain form
nearly every signer writes: every element of definite length with a one-byte tag, content
of type id-data in one primitive OCTET STRING (or detached), no ``crls`` field.

asn1crypto parses a structure's children, checking each against its spec in Python, the
first time any one of them is asked for: for a small signed message the ContentInfo, the
SignedData and its EncapsulatedContentInfo cost more than its signature check. This reader
takes the same fields from the bytes; for anything else it answers None and
:func:`sigmail.cms.signed_data.parse_signed_data` asks asn1crypto, which decides (and
refuses) every unusual encoding exactly as before. It only reads what asn1crypto would
accept without a question: the tags it checks, in the order it expects them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigmail.cms.ber import plain_elements

__all__ = ["PlainSignedData", "certificate_ders", "read_plain"]

_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
_DATA = bytes.fromhex("2a864886f70d010701")  # 1.2.840.113549.1.7.1, id-data
# SignedData's fields (RFC 5652 §5.1): version, digestAlgorithms, encapContentInfo,
# certificates [0] IMPLICIT (optional), signerInfos; with crls [1], asn1crypto reads it.
_LAYOUTS = ((0x02, 0x31, 0x30, 0x31), (0x02, 0x31, 0x30, 0xA0, 0x31))
# CertificateChoices (RFC 5652 §10.2.2): a certificate is an untagged SEQUENCE. The other
# alternatives ([0]-[3]: extended, attribute and other formats) are left to asn1crypto: it
# looks inside a [1] to tell a v1 attribute certificate from a v2 one, and refuses some.


@dataclass(frozen=True, slots=True)
class PlainSignedData:
    econtent: bytes | None  # None: detached
    certificates: tuple[bytes, ...]  # the X.509 ones
    signer_infos: tuple[bytes, ...]  # each SignerInfo's encoding


def _one(data: bytes, start: int, end: int, tag: int) -> tuple[int, int] | None:
    """The contents of the single element ``data[start:end]`` holds, if it has ``tag``."""
    found = plain_elements(data, start, end)
    if found is None or len(found) != 1 or found[0][0] != tag:
        return None
    return found[0][2], found[0][3]


def read_plain(der: bytes) -> PlainSignedData | None:
    """The fields of a ContentInfo holding SignedData, or None (see the module docstring)."""
    outer = _one(der, 0, len(der), 0x30)  # nothing after it: ContentInfo.load(strict=True)
    info = plain_elements(der, *outer) if outer else None
    if info is None or [e[0] for e in info] != [0x06, 0xA0]:
        return None
    if der[info[0][2] : info[0][3]] != _SIGNED_DATA:
        return None  # asn1crypto names the content type (NotSignedData)
    signed_data = _one(der, info[1][2], info[1][3], 0x30)
    fields = plain_elements(der, *signed_data) if signed_data else None
    if fields is None or tuple(e[0] for e in fields) not in _LAYOUTS:
        return None
    encap = plain_elements(der, fields[2][2], fields[2][3])
    if encap is None or [e[0] for e in encap] not in ([0x06], [0x06, 0xA0]):
        return None
    if der[encap[0][2] : encap[0][3]] != _DATA:
        return None  # asn1crypto parses the eContent by its type: only id-data is an OCTET STRING
    econtent = None
    if len(encap) == 2:
        octets = _one(der, encap[1][2], encap[1][3], 0x04)
        if octets is None:
            return None  # a constructed (BER) OCTET STRING, or more than one element
        econtent = der[octets[0] : octets[1]]
    certificates: tuple[bytes, ...] = ()
    if len(fields) == 5:
        choices = plain_elements(der, fields[3][2], fields[3][3])
        found = certificate_ders(der, choices) if choices is not None else None
        if found is None:
            return None
        certificates = found
    signer_infos = plain_elements(der, fields[-1][2], fields[-1][3])
    if signer_infos is None or any(e[0] != 0x30 for e in signer_infos):
        return None
    return PlainSignedData(
        econtent=econtent,
        certificates=certificates,
        signer_infos=tuple(der[start:end] for _, start, _, end in signer_infos),
    )


def certificate_ders(
    data: bytes, choices: list[tuple[int, int, int, int]]
) -> tuple[bytes, ...] | None:
    """The encodings of CertificateChoices elements (as :func:`plain_elements` gives them),
    or None unless each is an X.509 certificate whose header asn1crypto keeps as received
    (its length octets do not end in 0x80)."""
    ders = []
    for tag, start, body, end in choices:
        if tag != 0x30 or data[body - 1] == 0x80:
            return None
        ders.append(data[start:end])
    return tuple(ders)
