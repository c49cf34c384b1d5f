"""What the certification level and field locks in force allow: a benign change the DocMDP
level does not permit becomes ``docmdp_violation``, a locked field's change
``fieldmdp_violation``; duplicate reports merged."""

from __future__ import annotations

from sigmail.pdf.diff.change import Change, suspicious_change

# Benign kinds and the DocMDP level they need (1: allowed even under P1).
REQUIRES = {
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


def apply_permissions(changes: list[Change], level: int, locks) -> list[Change]:
    out = []
    for change in changes:
        if change.benign and REQUIRES.get(change.kind, 1) > level:
            out.append(
                suspicious_change(
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
                    suspicious_change(
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


def merge(changes: list[Change]) -> list[Change]:
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
