"""A MIME entity tree over the raw bytes: offsets, never a re-serialised copy.

Each :class:`Entity` records where it starts, where its body starts and where it ends in the
buffer it came from (the message, or the eContent of an opaque signature). A signature is
verified over exactly ``buf[start:end]`` of the entity it signs, so nothing here may
normalise, re-fold or re-encode. Boundaries are found with ``bytes.find`` on the raw buffer
(RFC 2046 §5.1.1: a delimiter is ``--boundary`` at the start of a line, optionally ``--``,
then only whitespace to the end of the line; the line break before it belongs to it).

Only header blocks are turned into text; bodies stay bytes until a part is decoded, and a
``message/rfc822`` part is not parsed here at all (it is verified as a document of its own).
Every entity counts against ``max_mime_parts``, every level against ``max_mime_depth``, every
decoded body against ``max_attachment_bytes``.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass, field

from sigmail.limits import Budget
from sigmail.problems import MalformedInput
from sigmail.smime.headers import parse_content_type, parse_header_block

try:  # SIMD base64 (about 5x faster on large attachments); the standard library otherwise
    from pybase64 import b64decode as _fast_b64decode
except ImportError:  # pragma: no cover - depends on the installation
    _fast_b64decode = None  # type: ignore[assignment]

__all__ = ["Entity", "MimeParser", "child_locator", "decode_base64"]

_MAX_BOUNDARY = 200  # RFC 2046 says 70; a little slack for real-world generators
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def child_locator(parent: str, n: int) -> str:
    """RFC 3501-style part numbers: the message's parts are "part 1", "part 2"; theirs
    "part 1.1", ….  The content of an opaque signature is its container's part 1."""
    return f"part {n}" if parent == "message" else f"{parent}.{n}"


@dataclass(slots=True, eq=False)
class Entity:
    buf: bytes
    start: int  # first byte of the header block
    body_start: int
    end: int  # one past the last byte of the body
    headers: list[tuple[str, str]]
    content_type: str  # "type/subtype", lower case
    params: dict[str, str]
    filename: str | None
    locator: str
    depth: int
    children: list[Entity] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def transfer_encoding(self) -> str:
        value = (self.get("content-transfer-encoding") or "7bit").strip().lower()
        return value or "7bit"

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    def body(self) -> memoryview:
        return memoryview(self.buf)[self.body_start : self.end]

    def raw(self) -> memoryview:
        return memoryview(self.buf)[self.start : self.end]

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


def decode_base64(data: bytes | memoryview) -> bytes:
    """Base64 as mail clients read it: characters outside the alphabet (line breaks, spaces)
    are skipped; a missing or broken padding is repaired rather than refused."""
    try:
        if _fast_b64decode is not None:
            return _fast_b64decode(data, validate=False)
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        pass
    cleaned = _NOT_BASE64.sub(b"", bytes(data))
    rest = len(cleaned) % 4
    if rest == 1:
        cleaned = cleaned[:-1]
    elif rest:
        cleaned += b"=" * (4 - rest)
    return binascii.a2b_base64(cleaned)


class MimeParser:
    """Parses entities within the budget of one verification.

    The part counter is shared by every entity parsed with one parser: the message, and the
    content of each opaque signature inside it.
    """

    __slots__ = ("budget", "parts")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.parts = 0

    def parse_message(self, buf: bytes) -> Entity:
        """The message in ``buf`` (RFC 5322); a leading mbox "From " line is skipped."""
        start = 0
        if buf.startswith(b"From "):
            nl = buf.find(b"\n")
            start = len(buf) if nl < 0 else nl + 1
        root = self.parse_entity(buf, start, len(buf), locator="message", depth=0)
        if not root.headers:
            raise MalformedInput("not an e-mail message: it has no header fields", "message")
        return root

    def parse_entity(
        self,
        buf: bytes,
        start: int,
        end: int,
        *,
        locator: str,
        depth: int,
        default_type: str = "text/plain",
    ) -> Entity:
        self.parts += 1
        self.budget.check_size("max_mime_parts", self.parts)
        self.budget.check_size("max_mime_depth", depth)
        self.budget.check_time()
        headers, body_start, separated = parse_header_block(buf, start, end)
        content_type = next((v for k, v in headers if k == "content-type"), None)
        disposition = next((v for k, v in headers if k == "content-disposition"), None)
        ctype, params, filename = parse_content_type(content_type, disposition, default_type)
        entity = Entity(
            buf=buf,
            start=start,
            body_start=body_start,
            end=end,
            headers=headers,
            content_type=ctype,
            params=params,
            filename=filename,
            locator=locator,
            depth=depth,
        )
        if headers and not separated:
            entity.defects.append("no empty line after the header fields")
        if entity.is_multipart:
            self._parse_children(entity)
        return entity

    def _parse_children(self, entity: Entity) -> None:
        boundary = entity.params.get("boundary")
        if not boundary:
            entity.defects.append("multipart without a boundary parameter")
            return
        try:
            delimiter = b"--" + boundary.encode("ascii")
        except UnicodeEncodeError:
            entity.defects.append("the boundary is not ASCII")
            return
        if len(boundary) > _MAX_BOUNDARY:
            entity.defects.append(f"the boundary is longer than {_MAX_BOUNDARY} characters")
            return
        default = "message/rfc822" if entity.content_type == "multipart/digest" else "text/plain"
        ranges, closed = split_multipart(entity.buf, entity.body_start, entity.end, delimiter)
        if not ranges:
            entity.defects.append("no body part delimiter found")
        elif not closed:
            entity.defects.append("no closing delimiter")
        for n, (s, e) in enumerate(ranges, 1):
            entity.children.append(
                self.parse_entity(
                    entity.buf,
                    s,
                    e,
                    locator=child_locator(entity.locator, n),
                    depth=entity.depth + 1,
                    default_type=default,
                )
            )

    def decoded(self, entity: Entity) -> bytes:
        """The body with its Content-Transfer-Encoding undone (7bit, 8bit, binary: as is)."""
        cte = entity.transfer_encoding
        body = entity.body()
        if cte == "base64":
            out = decode_base64(body)
        elif cte == "quoted-printable":
            out = binascii.a2b_qp(body)
        else:
            out = bytes(body)
        self.budget.check_size("max_attachment_bytes", len(out))
        return out

    def decoded_digest(self, entity: Entity) -> tuple[int, str]:
        """Size and SHA-256 of the decoded body, without copying an unencoded one."""
        if entity.transfer_encoding in ("base64", "quoted-printable"):
            out = self.decoded(entity)
            return len(out), hashlib.sha256(out).hexdigest()
        size = entity.end - entity.body_start
        self.budget.check_size("max_attachment_bytes", size)
        return size, hashlib.sha256(entity.body()).hexdigest()


def split_multipart(
    buf: bytes, start: int, end: int, delimiter: bytes
) -> tuple[list[tuple[int, int]], bool]:
    """Body part ranges of the multipart body ``buf[start:end]`` and whether it was closed.

    A part ends before the line break that precedes the next delimiter line (RFC 2046: that
    CRLF is conceptually part of the delimiter). Text before the first delimiter (preamble)
    and after the closing one (epilogue) is not a part.
    """
    ranges: list[tuple[int, int]] = []
    part_start: int | None = None
    pos = start
    size = len(delimiter)
    while True:
        i = buf.find(delimiter, pos, end)
        if i < 0:
            break
        if i != start and buf[i - 1] != 0x0A:  # not at the start of a line
            pos = i + 1
            continue
        j = i + size
        close = buf[j : j + 2] == b"--" and j + 2 <= end
        k = j + 2 if close else j
        nl = buf.find(b"\n", k, end)
        line_end = end if nl < 0 else nl + 1
        if buf[k : (nl if nl >= 0 else end)].strip(b" \t\r"):
            pos = i + 1  # "--boundary" followed by more text: not this delimiter
            continue
        if part_start is not None:
            stop = i
            if stop > part_start and buf[stop - 1] == 0x0A:
                stop -= 1
                if stop > part_start and buf[stop - 1] == 0x0D:
                    stop -= 1
            ranges.append((part_start, stop))
        if close:
            return ranges, True
        part_start = line_end
        pos = line_end
    if part_start is not None:
        ranges.append((part_start, end))
    return ranges, False
