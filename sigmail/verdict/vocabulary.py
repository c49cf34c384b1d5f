"""The verdict's vocabulary: the words every rendering (CLI, milter, report, notebook, the
service) uses, declared once. The JSON carries their values (StrEnum), unchanged."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RevocationState", "SignatureStatus", "TimeSource", "VerdictKind"]


class VerdictKind(StrEnum):
    """The answer for a document or message (rule book, "Verdict vocabulary")."""

    OFFICIAL = "official"
    NOT_OFFICIAL = "not_official"
    UNSIGNED = "unsigned"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this verdict (documented contract)."""
        return _EXIT_CODES[self]


_EXIT_CODES = {
    VerdictKind.OFFICIAL: 0,
    VerdictKind.NOT_OFFICIAL: 1,
    VerdictKind.UNSIGNED: 2,
    VerdictKind.INVALID: 3,
    VerdictKind.INDETERMINATE: 4,
}


class SignatureStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INDETERMINATE = "indeterminate"


class TimeSource(StrEnum):
    """What proves a signing time: only trusted evidence counts, never the signer's claim."""

    TIMESTAMP = "timestamp"
    RECEIPT = "receipt"


class RevocationState(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    ON_HOLD = "on_hold"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not_checked"
