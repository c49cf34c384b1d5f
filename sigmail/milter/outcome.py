"""What the filter needs of a verdict, in a form that crosses a process boundary cheaply.

A :class:`~sigmail.verdict.model.Verdict` is a deep tree (signatures, chains, certificate
summaries, findings): pickling one and back costs about as much as a warm verification of a
small message. The filter uses a handful of its fields, so a verifying process sends
:class:`Outcome` — the verdict word, the reason codes, the two header fields already
rendered, and what the log line and the notice part need.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigmail.verdict.auth_results import AddedHeader, headers_for
from sigmail.verdict.model import Verdict

__all__ = ["Outcome", "outcome_of"]


@dataclass(frozen=True)
class Outcome:
    """The filter's view of one verdict (see the module docstring)."""

    verdict: str
    reasons: tuple[str, ...]  # ReasonCode values (a StrEnum)
    add: tuple[AddedHeader, ...]  # Authentication-Results, X-Sigmail-Verdict
    signer: str | None = None  # for the log line
    message_id: str | None = None
    documents: int = 0
    signed: bool = False  # a signature or a signed document anywhere in the message
    result: Verdict | None = None  # the verdict itself, when verified in this process


def _signer(verdict: Verdict) -> str | None:
    for sig in verdict.signatures:
        if sig.signer is not None:
            if sig.signer.emails:
                return sig.signer.emails[0]
            return sig.signer.common_name or sig.signer.subject
    return None


def outcome_of(verdict: Verdict, authserv_id: str, *, keep: bool = False) -> Outcome:
    """The :class:`Outcome` of ``verdict`` (with the verdict itself when ``keep``)."""
    return Outcome(
        verdict=str(verdict.verdict),
        reasons=verdict.reasons,
        add=tuple(headers_for(verdict, authserv_id)),
        signer=_signer(verdict),
        message_id=verdict.message_id,
        documents=len(verdict.documents),
        signed=bool(verdict.signatures or verdict.documents),
        result=verdict if keep else None,
    )
