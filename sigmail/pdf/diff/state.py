"""One revision compared with the one before (:class:`RevisionDiff`): what it wrote (added,
rewritten, freed objects), the earlier revision's structure index, pages and fields, and
the changes explained so far. The rules in :mod:`.rules` read it and add changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sigmail.pdf.diff.change import Change
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.fields import Field, walk_fields
from sigmail.pdf.objects import PdfDict, PdfString, Ref, Stream, pdf_equal
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.pdf.permissions import UNCERTIFIED, DocMDPLevel
from sigmail.pdf.signatures import PdfSignature
from sigmail.pdf.structure import _BACK_LINKS, StructureIndex, page_list


def forward_refs(value: Any, depth: int = 0) -> set[int]:
    """References in ``value``, not following links back up (/Parent, /P, …)."""
    out: set[int] = set()
    if depth > 32:
        return out
    if isinstance(value, Ref):
        out.add(value.num)
    elif isinstance(value, Stream):
        out |= forward_refs(value.dict, depth + 1)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in _BACK_LINKS:
                out |= forward_refs(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            out |= forward_refs(v, depth + 1)
    return out


def refs_in(value: Any, out: set[int], depth: int = 0) -> set[int]:
    if depth > 32:
        return out
    if isinstance(value, Ref):
        out.add(value.num)
    elif isinstance(value, Stream):
        refs_in(value.dict, out, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            refs_in(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            refs_in(v, out, depth + 1)
    return out


def name_text(value: Any) -> str:
    return "none" if value is None else f"/{value}" if isinstance(value, str) else repr(value)


def contents_of(sig: Any) -> bytes | None:
    value = sig.get("Contents") if isinstance(sig, PdfDict) else None
    return bytes(value) if isinstance(value, PdfString) and value else None


class RevisionDiff:
    """Revision ``new`` compared with revision ``old = new - 1``."""

    def __init__(
        self,
        doc: PdfDocument,
        new: int,
        level: DocMDPLevel | None,
        locks,
        sigs: Sequence[PdfSignature],
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
        left out is judged by what it was (:meth:`explain_rest`)."""
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

    # -- the form --------------------------------------------------------------------------

    # -- pages and annotations -------------------------------------------------------------

    # -- everything else, by what the object is ------------------------------------------------
