"""The rule book's checks C1–C12, one named function each, and the table that lists them.

Some checks are decided while verifying, because only the verifier sees the bytes: integrity
(C2) and key usage/algorithms (C5) in :mod:`sigmail.cms` and :mod:`sigmail.pdf`, the chain
(C3) and the certificate status at the proven signing time (C4) in :mod:`sigmail.cms.verify`,
the e-mail sender and coverage (C11) in :mod:`sigmail.smime`. Their findings carry the same
check ids. The checks here read what verification reported and apply the policy: each takes
the policy and a :class:`Case` (or one signature) and returns findings. Which findings make
which verdict is decided in :mod:`sigmail.policy.verdict_table`, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sigmail.policy.model import Policy
from sigmail.policy.roles import fold, registry_entry
from sigmail.verdict.model import Finding, SignatureReport, SignatureStatus, Verdict
from sigmail.verdict.reasons import Effect

__all__ = ["CHECKS", "DOCUMENT_KINDS", "Case", "Check", "counted_signatures"]

DOCUMENT_KINDS = ("pdf", "p7m", "p7s", "xml", "ooxml", "odf")
# Signatures that are no signer of the document: a PDF document timestamp, an ODF macro
# signature (it signs the macros, not the document; sigmail/odf/verify.py).
NOT_SIGNERS = ("doc_timestamp", "odf_macro")


@dataclass(frozen=True, slots=True)
class Case:
    """What the document-level checks see: one input after verification, roles classified."""

    kind: str  # "p7m" | "p7s" | "pdf" | "eml" | "unknown"
    document_role: str  # "document" | "attachment" | "message"
    signatures: tuple[SignatureReport, ...]
    findings: tuple[Finding, ...]  # the format handler's document-level findings
    documents: tuple[Verdict, ...] = ()  # carried documents (messages)


def counted_signatures(case: Case) -> list[SignatureReport]:
    """Signatures of people or agencies whose integrity holds (document timestamps are not
    signers). Whether their signers are trusted is C3/C4's finding, not C7–C10's: counting
    only trusted signatures made an untrusted, intact pair read "lacks the person's
    signature" and "lacks the agency's signature (only the person signed)" at once, next to
    the chain finding that already decides the verdict."""
    return [s for s in case.signatures if _counted(s)]


def _counted(sig: SignatureReport) -> bool:
    return (
        sig.kind not in NOT_SIGNERS
        and sig.integrity is SignatureStatus.PASSED
        and sig.role is not None
    )


def _label(sig: SignatureReport) -> str:
    who = sig.signer.common_name if sig.signer else "?"
    return f"{sig.locator} ({sig.role}: {who})"


# -- C1 -------------------------------------------------------------------------------------
def c1_signature_present(policy: Policy, case: Case) -> list[Finding]:
    """C1: at least one signature. An input already judged unreadable is not "unsigned", and
    neither is a message whose signed part sits inside an unsigned wrapper: that is
    ``partially_signed`` (C11), not a reference copy."""
    if any(s.kind not in NOT_SIGNERS for s in case.signatures):
        return []
    decided = {Effect.INVALID, Effect.INDETERMINATE, Effect.UNSIGNED}
    if any(f.effect in decided or f.code == "partially_signed" for f in case.findings):
        return []
    return [Finding.of("no_signature", "document")]


# -- C6 -------------------------------------------------------------------------------------
def c6_ca_class(policy: Policy, sig: SignatureReport) -> list[Finding]:
    """C6: official correspondence is signed with official-duty certificates."""
    if sig.status is not SignatureStatus.PASSED or sig.anchor_class is None:
        return []
    if policy.effect_of_ca_class(sig.anchor_class) == "not_official":
        return [
            Finding.of(
                "public_ca_signer",
                sig.locator,
                f"the chain ends in the {sig.anchor_class} anchor {sig.anchor}",
            )
        ]
    return []


# -- C7 -------------------------------------------------------------------------------------
def c7_required_signers(policy: Policy, case: Case) -> list[Finding]:
    """C7: a document is signed by the competent person *and* the agency (attachments: the
    agency); which roles are required per kind of input is policy data."""
    if case.kind not in DOCUMENT_KINDS or not case.signatures:
        return []
    required = policy.required(case.document_role)
    present = {s.role for s in counted_signatures(case) if s.role is not None}
    if not present:
        # Every signature is broken or undecided, and says so with a finding that already
        # decides the verdict; "lacks the person's" and "lacks the agency's signature (only
        # the person signed)" together would contradict each other.
        return []
    out = []
    if "person" in required and "person" not in present:
        out.append(
            Finding.of(
                "missing_person_signature",
                "document",
                f"signed by: {', '.join(sorted(present))}",
            )
        )
    if "agency" in required and "agency" not in present:
        out.append(
            Finding.of(
                "missing_agency_signature",
                "document",
                f"signed by: {', '.join(sorted(present))}",
            )
        )
    return out


# -- C8 -------------------------------------------------------------------------------------
def c8_signing_order(policy: Policy, case: Case) -> list[Finding]:
    """C8: the agency signs a document the person has already signed.

    Order is known where one signature contains another (a PDF revision, a .p7m wrapped in a
    .p7m): the agency's signed revision must hold a person's signature, and no person may sign
    over the agency's seal. Parallel signatures (several SignerInfos over the same content)
    prove no order.
    """
    if policy.signing_order != "person_then_agency" or case.kind not in DOCUMENT_KINDS:
        return []
    signed = counted_signatures(case)
    persons = [s for s in signed if s.role == "person"]
    agencies = [s for s in signed if s.role == "agency"]
    if not persons or not agencies:
        return []  # C7's business
    out = []
    for person in persons:
        for agency in agencies:
            if agency.index in person.earlier_signatures:
                out.append(
                    Finding.of(
                        "signing_order_invalid",
                        person.locator,
                        f"{_label(person)} signed after {_label(agency)}",
                    )
                )
    if out:
        return out
    if not any(p.index in a.earlier_signatures for a in agencies for p in persons):
        return [
            Finding.of(
                "signing_order_unproven",
                "document",
                "no agency signature contains a person's signature: "
                + ", ".join(_label(s) for s in (*persons, *agencies)),
            )
        ]
    return []


# -- C9 -------------------------------------------------------------------------------------
def _names_of(sig: SignatureReport) -> set[str]:
    s = sig.signer
    if s is None:
        return set()
    return {fold(x) for x in (s.organization, *s.organizational_units) if x}


def _member(policy: Policy, person: SignatureReport, agency: SignatureReport) -> bool:
    p_entry = registry_entry(policy, person.signer) if person.signer else None
    a_entry = registry_entry(policy, agency.signer) if agency.signer else None
    if p_entry is not None and a_entry is not None:
        return fold(p_entry.agency) == fold(a_entry.agency)
    if agency.signer is None or person.signer is None:
        return False
    agency_name = fold(agency.signer.common_name or "")
    person_units = _names_of(person)
    if agency_name not in person_units:
        return False
    parent = agency.signer.organization
    return (
        parent is None
        or person.signer.organization is None
        or (fold(parent) == fold(person.signer.organization))
    )


def c9_agency_membership(policy: Policy, case: Case) -> list[Finding]:
    """C9: the person belongs to the agency that seals the document (registry, else the
    agency's name among the person's O/OU and the same parent organisation)."""
    if case.kind not in DOCUMENT_KINDS or not policy.required(case.document_role):
        return []
    signed = counted_signatures(case)
    agencies = [s for s in signed if s.role == "agency"]
    if not agencies:
        return []
    out = []
    for person in (s for s in signed if s.role == "person"):
        if not any(_member(policy, person, agency) for agency in agencies):
            out.append(
                Finding.of(
                    "signer_not_of_agency",
                    person.locator,
                    f"{_label(person)} is not of "
                    + " / ".join(a.signer.common_name or "?" for a in agencies if a.signer),
                )
            )
    return out


# -- C10 ------------------------------------------------------------------------------------
def attachment_positions(documents: tuple[Verdict, ...]) -> list[int]:
    """In a message the first document (PDF, .p7m, .p7s) is the main one; later ones are its
    attachments. The verifier assigns roles to carried documents by the same rule."""
    seen = [i for i, d in enumerate(documents) if d.kind in DOCUMENT_KINDS]
    return seen[1:]


def _agency_signed(verdict: Verdict) -> bool:
    """An intact agency signature (whether it is trusted is the attachment's own verdict)."""
    return any(s.role == "agency" and _counted(s) for s in verdict.signatures)


def c10_attachments_agency_signed(policy: Policy, case: Case) -> list[Finding]:
    """C10: attachment files of a document carry the agency's signature (a warning)."""
    if case.document_role != "message" or "agency" not in policy.required("attachment"):
        return []
    return [
        Finding.of("attachment_not_agency_signed", f"document {case.documents[i].name or i}")
        for i in attachment_positions(case.documents)
        if not _agency_signed(case.documents[i])
    ]


# -- C12 ------------------------------------------------------------------------------------
def c12_evidence_kept(policy: Policy, sig: SignatureReport) -> list[Finding]:
    """C12: what TT 41/2017 Art 9 says to keep is there (timestamp, status of every
    certificate). A duty for the register, not a verdict: the finding is information."""
    if sig.status is not SignatureStatus.PASSED:
        return []
    missing = []
    if sig.proven_by is None:
        missing.append("a timestamp")
    for n, element in enumerate(sig.chain):
        if element.role == "anchor":
            continue
        if element.revocation is None or element.revocation.source is None:
            missing.append(f"the status of chain[{n}]")
    if not missing:
        return []
    return [Finding.of("evidence_incomplete", sig.locator, "missing " + ", ".join(missing))]


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    applies_to: str  # "signature" | "document" | "verification"
    evaluate: Callable | None  # None: decided while verifying (see where)
    where: str = ""


# The rule book's table, in order. "verification" checks are evaluated by the verifier.
CHECKS: tuple[Check, ...] = (
    Check("C1", "at least one signature", "document", c1_signature_present),
    Check("C2", "integrity", "verification", None, "sigmail/cms/signer_info.py, sigmail/pdf"),
    Check("C3", "chain to an allowed anchor", "verification", None, "sigmail/trust/chain.py"),
    Check(
        "C4",
        "certificate valid at the proven signing time",
        "verification",
        None,
        "sigmail/cms/verify.py (chain_findings)",
    ),
    Check(
        "C5",
        "key usage, algorithm and key strength",
        "verification",
        None,
        "sigmail/cms/algorithms.py, sigmail/cms/signer_info.py",
    ),
    Check("C6", "official-duty CA class", "signature", c6_ca_class),
    Check("C7", "person and agency signatures", "document", c7_required_signers),
    Check("C8", "agency signs after the person", "document", c8_signing_order),
    Check("C9", "person belongs to the agency", "document", c9_agency_membership),
    Check(
        "C10", "attachments carry the agency signature", "document", c10_attachments_agency_signed
    ),
    Check("C11", "e-mail sender and full coverage", "verification", None, "sigmail/smime"),
    Check("C12", "evidence kept", "signature", c12_evidence_kept),
)
