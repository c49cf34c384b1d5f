"""Rules for the page tree, pages and their annotations: content, resources, annotations
added, changed or removed, and what they paint over."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sigmail.pdf.diff.change import FORM_AREA, benign_change, suspicious_change
from sigmail.pdf.diff.levels import required_level
from sigmail.pdf.diff.rules.catalog import new_objects_under
from sigmail.pdf.diff.state import refs_in
from sigmail.pdf.objects import PdfDict, Ref
from sigmail.pdf.overlay import overlaps, painted_area, rect_of

if TYPE_CHECKING:
    from sigmail.pdf.diff.state import RevisionDiff


# Page keys whose change does not alter what the page shows.
_PAGE_NEUTRAL = frozenset({"Annots", "LastModified", "PieceInfo", "Tabs", "StructParents", "Type"})


# Annotation keys that are metadata (who, when, the text of a note's pop-up).
ANNOT_METADATA = frozenset(
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
VISUAL_FLAGS = 1 | 2 | 4 | 8 | 16 | 32 | 256


def _pages_touched(diff: RevisionDiff) -> bool:
    cat_old = diff.doc.catalog(diff.old) or PdfDict()
    cat_new = diff.doc.catalog(diff.new) or PdfDict()
    if not diff.same(cat_old.get("Pages"), cat_new.get("Pages")):
        return True
    for num in diff.rewritten | diff.deleted:
        value = diff.get_old(Ref(num))
        if isinstance(value, PdfDict) and value.get("Type") in ("Page", "Pages"):
            return True
        if isinstance(value, list) and value and all(isinstance(v, Ref) for v in value):
            return True  # perhaps an indirect /Annots or /Kids array
    return False


def explain_pages(diff: RevisionDiff) -> None:
    if not _pages_touched(diff):
        return
    old_pages, new_pages = diff.old_pages, diff.new_pages
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
        diff.add(
            suspicious_change(
                "page_content_modified",
                detail,
                {r.num for r in new_pages if r not in old_pages} | _page_tree_objects(diff),
                gone,
            )
        )
    for number, ref in enumerate(old_pages, 1):
        if ref not in new_pages:
            continue
        old_page, new_page = diff.get_old(ref), diff.get_new(ref)
        if not isinstance(old_page, PdfDict) or not isinstance(new_page, PdfDict):
            continue
        changed = sorted(
            k
            for k in old_page.keys() | new_page.keys()
            if not diff.same(old_page.get(k), new_page.get(k))
        )
        if ref.num in diff.rewritten:
            diff.explained.add(ref.num)
        content_keys = [k for k in changed if k not in _PAGE_NEUTRAL]
        if content_keys:
            diff.add(
                suspicious_change(
                    "page_content_modified",
                    f"page {number}'s /{', /'.join(content_keys)} changed",
                    {ref.num} | new_objects_under(diff, new_page),
                    [number],
                )
            )
            continue
        _annotations(diff, number, ref, old_page, new_page)


def _page_tree_objects(diff: RevisionDiff) -> set[int]:
    out = set()
    for num in diff.rewritten | diff.added:
        value = diff.get_new(Ref(num))
        if isinstance(value, PdfDict) and value.get("Type") == "Pages":
            out.add(num)
    return out


def _annot_list(diff: RevisionDiff, page: PdfDict, *, new: bool) -> list:
    get = diff.get_new if new else diff.get_old
    annots = get(page.get("Annots"))
    return list(annots) if isinstance(annots, list) else []


def _annotations(
    diff: RevisionDiff, number: int, ref: Ref, old_page: PdfDict, new_page: PdfDict
) -> None:
    for holder in (old_page.get("Annots"), new_page.get("Annots")):
        if isinstance(holder, Ref):
            diff.explained.add(holder.num)
    before = _annot_list(diff, old_page, new=False)
    after = _annot_list(diff, new_page, new=True)
    before_nums = {a.num for a in before if isinstance(a, Ref)}
    after_nums = {a.num for a in after if isinstance(a, Ref)}
    painted: list | None = None
    for a in after:
        if not isinstance(a, Ref):
            diff.add(
                suspicious_change(
                    "object_overlay", f"a direct annotation was added to page {number}"
                )
            )
            continue
        if a.num in before_nums:
            if a.num in diff.rewritten:
                annotation_changed(diff, number, a)
            continue
        if painted is None:
            painted = _painted(diff, ref, before)
        _annotation_added(diff, number, a, painted)
    for a in before:
        if isinstance(a, Ref) and a.num not in after_nums:
            _annotation_removed(diff, number, a)


def _painted(diff: RevisionDiff, page_ref: Ref, annots_before: list) -> list:
    """What the signer saw on the page: its painted area and the annotations on it."""
    rects = list(painted_area(diff.doc, page_ref, diff.old))
    for a in annots_before:
        d = diff.get_old(a)
        if isinstance(d, PdfDict) and not _invisible(d):
            r = rect_of(diff.get_old(d.get("Rect")))
            if r is not None:
                rects.append(r)
    return rects


def _annotation_added(diff: RevisionDiff, number: int, a: Ref, painted: list) -> None:
    d = diff.get_new(a)
    if not isinstance(d, PdfDict):
        return
    objs = {a.num} | new_objects_under(diff, a)
    subtype = str(d.get("Subtype", "?"))
    rect = rect_of(diff.get_new(d.get("Rect")))
    visible = not _invisible(d) and rect is not None and rect[2] > rect[0] and rect[3] > rect[1]
    covers = visible and rect is not None and any(overlaps(rect, p) for p in painted)
    where = f"page {number}"
    if subtype == "Widget" and a.num in diff.widgets_of(diff.new_fields):
        is_sig = d.get("FT") == "Sig" or (
            isinstance(diff.get_new(d.get("Parent")), PdfDict)
            and diff.get_new(d.get("Parent")).get("FT") == "Sig"
        )
        # The widget's field is judged in explain_form; here only whether it covers content.
        if covers and (diff.certified or not is_sig):
            what = "signature appearance" if is_sig else "form field"
            diff.add(
                suspicious_change(
                    "object_overlay",
                    f"a new {what} on {where} covers content the signer saw "
                    f"(rectangle {rect_text(rect)})",
                    objs,
                    [number],
                )
            )
        else:
            diff.explained |= diff.claimable(objs, FORM_AREA)
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
        diff.add(benign_change(kind, f"{what} was added on {where}", objs, [number]))
        return
    if covers:
        diff.add(
            suspicious_change(
                "object_overlay",
                f"a {subtype} annotation added on {where} covers content the signer saw "
                f"(rectangle {rect_text(rect)})",
                objs,
                [number],
            )
        )
        if diff.level < required_level("annotation_added"):
            # Also say that the certification does not allow annotations at all.
            diff.add(benign_change("annotation_added", f"a {subtype} annotation on {where}", objs))
    else:
        diff.add(
            benign_change(
                "annotation_added",
                f"a {subtype} annotation was added on {where} where nothing was shown "
                f"(rectangle {rect_text(rect)})",
                objs,
                [number],
            )
        )


def annotation_changed(
    diff: RevisionDiff, number: int, a: Ref, *, widgets_too: bool = False
) -> None:
    before, after = diff.get_old(a), diff.get_new(a)
    if not isinstance(before, PdfDict) or not isinstance(after, PdfDict):
        return
    if before.get("Subtype") == "Widget" and not widgets_too:
        return  # judged with its field in explain_form
    changed = sorted(
        k for k in before.keys() | after.keys() if not diff.same(before.get(k), after.get(k))
    )
    objs = {a.num} | new_objects_under(diff, after)
    for key in ("AP",):  # appearance streams rewritten in place count as the annotation's
        objs |= refs_in(diff.get_old(before.get(key)), set()) & diff.rewritten
    shows = set(changed) - ANNOT_METADATA
    if "F" in shows and _visual(before) == _visual(after):
        shows.discard("F")
    rewritten_ap = sorted(objs & diff.rewritten - {a.num})
    if before.get("Subtype") in ("Text", "Popup") and shows <= {"Contents"}:
        shows = set()  # a note's text is shown only in its pop-up
    if rewritten_ap:
        shows.add(f"AP (stream {', '.join(map(str, rewritten_ap))} rewritten)")
    if not shows:
        diff.add(
            benign_change(
                "annotation_modified",
                f"an annotation on page {number} was edited",
                objs,
                [number],
            )
        )
    elif (_invisible(before) and not _invisible(after)) or "OC" in shows:
        diff.add(
            suspicious_change(
                "object_overlay",
                f"a hidden annotation on page {number} was made visible",
                objs,
                [number],
            )
        )
    elif _shown(before) and not _shown(after):
        diff.add(
            suspicious_change(
                "object_overlay",
                f"an annotation the signer saw on page {number} was emptied or hidden: "
                "whatever it covered is shown now",
                objs,
                [number],
            )
        )
    else:
        diff.add(
            suspicious_change(
                "appearance_overridden",
                f"an annotation the signer saw on page {number} changed: "
                f"/{', /'.join(sorted(shows))}",
                objs,
                [number],
            )
        )


def _annotation_removed(diff: RevisionDiff, number: int, a: Ref) -> None:
    d = diff.get_old(a)
    if not isinstance(d, PdfDict):
        return
    subtype = str(d.get("Subtype", "?"))
    owner = diff.widgets_of(diff.old_fields).get(a.num) if subtype == "Widget" else None
    if owner is not None:
        if owner.name not in diff.new_fields:
            diff.explained.add(a.num)  # the field's removal is reported with the form
            return
        sig = owner.field_type == "Sig"
        diff.add(
            suspicious_change(
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
        diff.add(
            benign_change(
                "annotation_removed",
                f"a {subtype} annotation was removed from page {number}",
                [a.num],
                [number],
            )
        )
    else:
        diff.add(
            suspicious_change(
                "object_overlay",
                f"a visible {subtype} annotation the signer saw was removed from page "
                f"{number}: whatever it covered is shown now",
                [a.num],
                [number],
                kind="annotation_removed",
            )
        )


def _visual(d: PdfDict) -> Any:
    flags = d.get("F", 0)
    return flags & VISUAL_FLAGS if isinstance(flags, int) else flags


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


def rect_text(rect) -> str:
    return "[" + " ".join(f"{v:g}" for v in rect) + "]"
