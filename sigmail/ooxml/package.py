"""An OPC package as signatures see it: part names, content types, relationships, and where
the signatures are (the origin part and its signature relationships)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from sigmail.limits import Budget
from sigmail.ooxml.relationships import Relationship, read_relationships
from sigmail.ooxml.zipsafe import ZipPackage
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


@dataclass(slots=True)
class Package:
    parts: dict[str, bytes]  # part name (case folded, "/word/document.xml") → bytes
    names: dict[str, str]  # folded part name → as written in the ZIP (for messages)
    defaults: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    budget: Budget | None = None

    def get(self, part: str) -> bytes | None:
        return self.parts.get(part.lower())

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


def open_package(zipped: ZipPackage, budget: Budget) -> Package:
    parts = {"/" + name.lower(): data for name, data in zipped.entries.items()}
    names = {"/" + name.lower(): "/" + name for name in zipped.entries}
    package = Package(parts, names, budget=budget)
    types = package.get(CONTENT_TYPES_PART)
    if types is None:
        raise MalformedInput("the package has no [Content_Types].xml")
    root = parse_xml(types, budget, locator=CONTENT_TYPES_PART)
    for element in root.iterchildren(f"{{{_CONTENT_TYPES}}}Default"):
        package.defaults[(element.get("Extension") or "").lower()] = element.get("ContentType", "")
    for element in root.iterchildren(f"{{{_CONTENT_TYPES}}}Override"):
        package.overrides[(element.get("PartName") or "").lower()] = element.get("ContentType", "")
    return package
