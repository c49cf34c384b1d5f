"""Every revision after the first signed one, explained and judged: the entry point of
modification analysis (C2: "no disallowed later change"). See the package docstring."""

from __future__ import annotations

from collections.abc import Sequence

from sigmail.pdf.byte_range import Coverage
from sigmail.pdf.diff.body_scan import appended
from sigmail.pdf.diff.change import BENIGN, SUSPICIOUS, Change
from sigmail.pdf.diff.levels import apply_permissions, merge
from sigmail.pdf.diff.rules.actions import explain_actions
from sigmail.pdf.diff.rules.catalog import explain_catalog, explain_trailer
from sigmail.pdf.diff.rules.forms import explain_form
from sigmail.pdf.diff.rules.pages import explain_pages
from sigmail.pdf.diff.rules.residual import explain_rest, explain_unreadable
from sigmail.pdf.diff.state import RevisionDiff
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.permissions import UNCERTIFIED, DocMDPLevel, Permissions
from sigmail.pdf.signatures import PdfSignature
from sigmail.verdict.model import Finding, ModificationReport


def explain_revision(diff: RevisionDiff) -> list[Change]:
    diff.collect()
    for num, why in diff.unreadable.items():
        diff.rewritten.discard(num)
        diff.added.discard(num)
        explain_unreadable(diff, num, why)
    explain_trailer(diff)
    explain_catalog(diff)
    explain_form(diff)
    explain_pages(diff)
    explain_actions(diff)
    explain_rest(diff)
    return diff.changes


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
        level: DocMDPLevel | None = None
        locks = []
        for s, p in zip(sigs, perms, strict=True):
            if signed[s.index] < revision:
                if p.docmdp is not None:
                    level = p.docmdp if level is None else min(level, p.docmdp)
                if p.lock is not None:
                    locks.append((s.index, p.lock))
        step = RevisionDiff(doc, revision, level, locks, sigs)
        changes = explain_revision(step)
        rev = doc.revision(revision)
        listed = {n: e[1] for n, e in rev.entries.items() if e[0] == 1}
        changes += appended(doc, rev.start, rev.end, revision, listed)
        changes = apply_permissions(changes, UNCERTIFIED if level is None else level, locks)
        steps.append((revision, changes))
    tail_start = doc.revision(doc.last).end
    if tail_start < doc.src.size:
        tail = appended(doc, tail_start, doc.src.size, doc.last + 1, {})
        if tail:
            steps.append((doc.last + 1, tail))

    for revision, changes in steps:
        after = tuple(sorted(i for i, r in signed.items() if r < revision))
        benign_kinds: list[str] = []
        for change in merge(changes):
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
