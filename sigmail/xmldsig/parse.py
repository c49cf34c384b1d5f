"""Parsing XML that nobody vouches for: no DTD, no entities, nothing fetched, bounded.

A document type declaration is refused outright (``malformed``) rather than parsed and
ignored: the signature formats read here never need one, and an internal subset is where
entity bombs and external entities live. lxml is told not to load, resolve or fetch anything
in any case, so a refused document costs one bounded parse, never an expansion.
"""

from __future__ import annotations

from lxml import etree

from sigmail.limits import Budget, LimitExceeded
from sigmail.problems import MalformedInput

__all__ = ["parse_xml"]


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,  # Ids are sigmail's to resolve (see references.py), not libxml2's
    )


def _names_external_dtd_only(data: bytes, docinfo) -> bool:
    """A DOCTYPE that only names an external DTD (which is never loaded) and declares nothing
    itself: no internal subset, so no entity, element or attribute declaration."""
    start = data.find(b"<!DOCTYPE")
    end = data.find(b">", start)
    dtd = docinfo.internalDTD
    return (
        0 <= start < end
        and b"[" not in data[start:end]
        and docinfo.externalDTD is None
        and (dtd is None or not (list(dtd.iterentities()) or list(dtd.iterelements())))
    )


def parse_xml(
    data: bytes, budget: Budget, *, locator: str = "document", external_dtd_name: bool = False
) -> etree._Element:
    """The root element of ``data``; ``MalformedInput`` for bad or DTD-carrying XML,
    ``LimitExceeded`` for XML beyond the budget. With ``external_dtd_name``, a DOCTYPE that
    only names an external DTD is let through (LibreOffice's Basic and dialog streams carry
    ``<!DOCTYPE script:module PUBLIC … "module.dtd">``); the DTD is still never read, and an
    entity reference, which only a DTD could define, is still refused."""
    budget.check_size("max_xml_bytes", len(data))
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        if b"<!DOCTYPE" in data[:65536] or b"<!ENTITY" in data[:65536]:
            raise MalformedInput(f"XML with a DOCTYPE is refused ({exc})", locator) from None
        raise MalformedInput(f"XML does not parse: {exc}", locator) from None
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None
    ) and not (external_dtd_name and _names_external_dtd_only(data, docinfo)):
        raise MalformedInput(
            "XML with a DOCTYPE is refused: no DTD, no entities (docs/xml-signatures.md)", locator
        )
    for _ in root.iter(etree.Entity):
        raise MalformedInput("XML with entity references is refused", locator)
    _check_depth(root, budget)
    return root


def _check_depth(root: etree._Element, budget: Budget) -> None:
    ceiling = budget.limits.max_xml_depth
    depth = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > ceiling:
            raise LimitExceeded("max_xml_depth", ceiling, depth)
