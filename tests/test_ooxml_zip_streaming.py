"""The lazy, streaming ZIP reader behind Office packages (sigmail/ooxml/zipsafe.open_zip):
an entry is inflated only when read or hashed, hashed chunk by chunk, and every lie a header
can tell — size, CRC, a local header that is not the central one's — is still caught."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile

import pytest

from sigmail.limits import Budget, Limits
from sigmail.ooxml import zipsafe
from sigmail.ooxml.zipsafe import open_zip, read_zip
from sigmail.problems import MalformedInput

BIG = os.urandom(300_000).hex().encode()  # 600 kB that deflates by half, over the cache floor


def zipped(entries, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 5, 20, 0, 0, 0))
            archive.writestr(info, data, method)
    return buffer.getvalue()


def budget() -> Budget:
    return Budget(Limits())


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_read_and_digest_give_the_entry_and_its_hash(method):
    data = zipped([("a.xml", b"<a/>"), ("word/document.xml", BIG)], method)
    archive = open_zip(data, budget())
    assert archive.names == ["a.xml", "word/document.xml"]
    assert archive.read("word/document.xml") == BIG
    for _ in range(2):  # the second time from the digest cache (deflated, large)
        assert archive.digest("word/document.xml", "sha256") == hashlib.sha256(BIG).digest()
    assert archive.digest("a.xml", "sha1") == hashlib.sha1(b"<a/>").digest()
    assert read_zip(data, budget()).entries == {"a.xml": b"<a/>", "word/document.xml": BIG}


def _central(data: bytes, name: bytes) -> int:
    """Where the central directory header of entry ``name`` starts."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    return at


def _patch_central(data: bytes, name: bytes, field_offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, _central(data, name) + field_offset, value)
    return bytes(out)


@pytest.mark.parametrize("cached", [False, True])
def test_a_declared_size_smaller_than_the_content_is_caught(cached):
    data = zipped([("word/document.xml", BIG)])
    if cached:  # a cached digest of the same bytes must not skip the size check
        open_zip(data, budget()).digest("word/document.xml", "sha256")
    lying = _patch_central(data, b"word/document.xml", 24, "<L", len(BIG) - 1)
    archive = open_zip(lying, budget())
    with pytest.raises(MalformedInput, match="size it declares"):
        archive.digest("word/document.xml", "sha256")


def test_a_wrong_crc_is_caught_when_read_and_when_hashed():
    data = _patch_central(zipped([("a.xml", b"<a>1</a>" * 10)]), b"a.xml", 16, "<L", 1234)
    archive = open_zip(data, budget())
    with pytest.raises(MalformedInput, match="CRC"):
        archive.read("a.xml")
    with pytest.raises(MalformedInput, match="CRC"):
        archive.digest("a.xml", "sha256")


def test_a_local_header_naming_another_entry_is_malformed():
    data = bytearray(zipped([("a.xml", b"<a/>")]))
    data[30:35] = b"b.xml"  # the local header's name, not the central directory's
    with pytest.raises(MalformedInput, match="local header"):
        open_zip(bytes(data), budget()).read("a.xml")


def test_a_truncated_member_is_malformed_not_a_traceback():
    data = zipped([("word/document.xml", BIG)])
    central = _central(data, b"word/document.xml")
    cut = data[:2000] + data[central:]  # the member's bytes gone, the directory kept
    with pytest.raises(MalformedInput):  # from the directory, or from the member: never a crash
        open_zip(cut, budget()).read("word/document.xml")


def test_nothing_is_inflated_before_it_is_asked_for(monkeypatch):
    calls = []
    real = zipsafe.ZipArchive._chunks

    def counting(self, name):
        calls.append(name)
        return real(self, name)

    monkeypatch.setattr(zipsafe.ZipArchive, "_chunks", counting)
    archive = open_zip(zipped([("a.xml", b"<a/>"), ("b.xml", b"<b/>")]), budget())
    assert calls == []
    archive.read("b.xml")
    assert calls == ["b.xml"]
