"""Reading an upload: limited in size and in time while it streams, never buffered whole first.

``Content-Length`` over the limit is refused before a byte of the body is read; a chunked body
is counted as it arrives and refused as soon as it passes the limit. A body that stalls
(``upload_idle_seconds``) or takes too long in all (``upload_seconds``) is cut off, so a slow
client holds neither a worker nor memory. Files are spooled (in memory up to 1 MiB, then an
unlinked temporary file) and closed after the request: nothing stays on disk.

``multipart/form-data`` is parsed here, chunk by chunk as it arrives, with python-multipart's
streaming parser (not Starlette's form machinery, which copies every file through an
``UploadFile`` and a thread pool, and accepts a body cut off before its closing boundary).
Limits: 2 files, 16 fields, 64 KiB per field that is not a file; a body that ends before the
closing boundary is a :class:`BadUpload` (400).
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from tempfile import TemporaryFile
from typing import IO, TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from sigmail.errors import SigmailError

if TYPE_CHECKING:  # a TypedDict python-multipart defines for type checkers only
    from python_multipart.multipart import MultipartCallbacks

__all__ = ["BadUpload", "Upload", "UploadTooLarge", "UploadTooSlow", "read_upload"]

_SPOOL_IN_MEMORY = 1024 * 1024
_FIELDS = ("file", "content", "at", "receipt_time", "lang", "policy")


class BadUpload(SigmailError):
    """The request is not a usable upload (400)."""


class UploadTooLarge(SigmailError):
    """The body is over the configured limit (413)."""


class UploadTooSlow(SigmailError):
    """The body stalled or took longer than allowed (408)."""


@dataclass(frozen=True, slots=True)
class Upload:
    data: bytes
    name: str | None
    content: bytes | None
    content_name: str | None
    fields: dict[str, str]


async def _limited(request: Request, limit: int, idle: float, total: float) -> AsyncIterator[bytes]:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadUpload("Content-Length is not a number")
        if int(declared) > limit:
            raise UploadTooLarge(f"the body is {int(declared):,} bytes; the limit is {limit:,}")
    seen = 0
    deadline = time.monotonic() + total
    chunks = request.stream().__aiter__()
    while True:
        wait = min(idle, deadline - time.monotonic())
        if wait <= 0:
            raise UploadTooSlow(f"the upload took longer than {total:g} s")
        try:
            async with asyncio.timeout(wait):  # a timer, not a task per chunk (wait_for)
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise UploadTooSlow(f"the upload stalled for {wait:g} s") from exc
        except ClientDisconnect as exc:
            raise BadUpload("the client went away during the upload") from exc
        seen += len(chunk)
        if seen > limit:
            raise UploadTooLarge(f"the body is over the limit of {limit:,} bytes")
        if chunk:
            yield chunk


class _Spool:
    """One part's bytes: in memory up to 1 MiB, beyond that in an unlinked temporary file
    (written from the event loop: page-cache writes of at most one received chunk)."""

    __slots__ = ("_chunks", "_file", "size")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._file: IO[bytes] | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._chunks.append(data)
        if self.size > _SPOOL_IN_MEMORY:
            self._file = TemporaryFile()  # noqa: SIM115 (closed by close())
            self._file.writelines(self._chunks)
            self._chunks = []

    def getvalue(self) -> bytes:
        if self._file is None:
            return b"".join(self._chunks)  # one chunk: that very object, no copy
        self._file.seek(0)
        return self._file.read()

    def close(self) -> None:
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None


async def _spool(stream: AsyncIterator[bytes]) -> bytes:
    spool = _Spool()
    try:
        async for chunk in stream:
            spool.write(chunk)
        return spool.getvalue()
    finally:
        spool.close()


def _decode(raw: bytes, charset: str) -> str:
    """As browsers and Starlette do: the form's charset (UTF-8), else Latin-1."""
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return raw.decode("latin-1")


class _Form:
    """The callbacks of python-multipart's ``MultipartParser``: each part's headers, its
    name and file name, its bytes into a :class:`_Spool` (files) or a bounded buffer (fields)."""

    MAX_FILES = 2
    MAX_FIELDS = 16
    MAX_FIELD_BYTES = 64 * 1024

    def __init__(self, charset: str) -> None:
        self.charset = charset
        self.fields: dict[str, str] = {}
        self.files: dict[str, tuple[str, _Spool]] = {}  # name -> (file name, bytes)
        self.ended = False
        self._n_files = self._n_fields = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._name = ""
        self._filename: str | None = None
        self._spool: _Spool | None = None
        self._field: bytearray | None = None
        self._keep = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._spool, self._field, self._keep = None, None, False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise BadUpload("a part of the multipart body has no name (Content-Disposition)")
        self._name = _decode(options[b"name"], self.charset)
        self._keep = self._name in _FIELDS
        if b"filename" in options:
            self._n_files += 1
            if self._n_files > self.MAX_FILES:
                raise BadUpload(f"more than {self.MAX_FILES} files in the form")
            self._filename = _decode(options[b"filename"], self.charset)
            self._spool = _Spool() if self._keep else None
        else:
            self._n_fields += 1
            if self._n_fields > self.MAX_FIELDS:
                raise BadUpload(f"more than {self.MAX_FIELDS} fields in the form")
            self._filename = None
            self._field = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._field is not None:
            if len(self._field) + end - start > self.MAX_FIELD_BYTES:
                raise BadUpload(f"the field {self._name!r} is over {self.MAX_FIELD_BYTES:,} bytes")
            self._field += data[start:end]
        elif self._spool is not None:
            # The whole received chunk is the part's (most chunks of a large file): no copy.
            self._spool.write(data if start == 0 and end == len(data) else data[start:end])

    def on_part_end(self) -> None:
        if self._field is not None:
            if self._keep and self._field:
                self.fields[self._name] = _decode(bytes(self._field), self.charset)
        elif self._spool is not None:
            old = self.files.pop(self._name, None)  # the last of two parts of one name wins
            if old is not None:
                old[1].close()
            self.files[self._name] = (self._filename or "", self._spool)
        self._spool, self._field = None, None

    def on_end(self) -> None:
        self.ended = True

    def close(self) -> None:
        for _, spool in self.files.values():
            spool.close()
        if self._spool is not None:
            self._spool.close()


async def _parse_form(request: Request, stream: AsyncIterator[bytes]) -> _Form:
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload("the multipart body has no boundary (Content-Type)")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "latin-1"
    form = _Form(charset)
    try:
        try:
            parser = MultipartParser(boundary, form.callbacks())
        except (FormParserError, ValueError) as exc:
            raise BadUpload(f"the multipart body is not usable: {exc}") from exc
        async for chunk in stream:
            try:
                parser.write(chunk)
            except FormParserError as exc:
                raise BadUpload(f"the multipart body is not usable: {exc}") from exc
        if not form.ended:
            raise BadUpload("the multipart body ends before its closing boundary (truncated)")
    except BaseException:
        form.close()
        raise
    return form


async def read_upload(request: Request, *, limit: int, idle: float, total: float) -> Upload:
    """The document (and the fields) of ``POST /v1/verify`` or the page's form."""
    stream = _limited(request, limit, idle, total)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query = {k: v for k, v in request.query_params.items() if k in _FIELDS}
    if media != "multipart/form-data":
        data = await _spool(stream)
        if not data:
            raise BadUpload("no document: the body is empty")
        return Upload(data, request.query_params.get("name") or None, None, None, query)
    form = await _parse_form(request, stream)
    try:
        if "file" not in form.files:
            raise BadUpload("no document: the form has no file field named 'file'")
        filename, spool = form.files["file"]
        data = spool.getvalue()
        if not data and not filename:
            raise BadUpload("no document: no file was chosen")
        content_name: str | None = None
        content_data: bytes | None = None
        if "content" in form.files:
            content_name, content_spool = form.files["content"]
            content_data = content_spool.getvalue()
            if not content_data and not content_name:
                content_name, content_data = None, None  # an empty second input on the page
        return Upload(
            data,
            filename or request.query_params.get("name") or None,
            content_data,
            content_name,
            {**query, **form.fields},
        )
    finally:
        form.close()
