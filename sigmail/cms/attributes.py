"""A SignerInfo's attributes (RFC 5652 §5.3) read from their received encoding.

asn1crypto builds an object for every attribute, its type and its SET of values before any
of them can be looked at; a signer's half-dozen signed attributes cost more than checking
its signature. :func:`attribute_values` walks the encoding instead and parses a value, with
the spec asn1crypto gives its type, only when it is read. An encoding it does not take — any
element of indefinite length or with a multi-byte tag, an attribute that is not a SEQUENCE
of an OBJECT IDENTIFIER and a SET — goes through asn1crypto as before, which decides (and
raises for) everything unusual exactly as it always did.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeAlias

from asn1crypto import cms, core

from sigmail.asn1_bounds import MAX_OID_BYTES, dotted_of
from sigmail.cms.ber import plain_elements

__all__ = [
    "SINGLE_VALUED_ATTRIBUTES",
    "SignedAttributes",
    "Values",
    "attribute_values",
    "octets_of",
    "oid_encoding",
    "read_attributes",
    "time_of",
]

# Signed attributes that occur at most once, with exactly one value: RFC 5652 §11 (content
# type, message digest, signing time), RFC 2634/5035 (signing certificate, v1 and v2), RFC 6211
# (algorithm protection), ETSI EN 319 122-1 §5.2 (signer attributes, signature policy, signer
# location, content hints). Two values would be two claims — which one did the signer make?
SINGLE_VALUED_ATTRIBUTES = {
    "1.2.840.113549.1.9.3": "content-type",
    "1.2.840.113549.1.9.4": "message-digest",
    "1.2.840.113549.1.9.5": "signing-time",
    "1.2.840.113549.1.9.16.2.12": "signing-certificate",
    "1.2.840.113549.1.9.16.2.47": "signing-certificate-v2",
    "1.2.840.113549.1.9.52": "cms-algorithm-protection",
    "0.4.0.19122.1.1": "signer-attributes-v2",
    "1.2.840.113549.1.9.16.2.18": "signer-attributes",
    "1.2.840.113549.1.9.16.2.15": "signature-policy-identifier",
    "1.2.840.113549.1.9.16.2.17": "signer-location",
    "1.2.840.113549.1.9.16.2.4": "content-hints",
}


class RawValues:
    """The values of one attribute as their encodings; each is parsed when it is read.

    Sized, indexable and iterable like asn1crypto's SET OF, and counted as one whose
    elements are parsed already (``children``) by :func:`sigmail.cms.ber.count_elements`."""

    __slots__ = ("_dotted", "children")

    def __init__(self, dotted: str, encodings: tuple[bytes, ...]) -> None:
        self._dotted = dotted
        self.children = encodings

    def __len__(self) -> int:
        return len(self.children)

    def __getitem__(self, index: int) -> core.Asn1Value:
        # Looked up when read, as CMSAttribute._values_spec does: other modules (tsp, pyHanko)
        # register attribute types in asn1crypto's table.
        name = cms.CMSAttributeType._map.get(self._dotted, self._dotted)
        spec = cms.CMSAttribute._oid_specs.get(name, cms.SetOfAny)._child_spec
        # As SetOf builds a child (not spec.load, which parses an Any or a Choice as the
        # universal type its tag names).
        return core._parse_build(self.children[index], spec=spec)[0]

    def __iter__(self) -> Iterator[core.Asn1Value]:
        return (self[i] for i in range(len(self.children)))


class ParsedValues:
    """The values of one attribute that asn1crypto parsed, read from it only when asked for:
    an attribute whose values nobody reads (an unknown type, a SET that does not parse) is
    not parsed, as asn1crypto's lazy parsing never did either. Sized, indexable and
    iterable, and counted by :func:`sigmail.cms.ber.count_elements` as the SET itself."""

    __slots__ = ("_attribute",)

    def __init__(self, attribute: cms.CMSAttribute) -> None:
        self._attribute = attribute

    @property
    def values(self) -> core.SetOf:
        return self._attribute["values"]

    @property
    def children(self):
        return self.values.children

    @property
    def contents(self) -> bytes | None:
        return self.values.contents

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index: int) -> core.Asn1Value:
        return self.values[index]

    def __iter__(self) -> Iterator[core.Asn1Value]:
        return iter(self.values)


Values: TypeAlias = ParsedValues | RawValues


def attribute_values(attrs: cms.CMSAttributes | core.Void | tuple[()]) -> list[tuple[str, Values]]:
    """(dotted type, values) of each attribute of ``attrs``, in order; none when absent.
    Bound the number of attributes first (:func:`sigmail.cms.ber.bounded`)."""
    if isinstance(attrs, core.Void | tuple):  # absent (or bounded() gave no elements)
        return []
    raw = _read_raw(attrs)
    if raw is not None:
        return raw
    return [(attr["type"].dotted, ParsedValues(attr)) for attr in attrs]


def _read_raw(attrs: cms.CMSAttributes) -> list[tuple[str, Values]] | None:
    """The attributes from their encoding, or None when it is not in the plain form this
    reader takes (see the module docstring) or asn1crypto has parsed them already."""
    if not isinstance(attrs, core.SetOf) or attrs.children is not None:
        return None
    return read_attributes(attrs._header, attrs.contents)


def read_attributes(header: bytes | None, data: bytes | None) -> list[tuple[str, Values]] | None:
    """The attributes of the SET whose header and contents are given, from their encoding,
    or None when it is not in the plain form this reader takes (see the module docstring)."""
    if not header or header[-1:] == b"\x80" or data is None:
        return None
    elements = plain_elements(data, 0, len(data))
    if elements is None:
        return None
    found: list[tuple[str, Values]] = []
    for tag, _start, body, end in elements:
        inner = plain_elements(data, body, end) if tag == 0x30 else None
        if inner is None or len(inner) != 2 or inner[0][0] != 0x06 or inner[1][0] != 0x31:
            return None
        oid = data[inner[0][2] : inner[0][3]]
        values = plain_elements(data, inner[1][2], inner[1][3])
        if not oid or len(oid) > MAX_OID_BYTES or values is None:
            return None
        dotted = dotted_of(oid)
        found.append((dotted, RawValues(dotted, tuple(data[a:z] for _, a, _, z in values))))
    return found


class SignedAttributes:
    """The signed attributes read once: each attribute's dotted type, in order, and the
    single-valued ones that are broken (repeated, or without exactly one value).

    Every later look-up (:meth:`single`) is a dictionary access instead of another walk
    over the attributes: a warm verification reads half a dozen of them."""

    __slots__ = ("_by_oid", "broken", "count", "items")

    def __init__(
        self,
        attrs: cms.CMSAttributes | core.Void | tuple[()],
        items: list[tuple[str, Values]] | None = None,
    ) -> None:
        """``items``: the attributes as read already (read_attributes), else from ``attrs``."""
        self._by_oid: dict[str, list[Values]] = {}
        # in order, as attribute_values gives them
        self.items = attribute_values(attrs) if items is None else items
        for dotted, values in self.items:
            self._by_oid.setdefault(dotted, []).append(values)
        self.count = len(self.items)
        self.broken: set[str] = set()

    def check_single_valued(self) -> Iterator[str]:
        """Why each single-valued attribute that is repeated or does not have one value is
        wrong, one by one (so what was found before an attribute that does not parse is
        reported); their dotted OIDs go into :attr:`broken` (their values are not read:
        they are not one claim)."""
        for oid, found in self._by_oid.items():
            if oid not in SINGLE_VALUED_ATTRIBUTES:
                continue
            counts = [len(values) for values in found]
            if counts == [1]:
                continue
            self.broken.add(oid)
            what = f"{len(counts)} times" if len(counts) > 1 else f"with {counts[0]} values"
            yield (
                f"the {SINGLE_VALUED_ATTRIBUTES[oid]} attribute occurs {what}; "
                "it must occur once, with one value"
            )

    def single_encoding(self, oid: str) -> bytes | None:
        """The encoding of the one value of the attribute of type ``oid`` when it was read
        from its encoding (else None: absent, not one value, or parsed by asn1crypto)."""
        found = self._by_oid.get(oid)
        if found is None or len(found) != 1:
            return None
        values = found[0]
        if type(values) is not RawValues or len(values.children) != 1:
            return None
        return values.children[0]

    def single(self, oid: str):
        """The one value of the attribute of type ``oid``, or None when it is absent or not
        one value (call :meth:`check_single_valued` first, which reports those)."""
        found = self._by_oid.get(oid)
        if found is None or len(found) != 1 or len(found[0]) != 1:
            return None
        return found[0][0]


# The values a verification reads of every signer, taken from their DER encoding when it is
# the plain form (parsing them through asn1crypto cost ~6 % of a small message's
# verification); any other encoding gives None, and the caller parses it as before, so that
# asn1crypto decides, and raises for, everything unusual.


def octets_of(encoding: bytes | None) -> bytes | None:
    """The contents of an OCTET STRING of definite short length (under 128 octets)."""
    if encoding is None or len(encoding) < 2 or encoding[0] != 0x04:
        return None
    size = encoding[1]
    return encoding[2:] if size < 0x80 and size == len(encoding) - 2 else None


@lru_cache(maxsize=32)
def oid_encoding(dotted: str) -> bytes | None:
    """The DER encoding of the OBJECT IDENTIFIER ``dotted`` (equal encodings: the same OID),
    or None when it is not one (a malformed eContentType reads as "")."""
    try:
        return core.ObjectIdentifier(dotted).dump()
    except (ValueError, TypeError):
        return None


def time_of(encoding: bytes | None) -> datetime | None:
    """The time of a UTCTime ``YYMMDDHHMMSSZ`` or GeneralizedTime ``YYYYMMDDHHMMSSZ`` (their
    DER forms), as asn1crypto's ``native`` gives it: UTCTime's years 50-99 are 19xx."""
    if encoding is None:
        return None
    if len(encoding) == 15 and encoding[:2] == b"\x17\x0d":
        digits, two_digit_year = encoding[2:14], True
    elif len(encoding) == 17 and encoding[:2] == b"\x18\x0f":
        digits, two_digit_year = encoding[2:16], False
    else:
        return None
    if encoding[-1] != 0x5A or not digits.isdigit():  # "Z"; bytes.isdigit is ASCII only
        return None
    if two_digit_year:
        year, rest = int(digits[:2]), digits[2:]
        year += 1900 if year >= 50 else 2000
    else:
        year, rest = int(digits[:4]), digits[4:]
    try:
        return datetime(
            year,
            int(rest[0:2]),
            int(rest[2:4]),
            int(rest[4:6]),
            int(rest[6:8]),
            int(rest[8:10]),
            tzinfo=UTC,
        )
    except ValueError:  # no such date (asn1crypto raises for it: the caller's parse will)
        return None
