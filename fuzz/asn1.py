"""A tolerant BER/DER TLV reader and writer for structure-aware mutation of CMS.

The tree is only a map of the bytes: each node keeps its identifier octets and either its
content (primitive) or its children (constructed). A mutation replaces one node's encoding
(found by its pre-order number) and the writer recomputes every enclosing length, so the
damage lands exactly where it was aimed and the rest of the structure stays readable. What
does not parse (trailing junk, a length past the end) is kept as raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Node", "encode", "encode_length", "flatten", "parse", "parse_seed"]

_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Node:
    ident: bytes  # identifier octets; b"" for raw bytes that did not parse
    content: bytes = b""  # primitive content (or the raw bytes)
    children: tuple[Node, ...] | None = None  # constructed: the children
    indefinite: bool = False  # written with the indefinite-length form (BER)

    @property
    def constructed(self) -> bool:
        return self.children is not None

    @property
    def tag_byte(self) -> int:
        return self.ident[0] if self.ident else -1


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _read_header(buf: bytes, pos: int, end: int) -> tuple[bytes, int, int | None] | None:
    """(identifier octets, content start, content length or None for indefinite)."""
    if pos >= end:
        return None
    first = buf[pos]
    p = pos + 1
    if first & 0x1F == 0x1F:  # high tag number form
        while p < end and buf[p] & 0x80:
            p += 1
        p += 1
        if p > end:
            return None
    ident = buf[pos:p]
    if p >= end:
        return None
    lb = buf[p]
    p += 1
    if lb < 0x80:
        return ident, p, lb
    if lb == 0x80:
        return (ident, p, None) if first & 0x20 else None
    k = lb & 0x7F
    if k > 4 or p + k > end:
        return None
    return ident, p + k, int.from_bytes(buf[p : p + k], "big")


def _parse(buf: bytes, pos: int, end: int, depth: int) -> tuple[list[Node], int]:
    """Nodes from ``pos`` up to ``end`` (or an end-of-contents marker); returns the position
    after the last byte consumed."""
    out: list[Node] = []
    while pos < end:
        if buf[pos : pos + 2] == b"\x00\x00" and depth > 0:
            return out, pos + 2
        header = _read_header(buf, pos, end)
        if header is None:
            break
        ident, start, length = header
        constructed = bool(ident[0] & 0x20)
        if length is None:  # indefinite: children up to 00 00
            if depth >= _MAX_DEPTH:
                break
            children, after = _parse(buf, start, end, depth + 1)
            out.append(Node(ident, children=tuple(children), indefinite=True))
            pos = after
            continue
        stop = start + length
        if stop > end:
            break
        if constructed and depth < _MAX_DEPTH:
            children, after = _parse(buf, start, stop, depth + 1)
            if after == stop:
                out.append(Node(ident, children=tuple(children)))
                pos = stop
                continue
        out.append(Node(ident, content=buf[start:stop]))
        pos = stop
    if pos < end and depth == 0:
        out.append(Node(b"", content=buf[pos:end]))
        pos = end
    return out, pos


def parse(buf: bytes) -> tuple[Node, ...]:
    """The TLV trees in ``buf``."""
    nodes, _ = _parse(buf, 0, len(buf), 0)
    return tuple(nodes)


@lru_cache(maxsize=128)
def parse_seed(buf: bytes) -> tuple[Node, ...]:
    """:func:`parse`, cached: for the seeds only (caching mutated inputs of up to 4 MB would
    count the fuzzer's memory in the worker's RSS)."""
    return parse(buf)


def flatten(nodes: tuple[Node, ...]) -> list[Node]:
    """Every node in pre-order (the numbering :func:`encode` replaces by)."""
    out: list[Node] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        out.append(node)
        if node.children:
            stack.extend(reversed(node.children))
    return out


def encode(nodes: tuple[Node, ...], replace: dict[int, bytes] | None = None) -> bytes:
    """The bytes of ``nodes``, with node number *i* (pre-order) written as ``replace[i]``;
    every enclosing length is recomputed."""
    replace = replace or {}
    counter = [0]

    def one(node: Node) -> bytes:
        index = counter[0]
        counter[0] += 1
        if index in replace:
            # skip the numbers of the replaced node's descendants
            counter[0] += len(flatten(node.children or ())) if node.children else 0
            return replace[index]
        if not node.ident:
            return node.content
        if node.children is None:
            return node.ident + encode_length(len(node.content)) + node.content
        body = b"".join(one(c) for c in node.children)
        if node.indefinite:
            return node.ident + b"\x80" + body + b"\x00\x00"
        return node.ident + encode_length(len(body)) + body

    return b"".join(one(n) for n in nodes)


def encode_node(node: Node) -> bytes:
    return encode((node,))
