"""Rules for the interactive form: /AcroForm, fields added, removed, filled or replaced,
signatures added or reused, widget appearances, FieldMDP locks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sigmail.pdf.diff.change import benign_change, suspicious_change
from sigmail.pdf.diff.rules.catalog import new_objects_under
from sigmail.pdf.diff.rules.pages import ANNOT_METADATA, VISUAL_FLAGS
from sigmail.pdf.diff.state import contents_of, name_text, refs_in
from sigmail.pdf.fields import Field, acroform
from sigmail.pdf.objects import PdfDict, PdfString, Ref
from sigmail.pdf.structure import _BACK_LINKS

if TYPE_CHECKING:
    from sigmail.pdf.diff.state import RevisionDiff


_FF_READ_ONLY = 1


# Field keys a change of which is metadata (the tooltip, the border, who and when) …
_FIELD_HARMLESS = frozenset({"TU", "TM", "BS", "Border", "StructParent", "F"}) | (
    ANNOT_METADATA - {"Type"}
)


# … and keys judged by the value, appearance, flags and structure comparisons.
_FIELD_JUDGED_ELSEWHERE = frozenset(
    {"Kids", "V", "AP", "AS", "Ff", "Type", "Subtype", "Lock", "SV"}
)


_EMPTY_VALUES = (None, "", b"", "Off")


def explain_form(diff: RevisionDiff) -> None:
    doc = diff.doc
    old_form = acroform(doc, diff.old)
    new_form = acroform(doc, diff.new)
    if old_form is None and new_form is None:
        return
    cat_old = doc.catalog(diff.old) or PdfDict()
    cat_new = doc.catalog(diff.new) or PdfDict()
    for value in (cat_old.get("AcroForm"), cat_new.get("AcroForm")):
        if isinstance(value, Ref):
            diff.explained.add(value.num)
    old_form = old_form or PdfDict()
    new_form = new_form or PdfDict()
    for key in sorted(old_form.keys() | new_form.keys()):
        if key == "Fields":
            continue
        before, after = old_form.get(key), new_form.get(key)
        if diff.same(diff.get_old(before), diff.get_new(after)):
            continue
        if key == "SigFlags":
            diff.add(benign_change("signature_added", "/SigFlags was updated"))
        elif key == "NeedAppearances":
            if after is True:
                diff.add(
                    suspicious_change(
                        "appearance_overridden",
                        "/NeedAppearances was set: viewers redraw every field from its "
                        "value instead of showing the signed appearance",
                    )
                )
        elif key == "DR":
            _default_resources(diff, before, after)
        elif key in ("DA", "Q"):
            diff.add(benign_change("form_filled", f"the form's default /{key} was updated"))
        else:
            diff.add(
                suspicious_change("modification_unclassified", f"the form's /{key} was changed")
            )
    _fields(diff)


def _default_resources(diff: RevisionDiff, before: Any, after: Any) -> None:
    old = diff.get_old(before)
    new = diff.get_new(after)
    old = old if isinstance(old, PdfDict) else PdfDict()
    new = new if isinstance(new, PdfDict) else PdfDict()
    objs = new_objects_under(diff, after) if after is not None else set()
    if isinstance(after, Ref):
        objs.add(after.num)
    for category in old.keys() | new.keys():
        a = diff.get_old(old.get(category))
        b = diff.get_new(new.get(category))
        if isinstance(a, PdfDict) and isinstance(b, PdfDict):
            for name in a.keys() & b.keys():
                if not diff.same(diff.get_old(a[name]), diff.get_new(b[name])):
                    diff.add(
                        suspicious_change(
                            "appearance_overridden",
                            f"the form's default resource /{category}/{name} was replaced",
                            objs,
                        )
                    )
                    return
            if a.keys() - b.keys():
                diff.add(
                    suspicious_change(
                        "appearance_overridden",
                        f"default resources /{category} were removed",
                        objs,
                    )
                )
                return
    diff.add(
        benign_change(
            "form_filled",
            "default resources were added to the form",
            objs,
            area=frozenset({"form_resources"}),
        )
    )


def _fields(diff: RevisionDiff) -> None:
    old_fields, new_fields = diff.old_fields, diff.new_fields
    for name in sorted(old_fields.keys() | new_fields.keys()):
        before, after = old_fields.get(name), new_fields.get(name)
        if after is None:
            assert before is not None  # the name is in one of the two
            _field_removed(diff, before)
        elif before is None:
            _field_added(diff, after)
        else:
            _field_changed(diff, before, after)


def _field_objects(diff: RevisionDiff, f: Field, *, new: bool) -> set[int]:
    """The field's own objects (field, widgets) and, in the new revision, what it wrote
    below them (appearances, a signature dictionary)."""
    objs = {r.num for r in (f.ref, *f.widgets) if isinstance(r, Ref)}
    if new:
        for w in (f.ref, *f.widgets):
            d = diff.get_new(w) if isinstance(w, Ref) else None
            if isinstance(d, PdfDict):
                for key in ("AP", "V", "MK", "Lock", "SV", "Kids"):
                    if key in d:
                        objs |= new_objects_under(diff, d[key])
    return objs


def _field_removed(diff: RevisionDiff, f: Field) -> None:
    objs = _field_objects(diff, f, new=False)
    if f.field_type == "Sig":
        diff.add(
            suspicious_change(
                "signature_dictionary_modified",
                f"the signature field {f.name!r} was removed from the form",
                objs,
            )
        )
    else:
        diff.add(
            suspicious_change("form_field_replaced", f"the form field {f.name!r} was removed", objs)
        )


def _field_added(diff: RevisionDiff, f: Field) -> None:
    objs = _field_objects(diff, f, new=True)
    if f.field_type == "Sig":
        sig = diff.get_new(f.value)
        if _signature_reused(diff, f.name, f.value, sig, objs):
            return
        if isinstance(sig, PdfDict) and (
            sig.get("Type") == "DocTimeStamp" or sig.get("SubFilter") == "ETSI.RFC3161"
        ):
            diff.add(
                benign_change(
                    "doc_timestamp_added", f"document timestamp {f.name!r}", objs, (), f.name
                )
            )
        elif sig is not None:
            diff.add(benign_change("signature_added", f"signature {f.name!r}", objs, (), f.name))
        else:
            diff.add(
                benign_change(
                    "signature_field_added",
                    f"an empty signature field {f.name!r} was added",
                    objs,
                    (),
                    f.name,
                )
            )
    else:
        diff.add(
            benign_change("form_field_added", f"form field {f.name!r} was added", objs, (), f.name)
        )


def _signature_reused(diff: RevisionDiff, name: str, value: Any, sig: Any, objs: set[int]) -> bool:
    """Whether the value a signature field gets in this revision is a signature made
    before it (the same dictionary, or a copy of its /Contents): an old signature shown
    as a new one, in another place."""
    contents = contents_of(sig)
    earlier = diff.earlier_contents.get(contents) if contents else None
    detail = None
    if isinstance(value, Ref) and diff.doc.exists(value.num, diff.old):
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
    diff.add(suspicious_change("signature_reused", detail, objs))
    return True


def _appearance(diff: RevisionDiff, f: Field, *, new: bool) -> Any:
    """The field's appearance dictionaries (of the field and its widgets), resolved one
    level, to compare what is shown."""
    get = diff.get_new if new else diff.get_old
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
        visual = flags & VISUAL_FLAGS if isinstance(flags, int) else flags
        out.append((shown, d.get("AS"), d.get("Rect"), visual, d.get("MK")))
    return out


def _field_changed(diff: RevisionDiff, before: Field, after: Field) -> None:
    objs_old = _field_objects(diff, before, new=False)
    objs_new = _field_objects(diff, after, new=True)
    touched = (objs_old | objs_new) & (diff.rewritten | diff.added | diff.deleted)
    old_value = diff.get_old(before.value)
    new_value = diff.get_new(after.value)
    value_changed = not diff.same(old_value, new_value)
    appearance_changed = not diff.same(
        _appearance(diff, before, new=False), _appearance(diff, after, new=True)
    )
    if not touched and not value_changed and not appearance_changed:
        return
    # Appearance streams that belong to this field, rewritten in place.
    for w in (before.ref, *before.widgets):
        d = diff.get_old(w) if isinstance(w, Ref) else None
        if isinstance(d, PdfDict):
            objs_old |= refs_in(diff.get_old(d.get("AP")), set()) & diff.rewritten
            if isinstance(d.get("AP"), Ref):
                objs_old.add(d["AP"].num)
    objs = (objs_old | objs_new) & (diff.rewritten | diff.added | diff.deleted)
    objs |= touched
    name = after.name
    shared = _shared_appearance(diff, before, after) if appearance_changed else None
    if shared is not None:
        diff.add(
            suspicious_change(
                "appearance_overridden",
                f"field {name!r} got a new appearance, but its previous appearance "
                f"{shared}: the change is not confined to the field",
                objs,
            )
        )
        return
    structural = _field_structure(diff, before, after, objs)
    if after.field_type == "Sig":
        if value_changed and old_value is None:
            sig = new_value if isinstance(new_value, PdfDict) else PdfDict()
            if _signature_reused(diff, name, after.value, new_value, objs):
                return
            kind = (
                "doc_timestamp_added"
                if sig.get("Type") == "DocTimeStamp" or sig.get("SubFilter") == "ETSI.RFC3161"
                else "signature_added"
            )
            diff.add(
                benign_change(
                    kind, f"the empty signature field {name!r} was signed", objs, (), name
                )
            )
        elif value_changed:
            diff.add(
                suspicious_change(
                    "signature_dictionary_modified",
                    f"the signature field {name!r} now holds a different signature dictionary",
                    objs,
                )
            )
        elif appearance_changed:
            diff.add(
                suspicious_change(
                    "appearance_overridden",
                    f"the appearance of signature field {name!r} was replaced",
                    objs,
                )
            )
        elif touched:
            _field_metadata(diff, before, after, objs, structural)
        return
    if value_changed:
        if (
            old_value in _EMPTY_VALUES
            or old_value == []
            or (isinstance(old_value, PdfString) and not bytes(old_value).strip())
        ):
            diff.add(
                benign_change("form_filled", f"the empty field {name!r} was filled", objs, (), name)
            )
        else:
            diff.add(
                suspicious_change(
                    "form_field_replaced",
                    f"the value of field {name!r} that the signer saw was replaced"
                    + (" together with its appearance" if appearance_changed else ""),
                    objs,
                    kind="form_field_replaced",
                )
            )
            diff.changes[-1].field_name = name
    elif appearance_changed:
        diff.add(
            suspicious_change(
                "appearance_overridden",
                f"the appearance of field {name!r} was replaced while its value did not change",
                objs,
            )
        )
    elif touched:
        _field_metadata(diff, before, after, objs, structural)


def _appearance_objects(diff: RevisionDiff, f: Field, *, new: bool) -> set[int]:
    get = diff.get_new if new else diff.get_old
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


def _shared_appearance(diff: RevisionDiff, before: Field, after: Field) -> str | None:
    """How the appearance objects a field gave up (or rewrote) are used elsewhere, if they
    are: changing or re-pointing a shared appearance changes more than the field."""
    old_objs = _appearance_objects(diff, before, new=False)
    if not old_objs:
        return None
    new_objs = _appearance_objects(diff, after, new=True)
    concerned = (old_objs - new_objs) | (old_objs & diff.rewritten)
    if not concerned:
        return None
    owners = {r.num for r in (before.ref, *before.widgets) if isinstance(r, Ref)}
    index = diff.old_index
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


def _changed_keys(diff: RevisionDiff, before: PdfDict, after: PdfDict) -> set[str]:
    """Keys whose values differ, indirect values compared as resolved (a rewritten
    /Lock object is a changed /Lock); links back up or to the page compared as given."""
    out = set()
    for key in before.keys() | after.keys():
        a, b = before.get(key), after.get(key)
        if key not in _BACK_LINKS:
            a, b = diff.get_old(a), diff.get_new(b)
        if not diff.same(a, b):
            out.add(key)
    return out


def _kept_widgets(diff: RevisionDiff, before: Field, after: Field) -> list[tuple[PdfDict, PdfDict]]:
    """(old, new) dictionaries of the widgets a field keeps that are not the field."""
    kept = {w.num for w in after.widgets if w is not None}
    out = []
    for w in before.widgets:
        if w is None or w == before.ref or w.num not in kept:
            continue
        a, b = diff.get_old(w), diff.get_new(w)
        if isinstance(a, PdfDict) and isinstance(b, PdfDict):
            out.append((a, b))
    return out


def _field_structure(diff: RevisionDiff, before: Field, after: Field, objs: set[int]) -> bool:
    """What no filling in or signing does to a field that existed: its widgets (/Kids)
    replaced, its /Type (or a widget's) changed, its lock (/Lock: FieldMDP) or seed
    values (/SV) changed. Reports each; whether there was any."""
    name = after.name
    keys = _changed_keys(diff, before.dict, after.dict)
    found = []
    old_widgets = [w.num if w else None for w in before.widgets]
    new_widgets = [w.num if w else None for w in after.widgets]
    if old_widgets != new_widgets or "Kids" in keys:
        found.append(
            suspicious_change(
                "form_field_replaced",
                f"the widgets (/Kids) of field {name!r} were replaced",
                objs,
            )
        )
    pairs = [(before.dict, after.dict), *_kept_widgets(diff, before, after)]
    for a, b in pairs:
        for key in ("Type", "Subtype"):
            was, now = a.get(key), b.get(key)
            # /Type /Annot may be added to a widget that lacked it (ISO 32000 Table 166).
            if was != now and not (key == "Type" and was is None and now == "Annot"):
                found.append(
                    suspicious_change(
                        "form_field_replaced",
                        f"the /{key} of field {name!r} changed "
                        f"({name_text(was)} → {name_text(now)})",
                        objs,
                    )
                )
    if "Lock" in keys:
        found.append(
            suspicious_change(
                "fieldmdp_violation",
                f"the lock (/Lock, FieldMDP) of field {name!r} was changed",
                objs,
            )
        )
    if "SV" in keys:
        found.append(
            suspicious_change(
                "modification_unclassified",
                f"the seed values (/SV) of signature field {name!r} were changed",
                objs,
            )
        )
    for change in found:
        diff.add(change)
    return bool(found)


def _field_metadata(
    diff: RevisionDiff, before: Field, after: Field, objs: set[int], structural: bool = False
) -> None:
    changed = _changed_keys(diff, before.dict, after.dict)
    for a, b in _kept_widgets(diff, before, after):
        changed |= _changed_keys(diff, a, b) - {"MK", "Rect"}  # compared as the appearance
    harmless = _FIELD_HARMLESS | _FIELD_JUDGED_ELSEWHERE
    if after.flags == before.flags | _FF_READ_ONLY and before.flags != after.flags:
        diff.add(benign_change("field_locked", f"field {after.name!r} was made read-only", objs))
    elif before.flags != after.flags:
        diff.add(
            suspicious_change(
                "form_field_replaced",
                f"the flags of field {after.name!r} changed ({before.flags} → {after.flags})",
                objs,
            )
        )
    elif changed - harmless:
        diff.add(
            suspicious_change(
                "modification_unclassified",
                f"field {after.name!r} changed: /{', /'.join(sorted(changed))}",
                objs,
            )
        )
    elif not structural:
        diff.add(
            benign_change(
                "form_filled", f"field {after.name!r} metadata updated", objs, (), after.name
            )
        )
