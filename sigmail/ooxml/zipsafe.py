"""Reading a ZIP package that nobody vouches for, in memory, under budgets.

Refused before anything is decompressed: more entries than ``max_zip_entries``; a declared
size over ``max_zip_entry_bytes``, or all of them over ``max_zip_total_bytes``; a ratio of
uncompressed to compressed size over ``max_zip_ratio`` (a deflate bomb) — each
``limit_exceeded``; duplicate names (also case-insensitively: OPC part names are), names with
``..``, absolute or drive paths, backslashes or NUL — ``malformed``; encrypted entries and
compression methods other than stored/deflate — ``unsupported``. Nothing is ever written to
disk.

:func:`open_zip` checks all that from the central directory and then inflates an entry only
when it is asked for: :meth:`ZipArchive.read` gives its bytes, :meth:`ZipArchive.digest`
hashes it straight from the inflater, chunk by chunk, so a large part that is only hashed is
never held whole (the signature check of a 1 MB .docx needs its document part only as a
digest). Either way the entry's local header must agree with the central directory (name,
method, sizes), its declared size is the inflation ceiling (a lying header cannot make it
larger), and its CRC-32 is checked. :func:`read_zip` reads every entry up front.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from sigmail.bounded_cache import BoundedCache
from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import MalformedInput, UnsupportedInput

__all__ = ["ZipArchive", "ZipPackage", "open_zip", "read_zip"]

_RATIO_FLOOR = 1024 * 1024  # small entries compress well legitimately (XML of zeros …)
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_LOCAL = struct.Struct("<4s5H3L2H")  # the local file header (APPNOTE 4.3.7)
_CHUNK = 256 * 1024
# Digests of deflated members, by the member's compressed bytes: the same attachment
# arriving again (a long-running mail filter) is not inflated again. A pure function of its
# key (SHA-256 of what is inflated, the declared CRC and size, the digest algorithm), bounded,
# holding digests only; a value is stored only once its entry inflated to the declared size
# and CRC.
_DIGESTS: BoundedCache[tuple[bytes, int, int, str], bytes] = BoundedCache(
    max_entries=256, max_weight=1024 * 1024, weigh=lambda _key, _digest: 256
)
_CACHE_FLOOR = 64 * 1024  # below this, inflating is cheaper than hashing the key


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


class ZipArchive:
    """The checked central directory of a ZIP in memory; entries inflated on demand."""

    def __init__(self, data: bytes, infos: list[zipfile.ZipInfo], budget: Budget) -> None:
        self._data = memoryview(data)
        self._infos = {i.filename: i for i in infos if not i.is_dir()}
        self._budget = budget

    @property
    def names(self) -> list[str]:
        """Every entry that is not a directory, in the central directory's order."""
        return list(self._infos)

    def read(self, name: str) -> bytes:
        """The uncompressed bytes of entry ``name``."""
        return b"".join(self._chunks(name))

    def digest(self, name: str, algorithm: str) -> bytes:
        """The ``algorithm`` (hashlib name) digest of entry ``name``, hashed as it inflates."""
        info = self._infos[name]
        key = None
        if info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size >= _CACHE_FLOOR:
            raw = self._raw(info)
            key = (hashlib.sha256(raw).digest(), info.CRC, info.file_size, algorithm)
            known = _DIGESTS.get(key)  # thread-safe: the milter and the service use threads
            if known is not None:
                return known
        hasher = hashlib.new(algorithm)
        for chunk in self._chunks(name):
            hasher.update(chunk)
        value = hasher.digest()
        if key is not None:
            _DIGESTS.put(key, value)
        return value

    def _raw(self, info: zipfile.ZipInfo) -> memoryview:
        """The member's stored bytes, after a local header that agrees with the central one."""
        offset = info.header_offset
        try:
            (magic, _version, flags, method, _time, _date, _crc, _csize, _usize, name_len,
             extra_len) = _LOCAL.unpack_from(self._data, offset)  # fmt: skip
        except struct.error:
            raise MalformedInput(f"ZIP entry {info.filename!r}: no local header") from None
        start = offset + _LOCAL.size
        name = bytes(self._data[start : start + name_len])
        if (
            magic != b"PK\x03\x04"
            or name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            or method != info.compress_type
            or flags & 0x1
        ):
            raise MalformedInput(
                f"ZIP entry {info.filename!r}: the local header disagrees with the directory"
            )
        start += name_len + extra_len
        end = start + info.compress_size
        if end > len(self._data):
            raise MalformedInput(f"ZIP entry {info.filename!r} runs past the end of the file")
        return self._data[start:end]

    def _chunks(self, name: str) -> Iterator[bytes]:
        info = self._infos[name]
        self._budget.check_time()
        raw = self._raw(info)
        size = info.file_size
        crc = 0
        produced = 0
        if info.compress_type == zipfile.ZIP_STORED:
            if len(raw) != size:
                raise MalformedInput(f"ZIP entry {info.filename!r} is not the size it declares")
            for n in range(0, size, _CHUNK):
                chunk = bytes(raw[n : n + _CHUNK])
                crc = zlib.crc32(chunk, crc)
                yield chunk
            produced = size
        else:
            inflater = zlib.decompressobj(-15)
            pending: bytes | memoryview = raw
            while True:
                try:
                    # never more than the declared size, plus one byte to see a lie
                    chunk = inflater.decompress(pending, min(_CHUNK, size - produced + 1))
                except zlib.error as exc:
                    raise MalformedInput(
                        f"ZIP entry {info.filename!r} does not inflate: {exc}"
                    ) from None
                pending = inflater.unconsumed_tail
                produced += len(chunk)
                if produced > size:
                    raise MalformedInput(f"ZIP entry {info.filename!r} is not the size it declares")
                if chunk:
                    crc = zlib.crc32(chunk, crc)
                    yield chunk
                if not pending and (not chunk or inflater.eof):
                    break
            if not inflater.eof or produced != size:
                raise MalformedInput(f"ZIP entry {info.filename!r} is not the size it declares")
        if crc != info.CRC:
            raise MalformedInput(f"ZIP entry {info.filename!r}: bad CRC-32")


def open_zip(data: bytes, budget: Budget) -> ZipArchive:
    """The package's central directory, checked against every budget and name rule; no
    entry is inflated yet."""
    limits = budget.limits
    try:
        infos = zipfile.ZipFile(BytesIO(data)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise MalformedInput(f"the ZIP container does not parse: {exc}") from None
    except NotImplementedError as exc:  # e.g. a central directory needing "zip file version 9.3"
        raise UnsupportedInput(f"the ZIP container: {exc}") from None
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
    return ZipArchive(data, infos, budget)


def read_zip(data: bytes, budget: Budget) -> ZipPackage:
    """Every entry of the package, inflated and checked (see :func:`open_zip`)."""
    archive = open_zip(data, budget)
    return ZipPackage({name: archive.read(name) for name in archive.names})
