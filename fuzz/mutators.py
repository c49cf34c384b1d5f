"""Mutations: byte-level ones for every format, structure-aware ones per format.

Every mutator is ``f(rng, data, corpus) -> bytes`` with ``rng`` a :class:`random.Random`
and ``corpus`` the seeds (for splicing and grafting). :func:`generate` turns
``(format, campaign seed, index)`` into one input, always the same bytes.
"""

from __future__ import annotations

import base64
import functools
import itertools
import random
import re
import zlib
from collections.abc import Callable, Sequence

from fuzz import asn1
from fuzz.seeds import Seed, seeds

__all__ = ["MAX_INPUT", "generate", "mutate"]

MAX_INPUT = 4 * 1024 * 1024  # inputs are cut here: the fuzzer looks for bugs, not for size


def repeated(head: bytes, piece: bytes, times: int, tail: bytes) -> bytes:
    """``head + piece * times + tail`` as far as :data:`MAX_INPUT` keeps it: the copies past
    the cut are not made (600 copies of a 4 MB part would need 2.4 GB), so what is returned
    is, once cut, byte for byte what the whole would be."""
    room = MAX_INPUT - len(head)
    if piece and len(piece) * times > room:
        times = max(0, -(-room // len(piece)))
    return head + piece * times + tail


Mutator = Callable[[random.Random, bytes, Sequence[Seed]], bytes]

_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x0A, 0x0D, 0x30, 0x25)


def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data)) if data else 0


# -- byte level ------------------------------------------------------------------------------


def flip_bit(rng, data, corpus):
    if not data:
        return b"\x00"
    b = bytearray(data)
    p = _pos(rng, data)
    b[p] ^= 1 << rng.randrange(8)
    return bytes(b)


def set_byte(rng, data, corpus):
    if not data:
        return b"\x00"
    b = bytearray(data)
    b[_pos(rng, data)] = (
        rng.choice(_INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
    )
    return bytes(b)


def delete_chunk(rng, data, corpus):
    p = _pos(rng, data)
    return data[:p] + data[p + rng.choice((1, 2, 4, 16, 64, 512, 4096)) :]


def duplicate_chunk(rng, data, corpus):
    p = _pos(rng, data)
    chunk = data[p : p + rng.choice((1, 4, 16, 64, 512))]
    return data[:p] + chunk * rng.choice((1, 2, 8, 100)) + data[p:]


def insert_random(rng, data, corpus):
    p = _pos(rng, data)
    return data[:p] + rng.randbytes(rng.choice((1, 2, 4, 16, 64))) + data[p:]


def truncate(rng, data, corpus):
    return data[: _pos(rng, data)]


def splice(rng, data, corpus):
    """A prefix of this input, the rest from another seed."""
    other = rng.choice(corpus).data
    return data[: _pos(rng, data)] + other[_pos(rng, other) :]


BYTE_MUTATORS: tuple[Mutator, ...] = (
    flip_bit,
    set_byte,
    delete_chunk,
    duplicate_chunk,
    insert_random,
    truncate,
    splice,
)


# -- ASN.1 (CMS) -----------------------------------------------------------------------------

_TAGS = (0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x30, 0x31, 0x24, 0x80)
_TAGS += (0xA0, 0xA1, 0xA2, 0xA3, 0x81, 0x1F, 0x00)
_CONTENTS = (
    b"",
    b"\x00",
    b"\x80",
    b"\xff" * 9,
    b"\x7f" + b"\xff" * 200,  # a huge INTEGER
    b"\x2a\x86\x48\x86\xf7\x0d" + b"\xff" * 30 + b"\x01",  # an OID with a huge arc
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",  # id-signedData
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01",  # id-data
    b"\x60\x86\x48\x01\x65\x03\x04\x02\x01",  # sha256
    b"20260101000000Z",
    b"991231235959Z",
    b"\x00" * 300,
)


def _asn1_nodes(data: bytes):
    if data in _seed_ders():  # most first mutations start from a seed as it is
        return _seed_nodes(data)
    trees = asn1.parse(data)
    return trees, asn1.flatten(trees)


@functools.lru_cache(maxsize=1)
def _seed_ders() -> frozenset[bytes]:
    """The DER of every seed of every format (the trees are immutable: shared safely)."""
    return frozenset(_der_of(s.data) for fmt in ("cms", "verify") for s in seeds(fmt))


@functools.lru_cache(maxsize=256)
def _seed_nodes(der: bytes) -> tuple[tuple[asn1.Node, ...], list[asn1.Node]]:
    """A seed's TLV trees and their nodes in pre-order, parsed once (callers only read)."""
    trees = asn1.parse_seed(der)
    return trees, asn1.flatten(trees)


def _pick(rng: random.Random, nodes: list[asn1.Node]) -> int:
    return rng.randrange(len(nodes))


def _asn1_replace(rng, data, corpus, make):
    trees, nodes = _asn1_nodes(data)
    if not nodes:
        return data
    i = _pick(rng, nodes)
    return asn1.encode(trees, {i: make(nodes[i], nodes)})


def _graft_source(rng: random.Random, corpus: Sequence[Seed]) -> list[asn1.Node]:
    for _ in range(4):
        seed = rng.choice(corpus)
        nodes = _seed_nodes(_seed_der(seed.data))[1]
        if nodes:
            return nodes
    return []


@functools.lru_cache(maxsize=256)
def _seed_der(data: bytes) -> bytes:
    """:func:`_der_of` of a seed, decoded once."""
    return _der_of(data)


def _der_of(data: bytes) -> bytes:
    """A seed's DER: .p7m files may be PEM or base64 (text); DER is returned as it is."""
    head = data[:64]
    if head and all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        try:
            return base64.b64decode(re.sub(rb"-----[^-]+-----|\s+", b"", data))
        except ValueError:
            return data
    return data


def asn1_tag(rng, data, corpus):
    def make(node, nodes):
        ident = bytes([rng.choice(_TAGS) if rng.random() < 0.7 else (node.tag_byte ^ 0x20) & 0xFF])
        body = asn1.encode_node(node)[len(node.ident) :] if node.ident else node.content
        return ident + body

    return _asn1_replace(rng, data, corpus, make)


def asn1_length(rng, data, corpus):
    """The same content under a wrong length (the enclosing lengths stay right)."""

    def make(node, nodes):
        body = asn1.encode_node(node)
        if not node.ident:
            return body
        header = asn1.encode_length(len(body) - len(node.ident))  # roughly the old length
        content = body[len(node.ident) + len(header) :]
        n = len(content)
        wrong = rng.choice(
            (
                asn1.encode_length(max(0, n + rng.choice((-2, -1, 1, 2)))),
                b"\x00",
                b"\x80",  # indefinite on whatever this is
                b"\x84\xff\xff\xff\xff",
                b"\x89" + b"\xff" * 9,
                b"\x82" + n.to_bytes(2, "big") if n < 65536 else b"\x81\x00",  # non-minimal
                b"\x81\x05",
            )
        )
        return node.ident + wrong + content

    return _asn1_replace(rng, data, corpus, make)


def asn1_content(rng, data, corpus):
    def make(node, nodes):
        if not node.ident:
            return node.content
        content = rng.choice(_CONTENTS) if rng.random() < 0.7 else rng.randbytes(rng.randrange(64))
        return node.ident + asn1.encode_length(len(content)) + content

    return _asn1_replace(rng, data, corpus, make)


def asn1_children(rng, data, corpus):
    """Delete, duplicate, swap or truncate the children of a constructed node."""

    def make(node, nodes):
        kids = list(node.children or ())
        if not node.ident:
            return node.content
        op = rng.randrange(5)
        if kids and op == 0:
            del kids[rng.randrange(len(kids))]
        elif kids and op == 1:
            k = rng.randrange(len(kids))
            copies = rng.choice((1, 2, 40, 300))
            # Not past the cut: 300 copies of a 1.2 MB node would need 360 MB (seed 1 of cms,
            # input 281,034, ran out of the worker's 512 MB). The input is cut at 4 MB anyway;
            # only the enclosing lengths of such an input differ from the uncapped one.
            copies = min(copies, 1 + MAX_INPUT // max(1, len(asn1.encode_node(kids[k]))))
            kids[k:k] = [kids[k]] * copies
        elif len(kids) > 1 and op == 2:
            a, b = rng.sample(range(len(kids)), 2)
            kids[a], kids[b] = kids[b], kids[a]
        elif kids and op == 3:
            kids = kids[: rng.randrange(len(kids))]
        else:  # graft a node from another seed in
            other = _graft_source(rng, corpus)
            if other:
                kids.insert(rng.randrange(len(kids) + 1), rng.choice(other))
        body = b"".join(asn1.encode_node(k) for k in kids)
        if node.children is None:
            body = node.content[: rng.randrange(len(node.content) + 1)]
        return node.ident + asn1.encode_length(len(body)) + body

    return _asn1_replace(rng, data, corpus, make)


def asn1_graft(rng, data, corpus):
    """Replace a node by one from another seed, preferring one with the same tag."""

    def make(node, nodes):
        other = _graft_source(rng, corpus) or nodes
        same = [n for n in other if n.ident == node.ident]
        return asn1.encode_node(rng.choice(same if same and rng.random() < 0.8 else other))

    return _asn1_replace(rng, data, corpus, make)


def asn1_nest(rng, data, corpus):
    """A node wrapped in many SEQUENCEs / constructed OCTET STRINGs (recursion, BER)."""

    def make(node, nodes):
        inner = asn1.encode_node(node)
        tag = rng.choice((0x30, 0x24, 0xA0, 0x31))
        for _ in range(rng.choice((2, 50, 300, 2000))):
            inner = bytes([tag]) + asn1.encode_length(len(inner)) + inner
        return inner

    return _asn1_replace(rng, data, corpus, make)


def asn1_ber(rng, data, corpus):
    """A primitive OCTET STRING rewritten as a constructed one in chunks (indefinite or not)."""

    def make(node, nodes):
        if node.children is not None or not node.ident:
            return asn1.encode_node(node)
        c = node.content
        size = rng.choice((1, 3, 64, 1000))
        chunks = b"".join(
            b"\x04" + asn1.encode_length(len(c[i : i + size])) + c[i : i + size]
            for i in range(0, len(c), size)
        )
        ident = bytes([node.ident[0] | 0x20]) + node.ident[1:]
        if rng.random() < 0.5:
            return ident + b"\x80" + chunks + b"\x00\x00"
        return ident + asn1.encode_length(len(chunks)) + chunks

    return _asn1_replace(rng, data, corpus, make)


ASN1_MUTATORS: tuple[Mutator, ...] = (
    asn1_tag,
    asn1_length,
    asn1_content,
    asn1_children,
    asn1_children,
    asn1_graft,
    asn1_nest,
    asn1_ber,
)


# -- PDF -------------------------------------------------------------------------------------

_PDF_TOKEN = re.compile(rb"-?\d+(?:\.\d*)?|/[A-Za-z0-9#._-]+|<<|>>|\[|\]|\bobj\b|\bendobj\b|\bR\b")
_NUMBERS = (b"0", b"-1", b"1", b"2", b"65535", b"2147483648", b"9223372036854775808", b"1e308")
_NUMBERS += (b"99999999999999999999999", b"0.5", b"-0", b"00000000010", b"4294967296")
_NAMES = (
    b"/Length",
    b"/Filter",
    b"/FlateDecode",
    b"/ASCIIHexDecode",
    b"/ASCII85Decode",
    b"/LZWDecode",
    b"/RunLengthDecode",
    b"/DecodeParms",
    b"/Predictor",
    b"/Columns",
    b"/Prev",
    b"/XRefStm",
    b"/Type",
    b"/XRef",
    b"/ObjStm",
    b"/N",
    b"/First",
    b"/W",
    b"/Index",
    b"/Size",
    b"/Root",
    b"/Pages",
    b"/Kids",
    b"/Parent",
    b"/Annots",
    b"/AcroForm",
    b"/Fields",
    b"/Sig",
    b"/V",
    b"/ByteRange",
    b"/Contents",
    b"/Perms",
    b"/DocMDP",
    b"/Reference",
    b"/TransformParams",
    b"/P",
    b"/DSS",
    b"/VRI",
    b"/Extends",
    b"/Encrypt",
)
_OBJ = re.compile(rb"\d+ \d+ obj\b.*?\bendobj\b", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _as_int(token: bytes) -> int:
    """A PDF number token as an int (a 400-digit one is not a float: 2**63 stands in)."""
    try:
        return int(float(token))
    except (OverflowError, ValueError):
        return 2**63


def _number_near(rng, data, value: int) -> bytes:
    return b"%d" % max(0, value + rng.choice((-100, -17, -1, 1, 7, 1000)))


def pdf_token(rng, data, corpus):
    """Replace the token found near a random place: numbers, names, delimiters, keywords."""
    m = _PDF_TOKEN.search(data, _pos(rng, data)) or _PDF_TOKEN.search(data)
    if not m:
        return data
    tok = m.group()
    if tok[:1].isdigit() or tok[:1] == b"-":
        new = rng.choice(_NUMBERS) if rng.random() < 0.6 else _number_near(rng, data, _as_int(tok))
    elif tok.startswith(b"/"):
        new = rng.choice(_NAMES)
    elif tok in (b"[", b"<<"):
        new = tok * rng.choice((1, 2, 64, 5000))
    else:
        new = rng.choice((b"", tok + b" " + tok, b"obj", b"endobj", b"R", b">>", b"]"))
    return data[: m.start()] + new + data[m.end() :]


def pdf_startxref(rng, data, corpus):
    """Point the last startxref somewhere else: near, at another object, past the end."""
    hits = list(re.finditer(rb"startxref\s+(\d+)", data))
    if not hits:
        return data
    m = hits[-1] if rng.random() < 0.7 else rng.choice(hits)
    old = int(m.group(1))
    targets = [old + rng.choice((-1, 1, -20, 20)), 0, len(data), len(data) + 100, 2**40]
    # The first 50 object headers: stop looking after them, and start a number only where a
    # run of digits starts (the bytes picked are the same; a long run no longer costs its
    # length squared).
    found = re.finditer(rb"(?<!\d)\d+ 0 obj|xref", data)
    targets += [o.start() for o in itertools.islice(found, 50)]
    return data[: m.start(1)] + b"%d" % rng.choice(targets) + data[m.end(1) :]


def pdf_xref_entry(rng, data, corpus):
    """A classic xref entry with another offset, generation or type."""
    hits = list(re.finditer(rb"(\d{10}) (\d{5}) ([nf])", data))
    if not hits:
        return pdf_token(rng, data, corpus)
    m = rng.choice(hits)
    offset = rng.choice((0, int(m.group(1)) + rng.choice((-1, 1, 5)), len(data), 9999999999))
    gen = rng.choice((b"00000", b"65535", b"00001", m.group(2)))
    kind = rng.choice((b"n", b"f", b"x"))
    new = b"%010d %s %s" % (offset % 10**10, gen, kind)
    return data[: m.start()] + new + data[m.end() :]


def pdf_length(rng, data, corpus):
    """A stream's /Length made wrong (or indirect to something that is not a number)."""
    hits = list(re.finditer(rb"/Length\s+(\d+)(\s+0\s+R)?", data))
    if not hits:
        return pdf_token(rng, data, corpus)
    m = rng.choice(hits)
    value = int(m.group(1))
    new = rng.choice((b"%d" % max(0, value + rng.choice((-5, -1, 1, 5))), b"0", b"99999999"))
    if rng.random() < 0.2:
        new = b"1 0 R"
    return data[: m.start(1)] + new + data[m.end() :]


_BOMB = zlib.compress(b"\x00" * (16 * 1024 * 1024), 9)


def pdf_stream(rng, data, corpus):
    """A stream's data replaced: random, truncated deflate, a deflate bomb, or emptied."""
    hits = list(_STREAM.finditer(data))
    if not hits:
        return data
    m = rng.choice(hits)
    body = m.group(1)
    choice = rng.randrange(4)
    if choice == 0:
        new = rng.randbytes(len(body))
    elif choice == 1:
        new = body[: rng.randrange(len(body) + 1)]
    elif choice == 2:
        new = _BOMB
    else:
        new = zlib.compress(rng.randbytes(rng.randrange(1, 200)))
    return data[: m.start(1)] + new + data[m.end(1) :]


def pdf_object(rng, data, corpus):
    """An indirect object deleted, duplicated at the end, or swapped with another seed's."""
    hits = list(_OBJ.finditer(data[:2_000_000]))
    if not hits:
        return data
    m = rng.choice(hits)
    op = rng.randrange(3)
    if op == 0:
        return data[: m.start()] + data[m.end() :]
    if op == 1:
        return data + b"\n" + m.group() + b"\n"
    other = rng.choice(corpus).data
    theirs = list(_OBJ.finditer(other[:2_000_000]))
    if not theirs:
        return data
    return data[: m.start()] + rng.choice(theirs).group() + data[m.end() :]


def pdf_update(rng, data, corpus):
    """An incremental update appended: an object rewritten, a fresh xref, /Prev to the last."""
    hits = list(_OBJ.finditer(data[:2_000_000]))
    prev = re.findall(rb"startxref\s+(\d+)", data)
    if not hits or not prev:
        return data
    original = rng.choice(hits).group()
    num = int(original.split(b" ", 1)[0])
    obj = b"%d 0 obj" % num + pdf_token(rng, original, corpus).partition(b"obj")[2]
    body = data if data.endswith(b"\n") else data + b"\n"
    offset = len(body)
    xref = offset + len(obj) + 1
    size = max(num + 1, 1)
    return (
        body
        + obj
        + b"\nxref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (num, offset)
        + b"trailer\n<< /Size %d /Root 1 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n"
        % (size, prev[-1], xref)
    )


PDF_MUTATORS: tuple[Mutator, ...] = (
    pdf_token,
    pdf_token,
    pdf_token,
    pdf_startxref,
    pdf_xref_entry,
    pdf_length,
    pdf_stream,
    pdf_object,
    pdf_update,
)


# -- MIME ------------------------------------------------------------------------------------

_CTYPES = (
    b'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary=b',
    b'multipart/mixed; boundary="b"',
    b"multipart/alternative; boundary=",
    b"multipart/digest; boundary=x",
    b"application/pkcs7-mime; smime-type=signed-data; name=smime.p7m",
    b"application/pkcs7-signature; name=smime.p7s",
    b"application/x-pkcs7-mime",
    b"message/rfc822",
    b"text/plain; charset=utf-8",
    b"text/plain; charset*=utf-8''%E1%BA%A1",
    b'application/pdf; name="=?utf-8?b?4bqh?=.pdf"',
    b"multipart/mixed; boundary*0=a; boundary*1=b",
    b"",
)
_CTES = (b"base64", b"quoted-printable", b"7bit", b"8bit", b"binary", b"x-uuencode", b"BASE64 ")
_HEADER = re.compile(
    rb"^(Content-Type|Content-Transfer-Encoding|From|Content-Disposition):"
    rb"[^\r\n]*(\r?\n[ \t][^\r\n]*)*",
    re.M | re.I,
)
_BOUNDARY_LINE = re.compile(rb"^--[^\r\n]*$", re.M)
_BASE64_BLOCK = re.compile(
    rb"(?:^[A-Za-z0-9+/]{40,}={0,2}\r?\n)+(?:^[A-Za-z0-9+/]+={0,2}\r?\n?)?", re.M
)


def mime_header(rng, data, corpus):
    """A Content-Type, transfer encoding or From field rewritten, dropped or repeated."""
    hits = list(_HEADER.finditer(data))
    if not hits:
        return b"Content-Type: " + rng.choice(_CTYPES) + b"\r\n" + data
    m = rng.choice(hits)
    name = m.group(1).lower()
    op = rng.randrange(4)
    if op == 0:
        new = b""
    elif op == 1:
        new = m.group() + b"\r\n" + m.group()
    elif name == b"content-transfer-encoding":
        new = b"Content-Transfer-Encoding: " + rng.choice(_CTES)
    elif name == b"from":
        new = rng.choice(
            (
                b"From: =?utf-8?q?a=40b.cd?= <x@y.z>",
                b"From: a@b.cd, c@d.ef",
                b'From: "<a@b.cd>" <@route:x@y.z>',
                b"From: " + b"(" * 300 + b"a@b.cd",
            )
        )
    else:
        new = b"Content-Type: " + rng.choice(_CTYPES)
        if rng.random() < 0.3:
            new += b"\r\n\t; x=" + b"y" * rng.choice((10, 5000))
    return data[: m.start()] + new + data[m.end() :]


def mime_boundary(rng, data, corpus):
    """A delimiter line dropped, repeated, closed early or made almost right."""
    hits = list(_BOUNDARY_LINE.finditer(data))
    if not hits:
        return data
    m = rng.choice(hits)
    line = m.group()
    new = rng.choice(
        (
            b"",
            line + b"\r\n" + line,
            line.rstrip(b"-\r") + b"--",
            line + b" \t",
            line[:-1],
            line + b"x",
            (line + b"\r\n\r\n") * 50,
        )
    )
    return data[: m.start()] + new + data[m.end() :]


def mime_body(rng, data, corpus):
    """Damage to an encoded body: a bad base64 character, '=' padding, a cut, LF for CRLF."""
    op = rng.randrange(4)
    if op == 0:
        return data.replace(b"\r\n", b"\n") if b"\r\n" in data else data.replace(b"\n", b"\r\n")
    hits = list(_BASE64_BLOCK.finditer(data))
    if not hits:
        return insert_random(rng, data, corpus)
    m = rng.choice(hits)
    block = bytearray(m.group())
    p = rng.randrange(len(block))
    if op == 1:
        block[p : p + 1] = rng.choice((b"=", b"==", b"!", b"\x00", b"=\r\n", b" "))
    elif op == 2:
        block = block[:p]
    else:
        block = block[:p] + b"=\r\n" + block[p:]
    return data[: m.start()] + bytes(block) + data[m.end() :]


def mime_embedded_cms(rng, data, corpus):
    """The CMS inside a base64 body decoded, mutated as ASN.1 and encoded again."""
    hits = list(_BASE64_BLOCK.finditer(data))
    if not hits:
        return data
    m = rng.choice(hits)
    try:
        der = base64.b64decode(re.sub(rb"\s+", b"", m.group()))
    except ValueError:
        return data
    der = rng.choice(ASN1_MUTATORS)(rng, der, corpus)
    text = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return data[: m.start()] + text + data[m.end() :]


def mime_nest(rng, data, corpus):
    """The message wrapped in multiparts or message/rfc822 entities, many deep."""
    out = data
    for i in range(rng.choice((1, 3, 20, 200))):
        if rng.random() < 0.5:
            out = b"Content-Type: message/rfc822\r\n\r\n" + out
        else:
            out = (
                b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n" % (i, i)
                + out
                + b"\r\n--n%d--\r\n" % i
            )
    return b"From: a@b.cd\r\n" + out


def mime_part_count(rng, data, corpus):
    """One part repeated many times (the part budget)."""
    hits = list(_BOUNDARY_LINE.finditer(data))
    if len(hits) < 2:
        return data
    i = rng.randrange(len(hits) - 1)
    a, b = hits[i].start(), hits[i + 1].start()
    return repeated(data[:a], data[a:b], rng.choice((2, 50, 600)), data[a:])


MIME_MUTATORS: tuple[Mutator, ...] = (
    mime_header,
    mime_header,
    mime_boundary,
    mime_body,
    mime_embedded_cms,
    mime_embedded_cms,
    mime_nest,
    mime_part_count,
)

_STRUCTURED = {"cms": ASN1_MUTATORS, "pdf": PDF_MUTATORS, "mime": MIME_MUTATORS}


def _structured_for(name: str) -> tuple[Mutator, ...]:
    from fuzz.markup import OOXML_MUTATORS, XML_MUTATORS

    if name.endswith(".pdf"):
        return PDF_MUTATORS
    if name.endswith(".eml"):
        return MIME_MUTATORS
    if name.endswith(".xml"):
        return XML_MUTATORS
    if name.endswith((".docx", ".xlsx", ".pptx")):
        return OOXML_MUTATORS
    return ASN1_MUTATORS


def mutate(rng: random.Random, seed: Seed, corpus: Sequence[Seed]) -> bytes:
    """1 to 8 mutations (mostly few), three in four structure-aware."""
    data = seed.data
    structured = _structured_for(seed.name)
    if structured is ASN1_MUTATORS:
        der = _der_of(data)
        if der != data and rng.random() < 0.8:
            data = der  # mutate the DER; sometimes keep the PEM/base64 wrapping
    count = min(1 + int(rng.expovariate(0.9)), 8)
    for _ in range(count):
        for _attempt in range(4):  # a mutator that finds nothing to change: another one
            pool = structured if rng.random() < 0.75 else BYTE_MUTATORS
            out = rng.choice(pool)(rng, data, corpus)[:MAX_INPUT]
            if out != data:
                data = out
                break
    return data


def generate(fmt: str, campaign_seed: int, index: int) -> tuple[bytes, str]:
    """Input number ``index`` of a campaign: (bytes, the file name it is given)."""
    rng = random.Random(f"{campaign_seed}:{fmt}:{index}")
    corpus = seeds(fmt)
    seed = rng.choice(corpus)
    name = seed.name
    if fmt == "verify" and rng.random() < 0.1:
        name = rng.choice(("x.p7m", "x.p7s", "x.pdf", "x.eml", "x.bin", "noname"))
    return mutate(rng, seed, corpus), name
