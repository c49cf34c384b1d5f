"""The verdict's vocabulary: the words every rendering (CLI, milter, report, notebook, the
service) uses, declared once. The JSON carries their values (StrEnum), unchanged."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "VERDICT_ORDER",
    "ChainRole",
    "Classification",
    "Coverage",
    "RevocationState",
    "SignatureStatus",
    "SignerRole",
    "TimeSource",
    "VerdictKind",
]


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

    @property
    def severity(self) -> int:
        """How bad it is, for "the worst of several": official 0 … invalid 4."""
        return _SEVERITY[self]

    @property
    def colour(self) -> str:
        """The one colour every rendering (terminal page, report, notebook, service) uses."""
        return _COLOURS[self]


_EXIT_CODES = {
    VerdictKind.OFFICIAL: 0,
    VerdictKind.NOT_OFFICIAL: 1,
    VerdictKind.UNSIGNED: 2,
    VerdictKind.INVALID: 3,
    VerdictKind.INDETERMINATE: 4,
}


_SEVERITY = {
    VerdictKind.OFFICIAL: 0,
    VerdictKind.NOT_OFFICIAL: 1,
    VerdictKind.UNSIGNED: 2,
    VerdictKind.INDETERMINATE: 3,
    VerdictKind.INVALID: 4,
}
_COLOURS = {
    VerdictKind.OFFICIAL: "#1a7f37",
    VerdictKind.NOT_OFFICIAL: "#bc4c00",
    VerdictKind.UNSIGNED: "#57606a",
    VerdictKind.INVALID: "#cf222e",
    VerdictKind.INDETERMINATE: "#8250df",
}
# The order verdicts are listed in (tables, charts, configuration): the declaration order.
VERDICT_ORDER: tuple[str, ...] = tuple(kind.value for kind in VerdictKind)


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


class SignerRole(StrEnum):
    """Who signed, as the policy classifies the signer's certificate (rule book, C6/C7)."""

    PERSON = "person"  # the competent person (người có thẩm quyền)
    AGENCY = "agency"  # the agency's seal certificate (cơ quan, tổ chức)


class ChainRole(StrEnum):
    """A certificate's place in a validated chain."""

    SIGNER = "signer"
    TSA = "tsa"  # the leaf of a timestamp's chain
    INTERMEDIATE = "intermediate"
    ANCHOR = "anchor"


class Coverage(StrEnum):
    """What a PDF signature's ByteRange covers."""

    ENTIRE_FILE = "entire_file"
    ENTIRE_REVISION = "entire_revision"  # its revision; later revisions are judged apart
    PARTIAL = "partial"  # not even its own revision (a gap besides /Contents)


class Classification(StrEnum):
    """A later change to a signed PDF, as modification analysis judges it."""

    BENIGN = "benign"
    SUSPICIOUS = "suspicious"
