"""What each object *is* in a revision: page content, a font of page 3, an annotation's
appearance, a form field, the DSS … (its *roles*).

The modification analysis needs this for objects a later revision overwrites: a rewritten
stream means nothing by itself, but "the content stream of page 1" or "the font page 2 draws
with" does. The index is built by walking from the catalog, deriving each child's role from
its parent's role and the key that leads to it, in one bounded pass
(``Limits.max_pdf_objects``). References to objects that do not exist in the revision are
kept (``dangling``): an object defined later under such a number is content the signer did
not see, swapped in.

Building it costs a walk of the document, so the analysis asks for it only when the cheap
explanations (catalog, DSS, form fields, page dictionaries) do not account for a change.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sigmail.limits import LimitExceeded
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.objects import PdfDict, Ref, Stream
from sigmail.pdf.parser import PdfSyntaxError

__all__ = ["Role", "StructureIndex", "page_list"]

_MAX_TREE_DEPTH = 64

# Keys that point back up or sideways (parents, pages of annotations, structure back
# links, destinations): following them would give their targets wrong roles.
_BACK_LINKS = frozenset(
    {"Parent", "P", "Pg", "Prev", "Last", "Obj", "D", "Dest", "IRT", "Dests", "StmOwn"}
)

_TRAILER_KEYS = frozenset(
    {"Size", "Prev", "Root", "Encrypt", "Info", "ID", "XRefStm", "Type", "W", "Index", "Filter",
     "DecodeParms", "Length"}
)  # fmt: skip

_CATALOG_CHILDREN = {
    "Pages": "page_tree",
    "AcroForm": "acroform",
    "DSS": "dss",
    "Perms": "perms",
    "Metadata": "metadata",
    "StructTreeRoot": "structure",
    "Outlines": "outline",
    "Names": "names",
    "OpenAction": "action",
    "AA": "action",
    "OCProperties": "optional_content",
    "Threads": "other",
    "Extensions": "extensions",
}


@dataclass(frozen=True, slots=True)
class Role:
    kind: str  # see the module docstring of sigmail.pdf.modifications
    page: int | None = None  # 1-based page number
    owner: int | None = None  # the annotation/field object an appearance belongs to

    def describe(self) -> str:
        where = f" of page {self.page}" if self.page else ""
        return {
            "page_content": f"the content stream{where}",
            "page_resource": f"a resource (font, image, form){where}",
            "page": f"the page dictionary{where}",
            "page_tree": "the page tree",
            "annotation": f"an annotation{where}",
            "widget": f"a form field widget{where}",
            "appearance": f"the appearance of object {self.owner}{where}",
            "field": "a form field",
            "signature": "a signature dictionary",
            "acroform": "the interactive form",
            "form_resources": "the form's default resources",
            "dss": "the Document Security Store",
            "perms": "the document permissions (/Perms)",
            "metadata": "the XMP metadata",
            "info": "the document information",
            "structure": "the logical structure (tags)",
            "outline": "the outline (bookmarks)",
            "names": "the name trees",
            "action": "a document action",
            "optional_content": "optional content (layers)",
            "catalog": "the document catalog",
            "extensions": "the developer extensions (/Extensions)",
            "trailer_entry": "a non-standard trailer entry",
        }.get(self.kind, f"an object ({self.kind})")


def page_list(doc: PdfDocument, revision: int) -> list[Ref]:
    """The page objects in order, from the page tree (cycles and depth bounded)."""
    catalog = doc.catalog(revision)
    if catalog is None:
        return []
    out: list[Ref] = []
    seen: set[int] = set()
    limit = doc.budget.limits.max_pdf_objects
    # Depth first, in order, without recursion (and without a closure that refers to itself,
    # which would keep the document, and a caller's mmap, alive until the next collection).
    stack: list[tuple[Any, int]] = [(catalog.get("Pages"), 0)]
    while stack:
        node_ref, depth = stack.pop()
        if depth > _MAX_TREE_DEPTH:
            continue
        if isinstance(node_ref, Ref):
            if node_ref.num in seen:
                continue
            seen.add(node_ref.num)
            if len(seen) > limit:
                raise LimitExceeded("max_pdf_objects", limit, len(seen))
        node = doc.dict_at(node_ref, revision)
        if node is None:
            continue
        kids = doc.resolve(node.get("Kids"), revision)
        if node.get("Type") == "Pages" or (isinstance(kids, list) and node.get("Type") != "Page"):
            if isinstance(kids, list):
                stack.extend((kid, depth + 1) for kid in reversed(kids))
        elif isinstance(node_ref, Ref):
            out.append(node_ref)
    return out


@dataclass(slots=True)
class StructureIndex:
    """Roles of every object reachable from the catalog (and the trailer's /Info)."""

    revision: int
    roles: dict[int, set[Role]] = field(default_factory=dict)
    dangling: dict[int, set[Role]] = field(default_factory=dict)
    pages: list[Ref] = field(default_factory=list)

    @property
    def page_numbers(self) -> dict[int, int]:
        return {ref.num: i for i, ref in enumerate(self.pages, 1)}

    @classmethod
    def build(cls, doc: PdfDocument, revision: int) -> StructureIndex:
        index = cls(revision)
        index.pages = page_list(doc, revision)
        walker = RoleWalker(doc, revision, index)
        trailer = doc.revision(revision).trailer
        root = trailer.get("Root")
        seeds: list[tuple[Any, Role]] = []
        if isinstance(root, Ref):
            seeds.append((root, Role("catalog")))
        if isinstance(trailer.get("Info"), Ref):
            seeds.append((trailer["Info"], Role("info")))
        for key, value in trailer.items():
            if key not in _TRAILER_KEYS and isinstance(value, Ref | list | PdfDict):
                seeds.append((value, Role("trailer_entry")))
        for number, ref in enumerate(index.pages, 1):
            seeds.append((ref, Role("page", number)))
        walker.walk(seeds)
        return index


class RoleWalker:
    """Breadth-first walk that labels objects with roles; ``only`` restricts it to a set of
    object numbers (the analysis walks just the objects a revision added)."""

    def __init__(
        self,
        doc: PdfDocument,
        revision: int,
        index: StructureIndex,
        only: set[int] | None = None,
    ) -> None:
        self.doc = doc
        self.revision = revision
        self.index = index
        self.only = only
        self.page_numbers = index.page_numbers
        self.visited: set[tuple[int, Role]] = set()
        self.reached_existing: dict[int, set[Role]] = {}

    def walk(self, seeds: list[tuple[Any, Role]]) -> None:
        doc, revision = self.doc, self.revision
        limit = doc.budget.limits.max_pdf_objects
        queue: deque[tuple[Any, Role, bool]] = deque((v, r, True) for v, r in seeds)
        while queue:
            value, role, seed = queue.popleft()
            if not isinstance(value, Ref):
                self._children(value, role, None, queue)
                continue
            num = value.num
            if (num, role) in self.visited:
                continue
            if self.only is not None and not seed and num not in self.only:
                self.reached_existing.setdefault(num, set()).add(role)
                continue
            self.visited.add((num, role))
            if len(self.visited) > 4 * limit:
                raise LimitExceeded("max_pdf_objects", limit, len(self.visited))
            if not doc.exists(num, revision):
                self.index.dangling.setdefault(num, set()).add(role)
                continue
            try:
                target = doc.get(value, revision)
            except PdfSyntaxError:
                self.index.roles.setdefault(num, set()).add(role)
                continue
            if (
                isinstance(target, PdfDict)
                and target.get("Type") in ("Page", "Pages")
                and role.kind not in ("page", "page_tree")
            ):
                continue  # a destination or action naming a page: pages are seeded as such
            if (
                role.kind == "annotation"
                and isinstance(target, PdfDict)
                and target.get("Subtype") == "Widget"
            ):
                role = Role("widget", role.page)
            self.index.roles.setdefault(num, set()).add(role)
            if len(self.visited) % 256 == 0:
                doc.budget.check_time()
            self._children(target, role, num, queue)

    def _children(self, value: Any, role: Role, num: int | None, queue: deque) -> None:
        if isinstance(value, Stream):
            value = value.dict
        if isinstance(value, list):
            for item in value:
                if isinstance(item, Ref | list | PdfDict):
                    queue.append((item, role, False))
            return
        if not isinstance(value, PdfDict):
            return
        kind = role.kind
        if kind == "page" and value.get("Type") == "Pages":
            return  # a page-tree node met as a page: its kids are seeded separately
        for key, child in value.items():
            if key in _BACK_LINKS or not isinstance(child, Ref | list | PdfDict):
                continue
            derived = self._derive(role, num, value, key, child)
            if derived is not None:
                queue.append((child, derived, False))

    def _derive(self, role: Role, num: int | None, parent: PdfDict, key: str, child: Any):
        kind, page = role.kind, role.page
        if kind == "catalog":
            return Role(_CATALOG_CHILDREN.get(key, "other"))
        if kind == "page_tree":
            return None  # pages are seeded with their numbers
        if kind == "page":
            if key == "Contents":
                return Role("page_content", page)
            if key == "Annots":
                return Role("annotation", page)
            if key in ("AA",):
                return Role("action", page)
            return Role("page_resource", page)
        if kind in ("annotation", "widget"):
            if key == "Popup":
                return Role("annotation", page)
            if key in ("A", "AA"):
                return Role("action", page)
            if key == "OC":
                return Role("optional_content", page)
            if key == "V" and parent.get("FT") == "Sig":
                return Role("signature")
            return Role("appearance", page, num if num is not None else role.owner)
        if kind == "acroform":
            if key == "Fields":
                return Role("field")
            if key == "DR":
                return Role("form_resources")
            return Role("acroform")
        if kind == "field":
            if key == "V" and parent.get("FT") == "Sig":
                return Role("signature")
            if key == "AP":
                return Role("appearance", None, num)
            if key in ("A", "AA"):
                return Role("action")
            return Role("field")
        if kind == "perms":
            return Role("signature")
        if kind == "signature":
            # /Data of a signature reference names the document itself: not the signature's.
            return None if key == "Data" else Role("signature")
        if kind == "outline":
            return Role("outline") if key in ("First", "Next") else None
        if kind == "structure":
            return Role("structure") if key in ("K", "ParentTree", "RoleMap", "ClassMap") else None
        return Role(kind, page, role.owner)


def inherited(doc: PdfDocument, page: PdfDict, key: str, revision: int) -> Any:
    """A page attribute that may be inherited from the page tree (Resources, MediaBox, …)."""
    node: PdfDict | None = page
    for _ in range(32):  # the page tree is shallow; a cycle must not loop
        if node is None:
            return None
        if key in node:
            return node[key]
        node = doc.dict_at(node.get("Parent"), revision)
    return None
