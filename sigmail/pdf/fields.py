"""Interactive form fields (ISO 32000-1 §12.7): the AcroForm field tree as of a revision.

Signatures live in signature fields (``/FT /Sig``); form filling changes field values. Both
the signature finder and the modification analysis walk the tree with :func:`walk_fields`,
which resolves inherited attributes (``/FT``, ``/Ff``, ``/V``) and qualified names, and is
bounded (depth, count, cycles).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sigmail.limits import LimitExceeded
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.objects import PdfDict, PdfString, Ref

__all__ = ["Field", "acroform", "walk_fields"]

MAX_FIELD_DEPTH = 32

# Field flags (Table 221, 226, 228)
FF_READ_ONLY = 1
FF_REQUIRED = 2


@dataclass(frozen=True, slots=True)
class Field:
    """A terminal field (one that has no child *fields*; its kids, if any, are widgets)."""

    name: str  # fully qualified, parts joined with "."
    ref: Ref | None  # None: a direct dictionary inside /Fields (not allowed, but seen)
    dict: PdfDict
    field_type: str | None  # inherited /FT: "Sig", "Tx", "Btn", "Ch"
    flags: int  # inherited /Ff
    value: Any  # inherited /V (unresolved)
    widgets: tuple[Ref | None, ...]  # the field itself when merged with its widget


def acroform(doc: PdfDocument, revision: int) -> PdfDict | None:
    catalog = doc.catalog(revision)
    if catalog is None:
        return None
    return doc.dict_at(catalog.get("AcroForm"), revision)


def _text(value: Any) -> str:
    return value.text() if isinstance(value, PdfString) else ""


def walk_fields(doc: PdfDocument, revision: int) -> Iterator[Field]:
    """Every terminal field of the revision's AcroForm, depth first, each once."""
    form = acroform(doc, revision)
    if form is None:
        return
    roots = doc.resolve(form.get("Fields"), revision)
    if not isinstance(roots, list):
        return
    seen: set[int] = set()
    limit = doc.budget.limits.max_pdf_objects
    stack: list[tuple[Any, str, dict, int]] = [(r, "", {}, 0) for r in reversed(roots)]
    while stack:
        item, parent_name, inherited, depth = stack.pop()
        if depth > MAX_FIELD_DEPTH:
            continue
        if isinstance(item, Ref):
            if item.num in seen:
                continue
            seen.add(item.num)
            if len(seen) > limit:
                raise LimitExceeded("max_pdf_objects", limit, len(seen))
        node = doc.dict_at(item, revision)
        if node is None:
            continue
        partial = _text(node.get("T"))
        name = f"{parent_name}.{partial}" if parent_name and partial else parent_name or partial
        here = dict(inherited)
        for key in ("FT", "Ff", "V"):
            if key in node:
                here[key] = node[key]
        kids = doc.resolve(node.get("Kids"), revision)
        child_fields: list = []
        widgets: list = []
        if isinstance(kids, list):
            for kid in kids:
                kd = doc.dict_at(kid, revision)
                if kd is None:
                    continue
                # A kid with a partial name (or kids of its own) is a field; else a widget.
                if "T" in kd or ("Kids" in kd and "Subtype" not in kd):
                    child_fields.append(kid)
                else:
                    widgets.append(kid if isinstance(kid, Ref) else None)
        if child_fields:
            stack.extend((k, name, here, depth + 1) for k in reversed(child_fields))
            continue
        if node.get("Subtype") == "Widget" or not widgets:
            widgets.insert(0, item if isinstance(item, Ref) else None)
        flags = here.get("Ff", 0)
        yield Field(
            name=name,
            ref=item if isinstance(item, Ref) else None,
            dict=node,
            field_type=str(here["FT"]) if "FT" in here else None,
            flags=flags if isinstance(flags, int) else 0,
            value=here.get("V"),
            widgets=tuple(widgets),
        )
