"""What no other rule explained, judged by the role the object had in the earlier revision;
objects unreadable in the new revision; new objects nothing refers to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sigmail.pdf.diff.change import benign_change, code_for_roles, pages_of, suspicious_change
from sigmail.pdf.diff.rules.catalog import metadata_change
from sigmail.pdf.diff.rules.pages import annotation_changed
from sigmail.pdf.objects import Ref
from sigmail.pdf.structure import Role, RoleWalker, StructureIndex

if TYPE_CHECKING:
    from sigmail.pdf.diff.state import RevisionDiff


def explain_unreadable(diff: RevisionDiff, num: int, why: str) -> None:
    if not diff.doc.exists(num, diff.old):
        diff.add(
            suspicious_change(
                "modification_unclassified",
                f"revision {diff.new} lists object {num} where there is no such object ({why})",
                [num],
            )
        )
        return
    roles = diff.old_index.roles.get(num, set())
    code, what = code_for_roles(roles)
    diff.add(
        suspicious_change(
            code,
            f"object {num} ({what}) is replaced by bytes that are not that object: "
            f"readers that do not check object headers show something else ({why})",
            [num],
            pages_of(roles),
        )
    )


def explain_rest(diff: RevisionDiff) -> None:
    rest_old = (diff.rewritten | diff.deleted) - diff.explained
    if rest_old:
        index = diff.old_index
        for num in sorted(rest_old):
            if num in diff.explained:
                continue
            roles = index.roles.get(num, set())
            _by_role(diff, num, roles, deleted=num in diff.deleted)
    orphans = diff.added - diff.explained
    if orphans:
        # New objects referenced from a rewritten object were explained with it; the others
        # are either unreferenced (harmless) or fill a reference the signed revision
        # already made to a missing object: content swapped in.
        index = diff.old_index
        walker = RoleWalker(diff.doc, diff.new, StructureIndex(diff.new), only=orphans)
        seeds = [(Ref(n), r) for n in diff.rewritten for r in index.roles.get(n, ())]
        walker.walk(seeds)
        reached = {num for num, _role in walker.visited}
        unreferenced = set()
        for num in sorted(orphans):
            if num in index.dangling:
                roles = index.dangling[num]
                code, what = code_for_roles(roles, dangling=True)
                diff.add(
                    suspicious_change(
                        code,
                        f"object {num} was referenced by the signed revision ({what}) but did "
                        "not exist; it now does, so content the signer did not see is shown",
                        [num],
                        pages_of(roles),
                        kind="object_swapped_in",
                    )
                )
            elif num not in reached:
                unreferenced.add(num)
        if unreferenced:
            diff.add(
                benign_change(
                    "unreferenced_objects",
                    f"{len(unreferenced)} object(s) nothing refers to were added",
                    unreferenced,
                )
            )


def _by_role(diff: RevisionDiff, num: int, roles: set[Role], *, deleted: bool) -> None:
    verb = "deleted" if deleted else "rewritten"
    if not roles:
        diff.add(benign_change("unreferenced_objects", f"an unused object was {verb}", [num]))
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
    elif kinds <= {"extensions"}:
        benign_kind = "catalog_updated"
    if benign_kind == "metadata_updated" and not deleted:
        detail = f"{next(iter(roles)).describe()} was {verb}"
        diff.add(metadata_change(diff, Ref(num), detail, {num}))
        return
    if benign_kind is not None:
        diff.add(benign_change(benign_kind, f"{next(iter(roles)).describe()} was {verb}", [num]))
        return
    if not deleted and kinds <= {"annotation", "widget"}:
        # An annotation (or a widget outside the form) the signer saw: what changed?
        page = min(pages_of(roles), default=0)
        annotation_changed(diff, page, Ref(num), widgets_too=True)
        return
    code, what = code_for_roles(roles)
    diff.add(suspicious_change(code, f"object {num}, {what}, was {verb}", [num], pages_of(roles)))
