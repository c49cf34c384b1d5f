"""An OPC package as signatures see it: part names, content types, relationships, and where
the signatures are (the origin part and its signature relationships)."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field

from sigmail.limits import Budget
from sigmail.ooxml.relationships import Relationship, read_relationships
from sigmail.ooxml.zipsafe import ZipArchive, ZipPackage
from sigmail.problems import MalformedInput
from sigmail.xmldsig.parse import parse_xml

__all__ = ["ORIGIN", "SIGNATURE", "Package", "open_package"]

_PKG = "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/"
ORIGIN = _PKG + "origin"
SIGNATURE = _PKG + "signature"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTENT_TYPES_PART = "/[Content_Types].xml"


def rels_part_of(part: str) -> str:
    """The Relationships part of ``part`` ("/word/document.xml" → "/word/_rels/document.xml.rels";
    the package, "/", → "/_rels/.rels")."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def source_of(rels_part: str) -> str:
    folder, name = posixpath.split(rels_part)
    return posixpath.join(posixpath.dirname(folder), name.removesuffix(".rels")) or "/"


class _InMemory:
    """A :class:`ZipPackage`'s entries, read as a :class:`ZipArchive` is."""

    def __init__(self, zipped: ZipPackage) -> None:
        self._entries = zipped.entries

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def read(self, name: str) -> bytes:
        return self._entries[name]

    def digest(self, name: str, algorithm: str) -> bytes:
        return hashlib.new(algorithm, self._entries[name]).digest()


@dataclass(slots=True)
class Package:
    parts: dict[str, str]  # part name (case folded, "/word/document.xml") → its ZIP entry
    names: dict[str, str]  # folded part name → as written in the ZIP (for messages)
    archive: ZipArchive | _InMemory
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    budget: Budget | None = None
    _read: dict[str, bytes] = field(default_factory=dict)  # parts read whole, once each

    def get(self, part: str) -> bytes | None:
        """The bytes of ``part``, inflated once per package (relationships, signature parts
        and the like are read more than once)."""
        entry = self.parts.get(part.lower())
        if entry is None:
            return None
        if entry not in self._read:
            self._read[entry] = self.archive.read(entry)
        return self._read[entry]

    def digest(self, part: str, algorithm: str) -> bytes | None:
        """The ``algorithm`` (hashlib name) digest of ``part`` as stored, hashed as it
        inflates: a large part that is only hashed is never held whole."""
        entry = self.parts.get(part.lower())
        if entry is None:
            return None
        if entry in self._read:
            return hashlib.new(algorithm, self._read[entry]).digest()
        return self.archive.digest(entry, algorithm)

    def content_type(self, part: str) -> str | None:
        folded = part.lower()
        if folded in self.overrides:
            return self.overrides[folded]
        leaf = folded.rsplit("/", 1)[-1]
        extension = leaf.rpartition(".")[2] if "." in leaf else ""  # ".rels" is all extension
        return self.defaults.get(extension)

    def relationships(self, source: str) -> list[Relationship]:
        rels = rels_part_of(source) if source != "/" else "/_rels/.rels"
        data = self.get(rels)
        if data is None:
            return []
        assert self.budget is not None
        return read_relationships(data, self.budget, locator=rels)

    def target(self, source: str, relationship: Relationship) -> str:
        base = "/" if source == "/" else posixpath.dirname(source)
        target = relationship.target.split("#", 1)[0]
        joined = target if target.startswith("/") else posixpath.join(base, target)
        return posixpath.normpath(joined)


def open_package(zipped: ZipPackage | ZipArchive, budget: Budget) -> Package:
    archive = _InMemory(zipped) if isinstance(zipped, ZipPackage) else zipped
    parts = {"/" + name.lower(): name for name in archive.names}
    names = {"/" + name.lower(): "/" + name for name in archive.names}
    package = Package(parts, names, archive, budget=budget)
    types = package.get(CONTENT_TYPES_PART)
    if types is None:
        raise MalformedInput("the package has no [Content_Types].xml")
    root = parse_xml(types, budget, locator=CONTENT_TYPES_PART)
    for element in root.iterchildren(f"{{{_CONTENT_TYPES}}}Default"):
        package.defaults[(element.get("Extension") or "").lower()] = element.get("ContentType", "")
    for element in root.iterchildren(f"{{{_CONTENT_TYPES}}}Override"):
        package.overrides[(element.get("PartName") or "").lower()] = element.get("ContentType", "")
    return package
