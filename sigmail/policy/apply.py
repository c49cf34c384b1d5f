"""Applying a policy to what verification found: roles, then the checks of the table.

The verdict itself is then read off the findings by :mod:`sigmail.policy.verdict_table`.
"""

from __future__ import annotations

from sigmail.contract import FormatResult
from sigmail.frozen_copy import changed
from sigmail.limits import Budget
from sigmail.policy.checks import CHECKS, DOCUMENT_KINDS, Case
from sigmail.policy.model import Policy
from sigmail.policy.roles import classify
from sigmail.verdict.model import Finding, SignatureReport, SignerRole

__all__ = ["apply_policy", "role_of_carried_document"]


def role_of_carried_document(kind: str, documents_before: int) -> str:
    """The role a document carried in a message plays: the first document is the main one,
    later ones are its attachments (see checks.attachment_positions), messages are messages."""
    if kind == "eml":
        return "message"
    return "document" if documents_before == 0 else "attachment"


def apply_policy(
    policy: Policy, result: FormatResult, *, document_role: str, budget: Budget | None = None
) -> tuple[tuple[SignatureReport, ...], list[Finding]]:
    """Signatures with their roles and signature-level findings; document-level findings.

    The work is charged to ``budget`` (the verification's wall-clock allowance) when given:
    the policy runs inside the same budget as the format handler did.
    """
    signatures = []
    signature_checks = [
        c.evaluate for c in CHECKS if c.applies_to == "signature" and c.evaluate is not None
    ]
    for sig in result.signatures:
        if budget is not None:
            budget.check_time()
        if sig.signer is not None and sig.kind != "doc_timestamp":
            role = classify(policy, sig.signer)
            sig = changed(sig, role=SignerRole(role.role), role_source=role.source)
        extra = [f for evaluate in signature_checks for f in evaluate(policy, sig)]
        if extra:
            sig = changed(sig, findings=sig.findings + tuple(extra))
        signatures.append(sig)
    if document_role == "message" and result.kind in DOCUMENT_KINDS:
        document_role = "document"  # a bare document given where a message was expected
    case = Case(
        kind=result.kind,
        document_role=document_role,
        signatures=tuple(signatures),
        findings=tuple(result.findings),
        documents=result.documents,
    )
    findings = list(result.findings)
    for check in CHECKS:
        if check.applies_to == "document" and check.evaluate is not None:
            if budget is not None:
                budget.check_time()
            findings.extend(check.evaluate(policy, case))
    return tuple(signatures), findings
