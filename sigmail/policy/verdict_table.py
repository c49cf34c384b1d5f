"""Findings → verdict: the one table that decides ``official`` / ``not_official`` / … .

The verdict is the most severe effect among the findings of the document and its
signatures (attached documents have verdicts of their own):

=============  ==============================================================
effect         verdict
=============  ==============================================================
invalid        ``invalid``        — return it to the sender (NĐ 30 Art 21(2))
indeterminate  ``indeterminate``  — retry later (``retry_after`` when known)
unsigned       ``unsigned``       — reference copy only
not_official   ``not_official``   — intact and trusted, a policy requirement unmet
warning, info  no effect          — ``official`` if nothing else
=============  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sigmail.verdict.model import Finding, VerdictKind
from sigmail.verdict.reasons import Effect, ReasonCode

__all__ = ["VERDICT_TABLE", "decide", "reason_codes", "retry_after"]

VERDICT_TABLE: tuple[tuple[Effect, VerdictKind], ...] = (
    (Effect.INVALID, VerdictKind.INVALID),
    (Effect.INDETERMINATE, VerdictKind.INDETERMINATE),
    (Effect.UNSIGNED, VerdictKind.UNSIGNED),
    (Effect.NOT_OFFICIAL, VerdictKind.NOT_OFFICIAL),
)

_RANK = {effect: n for n, (effect, _v) in enumerate(VERDICT_TABLE)}
_RANK.update({Effect.WARNING: len(VERDICT_TABLE), Effect.INFO: len(VERDICT_TABLE) + 1})


def decide(findings: Sequence[Finding]) -> VerdictKind:
    effects = {f.effect for f in findings}
    for effect, verdict in VERDICT_TABLE:
        if effect in effects:
            return verdict
    return VerdictKind.OFFICIAL


def reason_codes(findings: Sequence[Finding]) -> tuple[ReasonCode, ...]:
    """Codes of every finding that is more than information, most severe first, once each."""
    ranked = sorted(
        (f for f in findings if f.effect is not Effect.INFO), key=lambda f: _RANK[f.effect]
    )
    return tuple(dict.fromkeys(f.code for f in ranked))


def retry_after(findings: Sequence[Finding]) -> datetime | None:
    times = [f.retry_after for f in findings if f.retry_after is not None]
    return min(times) if times else None
