"""The OPC relationship transform (ECMA-376 Part 2 §13.2.4.24), sigmail's own: no XMLDSig
library implements it.

Input: a Relationships part. Output: a document holding only the Relationship elements
whose Id is a ``SourceId`` (or whose Type is a ``SourceType``) of the transform, sorted by Id
(ordinal comparison), each with no content and with ``TargetMode="Internal"`` added where it
is absent, no text, comments or other namespaces — then canonicalised by the C14N transform
that must follow it. What is selected is what is signed: a relationship added later with a
new Id is not, and the part it points to shows up as not covered.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from sigmail.limits import Budget
from sigmail.problems import MalformedInput
from sigmail.xmldsig.parse import parse_xml

__all__ = [
    "MDSSI",
    "RELATIONSHIPS",
    "Relationship",
    "read_relationships",
    "relationship_transform",
]

RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
MDSSI = "http://schemas.openxmlformats.org/package/2006/digital-signature"
_R = f"{{{RELATIONSHIPS}}}"


@dataclass(frozen=True, slots=True)
class Relationship:
    id: str
    type: str
    target: str
    external: bool


def read_relationships(data: bytes, budget: Budget, locator: str) -> list[Relationship]:
    root = parse_xml(data, budget, locator=locator)
    if root.tag != f"{_R}Relationships":
        raise MalformedInput(f"{locator} is not a Relationships part", locator)
    out = []
    for element in root.iterchildren(f"{_R}Relationship"):
        rid, rtype, target = element.get("Id"), element.get("Type"), element.get("Target")
        if not rid or not rtype or target is None:
            raise MalformedInput(f"{locator}: a Relationship without Id, Type or Target", locator)
        out.append(Relationship(rid, rtype, target, element.get("TargetMode") == "External"))
    return out


def transform_parameters(transform: etree._Element) -> tuple[set[str], set[str]]:
    """The SourceId and SourceType values of a RelationshipTransform element."""
    ids = {
        e.get("SourceId", "") for e in transform.iterchildren(f"{{{MDSSI}}}RelationshipReference")
    }
    types = {
        e.get("SourceType", "")
        for e in transform.iterchildren(f"{{{MDSSI}}}RelationshipsGroupReference")
    }
    return ids, types


def relationship_transform(
    data: bytes, source_ids: set[str], source_types: set[str], budget: Budget, locator: str
) -> etree._Element:
    """The transformed Relationships document (canonicalise it next)."""
    root = parse_xml(data, budget, locator=locator)
    if root.tag != f"{_R}Relationships":
        raise MalformedInput(f"{locator} is not a Relationships part", locator)
    selected = [
        e
        for e in root.iterchildren(f"{_R}Relationship")
        if e.get("Id") in source_ids or e.get("Type") in source_types
    ]
    out = etree.Element(f"{_R}Relationships", nsmap={None: RELATIONSHIPS})
    for element in sorted(selected, key=lambda e: e.get("Id") or ""):
        copy = etree.SubElement(out, f"{_R}Relationship")
        for name, value in element.attrib.items():
            if not name.startswith("{"):  # attributes of other namespaces are not kept
                copy.set(name, value)
        if copy.get("TargetMode") is None:
            copy.set("TargetMode", "Internal")
    return out
