"""What a signature allows to change after it: DocMDP and FieldMDP (ISO 32000-1 §12.8.2).

* **DocMDP** — a *certification* signature (the author's, first in the document) carries a
  ``/Reference`` with ``/TransformMethod /DocMDP`` and a level ``/P``:

  ====  =====================================================================
  P     permitted after the certification signature
  ====  =====================================================================
  1     nothing (PAdES still allows DSS/VRI additions and document timestamps)
  2     filling in forms, instantiating templates, signing
  3     as 2, plus creating, deleting and modifying annotations
  ====  =====================================================================

  A document without a certification signature is treated like P3: form filling, new
  signatures and annotations are possible, and each is still judged on its own (an
  annotation that covers signed content is never benign).
* **FieldMDP** — a signature (or its field's ``/Lock`` dictionary) locks form fields:
  ``/Action /All``, ``/Include`` the listed ``/Fields``, or ``/Exclude`` them. A locked
  field's value must not change after that signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from sigmail.pdf.document import PdfDocument
from sigmail.pdf.objects import PdfDict, PdfString
from sigmail.pdf.signatures import PdfSignature

__all__ = [
    "DocMDPLevel",
    "FieldLock",
    "Permissions",
    "certification_level",
    "field_lock",
    "permissions",
]


class DocMDPLevel(IntEnum):
    """What a certification signature allows after it (ISO 32000-2, 12.8.2.2 and 12.8.4.3):
    ordered, each level allowing everything the one below does."""

    NO_CHANGES = 1  # P1: only validation data (DSS/VRI) and document timestamps
    FORM_FILLING = 2  # P2: also filling in the form and signing
    ANNOTATIONS = 3  # P3: also annotations and new fields

    @classmethod
    def from_p(cls, value: object) -> DocMDPLevel | None:
        """The level a /P value names, or None if it names none."""
        return cls(value) if isinstance(value, int) and value in (1, 2, 3) else None


# What a document without a certification signature allows, for analysis.
UNCERTIFIED = DocMDPLevel.ANNOTATIONS


@dataclass(frozen=True, slots=True)
class FieldLock:
    action: str  # "All" | "Include" | "Exclude"
    fields: frozenset[str]

    def locks(self, name: str) -> bool:
        if self.action == "All":
            return True
        listed = name in self.fields or any(name.startswith(f + ".") for f in self.fields)
        return listed if self.action == "Include" else not listed


@dataclass(frozen=True, slots=True)
class Permissions:
    """The restrictions in force after one signature."""

    docmdp: DocMDPLevel | None  # from a certification signature (or a /Lock's /P), else None
    lock: FieldLock | None


def _references(doc: PdfDocument, sig: PdfSignature, revision: int) -> list[PdfDict]:
    refs = doc.resolve(sig.dict.get("Reference"), revision)
    if not isinstance(refs, list):
        return []
    out = []
    for item in refs:
        d = doc.dict_at(item, revision)
        if d is not None:
            out.append(d)
    return out


def certification_level(doc: PdfDocument, sig: PdfSignature) -> DocMDPLevel | None:
    """The DocMDP level ``P`` if ``sig`` is a certification signature (default 2)."""
    for ref in _references(doc, sig, sig.home):
        if ref.get("TransformMethod") == "DocMDP":
            params = doc.dict_at(ref.get("TransformParams"), sig.home)
            p = params.get("P", 2) if params is not None else 2
            return DocMDPLevel.from_p(p) or DocMDPLevel.FORM_FILLING
    return None


def _lock_from(doc: PdfDocument, params: PdfDict | None, revision: int) -> FieldLock | None:
    if params is None:
        return None
    action = params.get("Action")
    if action not in ("All", "Include", "Exclude"):
        return None
    names = doc.resolve(params.get("Fields"), revision)
    fields = frozenset(
        n.text() for n in (names if isinstance(names, list) else []) if isinstance(n, PdfString)
    )
    return FieldLock(str(action), fields)


def field_lock(doc: PdfDocument, sig: PdfSignature) -> tuple[FieldLock | None, DocMDPLevel | None]:
    """The FieldMDP lock of ``sig`` (from its /Reference or its field's /Lock), and the DocMDP
    level a PDF 2.0 lock adds (``/P`` of the FieldMDP parameters or of the field's /Lock; the
    stricter where both say one). A /Reference does not make the /Lock's /P go away: the lock
    dictionary is what the author set, and the signer's /Reference is only its copy."""
    lock: FieldLock | None = None
    levels: list[DocMDPLevel] = []
    for ref in _references(doc, sig, sig.home):
        if ref.get("TransformMethod") == "FieldMDP":
            params = doc.dict_at(ref.get("TransformParams"), sig.home)
            lock = lock or _lock_from(doc, params, sig.home)
            if params is not None and (p := DocMDPLevel.from_p(params.get("P"))) is not None:
                levels.append(p)
    for field_ref in sig.field_refs:
        field = doc.dict_at(field_ref, sig.home)
        lock_dict = doc.dict_at(field.get("Lock"), sig.home) if field else None
        if lock_dict is not None:
            lock = lock or _lock_from(doc, lock_dict, sig.home)
            if (p := DocMDPLevel.from_p(lock_dict.get("P"))) is not None:
                levels.append(p)
            break
    return lock, min(levels) if levels else None


def permissions(doc: PdfDocument, sig: PdfSignature) -> Permissions:
    level = certification_level(doc, sig)
    lock, lock_p = field_lock(doc, sig)
    if lock_p is not None:
        level = lock_p if level is None else min(level, lock_p)
    return Permissions(level, lock)
