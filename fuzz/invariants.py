"""What every verdict keeps, whatever the input: the properties the fuzzers and the property
tests check (``isinstance(verdict.verdict, VerdictKind)`` is true by construction and proves
nothing).

- every reason is a known code (``sigmail/verdict/reasons.py``), and the reasons are exactly
  the codes of the findings that are more than information;
- every finding has a known code, a locator and a legal basis, and the effect its code has
  in the table;
- the verdict is the one the most severe effect among the findings gives (computed here from
  the effects' order, not by calling the verdict table);
- the JSON form round-trips (``Verdict.from_dict(json) → to_dict`` gives the same JSON);
- the same holds for every document carried inside (attachments have verdicts of their own).
"""

from __future__ import annotations

import json

from sigmail.errors import VerdictSchemaError
from sigmail.verdict.model import Verdict, VerdictKind
from sigmail.verdict.reasons import REASONS, Effect

__all__ = ["assert_invariants", "verdict_problems"]

# most severe first; warning and info do not change an official verdict
_SEVERITY = (
    (Effect.INVALID, VerdictKind.INVALID),
    (Effect.INDETERMINATE, VerdictKind.INDETERMINATE),
    (Effect.UNSIGNED, VerdictKind.UNSIGNED),
    (Effect.NOT_OFFICIAL, VerdictKind.NOT_OFFICIAL),
)


def _expected_kind(effects: set[Effect]) -> VerdictKind:
    for effect, kind in _SEVERITY:
        if effect in effects:
            return kind
    return VerdictKind.OFFICIAL


def verdict_problems(verdict: Verdict, *, where: str = "verdict") -> list[str]:
    """Every invariant ``verdict`` breaks, in words (empty: none)."""
    problems = []
    findings = verdict.all_findings()
    for f in findings:
        row = REASONS.get(f.code)
        if row is None:
            problems.append(f"{where}: finding with unknown code {f.code!r}")
            continue
        if not f.locator:
            problems.append(f"{where}: finding {f.code} has no locator")
        if not f.basis:
            problems.append(f"{where}: finding {f.code} has no legal basis")
        if f.effect is not row.effect:
            problems.append(f"{where}: finding {f.code} has effect {f.effect}, not {row.effect}")
    unknown = [r for r in verdict.reasons if r not in REASONS]
    if unknown:
        problems.append(f"{where}: unknown reason codes {unknown}")
    wanted = {f.code for f in findings if f.effect is not Effect.INFO}
    if set(verdict.reasons) != wanted or len(verdict.reasons) != len(set(verdict.reasons)):
        problems.append(f"{where}: reasons {verdict.reasons} are not the findings' {wanted}")
    expected = _expected_kind({f.effect for f in findings})
    if verdict.verdict is not expected:
        problems.append(f"{where}: verdict {verdict.verdict} but its findings give {expected}")
    as_json = json.loads(json.dumps(verdict.to_dict()))
    try:
        if Verdict.from_dict(as_json).to_dict() != as_json:
            problems.append(f"{where}: the JSON form does not round-trip")
    except VerdictSchemaError as exc:
        problems.append(f"{where}: the JSON form does not read back: {exc}")
    for n, doc in enumerate(verdict.documents):
        problems += verdict_problems(doc, where=f"{where}.documents[{n}]")
    return problems


def assert_invariants(verdict: Verdict) -> None:
    problems = verdict_problems(verdict)
    assert not problems, problems
