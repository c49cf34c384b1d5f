"""Reading BER where asn1crypto would build a Python object per element: the bytes of a
constructed OCTET STRING, and whether a SET OF / SEQUENCE OF has more elements than a budget
allows (asked before asn1crypto parses any of them: 400,000 empty certificates took a second
to count that way).

Both read only TLV headers, in one forward pass, and never recurse."""

from __future__ import annotations

from asn1crypto import core

from sigmail.limits import LimitExceeded

__all__ = [
    "bounded",
    "count_elements",
    "count_encoded",
    "octets",
    "plain_elements",
    "received_encoding",
]

# BER nests constructed OCTET STRINGs; X.690 puts no bound on it, asn1crypto bounds only
# indefinite-length nesting. Deeper than this is not something a streaming encoder writes.
_MAX_CHUNK_NESTING = 32


def octets(value: core.OctetString) -> bytes:
    """The bytes of an OCTET STRING, primitive or constructed from BER chunks.

    asn1crypto joins chunks by building an object per chunk (about 7 µs each, so 300,000
    one-byte chunks took 2 s); here they are read in one pass over the encoding."""
    if value.method == 0:
        return value.contents or b""
    return _join_chunks(value.contents or b"")


def _join_chunks(encoded: bytes) -> bytes:
    size = len(encoded)
    parts: list[bytes] = []
    append = parts.append
    ends: list[int | None] = [size]  # None: an indefinite-length chunk, until 00 00
    pos = 0
    while ends:
        end = ends[-1]
        stop = size if end is None else end
        # The common case in a tight loop: primitive chunks with a short length.
        while pos + 1 < stop and encoded[pos] == 0x04 and encoded[pos + 1] < 0x80:
            length = encoded[pos + 1]
            pos += 2
            if pos + length > stop:
                raise ValueError("a chunk runs past its container")
            append(encoded[pos : pos + length])
            pos += length
        if end is not None and pos >= end:
            ends.pop()
            continue
        if pos >= len(encoded):
            raise ValueError("a constructed OCTET STRING is cut short")
        if encoded[pos : pos + 2] == b"\x00\x00":
            if end is not None:
                raise ValueError("end-of-contents inside a definite-length chunk")
            ends.pop()
            pos += 2
            continue
        tag = encoded[pos]
        if tag not in (0x04, 0x24) or pos + 1 >= len(encoded):
            raise ValueError(f"a chunk of a constructed OCTET STRING has tag 0x{tag:02x}")
        first = encoded[pos + 1]
        pos += 2
        chunk_length: int | None
        if first == 0x80:
            if tag != 0x24:
                raise ValueError("a primitive chunk with an indefinite length")
            chunk_length = None
        elif first & 0x80:
            count = first & 0x7F
            if count > 8 or pos + count > len(encoded):
                raise ValueError("a chunk length does not fit")
            chunk_length = int.from_bytes(encoded[pos : pos + count], "big")
            pos += count
        else:
            chunk_length = first
        if chunk_length is not None and (
            (end is not None and pos + chunk_length > end) or pos + chunk_length > len(encoded)
        ):
            raise ValueError("a chunk runs past its container")
        if tag == 0x24:
            if len(ends) > _MAX_CHUNK_NESTING:
                raise ValueError(f"chunks nested deeper than {_MAX_CHUNK_NESTING}")
            ends.append(None if chunk_length is None else pos + chunk_length)
            continue
        assert chunk_length is not None  # a primitive chunk's indefinite length was refused above
        append(encoded[pos : pos + chunk_length])
        pos += chunk_length
    return b"".join(parts)


def bounded(value: core.Asn1Value | None, limit: int, name: str):
    """``value`` — a SET OF / SEQUENCE OF — when it has at most ``limit`` elements, ``()``
    when it is absent; :class:`LimitExceeded` (``name``) otherwise. Never ``value or ()``:
    an asn1crypto collection's truth value parses every element to count them."""
    if value is None or isinstance(value, core.Void):
        return ()
    if count_elements(value, limit) > limit:
        raise LimitExceeded(name, limit)
    return value


def count_elements(value: core.Asn1Value, limit: int) -> int:
    """The number of elements of a SET OF / SEQUENCE OF, counted up to ``limit + 1`` (so a
    caller comparing with ``limit`` learns all it needs after reading ``limit + 1`` headers).
    Elements asn1crypto has already parsed are counted as they are."""
    if getattr(value, "children", None) is not None:
        return len(value)
    return count_encoded(value.contents or b"", limit)


def count_encoded(encoded: bytes, limit: int) -> int:
    """The number of elements in the contents ``encoded``, counted up to ``limit + 1``."""
    count = pos = 0
    while pos < len(encoded) and count <= limit:
        pos = _skip_element(encoded, pos)
        count += 1
    return count


def _skip_element(encoded: bytes, pos: int) -> int:
    """The position after the element starting at ``pos`` (indefinite lengths followed to
    their end-of-contents, with a stack, not recursion)."""
    pending = 0  # indefinite-length elements still open
    while True:
        if pending and encoded[pos : pos + 2] == b"\x00\x00":
            pos += 2
            pending -= 1
            if not pending:
                return pos
            continue
        if pos + 2 > len(encoded):
            raise ValueError("an element is cut short")
        pos += 1
        if encoded[pos - 1] & 0x1F == 0x1F:  # high tag number: base-128 continuation bytes
            while pos < len(encoded) and encoded[pos] & 0x80:
                pos += 1
            pos += 1
        if pos >= len(encoded):
            raise ValueError("an element is cut short")
        first = encoded[pos]
        pos += 1
        if first == 0x80:
            pending += 1
            continue
        if first & 0x80:
            count = first & 0x7F
            length = int.from_bytes(encoded[pos : pos + count], "big") if count <= 8 else -1
            pos += count
        else:
            length = first
        if length < 0 or pos + length > len(encoded):
            raise ValueError("an element runs past its container")
        pos += length
        if not pending:
            return pos


def plain_elements(data: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]] | None:
    """(tag, start, start of contents, end) of each element in ``data[pos:end]``, or None
    unless each has a one-byte tag and a definite length of at most four octets that fits.
    The fast readers (cms/attributes.py, the certificates of a SignedData) take what this
    gives and leave anything else to asn1crypto."""
    found = []
    while pos < end:
        if pos + 2 > end:
            return None
        tag, size = data[pos], data[pos + 1]
        if tag & 0x1F == 0x1F:
            return None
        body = pos + 2
        if size & 0x80:
            octet_count = size & 0x7F
            if not 0 < octet_count <= 4 or body + octet_count > end:
                return None
            size = int.from_bytes(data[body : body + octet_count], "big")
            body += octet_count
        if body + size > end:
            return None
        found.append((tag, pos, body, body + size))
        pos = body + size
    return found


def received_encoding(value: core.Asn1Value) -> bytes:
    """The bytes a parsed value was received as, for a memo's key: never re-encoded (dump()
    re-encodes a value whose length octets end in 0x80, parsing its children, which may
    raise where reading the value would not)."""
    if value._header is None:  # built here, not parsed
        return value.dump()
    return value._header + (value.contents or b"") + (value._trailer or b"")
