"""Rules for the trailer and the document catalog: /Info, /Encrypt, catalog keys, /Names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sigmail.pdf.diff.change import benign_change, suspicious_change
from sigmail.pdf.diff.state import forward_refs, refs_in
from sigmail.pdf.objects import PdfDict, Ref, Stream
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.problems import MalformedInput

if TYPE_CHECKING:
    from sigmail.pdf.diff.state import RevisionDiff


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
    "StructTreeRoot": "structure_updated",
    "Outlines": "outline_updated",
}


# The root element of an XMP packet (ISO 16684-1): x:xmpmeta, or rdf:RDF without the wrapper.
_XMP_ROOTS = frozenset(
    {"{adobe:ns:meta/}xmpmeta", "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"}
)


def is_xmp(diff: RevisionDiff, value: Any) -> bool:
    """Whether ``value`` (in the new revision) is a metadata stream holding an XMP packet:
    XML that parses safely (no DTD, no entities) with an XMP root. Anything else under
    /Metadata is not metadata a viewer reads as such, so it is not benign (ISO 32000-2, 14.3.2)."""
    stream = diff.get_new(value)
    if not isinstance(stream, Stream):
        return False
    # Imported here: the XML reader (lxml, ~9 ms) is for a revision that changes /Metadata,
    # not for every PDF whose revisions are compared.
    from sigmail.xmldsig.parse import parse_xml

    try:
        data = diff.doc.decoded(stream)
        root = parse_xml(data.lstrip(b"\xef\xbb\xbf \t\r\n"), diff.doc.budget, locator="/Metadata")
    except (PdfSyntaxError, MalformedInput):
        return False
    return root.tag in _XMP_ROOTS


def metadata_change(diff: RevisionDiff, value: Any, detail: str, objs: set[int]):
    """``metadata_updated`` for an XMP packet, ``modification_unclassified`` for anything else."""
    if is_xmp(diff, value):
        return benign_change("metadata_updated", detail, objs)
    return suspicious_change(
        "modification_unclassified",
        f"{detail}, but it is not an XMP packet (not metadata a reader takes as such)",
        objs,
    )


def explain_trailer(diff: RevisionDiff) -> None:
    old_t = diff.doc.revision(diff.old).trailer
    new_t = diff.doc.revision(diff.new).trailer
    if old_t.get("Info") != new_t.get("Info") or (
        isinstance(new_t.get("Info"), Ref) and new_t["Info"].num in diff.rewritten | diff.added
    ):
        info = new_t.get("Info")
        objs = {info.num} if isinstance(info, Ref) else set()
        objs |= refs_in(diff.get_new(info), set()) & diff.added
        diff.add(benign_change("info_updated", "the document information was updated", objs))
    if "Encrypt" in new_t and not diff.same(old_t.get("Encrypt"), new_t.get("Encrypt")):
        diff.add(suspicious_change("modification_unclassified", "encryption was changed"))


def explain_catalog(diff: RevisionDiff) -> None:
    old_root = diff.doc.revision(diff.old).trailer.get("Root")
    new_root = diff.doc.revision(diff.new).trailer.get("Root")
    old_cat = diff.get_old(old_root)
    new_cat = diff.get_new(new_root)
    if not isinstance(old_cat, PdfDict) or not isinstance(new_cat, PdfDict):
        diff.add(suspicious_change("modification_unclassified", "the document catalog is missing"))
        return
    root_nums = {r.num for r in (old_root, new_root) if isinstance(r, Ref)}
    diff.explained |= root_nums & (diff.rewritten | diff.added)
    for key in sorted(old_cat.keys() | new_cat.keys()):
        before, after = old_cat.get(key), new_cat.get(key)
        if diff.same(before, after) and not _subtree_touched(diff, after, key):
            continue
        _catalog_key(diff, key, before, after)


def _subtree_touched(diff: RevisionDiff, value: Any, key: str) -> bool:
    """Whether an indirect catalog entry's own object was rewritten (its content)."""
    return isinstance(value, Ref) and value.num in diff.rewritten | diff.added


def new_objects_under(diff: RevisionDiff, value: Any) -> set[int]:
    """Objects this revision wrote that hang below ``value`` (``value`` itself included),
    following forward links only, through objects this revision wrote."""
    changed = diff.added | diff.rewritten
    out: set[int] = set()
    queue = [value]
    while queue:
        item = queue.pop()
        if isinstance(item, Ref):
            if item.num not in changed or item.num in out:
                continue
            out.add(item.num)
            item = diff.get_new(item)
        for num in forward_refs(item):
            if num in changed and num not in out:
                queue.append(Ref(num))
    return out


def _catalog_key(diff: RevisionDiff, key: str, before: Any, after: Any) -> None:
    if key == "AcroForm":
        return  # compared with the fields in explain_form
    if key == "Pages":
        return  # compared page by page in explain_pages
    if key == "DSS":
        objs = new_objects_under(diff, after) if after is not None else set()
        kind = "dss_added" if before is None else "dss_updated"
        if after is None:
            diff.add(suspicious_change("modification_unclassified", "the DSS was removed"))
            return
        diff.add(benign_change(kind, "validation material (DSS/VRI) was added", objs))
        return
    if key == "Metadata" and after is not None:
        diff.add(
            metadata_change(diff, after, "/Metadata was updated", new_objects_under(diff, after))
        )
        return
    if key in _CATALOG_BY_ROLE and after is not None:
        objs = new_objects_under(diff, after)
        diff.add(benign_change(_CATALOG_BY_ROLE[key], f"/{key} was updated", objs))
        return
    if key in _CATALOG_NEUTRAL:
        # an indirect /Extensions dictionary (or its sub-dictionaries) rewritten is claimed
        # here; what else refers to it keeps its own role (change.AREA)
        claimed = new_objects_under(diff, after) if key == "Extensions" and after else set()
        diff.add(benign_change("catalog_updated", f"the catalog's /{key} was updated", claimed))
        return
    if key == "Perms":
        detail = (
            "a certification (/Perms) was added to a document that was already signed: "
            "only the first signature may certify"
            if before is None
            else "the document permissions (/Perms, the certification) were changed"
        )
        diff.add(suspicious_change("docmdp_violation", detail))
        return
    if key == "OCProperties":
        diff.add(
            suspicious_change(
                "object_overlay",
                "optional content (layers that show or hide content) was changed",
                new_objects_under(diff, after),
            )
        )
        return
    if key == "Names":
        _names(diff, before, after)
        return
    what = {"OpenAction": "an action run on opening", "AA": "document actions"}.get(
        key, f"the catalog entry /{key}"
    )
    diff.add(
        suspicious_change(
            "modification_unclassified",
            f"{what} was {'added' if before is None else 'changed'}",
            new_objects_under(diff, after) if after is not None else (),
        )
    )


def _names(diff: RevisionDiff, before: Any, after: Any) -> None:
    old = diff.get_old(before) if before is not None else None
    new = diff.get_new(after) if after is not None else None
    old = old if isinstance(old, PdfDict) else PdfDict()
    new = new if isinstance(new, PdfDict) else PdfDict()
    for key in sorted(old.keys() | new.keys()):
        if diff.same(diff.get_old(old.get(key)), diff.get_new(new.get(key))):
            continue
        objs = new_objects_under(diff, new.get(key)) if key in new else set()
        if isinstance(after, Ref):
            objs.add(after.num)
        if key == "AP":
            # Named appearance streams (annotation icons): judged with the annotations.
            diff.add(
                benign_change(
                    "annotation_added",
                    "named appearances were added",
                    objs,
                    area=frozenset({"names"}),
                )
            )
        else:
            diff.add(
                suspicious_change(
                    "modification_unclassified",
                    f"the /{key} name tree was changed"
                    + (" (embedded files)" if key == "EmbeddedFiles" else "")
                    + (" (JavaScript)" if key == "JavaScript" else ""),
                    objs,
                )
            )
