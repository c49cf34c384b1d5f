"""What a ``ds:Reference`` points at, decided once and without ambiguity (XSW resistance).

Signature wrapping works by making the verifier and the reader look at different elements:
a second element with the same Id, an Id in a namespace the reader ignores but a lax
resolver matches, the signed element moved under an ``ds:Object`` while a forged one takes
its place. So: an Id comes only from an unqualified ``Id``/``ID``/``id`` attribute or
``xml:id``; a reference value carried by more than one element — or by any namespaced
attribute named like an Id, which a ``local-name()`` resolver (signxml's) would also match —
is ``signature_wrapping``; and the element each reference resolves to is reported, so the
verdict can say whether what a reader reads (the root) is what was signed.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass

from lxml import etree

from sigmail.errors import InputSignal
from sigmail.xmldsig.names import DS, XML_NS

__all__ = ["IdIndex", "Wrapping", "describe", "describe_covered", "is_covered"]

_ID_NAMES = ("Id", "ID", "id")
_XML_ID = f"{{{XML_NS}}}id"


class Wrapping(InputSignal):
    """A reference that does not resolve to exactly one element by an allowed Id."""


@dataclass(frozen=True, slots=True)
class _Holder:
    element: etree._Element
    attribute: str  # the attribute's full name ("Id", "{ns}Id", "{xml}id")

    @property
    def allowed(self) -> bool:
        return self.attribute in _ID_NAMES or self.attribute == _XML_ID


class IdIndex:
    """Every element carrying an Id-like attribute, by value, built in one pass."""

    def __init__(self, root: etree._Element) -> None:
        self._by_value: dict[str, list[_Holder]] = defaultdict(list)
        for element in root.iter(etree.Element):
            for name, value in element.attrib.items():
                local = name.rpartition("}")[2]
                if local in _ID_NAMES:
                    self._by_value[value].append(_Holder(element, name))

    def resolve(self, fragment: str) -> etree._Element:
        holders = self._by_value.get(fragment, [])
        if not holders:
            raise LookupError(f"no element has Id {fragment!r}")
        if len(holders) > 1:
            where = ", ".join(describe(h.element) for h in holders)
            raise Wrapping(f"Id {fragment!r} is carried by {len(holders)} elements ({where})")
        (holder,) = holders
        if not holder.allowed:
            raise Wrapping(
                f"Id {fragment!r} is in a namespaced attribute {holder.attribute} of "
                f"{describe(holder.element)}: not an Id sigmail resolves"
            )
        return holder.element


def describe(element: etree._Element) -> str:
    """A readable path to ``element`` (``/Envelope/Document[@Id='doc']``)."""
    parts = []
    node: etree._Element | None = element
    while node is not None:
        qname = etree.QName(node)
        name = f"ds:{qname.localname}" if qname.namespace == DS else qname.localname
        ident = next((node.get(n) for n in (*_ID_NAMES, _XML_ID) if node.get(n)), None)
        parts.append(f"{name}[@Id='{ident}']" if ident else name)
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


def describe_covered(element: etree._Element) -> str:
    """:func:`describe`, and for a ``ds:Object`` what it holds — an enveloping signature's data
    is the Object's content, so the report says what that is (elements by name, or text:
    base64 with its decoded size and declared MimeType)."""
    where = describe(element)
    if element.tag != f"{{{DS}}}Object":
        return where
    children = [etree.QName(c).localname for c in element.iterchildren(etree.Element)]
    if children:
        shown = ", ".join(children[:3]) + (
            f" (+{len(children) - 3} more)" if len(children) > 3 else ""
        )
        return f"{where} holding {shown}"
    text = "".join((element.text or "").split())
    if not text:
        return f"{where} (empty)"
    mime = element.get("MimeType")
    try:
        size, kind = len(base64.b64decode(text, validate=True)), "base64"
    except (binascii.Error, ValueError):
        size, kind = len(text), "text"
    return f"{where} holding {kind} data ({size} bytes{', ' + mime if mime else ''})"


def is_covered(element: etree._Element, covered: list[etree._Element]) -> bool:
    """``element`` is one of ``covered`` or inside one of them."""
    chain = [element, *element.iterancestors()]
    return any(c is a for c in covered for a in chain)
