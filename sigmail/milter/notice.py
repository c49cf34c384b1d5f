"""A short notice as a separate leading text part, for messages with no signature at all.

Webmail shows neither ``X-Sigmail-Verdict`` nor, often, the Subject in full; a first text part
is what every reader displays. The message becomes ``multipart/mixed``: the notice, then the
original message's entity unchanged — its ``Content-*`` fields moved from the top into the
part, its body byte for byte. Only for the ``unsigned`` verdict with no document inside: a
signed part is never altered or re-nested (the milter also never asks for body changes
unless a notice is configured).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["NoticeRewrite", "notice_rewrite"]


@dataclass(frozen=True, slots=True)
class NoticeRewrite:
    """The changes that put the notice first: fields to delete, fields to add, the body."""

    remove: tuple[tuple[str, int], ...]  # (name as received, index among that name from 1)
    add: tuple[tuple[str, str], ...]  # (name, value), added at the end of the header
    body: bytes


def notice_rewrite(
    notice: str, content_fields: Sequence[tuple[bytes, bytes]], body: bytes
) -> NoticeRewrite:
    """``content_fields``: the message's top-level ``Content-*`` and ``MIME-Version`` fields in
    order, values as received (CRLF folds); ``body``: its body as received."""
    boundary = f"sigmail-notice-{uuid.uuid4().hex}"
    seen: dict[bytes, int] = {}
    remove: list[tuple[str, int]] = []
    moved: list[bytes] = []
    has_version = False
    for name, value in content_fields:
        key = name.lower()
        seen[key] = seen.get(key, 0) + 1
        if key == b"mime-version":
            has_version = True
            continue
        remove.append((name.decode("ascii", "replace"), seen[key]))
        moved.append(name + b": " + value + b"\r\n")
    text = base64.encodebytes(notice.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    new_body = b"".join(
        [
            b"--" + boundary.encode() + b"\r\n",
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"Content-Disposition: inline\r\n",
            b"Content-Description: sigmail notice\r\n\r\n",
            text.replace(b"\n", b"\r\n"),
            b"\r\n--" + boundary.encode() + b"\r\n",
            *moved,
            b"\r\n",
            body,
            b"\r\n--" + boundary.encode() + b"--\r\n",
        ]
    )
    add = [("Content-Type", f'multipart/mixed; boundary="{boundary}"')]
    if not has_version:
        add.insert(0, ("MIME-Version", "1.0"))
    return NoticeRewrite(
        remove=tuple(sorted(remove, key=lambda item: (item[0].lower(), -item[1]))),
        add=tuple(add),
        body=new_body,
    )
