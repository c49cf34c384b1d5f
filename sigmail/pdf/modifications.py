"""What changed after each signature, classified and explained (C2: "no disallowed later
change").

Every revision after the first signed one is compared with the revision before it, object by
object, from the cross-reference data: objects the revision wrote (added, rewritten,
freed), objects whose bytes sit in the revision but which its cross-reference section does
not list (what a reader that rebuilds a broken xref would take), and bytes after the last
``%%EOF``. Each change is explained by *what the object is* in the document (see
:mod:`.structure`) and becomes a :class:`~sigmail.verdict.model.ModificationReport`:

benign (warning ``benign_modification``)
    ``dss_added``/``dss_updated`` (LTV material), ``doc_timestamp_added``,
    ``signature_added`` (a new signature, in a new or empty signature field),
    ``signature_field_added`` (an empty signature field),
    ``form_filled`` (an empty field filled), ``annotation_added``/``annotation_modified``/
    ``annotation_removed`` (notes and comments that cover no signed content),
    ``info_updated``, ``metadata_updated``, ``catalog_updated``, ``structure_updated``,
    ``outline_updated``, ``unreferenced_objects``
suspicious (the document is ``invalid``; the reason names the change)
    ``page_content_modified`` (content, resources, fonts, pages added/removed),
    ``appearance_overridden``, ``form_field_replaced`` (a value the signer saw replaced),
    ``object_overlay`` (a visible annotation or widget over signed content; hidden objects
    swapped in; optional content changed), ``appended_without_xref``, ``trailing_data``,
    ``docmdp_violation``, ``fieldmdp_violation``, ``signature_dictionary_modified``,
    ``signature_reused`` (an earlier signature as the value of a new field),
    ``modification_unclassified`` (anything not shown to be harmless)

An object is judged by its role in the revision before (so, ultimately, in the signed one):
a benign explanation claims only new objects that revision did not refer to and earlier
objects whose every role there lies in its own area (:data:`_AREA`); whatever else it
reaches is judged by what it was.

A benign kind is only benign where the certification level in force allows it (DocMDP:
P1 → DSS/VRI and document timestamps; P2 → also form filling and signing; P3 → also
annotations and new fields); otherwise it becomes ``docmdp_violation``. A field locked by
FieldMDP must not change (``fieldmdp_violation``). docs/pdf.md explains why each kind is
classified as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sigmail.pdf.byte_range import Coverage
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.fields import Field, acroform, walk_fields
from sigmail.pdf.objects import PdfDict, PdfString, Ref, Stream, pdf_equal
from sigmail.pdf.overlay import overlaps, painted_area, rect_of
from sigmail.pdf.parser import ObjectParser, PdfSyntaxError
from sigmail.pdf.permissions import UNCERTIFIED, Permissions
from sigmail.pdf.signatures import PdfSignature
from sigmail.pdf.structure import _BACK_LINKS, Role, RoleWalker, StructureIndex, page_list
from sigmail.verdict.model import Finding, ModificationReport

__all__ = ["analyse_modifications"]

BENIGN = "benign"
SUSPICIOUS = "suspicious"

# Benign kinds and the DocMDP level they need (1: allowed even under P1).
_REQUIRES = {
    "dss_added": 1,
    "dss_updated": 1,
    "doc_timestamp_added": 1,
    "info_updated": 1,
    "metadata_updated": 1,
    "catalog_updated": 1,
    "unreferenced_objects": 1,
    "field_locked": 1,
    "signature_added": 2,
    "signature_field_added": 3,
    "form_filled": 2,
    "structure_updated": 2,
    "outline_updated": 3,
    "annotation_added": 3,
    "annotation_modified": 3,
    "annotation_removed": 3,
    "form_field_added": 3,
}

# Catalog keys whose change does not alter what a page shows.
_CATALOG_NEUTRAL = frozenset(
    {
        "Extensions",
        "Version",
        "PieceInfo",
        "Lang",
        "MarkInfo",
        "ViewerPreferences",
        "PageLayout",
        "PageMode",
        "SpiderInfo",
        "LastModified",
        "Type",
    }
)
_CATALOG_BY_ROLE = {
    "DSS": "dss_updated",
    "Metadata": "metadata_updated",
    "StructTreeRoot": "structure_updated",
    "Outlines": "outline_updated",
}
# Page keys whose change does not alter what the page shows.
_PAGE_NEUTRAL = frozenset({"Annots", "LastModified", "PieceInfo", "Tabs", "StructParents", "Type"})
# Annotation keys that are metadata (who, when, the text of a note's pop-up).
_ANNOT_METADATA = frozenset(
    {
        "M",
        "NM",
        "T",
        "Subj",
        "CreationDate",
        "Popup",
        "Open",
        "IRT",
        "RT",
        "State",
        "StateModel",
        "StructParent",
        "TU",
        "Type",
    }
)
# Annotations that never cover page content: notes (an icon), pop-ups, links.
_HARMLESS_SUBTYPES = frozenset({"Text", "Popup", "Link"})
_NOTE_MAX_SIZE = 48.0  # pt: a note icon larger than this is judged like any annotation
# Annotation flags (Table 165): Hidden 2, NoView 32.
_INVISIBLE_FLAGS = 2 | 32
# Flags that change how an annotation is shown (not ReadOnly 64, Locked 128, LockedContents 512).
_VISUAL_FLAGS = 1 | 2 | 4 | 8 | 16 | 32 | 256
_FF_READ_ONLY = 1
# Field keys a change of which is metadata (the tooltip, the border, who and when) …
_FIELD_HARMLESS = frozenset({"TU", "TM", "BS", "Border", "StructParent", "F"}) | (
    _ANNOT_METADATA - {"Type"}
)
# … and keys judged by the value, appearance, flags and structure comparisons.
_FIELD_JUDGED_ELSEWHERE = frozenset(
    {"Kids", "V", "AP", "AS", "Ff", "Type", "Subtype", "Lock", "SV"}
)
_EMPTY_VALUES = (None, "", b"", "Off")


# What a benign explanation may claim of the objects that existed before the revision: objects
# whose roles in the earlier revision (the signed one or later) all lie in the explanation's
# area. Anything else keeps the role it had when signed, whatever refers to it now (a page's
# font rewritten and listed in the DSS is still the page's font).
_FORM_AREA = frozenset({"field", "widget", "appearance", "signature", "acroform"})
_ANNOTATION_AREA = frozenset({"annotation", "widget", "appearance"})
_AREA = {
    "dss_added": frozenset({"dss"}),
    "dss_updated": frozenset({"dss"}),
    "info_updated": frozenset({"info"}),
    "metadata_updated": frozenset({"metadata"}),
    "structure_updated": frozenset({"structure"}),
    "outline_updated": frozenset({"outline"}),
    "catalog_updated": frozenset(),
    "unreferenced_objects": frozenset(),
    "doc_timestamp_added": _FORM_AREA,
    "signature_added": _FORM_AREA,
    "signature_field_added": _FORM_AREA,
    "form_filled": _FORM_AREA,
    "form_field_added": _FORM_AREA,
    "field_locked": _FORM_AREA,
    "annotation_added": _ANNOTATION_AREA,
    "annotation_modified": _ANNOTATION_AREA,
    "annotation_removed": _ANNOTATION_AREA,
}


@dataclass(slots=True)
class Change:
    """One explained change in one revision."""

    kind: str
    code: str  # a reason code: the suspicious kind's, or "benign_modification"
    detail: str
    objects: set[int] = field(default_factory=set)
    pages: set[int] = field(default_factory=set)
    field_name: str | None = None
    area: frozenset[str] | None = None  # benign: the roles it may claim (see _AREA)

    @property
    def benign(self) -> bool:
        return self.code == "benign_modification"


def _benign(kind: str, detail: str, objects=(), pages=(), field_name=None, area=None) -> Change:
    return Change(
        kind,
        "benign_modification",
        detail,
        set(objects),
        set(pages),
        field_name,
        _AREA[kind] if area is None else area,
    )


def _suspicious(code: str, detail: str, objects=(), pages=(), kind: str | None = None) -> Change:
    return Change(kind or code, code, detail, set(objects), set(pages))


def _forward_refs(value: Any, depth: int = 0) -> set[int]:
    """References in ``value``, not following links back up (/Parent, /P, …)."""
    out: set[int] = set()
    if depth > 32:
        return out
    if isinstance(value, Ref):
        out.add(value.num)
    elif isinstance(value, Stream):
        out |= _forward_refs(value.dict, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in _BACK_LINKS:
                out |= _forward_refs(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            out |= _forward_refs(v, depth + 1)
    return out


def _refs_in(value: Any, out: set[int], depth: int = 0) -> set[int]:
    if depth > 32:
        return out
    if isinstance(value, Ref):
        out.add(value.num)
    elif isinstance(value, Stream):
        _refs_in(value.dict, out, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _refs_in(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _refs_in(v, out, depth + 1)
    return out


# -- the revision's own bytes: objects its xref does not list, junk ---------------------------

_XREF_OR_TRAILER = re.compile(rb"(?:xref|trailer|startxref)(?=[\x00\t\n\x0c\r <%])")
_OBJ_HEADER = re.compile(rb"(?<![0-9])\d+[\x00\t\n\x0c\r ]+\d+[\x00\t\n\x0c\r ]+obj(?![A-Za-z])")


@dataclass(slots=True)
class _Body:
    objects: list[tuple[int, int, Any]] = field(default_factory=list)  # (num, offset, value)
    junk: list[tuple[int, int]] = field(default_factory=list)


def _walk_body(doc: PdfDocument, start: int, end: int) -> _Body:
    """Every object written in ``[start, end)``, read sequentially as a rebuilding reader
    would, and the bytes that are neither objects, whitespace, comments nor xref data."""
    src = doc.src
    parser = ObjectParser(src.buf, end=end, max_string=doc.max_decoded)
    body = _Body()
    pos = start
    guard = 0
    while True:
        pos = parser.skip_ws(pos)
        if pos >= end:
            return body
        guard += 1
        if guard % 256 == 0:
            doc.budget.check_time()
        kw = _XREF_OR_TRAILER.match(src.buf, pos, end)
        if kw is not None:
            pos = _skip_xref_data(doc, parser, kw.group(0), kw.end(), end)
            continue
        try:
            ref, value, after = parser.indirect(pos)
            body.objects.append((ref.num, pos, value))
            pos = after
        except PdfSyntaxError:
            nxt = _OBJ_HEADER.search(src.buf, pos + 1, end)
            kw_next = _XREF_OR_TRAILER.search(src.buf, pos + 1, end)
            stop = (
                min(m.start() for m in (nxt, kw_next) if m is not None) if (nxt or kw_next) else end
            )
            body.junk.append((pos, stop))
            pos = stop


def _skip_xref_data(doc: PdfDocument, parser: ObjectParser, word: bytes, pos: int, end: int):
    src = doc.src
    if word == b"startxref":
        m = re.compile(rb"[\x00\t\n\x0c\r ]*\d+").match(src.buf, pos, end)
        return m.end() if m else pos
    if word == b"trailer":
        try:
            _value, after = parser.parse(pos)
            return after
        except PdfSyntaxError:
            return pos
    # "xref": subsection headers and 20-byte entries, up to "trailer"
    at = src.find(b"trailer", pos, end)
    return at if at >= 0 else end


# -- one revision compared with the one before ----------------------------------------------


class _Step:
    """Revision ``new`` compared with revision ``old = new - 1``."""

    def __init__(
        self, doc: PdfDocument, new: int, level: int | None, locks, sigs: Sequence[PdfSignature]
    ):
        self.doc = doc
        self.old = new - 1
        self.new = new
        self.certified = level is not None
        self.level = UNCERTIFIED if level is None else level  # DocMDP level in force
        self.locks = locks  # FieldMDP locks in force
        # /Contents of every signature made before this revision, and where it is.
        self.earlier_contents: dict[bytes, str] = {}
        for sig in sigs:
            if sig.home <= self.old and sig.contents:
                self.earlier_contents.setdefault(sig.contents, sig.label)
        self.changes: list[Change] = []
        self.explained: set[int] = set()
        self._old_index: StructureIndex | None = None
        self._old_pages: list[Ref] | None = None
        self._new_pages: list[Ref] | None = None
        self._old_fields: dict[str, Field] | None = None
        self._new_fields: dict[str, Field] | None = None
        self.added: set[int] = set()
        self.rewritten: set[int] = set()
        self.deleted: set[int] = set()
        self.unreadable: dict[int, str] = {}

    # -- lazily computed views -------------------------------------------------------------

    @property
    def old_index(self) -> StructureIndex:
        if self._old_index is None:
            self._old_index = StructureIndex.build(self.doc, self.old)
        return self._old_index

    @property
    def old_pages(self) -> list[Ref]:
        if self._old_pages is None:
            self._old_pages = page_list(self.doc, self.old)
        return self._old_pages

    @property
    def new_pages(self) -> list[Ref]:
        if self._new_pages is None:
            self._new_pages = page_list(self.doc, self.new)
        return self._new_pages

    @property
    def old_fields(self) -> dict[str, Field]:
        if self._old_fields is None:
            self._old_fields = {f.name: f for f in walk_fields(self.doc, self.old)}
        return self._old_fields

    @property
    def new_fields(self) -> dict[str, Field]:
        if self._new_fields is None:
            self._new_fields = {f.name: f for f in walk_fields(self.doc, self.new)}
        return self._new_fields

    def widgets_of(self, fields: dict[str, Field]) -> dict[int, Field]:
        """The widget annotations (object numbers) of ``fields``, and whose they are."""
        return {w.num: f for f in fields.values() for w in (f.ref, *f.widgets) if w is not None}

    def page_number(self, num: int) -> int | None:
        for i, ref in enumerate(self.old_pages, 1):
            if ref.num == num:
                return i
        for i, ref in enumerate(self.new_pages, 1):
            if ref.num == num:
                return i
        return None

    def get_old(self, value: Any) -> Any:
        try:
            return self.doc.resolve(value, self.old)
        except PdfSyntaxError:
            return None

    def get_new(self, value: Any) -> Any:
        try:
            return self.doc.resolve(value, self.new)
        except PdfSyntaxError:
            return None

    def same(self, a: Any, b: Any) -> bool:
        return pdf_equal(a, b, self.doc.raw)

    def add(self, change: Change) -> None:
        if change.benign:
            change.objects = self.claimable(change.objects, change.area or frozenset())
        self.changes.append(change)
        self.explained |= change.objects

    def claimable(self, objects: set[int], area: frozenset[str]) -> set[int]:
        """The objects a benign explanation in ``area`` may account for: new objects the
        earlier revision did not already refer to, and earlier objects whose every role
        there lies in ``area`` (an appearance only as that of one of ``objects``). What is
        left out is judged by what it was (:meth:`_rest`)."""
        changed = self.added | self.rewritten | self.deleted
        if not objects & changed:
            return objects
        index = self.old_index
        out = set()
        for num in objects:
            if num in self.added:
                if num in index.dangling:
                    continue  # the signed revision referred to it: content swapped in
            elif num in changed:
                roles = index.roles.get(num, ())
                if not all(
                    r.kind in area
                    and (r.kind != "appearance" or r.owner is None or r.owner in objects)
                    for r in roles
                ):
                    continue
            out.add(num)
        return out

    # -- what the revision wrote -----------------------------------------------------------

    def collect(self) -> None:
        doc = self.doc
        entries = doc.revision(self.new).entries
        for num, entry in entries.items():
            before = doc.entry(num, self.old)
            if before == entry:
                continue
            was = before is not None and before[0] != 0
            now = entry[0] != 0
            if not was and not now:
                continue
            if not now:
                self.deleted.add(num)
                continue
            try:
                new_value = doc.get(num, self.new)
            except PdfSyntaxError as exc:
                self.unreadable[num] = exc.detail
                new_value = None
            structural = isinstance(new_value, Stream) and new_value.dict.get("Type") in (
                "XRef",
                "ObjStm",
            )
            if structural and (not was or not isinstance(self.get_old(Ref(num)), Stream)):
                self.explained.add(num)  # file structure: its objects are listed anyway
                continue
            if not was:
                self.added.add(num)
                continue
            old_value = self.get_old(Ref(num))
            if num not in self.unreadable and self.same(old_value, new_value):
                continue  # rewritten with the same value (a full-rewrite xref, say)
            self.rewritten.add(num)
            if isinstance(old_value, Stream) and old_value.dict.get("Type") == "ObjStm":
                self._objstm_members(num)

    def _objstm_members(self, stm: int) -> None:
        """Objects still inside a rewritten object stream whose values changed with it."""
        doc = self.doc
        for r in range(1, self.old + 1):
            for num, entry in doc.revision(r).entries.items():
                if entry[0] == 2 and entry[1] == stm and doc.entry(num, self.new) == entry:
                    if num in self.rewritten or num in self.added:
                        continue
                    if not self.same(self.get_old(Ref(num)), self.get_new(Ref(num))):
                        self.rewritten.add(num)

    # -- explanations, cheapest first --------------------------------------------------------

    def run(self) -> list[Change]:
        self.collect()
        for num, why in self.unreadable.items():
            self.rewritten.discard(num)
            self.added.discard(num)
            self._unreadable(num, why)
        self._trailer()
        self._catalog()
        self._form()
        self._pages()
        self._rest()
        return self.changes

    def _unreadable(self, num: int, why: str) -> None:
        if not self.doc.exists(num, self.old):
            self.add(
                _suspicious(
                    "modification_unclassified",
                    f"revision {self.new} lists object {num} where there is no such object ({why})",
                    [num],
                )
            )
            return
        roles = self.old_index.roles.get(num, set())
        code, what = _code_for_roles(roles)
        self.add(
            _suspicious(
                code,
                f"object {num} ({what}) is replaced by bytes that are not that object: "
                f"readers that do not check object headers show something else ({why})",
                [num],
                _pages_of(roles),
            )
        )

    def _trailer(self) -> None:
        old_t = self.doc.revision(self.old).trailer
        new_t = self.doc.revision(self.new).trailer
        if old_t.get("Info") != new_t.get("Info") or (
            isinstance(new_t.get("Info"), Ref) and new_t["Info"].num in self.rewritten | self.added
        ):
            info = new_t.get("Info")
            objs = {info.num} if isinstance(info, Ref) else set()
            objs |= _refs_in(self.get_new(info), set()) & self.added
            self.add(_benign("info_updated", "the document information was updated", objs))
        if "Encrypt" in new_t and not self.same(old_t.get("Encrypt"), new_t.get("Encrypt")):
            self.add(_suspicious("modification_unclassified", "encryption was changed"))

    def _catalog(self) -> None:
        old_root = self.doc.revision(self.old).trailer.get("Root")
        new_root = self.doc.revision(self.new).trailer.get("Root")
        old_cat = self.get_old(old_root)
        new_cat = self.get_new(new_root)
        if not isinstance(old_cat, PdfDict) or not isinstance(new_cat, PdfDict):
            self.add(_suspicious("modification_unclassified", "the document catalog is missing"))
            return
        root_nums = {r.num for r in (old_root, new_root) if isinstance(r, Ref)}
        self.explained |= root_nums & (self.rewritten | self.added)
        for key in sorted(old_cat.keys() | new_cat.keys()):
            before, after = old_cat.get(key), new_cat.get(key)
            if self.same(before, after) and not self._subtree_touched(after, key):
                continue
            self._catalog_key(key, before, after)

    def _subtree_touched(self, value: Any, key: str) -> bool:
        """Whether an indirect catalog entry's own object was rewritten (its content)."""
        return isinstance(value, Ref) and value.num in self.rewritten | self.added

    def _new_objects_under(self, value: Any) -> set[int]:
        """Objects this revision wrote that hang below ``value`` (``value`` itself included),
        following forward links only, through objects this revision wrote."""
        changed = self.added | self.rewritten
        out: set[int] = set()
        queue = [value]
        while queue:
            item = queue.pop()
            if isinstance(item, Ref):
                if item.num not in changed or item.num in out:
                    continue
                out.add(item.num)
                item = self.get_new(item)
            for num in _forward_refs(item):
                if num in changed and num not in out:
                    queue.append(Ref(num))
        return out

    def _catalog_key(self, key: str, before: Any, after: Any) -> None:
        if key == "AcroForm":
            return  # compared with the fields in _form
        if key == "Pages":
            return  # compared page by page in _pages
        if key == "DSS":
            objs = self._new_objects_under(after) if after is not None else set()
            kind = "dss_added" if before is None else "dss_updated"
            if after is None:
                self.add(_suspicious("modification_unclassified", "the DSS was removed"))
                return
            self.add(_benign(kind, "validation material (DSS/VRI) was added", objs))
            return
        if key in _CATALOG_BY_ROLE and after is not None:
            objs = self._new_objects_under(after)
            self.add(_benign(_CATALOG_BY_ROLE[key], f"/{key} was updated", objs))
            return
        if key in _CATALOG_NEUTRAL:
            self.add(_benign("catalog_updated", f"the catalog's /{key} was updated"))
            return
        if key == "Perms":
            detail = (
                "a certification (/Perms) was added to a document that was already signed: "
                "only the first signature may certify"
                if before is None
                else "the document permissions (/Perms, the certification) were changed"
            )
            self.add(_suspicious("docmdp_violation", detail))
            return
        if key == "OCProperties":
            self.add(
                _suspicious(
                    "object_overlay",
                    "optional content (layers that show or hide content) was changed",
                    self._new_objects_under(after),
                )
            )
            return
        if key == "Names":
            self._names(before, after)
            return
        what = {"OpenAction": "an action run on opening", "AA": "document actions"}.get(
            key, f"the catalog entry /{key}"
        )
        self.add(
            _suspicious(
                "modification_unclassified",
                f"{what} was {'added' if before is None else 'changed'}",
                self._new_objects_under(after) if after is not None else (),
            )
        )

    def _names(self, before: Any, after: Any) -> None:
        old = self.get_old(before) if before is not None else None
        new = self.get_new(after) if after is not None else None
        old = old if isinstance(old, PdfDict) else PdfDict()
        new = new if isinstance(new, PdfDict) else PdfDict()
        for key in sorted(old.keys() | new.keys()):
            if self.same(self.get_old(old.get(key)), self.get_new(new.get(key))):
                continue
            objs = self._new_objects_under(new.get(key)) if key in new else set()
            if isinstance(after, Ref):
                objs.add(after.num)
            if key == "AP":
                # Named appearance streams (annotation icons): judged with the annotations.
                self.add(
                    _benign(
                        "annotation_added",
                        "named appearances were added",
                        objs,
                        area=frozenset({"names"}),
                    )
                )
            else:
                self.add(
                    _suspicious(
                        "modification_unclassified",
                        f"the /{key} name tree was changed"
                        + (" (embedded files)" if key == "EmbeddedFiles" else "")
                        + (" (JavaScript)" if key == "JavaScript" else ""),
                        objs,
                    )
                )

    # -- the form --------------------------------------------------------------------------

    def _form(self) -> None:
        doc = self.doc
        old_form = acroform(doc, self.old)
        new_form = acroform(doc, self.new)
        if old_form is None and new_form is None:
            return
        cat_old = doc.catalog(self.old) or PdfDict()
        cat_new = doc.catalog(self.new) or PdfDict()
        for value in (cat_old.get("AcroForm"), cat_new.get("AcroForm")):
            if isinstance(value, Ref):
                self.explained.add(value.num)
        old_form = old_form or PdfDict()
        new_form = new_form or PdfDict()
        for key in sorted(old_form.keys() | new_form.keys()):
            if key == "Fields":
                continue
            before, after = old_form.get(key), new_form.get(key)
            if self.same(self.get_old(before), self.get_new(after)):
                continue
            if key == "SigFlags":
                self.add(_benign("signature_added", "/SigFlags was updated"))
            elif key == "NeedAppearances":
                if after is True:
                    self.add(
                        _suspicious(
                            "appearance_overridden",
                            "/NeedAppearances was set: viewers redraw every field from its "
                            "value instead of showing the signed appearance",
                        )
                    )
            elif key == "DR":
                self._default_resources(before, after)
            elif key in ("DA", "Q"):
                self.add(_benign("form_filled", f"the form's default /{key} was updated"))
            else:
                self.add(_suspicious("modification_unclassified", f"the form's /{key} was changed"))
        self._fields()

    def _default_resources(self, before: Any, after: Any) -> None:
        old = self.get_old(before)
        new = self.get_new(after)
        old = old if isinstance(old, PdfDict) else PdfDict()
        new = new if isinstance(new, PdfDict) else PdfDict()
        objs = self._new_objects_under(after) if after is not None else set()
        if isinstance(after, Ref):
            objs.add(after.num)
        for category in old.keys() | new.keys():
            a = self.get_old(old.get(category))
            b = self.get_new(new.get(category))
            if isinstance(a, PdfDict) and isinstance(b, PdfDict):
                for name in a.keys() & b.keys():
                    if not self.same(self.get_old(a[name]), self.get_new(b[name])):
                        self.add(
                            _suspicious(
                                "appearance_overridden",
                                f"the form's default resource /{category}/{name} was replaced",
                                objs,
                            )
                        )
                        return
                if a.keys() - b.keys():
                    self.add(
                        _suspicious(
                            "appearance_overridden",
                            f"default resources /{category} were removed",
                            objs,
                        )
                    )
                    return
        self.add(
            _benign(
                "form_filled",
                "default resources were added to the form",
                objs,
                area=frozenset({"form_resources"}),
            )
        )

    def _fields(self) -> None:
        old_fields, new_fields = self.old_fields, self.new_fields
        for name in sorted(old_fields.keys() | new_fields.keys()):
            before, after = old_fields.get(name), new_fields.get(name)
            if after is None:
                self._field_removed(before)
            elif before is None:
                self._field_added(after)
            else:
                self._field_changed(before, after)

    def _field_objects(self, f: Field, *, new: bool) -> set[int]:
        """The field's own objects (field, widgets) and, in the new revision, what it wrote
        below them (appearances, a signature dictionary)."""
        objs = {r.num for r in (f.ref, *f.widgets) if isinstance(r, Ref)}
        if new:
            for w in (f.ref, *f.widgets):
                d = self.get_new(w) if isinstance(w, Ref) else None
                if isinstance(d, PdfDict):
                    for key in ("AP", "V", "MK", "Lock", "SV", "Kids"):
                        if key in d:
                            objs |= self._new_objects_under(d[key])
        return objs

    def _field_removed(self, f: Field) -> None:
        objs = self._field_objects(f, new=False)
        if f.field_type == "Sig":
            self.add(
                _suspicious(
                    "signature_dictionary_modified",
                    f"the signature field {f.name!r} was removed from the form",
                    objs,
                )
            )
        else:
            self.add(
                _suspicious("form_field_replaced", f"the form field {f.name!r} was removed", objs)
            )

    def _field_added(self, f: Field) -> None:
        objs = self._field_objects(f, new=True)
        if f.field_type == "Sig":
            sig = self.get_new(f.value)
            if self._signature_reused(f.name, f.value, sig, objs):
                return
            if isinstance(sig, PdfDict) and (
                sig.get("Type") == "DocTimeStamp" or sig.get("SubFilter") == "ETSI.RFC3161"
            ):
                self.add(
                    _benign(
                        "doc_timestamp_added", f"document timestamp {f.name!r}", objs, (), f.name
                    )
                )
            elif sig is not None:
                self.add(_benign("signature_added", f"signature {f.name!r}", objs, (), f.name))
            else:
                self.add(
                    _benign(
                        "signature_field_added",
                        f"an empty signature field {f.name!r} was added",
                        objs,
                        (),
                        f.name,
                    )
                )
        else:
            self.add(
                _benign("form_field_added", f"form field {f.name!r} was added", objs, (), f.name)
            )

    def _signature_reused(self, name: str, value: Any, sig: Any, objs: set[int]) -> bool:
        """Whether the value a signature field gets in this revision is a signature made
        before it (the same dictionary, or a copy of its /Contents): an old signature shown
        as a new one, in another place."""
        contents = _contents_of(sig)
        earlier = self.earlier_contents.get(contents) if contents else None
        detail = None
        if isinstance(value, Ref) and self.doc.exists(value.num, self.old):
            what = f"the signature of {earlier!r}" if earlier else "an object that existed before"
            detail = (
                f"the signature field {name!r} takes as its value object {value.num}, {what}: "
                "an existing signature is shown as a new one"
            )
        elif earlier is not None:
            detail = (
                f"the signature in field {name!r} has the /Contents of the signature of "
                f"{earlier!r}: a signature value copied into a new signature dictionary"
            )
        if detail is None:
            return False
        self.add(_suspicious("signature_reused", detail, objs))
        return True

    def _appearance(self, f: Field, *, new: bool) -> Any:
        """The field's appearance dictionaries (of the field and its widgets), resolved one
        level, to compare what is shown."""
        get = self.get_new if new else self.get_old
        out = []
        for w in (f.ref, *f.widgets):
            d = get(w) if isinstance(w, Ref) else f.dict
            if not isinstance(d, PdfDict):
                continue
            ap = get(d.get("AP"))
            shown = {}
            if isinstance(ap, PdfDict):
                for k in ("N", "D", "R"):
                    v = get(ap.get(k))
                    if isinstance(v, PdfDict):
                        v = {s: get(x) for s, x in v.items()}
                    shown[k] = v
            flags = d.get("F", 0)
            visual = flags & _VISUAL_FLAGS if isinstance(flags, int) else flags
            out.append((shown, d.get("AS"), d.get("Rect"), visual, d.get("MK")))
        return out

    def _field_changed(self, before: Field, after: Field) -> None:
        objs_old = self._field_objects(before, new=False)
        objs_new = self._field_objects(after, new=True)
        touched = (objs_old | objs_new) & (self.rewritten | self.added | self.deleted)
        old_value = self.get_old(before.value)
        new_value = self.get_new(after.value)
        value_changed = not self.same(old_value, new_value)
        appearance_changed = not self.same(
            self._appearance(before, new=False), self._appearance(after, new=True)
        )
        if not touched and not value_changed and not appearance_changed:
            return
        # Appearance streams that belong to this field, rewritten in place.
        for w in (before.ref, *before.widgets):
            d = self.get_old(w) if isinstance(w, Ref) else None
            if isinstance(d, PdfDict):
                objs_old |= _refs_in(self.get_old(d.get("AP")), set()) & self.rewritten
                if isinstance(d.get("AP"), Ref):
                    objs_old.add(d["AP"].num)
        objs = (objs_old | objs_new) & (self.rewritten | self.added | self.deleted)
        objs |= touched
        name = after.name
        shared = self._shared_appearance(before, after) if appearance_changed else None
        if shared is not None:
            self.add(
                _suspicious(
                    "appearance_overridden",
                    f"field {name!r} got a new appearance, but its previous appearance "
                    f"{shared}: the change is not confined to the field",
                    objs,
                )
            )
            return
        structural = self._field_structure(before, after, objs)
        if after.field_type == "Sig":
            if value_changed and old_value is None:
                sig = new_value if isinstance(new_value, PdfDict) else PdfDict()
                if self._signature_reused(name, after.value, new_value, objs):
                    return
                kind = (
                    "doc_timestamp_added"
                    if sig.get("Type") == "DocTimeStamp" or sig.get("SubFilter") == "ETSI.RFC3161"
                    else "signature_added"
                )
                self.add(
                    _benign(kind, f"the empty signature field {name!r} was signed", objs, (), name)
                )
            elif value_changed:
                self.add(
                    _suspicious(
                        "signature_dictionary_modified",
                        f"the signature field {name!r} now holds a different signature dictionary",
                        objs,
                    )
                )
            elif appearance_changed:
                self.add(
                    _suspicious(
                        "appearance_overridden",
                        f"the appearance of signature field {name!r} was replaced",
                        objs,
                    )
                )
            elif touched:
                self._field_metadata(before, after, objs, structural)
            return
        if value_changed:
            if (
                old_value in _EMPTY_VALUES
                or old_value == []
                or (isinstance(old_value, PdfString) and not bytes(old_value).strip())
            ):
                self.add(
                    _benign("form_filled", f"the empty field {name!r} was filled", objs, (), name)
                )
            else:
                self.add(
                    _suspicious(
                        "form_field_replaced",
                        f"the value of field {name!r} that the signer saw was replaced"
                        + (" together with its appearance" if appearance_changed else ""),
                        objs,
                        kind="form_field_replaced",
                    )
                )
                self.changes[-1].field_name = name
        elif appearance_changed:
            self.add(
                _suspicious(
                    "appearance_overridden",
                    f"the appearance of field {name!r} was replaced while its value did not change",
                    objs,
                )
            )
        elif touched:
            self._field_metadata(before, after, objs, structural)

    def _appearance_objects(self, f: Field, *, new: bool) -> set[int]:
        get = self.get_new if new else self.get_old
        out: set[int] = set()
        for w in (f.ref, *f.widgets):
            d = get(w) if isinstance(w, Ref) else f.dict
            if not isinstance(d, PdfDict):
                continue
            ap = d.get("AP")
            if isinstance(ap, Ref):
                out.add(ap.num)
            ap = get(ap)
            if isinstance(ap, PdfDict):
                for k in ("N", "D", "R"):
                    v = ap.get(k)
                    if isinstance(v, Ref):
                        out.add(v.num)
                    v = get(v)
                    if isinstance(v, PdfDict):
                        out |= {x.num for x in v.values() if isinstance(x, Ref)}
        return out

    def _shared_appearance(self, before: Field, after: Field) -> str | None:
        """How the appearance objects a field gave up (or rewrote) are used elsewhere, if they
        are: changing or re-pointing a shared appearance changes more than the field."""
        old_objs = self._appearance_objects(before, new=False)
        if not old_objs:
            return None
        new_objs = self._appearance_objects(after, new=True)
        concerned = (old_objs - new_objs) | (old_objs & self.rewritten)
        if not concerned:
            return None
        owners = {r.num for r in (before.ref, *before.widgets) if isinstance(r, Ref)}
        index = self.old_index
        for num in sorted(concerned):
            others = {
                role
                for role in index.roles.get(num, set())
                if not (role.kind == "appearance" and role.owner in owners)
            }
            if others:
                where = "; ".join(sorted(r.describe() for r in others))
                return f"(object {num}) is also {where}"
        return None

    def _changed_keys(self, before: PdfDict, after: PdfDict) -> set[str]:
        """Keys whose values differ, indirect values compared as resolved (a rewritten
        /Lock object is a changed /Lock); links back up or to the page compared as given."""
        out = set()
        for key in before.keys() | after.keys():
            a, b = before.get(key), after.get(key)
            if key not in _BACK_LINKS:
                a, b = self.get_old(a), self.get_new(b)
            if not self.same(a, b):
                out.add(key)
        return out

    def _kept_widgets(self, before: Field, after: Field) -> list[tuple[PdfDict, PdfDict]]:
        """(old, new) dictionaries of the widgets a field keeps that are not the field."""
        kept = {w.num for w in after.widgets if w is not None}
        out = []
        for w in before.widgets:
            if w is None or w == before.ref or w.num not in kept:
                continue
            a, b = self.get_old(w), self.get_new(w)
            if isinstance(a, PdfDict) and isinstance(b, PdfDict):
                out.append((a, b))
        return out

    def _field_structure(self, before: Field, after: Field, objs: set[int]) -> bool:
        """What no filling in or signing does to a field that existed: its widgets (/Kids)
        replaced, its /Type (or a widget's) changed, its lock (/Lock: FieldMDP) or seed
        values (/SV) changed. Reports each; whether there was any."""
        name = after.name
        keys = self._changed_keys(before.dict, after.dict)
        found = []
        old_widgets = [w.num if w else None for w in before.widgets]
        new_widgets = [w.num if w else None for w in after.widgets]
        if old_widgets != new_widgets or "Kids" in keys:
            found.append(
                _suspicious(
                    "form_field_replaced",
                    f"the widgets (/Kids) of field {name!r} were replaced",
                    objs,
                )
            )
        pairs = [(before.dict, after.dict), *self._kept_widgets(before, after)]
        for a, b in pairs:
            for key in ("Type", "Subtype"):
                was, now = a.get(key), b.get(key)
                # /Type /Annot may be added to a widget that lacked it (ISO 32000 Table 166).
                if was != now and not (key == "Type" and was is None and now == "Annot"):
                    found.append(
                        _suspicious(
                            "form_field_replaced",
                            f"the /{key} of field {name!r} changed ({_name(was)} → {_name(now)})",
                            objs,
                        )
                    )
        if "Lock" in keys:
            found.append(
                _suspicious(
                    "fieldmdp_violation",
                    f"the lock (/Lock, FieldMDP) of field {name!r} was changed",
                    objs,
                )
            )
        if "SV" in keys:
            found.append(
                _suspicious(
                    "modification_unclassified",
                    f"the seed values (/SV) of signature field {name!r} were changed",
                    objs,
                )
            )
        for change in found:
            self.add(change)
        return bool(found)

    def _field_metadata(
        self, before: Field, after: Field, objs: set[int], structural: bool = False
    ) -> None:
        changed = self._changed_keys(before.dict, after.dict)
        for a, b in self._kept_widgets(before, after):
            changed |= self._changed_keys(a, b) - {"MK", "Rect"}  # compared as the appearance
        harmless = _FIELD_HARMLESS | _FIELD_JUDGED_ELSEWHERE
        if after.flags == before.flags | _FF_READ_ONLY and before.flags != after.flags:
            self.add(_benign("field_locked", f"field {after.name!r} was made read-only", objs))
        elif before.flags != after.flags:
            self.add(
                _suspicious(
                    "form_field_replaced",
                    f"the flags of field {after.name!r} changed ({before.flags} → {after.flags})",
                    objs,
                )
            )
        elif changed - harmless:
            self.add(
                _suspicious(
                    "modification_unclassified",
                    f"field {after.name!r} changed: /{', /'.join(sorted(changed))}",
                    objs,
                )
            )
        elif not structural:
            self.add(
                _benign(
                    "form_filled", f"field {after.name!r} metadata updated", objs, (), after.name
                )
            )

    # -- pages and annotations -------------------------------------------------------------

    def _pages_touched(self) -> bool:
        cat_old = self.doc.catalog(self.old) or PdfDict()
        cat_new = self.doc.catalog(self.new) or PdfDict()
        if not self.same(cat_old.get("Pages"), cat_new.get("Pages")):
            return True
        for num in self.rewritten | self.deleted:
            value = self.get_old(Ref(num))
            if isinstance(value, PdfDict) and value.get("Type") in ("Page", "Pages"):
                return True
            if isinstance(value, list) and value and all(isinstance(v, Ref) for v in value):
                return True  # perhaps an indirect /Annots or /Kids array
        return False

    def _pages(self) -> None:
        if not self._pages_touched():
            return
        old_pages, new_pages = self.old_pages, self.new_pages
        if [r.num for r in old_pages] != [r.num for r in new_pages]:
            gone = [i for i, r in enumerate(old_pages, 1) if r not in new_pages]
            came = [i for i, r in enumerate(new_pages, 1) if r not in old_pages]
            detail = f"the pages changed: {len(old_pages)} page(s) signed, {len(new_pages)} now"
            if gone and len(gone) == len(came) and len(old_pages) == len(new_pages):
                detail += f"; page(s) {', '.join(map(str, gone))} replaced by other page objects"
            else:
                if gone:
                    detail += f"; removed: page(s) {', '.join(map(str, gone))}"
                if came:
                    detail += f"; added: page(s) {', '.join(map(str, came))}"
            if not gone and not came:
                detail += "; the pages were reordered"
            self.add(
                _suspicious(
                    "page_content_modified",
                    detail,
                    {r.num for r in new_pages if r not in old_pages} | self._page_tree_objects(),
                    gone,
                )
            )
        for number, ref in enumerate(old_pages, 1):
            if ref not in new_pages:
                continue
            old_page, new_page = self.get_old(ref), self.get_new(ref)
            if not isinstance(old_page, PdfDict) or not isinstance(new_page, PdfDict):
                continue
            changed = sorted(
                k
                for k in old_page.keys() | new_page.keys()
                if not self.same(old_page.get(k), new_page.get(k))
            )
            if ref.num in self.rewritten:
                self.explained.add(ref.num)
            content_keys = [k for k in changed if k not in _PAGE_NEUTRAL]
            if content_keys:
                self.add(
                    _suspicious(
                        "page_content_modified",
                        f"page {number}'s /{', /'.join(content_keys)} changed",
                        {ref.num} | self._new_objects_under(new_page),
                        [number],
                    )
                )
                continue
            self._annotations(number, ref, old_page, new_page)

    def _page_tree_objects(self) -> set[int]:
        out = set()
        for num in self.rewritten | self.added:
            value = self.get_new(Ref(num))
            if isinstance(value, PdfDict) and value.get("Type") == "Pages":
                out.add(num)
        return out

    def _annot_list(self, page: PdfDict, *, new: bool) -> list:
        get = self.get_new if new else self.get_old
        annots = get(page.get("Annots"))
        return list(annots) if isinstance(annots, list) else []

    def _annotations(self, number: int, ref: Ref, old_page: PdfDict, new_page: PdfDict) -> None:
        for holder in (old_page.get("Annots"), new_page.get("Annots")):
            if isinstance(holder, Ref):
                self.explained.add(holder.num)
        before = self._annot_list(old_page, new=False)
        after = self._annot_list(new_page, new=True)
        before_nums = {a.num for a in before if isinstance(a, Ref)}
        after_nums = {a.num for a in after if isinstance(a, Ref)}
        painted: list | None = None
        for a in after:
            if not isinstance(a, Ref):
                self.add(
                    _suspicious("object_overlay", f"a direct annotation was added to page {number}")
                )
                continue
            if a.num in before_nums:
                if a.num in self.rewritten:
                    self._annotation_changed(number, a)
                continue
            if painted is None:
                painted = self._painted(ref, before)
            self._annotation_added(number, a, painted)
        for a in before:
            if isinstance(a, Ref) and a.num not in after_nums:
                self._annotation_removed(number, a)

    def _painted(self, page_ref: Ref, annots_before: list) -> list:
        """What the signer saw on the page: its painted area and the annotations on it."""
        rects = list(painted_area(self.doc, page_ref, self.old))
        for a in annots_before:
            d = self.get_old(a)
            if isinstance(d, PdfDict) and not _invisible(d):
                r = rect_of(self.get_old(d.get("Rect")))
                if r is not None:
                    rects.append(r)
        return rects

    def _annotation_added(self, number: int, a: Ref, painted: list) -> None:
        d = self.get_new(a)
        if not isinstance(d, PdfDict):
            return
        objs = {a.num} | self._new_objects_under(a)
        subtype = str(d.get("Subtype", "?"))
        rect = rect_of(self.get_new(d.get("Rect")))
        visible = not _invisible(d) and rect is not None and rect[2] > rect[0] and rect[3] > rect[1]
        covers = visible and any(overlaps(rect, p) for p in painted)
        where = f"page {number}"
        if subtype == "Widget" and a.num in self.widgets_of(self.new_fields):
            is_sig = d.get("FT") == "Sig" or (
                isinstance(self.get_new(d.get("Parent")), PdfDict)
                and self.get_new(d.get("Parent")).get("FT") == "Sig"
            )
            # The widget's field is judged in _form; here only whether it covers content.
            if covers and (self.certified or not is_sig):
                what = "signature appearance" if is_sig else "form field"
                self.add(
                    _suspicious(
                        "object_overlay",
                        f"a new {what} on {where} covers content the signer saw "
                        f"(rectangle {_fmt(rect)})",
                        objs,
                        [number],
                    )
                )
            else:
                self.explained |= self.claimable(objs, _FORM_AREA)
            return
        size_ok = (
            rect is not None
            and (rect[2] - rect[0]) <= _NOTE_MAX_SIZE
            and (rect[3] - rect[1]) <= _NOTE_MAX_SIZE
        )
        if subtype in ("Popup", "Link") or (subtype == "Text" and size_ok) or not visible:
            kind = "annotation_added"
            what = {"Text": "a note", "Popup": "a pop-up", "Link": "a link"}.get(
                subtype, f"a hidden {subtype} annotation"
            )
            self.add(_benign(kind, f"{what} was added on {where}", objs, [number]))
            return
        if covers:
            self.add(
                _suspicious(
                    "object_overlay",
                    f"a {subtype} annotation added on {where} covers content the signer saw "
                    f"(rectangle {_fmt(rect)})",
                    objs,
                    [number],
                )
            )
            if self.level < _REQUIRES["annotation_added"]:
                # Also say that the certification does not allow annotations at all.
                self.add(_benign("annotation_added", f"a {subtype} annotation on {where}", objs))
        else:
            self.add(
                _benign(
                    "annotation_added",
                    f"a {subtype} annotation was added on {where} where nothing was shown "
                    f"(rectangle {_fmt(rect)})",
                    objs,
                    [number],
                )
            )

    def _annotation_changed(self, number: int, a: Ref, *, widgets_too: bool = False) -> None:
        before, after = self.get_old(a), self.get_new(a)
        if not isinstance(before, PdfDict) or not isinstance(after, PdfDict):
            return
        if before.get("Subtype") == "Widget" and not widgets_too:
            return  # judged with its field in _form
        changed = sorted(
            k for k in before.keys() | after.keys() if not self.same(before.get(k), after.get(k))
        )
        objs = {a.num} | self._new_objects_under(after)
        for key in ("AP",):  # appearance streams rewritten in place count as the annotation's
            objs |= _refs_in(self.get_old(before.get(key)), set()) & self.rewritten
        shows = set(changed) - _ANNOT_METADATA
        if "F" in shows and _visual(before) == _visual(after):
            shows.discard("F")
        rewritten_ap = sorted(objs & self.rewritten - {a.num})
        if before.get("Subtype") in ("Text", "Popup") and shows <= {"Contents"}:
            shows = set()  # a note's text is shown only in its pop-up
        if rewritten_ap:
            shows.add(f"AP (stream {', '.join(map(str, rewritten_ap))} rewritten)")
        if not shows:
            self.add(
                _benign(
                    "annotation_modified",
                    f"an annotation on page {number} was edited",
                    objs,
                    [number],
                )
            )
        elif (_invisible(before) and not _invisible(after)) or "OC" in shows:
            self.add(
                _suspicious(
                    "object_overlay",
                    f"a hidden annotation on page {number} was made visible",
                    objs,
                    [number],
                )
            )
        elif _shown(before) and not _shown(after):
            self.add(
                _suspicious(
                    "object_overlay",
                    f"an annotation the signer saw on page {number} was emptied or hidden: "
                    "whatever it covered is shown now",
                    objs,
                    [number],
                )
            )
        else:
            self.add(
                _suspicious(
                    "appearance_overridden",
                    f"an annotation the signer saw on page {number} changed: "
                    f"/{', /'.join(sorted(shows))}",
                    objs,
                    [number],
                )
            )

    def _annotation_removed(self, number: int, a: Ref) -> None:
        d = self.get_old(a)
        if not isinstance(d, PdfDict):
            return
        subtype = str(d.get("Subtype", "?"))
        owner = self.widgets_of(self.old_fields).get(a.num) if subtype == "Widget" else None
        if owner is not None:
            if owner.name not in self.new_fields:
                self.explained.add(a.num)  # the field's removal is reported with the form
                return
            sig = owner.field_type == "Sig"
            self.add(
                _suspicious(
                    "signature_dictionary_modified" if sig else "form_field_replaced",
                    f"the widget of {'signature ' if sig else ''}field {owner.name!r} was removed "
                    f"from page {number} (the field stays in the form)",
                    [a.num],
                    [number],
                    kind="annotation_removed",
                )
            )
            return
        if subtype in _HARMLESS_SUBTYPES or not _shown(d):
            self.add(
                _benign(
                    "annotation_removed",
                    f"a {subtype} annotation was removed from page {number}",
                    [a.num],
                    [number],
                )
            )
        else:
            self.add(
                _suspicious(
                    "object_overlay",
                    f"a visible {subtype} annotation the signer saw was removed from page "
                    f"{number}: whatever it covered is shown now",
                    [a.num],
                    [number],
                    kind="annotation_removed",
                )
            )

    # -- everything else, by what the object is ------------------------------------------------

    def _rest(self) -> None:
        rest_old = (self.rewritten | self.deleted) - self.explained
        if rest_old:
            index = self.old_index
            for num in sorted(rest_old):
                if num in self.explained:
                    continue
                roles = index.roles.get(num, set())
                self._by_role(num, roles, deleted=num in self.deleted)
        orphans = self.added - self.explained
        if orphans:
            # New objects referenced from a rewritten object were explained with it; the others
            # are either unreferenced (harmless) or fill a reference the signed revision
            # already made to a missing object: content swapped in.
            index = self.old_index
            walker = RoleWalker(self.doc, self.new, StructureIndex(self.new), only=orphans)
            seeds = [(Ref(n), r) for n in self.rewritten for r in index.roles.get(n, ())]
            walker.walk(seeds)
            reached = {num for num, _role in walker.visited}
            unreferenced = set()
            for num in sorted(orphans):
                if num in index.dangling:
                    roles = index.dangling[num]
                    code, what = _code_for_roles(roles, dangling=True)
                    self.add(
                        _suspicious(
                            code,
                            f"object {num} was referenced by the signed revision ({what}) but did "
                            "not exist; it now does, so content the signer did not see is shown",
                            [num],
                            _pages_of(roles),
                            kind="object_swapped_in",
                        )
                    )
                elif num not in reached:
                    unreferenced.add(num)
            if unreferenced:
                self.add(
                    _benign(
                        "unreferenced_objects",
                        f"{len(unreferenced)} object(s) nothing refers to were added",
                        unreferenced,
                    )
                )

    def _by_role(self, num: int, roles: set[Role], *, deleted: bool) -> None:
        verb = "deleted" if deleted else "rewritten"
        if not roles:
            self.add(_benign("unreferenced_objects", f"an unused object was {verb}", [num]))
            return
        kinds = {r.kind for r in roles}
        benign_kind = None
        if kinds <= {"dss"}:
            benign_kind = "dss_updated"
        elif kinds <= {"info"}:
            benign_kind = "info_updated"
        elif kinds <= {"metadata"}:
            benign_kind = "metadata_updated"
        elif kinds <= {"structure"}:
            benign_kind = "structure_updated"
        elif kinds <= {"outline"}:
            benign_kind = "outline_updated"
        if benign_kind is not None:
            self.add(_benign(benign_kind, f"{next(iter(roles)).describe()} was {verb}", [num]))
            return
        if not deleted and kinds <= {"annotation", "widget"}:
            # An annotation (or a widget outside the form) the signer saw: what changed?
            page = min(_pages_of(roles), default=0)
            self._annotation_changed(page, Ref(num), widgets_too=True)
            return
        code, what = _code_for_roles(roles)
        self.add(_suspicious(code, f"object {num}, {what}, was {verb}", [num], _pages_of(roles)))


def _code_for_roles(roles: set[Role], *, dangling: bool = False) -> tuple[str, str]:
    """The reason code for changing an object with these roles, and a description."""
    kinds = {r.kind for r in roles}
    described = "; ".join(sorted({r.describe() for r in roles})) or "an object"
    if kinds & {"page_content", "page_resource", "page", "page_tree"}:
        return ("object_overlay" if dangling else "page_content_modified"), described
    if kinds & {"appearance", "form_resources"}:
        return ("object_overlay" if dangling else "appearance_overridden"), described
    if kinds & {"annotation", "widget", "optional_content"}:
        return "object_overlay", described
    if kinds & {"field"}:
        return "form_field_replaced", described
    if kinds & {"signature"}:
        return "signature_dictionary_modified", described
    if kinds & {"perms"}:
        return "docmdp_violation", described
    return "modification_unclassified", described


def _name(value: Any) -> str:
    return "none" if value is None else f"/{value}" if isinstance(value, str) else repr(value)


def _contents_of(sig: Any) -> bytes | None:
    value = sig.get("Contents") if isinstance(sig, PdfDict) else None
    return bytes(value) if isinstance(value, PdfString) and value else None


def _pages_of(roles: set[Role]) -> list[int]:
    return sorted({r.page for r in roles if r.page})


def _visual(d: PdfDict) -> Any:
    flags = d.get("F", 0)
    return flags & _VISUAL_FLAGS if isinstance(flags, int) else flags


def _shown(d: PdfDict) -> bool:
    """Whether an annotation paints something: visible flags, an area, an appearance."""
    rect = rect_of(d.get("Rect"))
    return (
        not _invisible(d)
        and rect is not None
        and rect[2] > rect[0]
        and rect[3] > rect[1]
        and "AP" in d
    )


def _invisible(d: PdfDict) -> bool:
    flags = d.get("F", 0)
    return isinstance(flags, int) and bool(flags & _INVISIBLE_FLAGS)


def _fmt(rect) -> str:
    return "[" + " ".join(f"{v:g}" for v in rect) + "]"


# -- the whole document -----------------------------------------------------------------------


def _appended(doc: PdfDocument, start: int, end: int, revision: int, listed: dict[int, int]):
    """Objects in ``[start, end)`` that the cross-reference data does not list there, and
    junk, as changes (``revision`` = the revision the bytes belong to; last + 1 for bytes
    after the last %%EOF)."""
    changes: list[Change] = []
    if end <= start:
        return changes
    body = _walk_body(doc, start, end)
    after_eof = revision > doc.last
    base = doc.last if after_eof else revision - 1
    index: StructureIndex | None = None
    for num, offset, value in body.objects:
        if listed.get(num) == offset:
            continue
        if isinstance(value, Stream) and value.dict.get("Type") in ("XRef", "ObjStm"):
            continue
        if index is None:
            index = StructureIndex.build(doc, base)
        roles = index.roles.get(num, set()) | index.dangling.get(num, set())
        code, what = _code_for_roles(roles)
        where = "after the last %%EOF" if after_eof else f"in revision {revision}"
        changes.append(
            _suspicious(
                "appended_without_xref",
                f"object {num} at byte {offset} {where} is not in any cross-reference section; "
                "readers that rebuild the cross-reference table use it",
                [num],
                _pages_of(roles),
            )
        )
        if roles:
            changes.append(
                _suspicious(
                    code,
                    f"object {num} ({what}) is redefined {where} without a cross-reference entry",
                    [num],
                    _pages_of(roles),
                )
            )
    for a, b in body.junk:
        changes.append(
            _suspicious(
                "trailing_data",
                f"{b - a} byte(s) at {a} {'after the last %%EOF' if after_eof else ''} are not "
                "PDF objects".replace("  ", " "),
            )
        )
    return changes


def analyse_modifications(
    doc: PdfDocument,
    sigs: Sequence[PdfSignature],
    coverages: Sequence[Coverage],
    perms: Sequence[Permissions],
) -> tuple[list[ModificationReport], dict[int, list[Finding]], list[Finding]]:
    """Reports for every change after the first signed revision; findings for the signatures
    each suspicious change comes after; document-level findings for benign ones."""
    reports: list[ModificationReport] = []
    per_signature: dict[int, list[Finding]] = {}
    document: list[Finding] = []
    if not sigs:
        return reports, per_signature, document
    signed = {s.index: c.revision for s, c in zip(sigs, coverages, strict=True)}
    first = min(signed.values())

    steps: list[tuple[int, list[Change]]] = []
    for revision in range(first + 1, doc.last + 1):
        level: int | None = None
        locks = []
        for s, p in zip(sigs, perms, strict=True):
            if signed[s.index] < revision:
                if p.docmdp is not None:
                    level = p.docmdp if level is None else min(level, p.docmdp)
                if p.lock is not None:
                    locks.append((s.index, p.lock))
        step = _Step(doc, revision, level, locks, sigs)
        changes = step.run()
        rev = doc.revision(revision)
        listed = {n: e[1] for n, e in rev.entries.items() if e[0] == 1}
        changes += _appended(doc, rev.start, rev.end, revision, listed)
        changes = _apply_permissions(changes, UNCERTIFIED if level is None else level, locks)
        steps.append((revision, changes))
    tail_start = doc.revision(doc.last).end
    if tail_start < doc.src.size:
        tail = _appended(doc, tail_start, doc.src.size, doc.last + 1, {})
        if tail:
            steps.append((doc.last + 1, tail))

    for revision, changes in steps:
        after = tuple(sorted(i for i, r in signed.items() if r < revision))
        benign_kinds: list[str] = []
        for change in _merge(changes):
            reports.append(
                ModificationReport(
                    revision=revision,
                    kind=change.kind,
                    classification=BENIGN if change.benign else SUSPICIOUS,
                    detail=change.detail,
                    object_ids=tuple(f"{n} 0" for n in sorted(change.objects)),
                    pages=tuple(sorted(change.pages)),
                    after_signatures=after,
                )
            )
            if change.benign:
                benign_kinds.append(change.kind)
                continue
            for i in after:
                per_signature.setdefault(i, []).append(
                    Finding.of(
                        change.code, f"signature {i}", f"revision {revision}: {change.detail}"
                    )
                )
        if benign_kinds:
            document.append(
                Finding.of(
                    "benign_modification",
                    f"revision {revision}",
                    ", ".join(dict.fromkeys(benign_kinds)),
                )
            )
    return reports, per_signature, document


def _apply_permissions(changes: list[Change], level: int, locks) -> list[Change]:
    out = []
    for change in changes:
        if change.benign and _REQUIRES.get(change.kind, 1) > level:
            out.append(
                _suspicious(
                    "docmdp_violation",
                    f"{change.detail}: not permitted by the certification signature (P={level})",
                    change.objects,
                    change.pages,
                    kind=change.kind,
                )
            )
            continue
        if change.field_name and change.kind in ("form_filled", "form_field_replaced"):
            lockers = [i for i, lock in locks if lock.locks(change.field_name)]
            if lockers:
                out.append(
                    _suspicious(
                        "fieldmdp_violation",
                        f"{change.detail}: the field is locked by signature "
                        f"{', '.join(map(str, lockers))}",
                        change.objects,
                        change.pages,
                        kind=change.kind,
                    )
                )
                continue
        out.append(change)
    return out


def _merge(changes: list[Change]) -> list[Change]:
    """One report per (kind, code, detail); benign duplicates of the same kind merged."""
    merged: dict[tuple, Change] = {}
    for c in changes:
        key = (c.kind, c.code) if c.benign else (c.kind, c.code, c.detail)
        if key in merged:
            m = merged[key]
            m.objects |= c.objects
            m.pages |= c.pages
            if c.benign and c.detail not in m.detail:
                m.detail += "; " + c.detail
        else:
            merged[key] = Change(
                c.kind, c.code, c.detail, set(c.objects), set(c.pages), c.field_name
            )
    return list(merged.values())
