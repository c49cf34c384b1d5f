"""One explained change (:class:`Change`), benign or suspicious, and the area of roles a
benign explanation may claim (:data:`AREA`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sigmail.pdf.structure import Role
from sigmail.verdict.vocabulary import Classification

BENIGN = Classification.BENIGN


SUSPICIOUS = Classification.SUSPICIOUS


# What a benign explanation may claim of the objects that existed before the revision: objects
# whose roles in the earlier revision (the signed one or later) all lie in the explanation's
# area. Anything else keeps the role it had when signed, whatever refers to it now (a page's
# font rewritten and listed in the DSS is still the page's font).
FORM_AREA = frozenset({"field", "widget", "appearance", "signature", "acroform"})


_ANNOTATION_AREA = frozenset({"annotation", "widget", "appearance"})


AREA = {
    "dss_added": frozenset({"dss"}),
    "dss_updated": frozenset({"dss"}),
    "info_updated": frozenset({"info"}),
    "metadata_updated": frozenset({"metadata"}),
    "structure_updated": frozenset({"structure"}),
    "outline_updated": frozenset({"outline"}),
    "catalog_updated": frozenset({"extensions"}),
    "unreferenced_objects": frozenset(),
    "doc_timestamp_added": FORM_AREA,
    "signature_added": FORM_AREA,
    "signature_field_added": FORM_AREA,
    "form_filled": FORM_AREA,
    "form_field_added": FORM_AREA,
    "field_locked": FORM_AREA,
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
    area: frozenset[str] | None = None  # benign: the roles it may claim (see AREA)

    @property
    def benign(self) -> bool:
        return self.code == "benign_modification"


def benign_change(
    kind: str, detail: str, objects=(), pages=(), field_name=None, area=None
) -> Change:
    return Change(
        kind,
        "benign_modification",
        detail,
        set(objects),
        set(pages),
        field_name,
        AREA[kind] if area is None else area,
    )


def suspicious_change(
    code: str, detail: str, objects=(), pages=(), kind: str | None = None
) -> Change:
    return Change(kind or code, code, detail, set(objects), set(pages))


def code_for_roles(roles: set[Role], *, dangling: bool = False) -> tuple[str, str]:
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


def pages_of(roles: set[Role]) -> list[int]:
    return sorted({r.page for r in roles if r.page})
