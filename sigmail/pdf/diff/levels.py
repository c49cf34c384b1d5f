"""What the certification level and field locks in force allow: a benign change the DocMDP
level does not permit becomes ``docmdp_violation``, a locked field's change
``fieldmdp_violation``; duplicate reports merged."""

from __future__ import annotations

from sigmail.pdf.diff.change import Change, suspicious_change
from sigmail.pdf.permissions import DocMDPLevel

# Benign kinds and the lowest DocMDP level that allows them. Every benign kind is listed:
# a kind missing here is a bug, and :func:`required_level` raises rather than guess.
REQUIRES: dict[str, DocMDPLevel] = {
    "dss_added": DocMDPLevel.NO_CHANGES,
    "dss_updated": DocMDPLevel.NO_CHANGES,
    "doc_timestamp_added": DocMDPLevel.NO_CHANGES,
    "info_updated": DocMDPLevel.NO_CHANGES,
    "metadata_updated": DocMDPLevel.NO_CHANGES,
    "catalog_updated": DocMDPLevel.NO_CHANGES,
    "unreferenced_objects": DocMDPLevel.NO_CHANGES,
    "field_locked": DocMDPLevel.NO_CHANGES,
    "signature_added": DocMDPLevel.FORM_FILLING,
    "form_filled": DocMDPLevel.FORM_FILLING,
    "structure_updated": DocMDPLevel.FORM_FILLING,
    "signature_field_added": DocMDPLevel.ANNOTATIONS,
    "outline_updated": DocMDPLevel.ANNOTATIONS,
    "annotation_added": DocMDPLevel.ANNOTATIONS,
    "annotation_modified": DocMDPLevel.ANNOTATIONS,
    "annotation_removed": DocMDPLevel.ANNOTATIONS,
    "form_field_added": DocMDPLevel.ANNOTATIONS,
}


def required_level(kind: str) -> DocMDPLevel:
    """The lowest certification level under which the benign change ``kind`` is allowed."""
    try:
        return REQUIRES[kind]
    except KeyError:
        raise LookupError(f"benign modification kind {kind!r} has no DocMDP level") from None


def apply_permissions(changes: list[Change], level: DocMDPLevel, locks) -> list[Change]:
    out = []
    for change in changes:
        if change.benign and required_level(change.kind) > level:
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
