"""What one row of the reason-code table is: a code, its effect on a verdict, its check,
its legal basis and its message in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Effect", "Reason"]


class Effect(StrEnum):
    """What one finding does to the verdict of the document or message it is part of."""

    INVALID = "invalid"
    INDETERMINATE = "indeterminate"
    NOT_OFFICIAL = "not_official"
    UNSIGNED = "unsigned"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    effect: Effect
    check: str  # C1..C12 of the rule book, or "-" for input handling
    basis: str
    vi: str
    en: str
