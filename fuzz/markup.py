"""Structure-aware mutations of XML documents and of OOXML packages (ZIP files of XML parts).

XML: an element duplicated, moved, deleted or nested thousands deep; an ``Id``/``URI``
attribute rewritten or repeated (signature-wrapping shapes); a Transform or digest algorithm
swapped; an entity declaration or a DOCTYPE put in front; base64 content (a certificate, a
signature value, a digest) damaged, or decoded, mutated as ASN.1 and encoded again; namespaces
renamed. OOXML: one part of the package mutated as XML, or removed, duplicated, renamed or
added; a member stored instead of deflated, with a wrong size or as a deflate bomb; many
members; and plain byte mutations of the ZIP itself (the byte mutators do those).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import random
import re
import warnings
import zipfile
import zlib
from bisect import bisect_left
from collections import OrderedDict, defaultdict

from fuzz.mutators import repeated

__all__ = ["OOXML_MUTATORS", "XML_MUTATORS"]

# What an element is, as a regular expression (the reference: _elements finds exactly its
# matches, in linear time; finditer with it was quadratic in unclosed start tags: 17-25 s to
# make an xml input of 5,000 wrapped, truncated elements).
_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)\b[^<>]*?(?:/>|>.*?</\1\s*>)", re.S)
_START = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_END_TAG = re.compile(rb"</([A-Za-z_][\w.:-]*)\s*>")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ATTRIBUTE = re.compile(rb"\b(Id|ID|id|URI|Target|Algorithm|Type)=\"([^\"]*)\"")
_BASE64 = re.compile(rb">([A-Za-z0-9+/=\r\n ]{40,})<")
_ALGORITHMS = (
    b"http://www.w3.org/2000/09/xmldsig#sha1",
    b"http://www.w3.org/2001/04/xmlenc#sha512",
    b"http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    b"http://www.w3.org/TR/1999/REC-xslt-19991116",
    b"http://www.w3.org/TR/1999/REC-xpath-19991116",
    b"http://www.w3.org/2001/10/xml-exc-c14n#",
    b"http://www.w3.org/2006/12/xml-c14n11#WithComments",
    b"http://schemas.openxmlformats.org/package/2006/RelationshipTransform",
    b"urn:unknown",
    b"",
)
_VALUES = (b"", b"#", b"#x", b"#id1", b"../x", b"/word/document.xml", b"A" * 5000, b"#xpointer(/)")
_PROLOGUES = (
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<?xml-stylesheet href="x.xsl"?>',
    b"<!-- c -->",
    b"\xef\xbb\xbf",
)


class _Element:
    """One match of _ELEMENT, as xml_element reads it (start, end, group 0 and 1)."""

    __slots__ = ("_data", "_end", "_name", "_start")

    def __init__(self, data: bytes, start: int, end: int, name: bytes) -> None:
        self._data, self._start, self._end, self._name = data, start, end, name

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, n: int = 0) -> bytes:
        return self._data[self._start : self._end] if n == 0 else self._name


def _elements(data: bytes) -> list[_Element]:
    """``_ELEMENT.finditer(data, 0, 2**20)``, without its backtracking: each element's end
    tag is looked up among the end tags of the window (found once, by name), not searched
    for again from every start tag that has none."""
    stop = min(len(data), 1 << 20)
    ends: defaultdict[bytes, list[tuple[int, int]]] = defaultdict(list)
    for m in _END_TAG.finditer(data, 0, stop):
        ends[m.group(1)].append((m.start(), m.end()))
    found = []
    pos = 0
    while (m := _START.search(data, pos, stop)) is not None:
        start, name = m.start(), m.group(1)
        end = None
        # as the regular expression backtracks: the longest name first, then shorter ones
        # that end at a word boundary (before '.', ':' or '-')
        for size in range(len(name), 0, -1):
            after = start + 1 + size
            last_is_word = name[size - 1] in _WORD
            if last_is_word == (after < stop and data[after] in _WORD):
                continue  # no \b here
            end = _element_end(data, after, name[:size], ends, stop)
            if end is not None:
                found.append(_Element(data, start, end, name[:size]))
                break
        pos = end if end is not None else start + 1
    return found


def _element_end(data: bytes, at: int, name: bytes, ends, stop: int) -> int | None:
    r"""Where ``[^<>]*?(?:/>|>.*?</name\s*>)`` matching from ``at`` ends, or None."""
    while at < stop:
        byte = data[at]
        if byte == 0x2F and at + 1 < stop and data[at + 1] == 0x3E:  # "/>"
            return at + 2
        if byte == 0x3E:  # ">": the first end tag of this name after it
            found = ends.get(name, ())
            i = bisect_left(found, (at + 1, -1))
            return found[i][1] if i < len(found) else None
        if byte == 0x3C:  # "<"
            return None
        at += 1
    return None


def xml_element(rng, data, corpus):
    """An element duplicated (in place or elsewhere), deleted, or swapped with another."""
    found = _elements(data)
    if not found:
        return data
    m = rng.choice(found)
    what = rng.randrange(4)
    if what == 0:
        return repeated(data[: m.end()], m.group(0), rng.choice((1, 2, 50)), data[m.end() :])
    if what == 1:
        return data[: m.start()] + data[m.end() :]
    if what == 2:
        other = rng.choice(found)
        at = rng.choice((other.start(), other.end()))
        return data[:at] + m.group(0) + data[at:]
    # wrapped in another element of the document, possibly many times
    depth = rng.choice((1, 2, 300, 5000))
    tag = rng.choice(found).group(1)
    return (data[: m.start()] + b"<%s>" % tag * depth + m.group(0) + b"</%s>" % tag * depth) + data[
        m.end() :
    ]


def xml_attribute(rng, data, corpus):
    """An Id, URI, Target, Algorithm or Type attribute rewritten, or given twice."""
    found = list(_ATTRIBUTE.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    key = m.group(1)
    if key == b"Algorithm":
        value = rng.choice(_ALGORITHMS)
    elif rng.random() < 0.5:
        value = rng.choice(found).group(2)  # another attribute's value (a moved reference)
    else:
        value = rng.choice(_VALUES)
    new = key + b'="' + value + b'"'
    if rng.random() < 0.2:
        new = m.group(0) + b" " + new  # the attribute twice: not well-formed
    return data[: m.start()] + new + data[m.end() :]


def xml_base64(rng, data, corpus):
    """Base64 content (certificates, signature values, digests) damaged, or its DER mutated."""
    found = list(_BASE64.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    text = m.group(1)
    try:
        raw = base64.b64decode(re.sub(rb"\s", b"", text), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if raw[:1] == b"\x30" and rng.random() < 0.6:
        from fuzz.mutators import ASN1_MUTATORS

        new = base64.b64encode(rng.choice(ASN1_MUTATORS)(rng, raw, corpus))
    else:
        choice = rng.randrange(3)
        if choice == 0:
            new = text[: rng.randrange(len(text))]
        elif choice == 1:
            i = rng.randrange(len(text))
            new = text[:i] + rng.choice((b"!", b"=", b"====", b"\x00", b"&#65;")) + text[i + 1 :]
        else:
            new = base64.b64encode(
                bytes(rng.randrange(256) for _ in range(rng.choice((0, 20, 64))))
            )
    return data[: m.start(1)] + new + data[m.end(1) :]


def xml_prologue(rng, data, corpus):
    """A DOCTYPE with entities, a processing instruction or a comment before the root."""
    at = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
    return data[:at] + rng.choice(_PROLOGUES) + data[at:]


def xml_namespace(rng, data, corpus):
    """A namespace prefix or URI renamed (ds: for dsig, the default namespace elsewhere)."""
    names = re.findall(rb'xmlns(?::\w+)?="([^"]*)"', data)
    if not names:
        return data
    old = rng.choice(names)
    new = rng.choice([n for n in names if n != old] or [b"urn:x"]) if rng.random() < 0.5 else b""
    return data.replace(old, new, rng.choice((1, -1)))


XML_MUTATORS = (
    xml_element,
    xml_element,
    xml_attribute,
    xml_attribute,
    xml_base64,
    xml_prologue,
    xml_namespace,
)


# -- OOXML packages -----------------------------------------------------------------------


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()[:2000]
            return [(i, z.read(i)) for i in infos if i.file_size < 8 << 20]
    except Exception:  # a damaged package: the byte mutators go on with it
        return None


_DEFLATED: OrderedDict[bytes, bytes] = OrderedDict()  # a part body → its raw deflate stream


class _RememberedDeflate:
    """zipfile's compressor for one member, answering with the whole raw deflate stream of
    the member's body from a cache: the packages are the same bytes, written by zipfile as
    before, but the same part (a seed's document, 5,000 copies of ``<a/>``) is not deflated
    again for every input. zipfile's ``writestr`` hands the body over in one ``compress``
    call, then calls ``flush``."""

    _MAX_BODY = 4 << 20
    _MAX_KEPT = 16 << 20  # bytes of bodies kept as keys
    _kept = 0

    def __init__(self) -> None:
        self._called = False

    def compress(self, data: bytes) -> bytes:
        if self._called:  # not the one-call use this stands in for
            raise RuntimeError("one compress call per member expected")
        self._called = True
        cls = type(self)
        stream = _DEFLATED.get(data)
        if stream is not None:
            _DEFLATED.move_to_end(data)
            return stream
        deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        stream = deflate.compress(data) + deflate.flush()
        if len(data) <= cls._MAX_BODY:
            body = bytes(data)
            _DEFLATED[body] = stream
            cls._kept += len(body)
            while cls._kept > cls._MAX_KEPT:
                old, _ = _DEFLATED.popitem(last=False)
                cls._kept -= len(old)
        return stream

    def flush(self) -> bytes:
        return b""


@contextlib.contextmanager
def _remembered_deflate():
    original = zipfile._get_compressor  # type: ignore[attr-defined]

    def compressor(compress_type, compresslevel=None):
        if compress_type == zipfile.ZIP_DEFLATED and compresslevel is None:
            return _RememberedDeflate()
        return original(compress_type, compresslevel)

    zipfile._get_compressor = compressor  # type: ignore[attr-defined]
    try:
        yield
    finally:
        zipfile._get_compressor = original  # type: ignore[attr-defined]


def _pack(members: list[tuple[zipfile.ZipInfo, bytes]], rng: random.Random) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), _remembered_deflate(), zipfile.ZipFile(out, "w") as z:
        warnings.simplefilter("ignore")  # duplicate names are the point
        for info, body in members:
            info = zipfile.ZipInfo(info.filename, date_time=(2026, 6, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if rng.random() < 0.1 else zipfile.ZIP_DEFLATED
            z.writestr(info, body)
    return out.getvalue()


def ooxml_part(rng, data, corpus):
    """One XML part of the package (a signature, a relationship part, the content types, the
    document) mutated as XML."""
    members = _members(data)
    if not members:
        return data
    xml = [
        n
        for n, (info, _b) in enumerate(members)
        if info.filename.endswith((".xml", ".rels", ".sigs"))
    ]
    if not xml:
        return data
    n = rng.choice(xml)
    info, body = members[n]
    # signature parts more often: they are what is verified
    sig = [k for k in xml if "_xmlsignatures/" in members[k][0].filename and k != n]
    if sig and rng.random() < 0.5:
        n = rng.choice(sig)
        info, body = members[n]
    members[n] = (info, rng.choice(XML_MUTATORS)(rng, body, corpus))
    return _pack(members, rng)


def ooxml_members(rng, data, corpus):
    """A member removed, duplicated, renamed (with traversal or case games) or added."""
    members = _members(data)
    if not members:
        return data
    n = rng.randrange(len(members))
    info, body = members[n]
    what = rng.randrange(5)
    if what == 0 and len(members) > 1:
        del members[n]
    elif what == 1:
        members.insert(rng.randrange(len(members) + 1), (info, body))
    elif what == 2:
        name = rng.choice(
            (
                info.filename.upper(),
                "../" + info.filename,
                "/" + info.filename,
                info.filename + "\x00x",
                "x/" + info.filename,
            )
        )
        members[n] = (zipfile.ZipInfo(name), body)
    elif what == 3:
        count = rng.choice((10, 5000))
        members += [(zipfile.ZipInfo(f"customXml/item{i}.xml"), b"<a/>") for i in range(count)]
    else:
        members.append(
            (zipfile.ZipInfo("word/bomb.bin"), b"\x00" * rng.choice((1 << 20, 16 << 20)))
        )
    return _pack(members, rng)


def ooxml_header(rng, data, corpus):
    """A size, a compression method or an offset in the ZIP headers rewritten."""
    heads = [m.start() for m in re.finditer(rb"PK\x01\x02|PK\x03\x04", data)]
    if not heads:
        return data
    at = rng.choice(heads)
    central = data[at : at + 4] == b"PK\x01\x02"
    field = rng.choice(
        ((10, 2), (20, 4), (24, 4), (42, 4)) if central else ((8, 2), (18, 4), (22, 4))
    )
    value = rng.choice((0, 1, 8, 12, 99, 0xFFFF, 0xFFFFFFFF, len(data)))
    off, width = field
    value &= (1 << 8 * width) - 1
    return data[: at + off] + value.to_bytes(width, "little") + data[at + off + width :]


OOXML_MUTATORS = (ooxml_part, ooxml_part, ooxml_part, ooxml_members, ooxml_header)
