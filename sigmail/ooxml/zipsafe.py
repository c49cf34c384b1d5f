"""Reading a ZIP package that nobody vouches for, in memory, under budgets.

Refused before anything is decompressed: more entries than ``max_zip_entries``; a declared
size over ``max_zip_entry_bytes``, or all of them over ``max_zip_total_bytes``; a ratio of
uncompressed to compressed size over ``max_zip_ratio`` (a deflate bomb) — each
``limit_exceeded``; duplicate names (also case-insensitively: OPC part names are), names with
``..``, absolute or drive paths, backslashes or NUL — ``malformed``; encrypted entries and
compression methods other than stored/deflate — ``unsupported``. Each entry is then read with
its declared size as the ceiling (a lying header cannot make it larger) and its CRC checked by
zipfile. Nothing is ever written to disk.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass

from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import MalformedInput, UnsupportedInput

__all__ = ["ZipPackage", "read_zip"]

_RATIO_FLOOR = 1024 * 1024  # small entries compress well legitimately (XML of zeros …)
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True, slots=True)
class ZipPackage:
    entries: dict[str, bytes]  # entry name → uncompressed bytes (directories left out)


def _check_name(name: str) -> None:
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(p in ("..", ".") for p in parts)
    ):
        raise MalformedInput(f"ZIP entry name {name!r} is not a relative path inside the package")


def read_zip(data: bytes, budget: Budget) -> ZipPackage:
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise MalformedInput(f"the ZIP container does not parse: {exc}") from None
    if len(infos) > limits.max_zip_entries:
        raise LimitExceeded("max_zip_entries", limits.max_zip_entries, len(infos))
    seen: set[str] = set()
    total = 0
    for info in infos:
        _check_name(info.filename)
        folded = info.filename.lower()
        if folded in seen:
            raise MalformedInput(f"ZIP entry {info.filename!r} appears twice")
        seen.add(folded)
        if info.flag_bits & 0x1:
            raise UnsupportedInput(f"ZIP entry {info.filename!r} is encrypted")
        if info.compress_type not in _METHODS:
            raise UnsupportedInput(
                f"ZIP entry {info.filename!r} uses compression method {info.compress_type}"
            )
        budget.check_size("max_zip_entry_bytes", info.file_size)
        total += info.file_size
        if total > limits.max_zip_total_bytes:
            raise LimitExceeded("max_zip_total_bytes", limits.max_zip_total_bytes, total)
        if info.file_size > _RATIO_FLOOR:
            ratio = info.file_size // max(info.compress_size, 1)
            if ratio > limits.max_zip_ratio:
                raise LimitExceeded("max_zip_ratio", limits.max_zip_ratio, ratio)
    entries: dict[str, bytes] = {}
    for info in infos:
        if info.is_dir():
            continue
        budget.check_time()
        try:
            with archive.open(info) as stream:
                content = stream.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError) as exc:
            raise MalformedInput(f"ZIP entry {info.filename!r} does not read: {exc}") from None
        except NotImplementedError as exc:
            raise UnsupportedInput(f"ZIP entry {info.filename!r}: {exc}") from None
        if len(content) != info.file_size:
            raise MalformedInput(f"ZIP entry {info.filename!r} is not the size it declares")
        entries[info.filename] = content
    return ZipPackage(entries)
