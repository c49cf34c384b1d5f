"""Reading an upload: limited in size and in time while it streams, never buffered whole first.

``Content-Length`` over the limit is refused before a byte of the body is read; a chunked body
is counted as it arrives and refused as soon as it passes the limit. A body that stalls
(``upload_idle_seconds``) or takes too long in all (``upload_seconds``) is cut off, so a slow
client holds neither a worker nor memory. Files are spooled (in memory up to 1 MiB, then an
unlinked temporary file) and closed after the request: nothing stays on disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from sigmail.errors import SigmailError

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


async def _spool(stream: AsyncIterator[bytes]) -> bytes:
    with SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        async for chunk in stream:
            spool.write(chunk)
        spool.seek(0)
        return spool.read()


async def _read_file(upload: UploadFile) -> bytes:
    await upload.seek(0)
    return await upload.read()


async def read_upload(request: Request, *, limit: int, idle: float, total: float) -> Upload:
    """The document (and the fields) of ``POST /v1/verify`` or the page's form."""
    stream = _limited(request, limit, idle, total)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        data = await _spool(stream)
        if not data:
            raise BadUpload("no document: the body is empty")
        fields = {k: v for k, v in request.query_params.items() if k in _FIELDS}
        return Upload(data, request.query_params.get("name") or None, None, None, fields)
    parser = MultiPartParser(request.headers, stream, max_files=2, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BadUpload(f"the multipart body is not usable: {exc.message}") from exc
    try:
        fields: dict[str, str] = {}
        files: dict[str, UploadFile] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = value
            elif key in _FIELDS and value != "":
                fields[key] = value
        file = files.get("file")
        if file is None:
            raise BadUpload("no document: the form has no file field named 'file'")
        data = await _read_file(file)
        if not data and not file.filename:
            raise BadUpload("no document: no file was chosen")
        content = files.get("content")
        content_data = await _read_file(content) if content is not None else None
        if content is not None and not content_data and not content.filename:
            content, content_data = None, None  # an empty second input on the page
        return Upload(
            data,
            file.filename or request.query_params.get("name") or None,
            content_data,
            content.filename if content is not None else None,
            {**{k: v for k, v in request.query_params.items() if k in _FIELDS}, **fields},
        )
    finally:
        await form.close()
