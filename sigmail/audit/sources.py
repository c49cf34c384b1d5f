"""What an audit reads: mbox files, Maildir folders and folders of documents, as *items*.

An :class:`Item` is one message or one document file, described by where its bytes are (a
file, or a byte range of an mbox file) — never by the bytes themselves, so a year of mail is
listed without being loaded, and the worker that verifies an item reads it itself.

``SOURCE`` may be:

* an **mbox file** (a file whose first line is an mbox ``From `` line, or any ``*.mbox`` file
  in a folder): every message, in file order. Messages are split at ``From `` lines that look
  like mbox separators (``From <sender> … hh:mm …``); ``>From `` quoting is undone as in
  mboxrd (``>From `` → ``From ``, ``>>From `` → ``>From ``);
* a **Maildir** (a folder with ``new/`` and ``cur/``): every message in ``new/`` then
  ``cur/``, by file name. Maildir++ sub-folders (``.Sent``, …) are not included: give them
  as sources of their own if they hold received mail;
* a **folder**: every ``.eml``, ``.pdf``, ``.p7m`` and ``.p7s`` file in it and its
  sub-folders (by path), and the Maildirs and ``*.mbox`` files found there. Hidden files and
  folders are skipped. A file ``X`` next to ``X.p7s`` is the detached content of that
  signature: it is verified with it and not listed on its own;
* a single ``.eml``/``.pdf``/``.p7m``/``.p7s`` file.

Every item has a *source* (the mailbox, or the folder given) and a *locator* inside it
(``new/1716…host``, ``#12``, ``2026/05/qd-123.pdf``). The register identifies an item by its
source and the SHA-256 of its bytes (:func:`item_digest`), so a message moved from ``new/`` to
``cur/``, or renamed by a flag change, is still the same entry.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sigmail.errors import UsageError

__all__ = [
    "DOCUMENT_SUFFIXES",
    "Item",
    "check_sources",
    "estimate",
    "item_digest",
    "read_item",
    "scan",
]

DOCUMENT_SUFFIXES = (
    ".eml",
    ".pdf",
    ".p7m",
    ".p7s",
    ".xml",
    ".docx",
    ".xlsx",
    ".pptx",
    ".odt",
    ".ods",
    ".odp",
)
# An mbox separator: "From " + envelope sender + a date with a time of day (asctime format
# as written by MTAs; some write a zone too). A body line "From here on, …" is not one.
_FROM_LINE = re.compile(rb"From \S+ +.*\d\d?:\d\d")
_MBOXRD_QUOTE = re.compile(rb"(?m)^>(>*From )")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Item:
    """One message or document: where its bytes are, never the bytes."""

    source: str  # the mailbox or the folder given (absolute path)
    locator: str  # where in the source
    path: str  # the file holding the bytes
    size: int  # bytes (for progress: the item's share of the sources)
    mtime: float
    start: int = 0  # mbox: the range of the message (after its "From " line)
    end: int | None = None
    mbox: bool = False
    content_path: str | None = None  # the detached content of a .p7s

    @property
    def name(self) -> str:
        """The name the verifier is given (it tells a .p7s from a .p7m, a .eml from text)."""
        base = os.path.basename(self.path)  # a file's path: what Path(...).name gives, cheaper
        if self.mbox:
            return f"{base}{self.locator}.eml"
        if ":2," in base:  # Maildir flags
            base = base.split(":2,", 1)[0]
        return base if base.lower().endswith(DOCUMENT_SUFFIXES) else f"{base}.eml"


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _looks_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return bool(_FROM_LINE.match(fh.readline(4096)))
    except OSError:
        return False


def _maildir(root: Path) -> Iterator[Item]:
    source = str(root)
    for sub in ("new", "cur"):
        folder = root / sub
        try:
            entries = sorted(
                (e for e in os.scandir(folder) if not e.name.startswith(".")),
                key=lambda e: e.name,
            )
        except OSError:
            continue
        for entry in entries:
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            unique = entry.name.split(":2,", 1)[0]
            yield Item(source, f"{sub}/{unique}", entry.path, st.st_size, st.st_mtime)


def _mbox(path: Path) -> Iterator[Item]:
    """Every message of an mbox file, by scanning it for separator lines (memory-mapped)."""
    source = str(path)
    try:
        st = path.stat()
        if st.st_size == 0:
            return
        fh = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
    with fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        size = len(buf)
        starts: Iterator[int] = _separators(buf)
        current = next(starts, None)
        number = 0
        while current is not None:
            following = next(starts, None)
            nl = buf.find(b"\n", current)
            body = size if nl < 0 else nl + 1
            end = size if following is None else following
            # The empty line mbox writers put after each message (before the next separator,
            # and at the end of the file) is not part of the message.
            if buf[end - 2 : end] == b"\n\n":
                end -= 1
            elif buf[end - 4 : end] == b"\r\n\r\n":
                end -= 2
            number += 1
            yield Item(
                source,
                f"#{number}",
                source,
                end - current,
                st.st_mtime,
                start=body,
                end=max(body, end),
                mbox=True,
            )
            current = following


def _separators(buf: mmap.mmap) -> Iterator[int]:
    if _FROM_LINE.match(buf, 0):
        yield 0
    pos = 0
    while True:
        i = buf.find(b"\nFrom ", pos)
        if i < 0:
            return
        if _FROM_LINE.match(buf, i + 1):
            yield i + 1
        pos = i + 1


def _folder(root: Path, base: Path | None = None) -> Iterator[Item]:
    base = base or root
    source = str(base)
    try:
        entries = sorted(
            (e for e in os.scandir(root) if not e.name.startswith(".")), key=lambda e: e.name
        )
    except OSError as exc:
        raise UsageError(f"{root}: {exc.strerror}") from exc
    names = {e.name for e in entries}
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                if _is_maildir(path):
                    yield from _maildir(path)
                else:
                    yield from _folder(path, base)
                continue
            if not entry.is_file():
                continue
            lower = entry.name.lower()
            if lower.endswith(".mbox"):
                yield from _mbox(path)
                continue
            if not lower.endswith(DOCUMENT_SUFFIXES) or f"{entry.name}.p7s" in names:
                continue
            st = entry.stat()
        except OSError:
            continue
        content = None
        if lower.endswith(".p7s") and entry.name[:-4] in names:
            content = str(root / entry.name[:-4])
        yield Item(
            source,
            path.relative_to(base).as_posix(),
            str(path),
            st.st_size,
            st.st_mtime,
            content_path=content,
        )


def check_sources(sources: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`UsageError` for a source that is not a folder, an mbox file or a
    document file."""
    for given in sources:
        path = Path(given).expanduser()
        if path.is_file():
            lower = path.name.lower()
            if not (lower.endswith((*DOCUMENT_SUFFIXES, ".mbox")) or _looks_like_mbox(path)):
                raise UsageError(
                    f"{given}: not an mbox file, a Maildir, a folder or a "
                    f"{'/'.join(DOCUMENT_SUFFIXES)} file"
                )
        elif not path.is_dir():
            raise UsageError(f"{given}: no such file or folder")


def scan(sources: Iterable[str | os.PathLike[str]]) -> Iterator[Item]:
    """Every item of every source, in a stable order (sources as given, then by path)."""
    for given in sources:
        path = Path(given).expanduser().resolve()
        if path.is_dir():
            if _is_maildir(path):
                yield from _maildir(path)
            else:
                yield from _folder(path)
        elif path.is_file():
            lower = path.name.lower()
            if lower.endswith(DOCUMENT_SUFFIXES):
                content = None
                if lower.endswith(".p7s"):
                    sibling = path.with_name(path.name[:-4])
                    content = str(sibling) if sibling.is_file() else None
                st = path.stat()
                yield Item(
                    str(path.parent),
                    path.name,
                    str(path),
                    st.st_size,
                    st.st_mtime,
                    content_path=content,
                )
            elif lower.endswith(".mbox") or _looks_like_mbox(path):
                yield from _mbox(path)
            else:
                raise UsageError(
                    f"{given}: not an mbox file, a Maildir, a folder or a "
                    f"{'/'.join(DOCUMENT_SUFFIXES)} file"
                )
        else:
            raise UsageError(f"{given}: no such file or folder")


def estimate(sources: Iterable[str | os.PathLike[str]]) -> int:
    """The bytes the items of ``sources`` hold (for the progress bar): one cheap pass of
    directory listings and ``stat`` calls, no file is read."""
    total = 0
    for item in _listing(sources):
        total += item
    return total


def _listing(sources: Iterable[str | os.PathLike[str]]) -> Iterator[int]:
    for given in sources:
        path = Path(given).expanduser().resolve()
        if path.is_file():
            yield path.stat().st_size
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") or d in ("new", "cur")]
            in_maildir = Path(dirpath).name in ("new", "cur") and _is_maildir(Path(dirpath).parent)
            for name in filenames:
                if name.startswith("."):
                    continue
                if in_maildir or name.lower().endswith((*DOCUMENT_SUFFIXES, ".mbox")):
                    try:
                        yield os.stat(os.path.join(dirpath, name)).st_size
                    except OSError:
                        continue


def _mbox_chunks(item: Item) -> Iterator[bytes]:
    """An mbox message's bytes with the mboxrd quoting undone, in chunks of whole lines (a
    line longer than a chunk is passed on in pieces: only a line's start can be quoted)."""
    with open(item.path, "rb") as fh:
        fh.seek(item.start)
        left = (item.end or item.start) - item.start
        line_start = True
        while left > 0:
            block = fh.read(min(_CHUNK, left))
            if not block:
                return
            left -= len(block)
            cut = block.rfind(b"\n") + 1 if left > 0 else len(block)
            if cut == 0:  # no line end in a whole chunk: pass it on as it is
                cut = len(block)
            elif cut < len(block):
                fh.seek(cut - len(block), os.SEEK_CUR)
                left += len(block) - cut
            piece = block[:cut]
            if b">From " in piece:
                # Lines start at the piece's start (unless it continues a long line) and after
                # each line end in it.
                skip = 0 if line_start else piece.find(b"\n") + 1
                if line_start or skip:
                    piece = piece[:skip] + _MBOXRD_QUOTE.sub(rb"\1", piece[skip:])
            line_start = block[cut - 1 : cut] == b"\n"
            yield piece


def read_item(item: Item, limit: int | None = None) -> bytes:
    """The item's bytes (an mbox message with its ``>From`` quoting undone); with ``limit``, at
    most ``limit`` + 1 bytes — enough for the verifier to refuse an oversized input without
    holding all of it."""
    if item.mbox:
        out = bytearray()
        for chunk in _mbox_chunks(item):
            out += chunk
            if limit is not None and len(out) > limit:
                return bytes(out[: limit + 1])
        return bytes(out)
    with open(item.path, "rb") as fh:
        if limit is None:
            return fh.read()
        # read(n) first allocates n bytes: ask for what the file holds (one byte more, to see
        # it grew), and read on to the limit only if it did.
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(min(size, limit) + 1)
        if len(data) <= size or len(data) > limit:
            return data
        return data + fh.read(limit + 1 - len(data))


def item_digest(item: Item) -> str:
    """The key of an item: SHA-256 of its bytes as the verifier sees them, read in chunks
    (an mbox message with its quoting undone). For a ``.p7s`` with its content beside it, the
    SHA-256 of both files one after the other: the same signature over other content is
    another entry."""
    digest = hashlib.sha256()
    if item.mbox:
        for chunk in _mbox_chunks(item):
            digest.update(chunk)
        return digest.hexdigest()
    for path in (item.path, item.content_path):
        if path is None:
            continue
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()
