"""Checks run on a candidate path before certvalidator sees it: key purposes (EKU) and the
name-constraint work it would do, refused above a budget as rustls-webpki does."""

from __future__ import annotations

from asn1crypto import x509
from pyhanko_certvalidator.validate import SUPPORTED_EXTENSIONS

from sigmail.limits import LimitExceeded
from sigmail.problems import ASN1_ERRORS
from sigmail.trust.certificates import name_to_text
from sigmail.trust.chain_types import (
    ChainFailure,
    ChainProblem,
)
from sigmail.trust.path_builder import (
    CandidatePath,
)

# Name-constraint work allowed on one path: (names in a certificate) x (subtrees above it),
# summed. certvalidator compares every name with every subtree (a 2048 x 4096 case takes 13 s),
# so paths above this are refused before it runs, as rustls-webpki does with the same figure.
MAX_NAME_CONSTRAINT_CHECKS = 250_000


def _purposes(cert: x509.Certificate) -> set[str] | None:
    eku = cert.extended_key_usage_value
    if eku is None:
        return None
    return {p.native for p in eku} | {p.dotted for p in eku}


_PURPOSE_NAMES = {
    "1.3.6.1.5.5.7.3.36": "document_signing",
    "1.3.6.1.4.1.311.10.3.12": "microsoft_document_signing",
    "1.2.840.113583.1.1.5": "adobe_authentic_documents",
}


def eku_failure(
    full: tuple[x509.Certificate, ...], required: frozenset[str]
) -> ChainFailure | None:
    """The leaf's EKU must allow one of ``required``; so must the EKU of every CA above it
    that has one (EKU chaining, as Windows and NSS apply it). An empty EKU is never valid."""
    leaf_purposes = _purposes(full[0])
    if leaf_purposes is not None and not leaf_purposes:
        return ChainFailure(
            ChainProblem.INVALID,
            "the leaf's extended key usage extension lists no purpose (RFC 5280 4.2.1.12)",
            0,
        )
    if not required:
        return None
    wanted = required | {"any_extended_key_usage"}
    for index, cert in enumerate(full):
        purposes = _purposes(cert)
        if purposes is None or purposes & wanted:
            continue
        eku = cert.extended_key_usage_value
        listed = ", ".join(sorted(p.native for p in eku)) or "no purpose"
        who = "the leaf" if index == 0 else f"chain[{index}] ({subject_text(cert)})"
        return ChainFailure(
            ChainProblem.INVALID,
            f"extended key usage of {who} ({listed}) allows none of: "
            + ", ".join(sorted(_PURPOSE_NAMES.get(p, p) for p in required)),
            index,
        )
    return None


def _count_names(cert: x509.Certificate) -> int:
    san = cert.subject_alt_name_value
    return (len(san) if san is not None else 0) + sum(len(rdn) for rdn in cert.subject.chosen)


def _count_subtrees(cert: x509.Certificate) -> int:
    nc = cert.name_constraints_value
    if nc is None:
        return 0
    return sum(
        len(nc[part])
        for part in ("permitted_subtrees", "excluded_subtrees")
        if isinstance(nc[part], x509.GeneralSubtrees)
    )


def precheck(cand: CandidatePath) -> ChainFailure | None:
    """Structural checks certvalidator does not make, and its name-constraint budget."""
    full = cand.full
    n = len(cand.certs)
    for index, cert in enumerate(full):
        extensions = cert["tbs_certificate"]["extensions"]
        if isinstance(extensions, x509.Extensions):
            oids = [ext["extn_id"].dotted for ext in extensions]
            if len(oids) != len(set(oids)):
                return ChainFailure(
                    ChainProblem.INVALID,
                    f"chain[{index}] ({subject_text(cert)}) repeats an extension (RFC 5280 4.2)",
                    index,
                )
    if n:
        anchor = full[-1]
        who = f"the trust anchor {subject_text(anchor)}"
        unsupported = anchor.critical_extensions - SUPPORTED_EXTENSIONS
        if unsupported:
            return ChainFailure(
                ChainProblem.INVALID,
                f"{who} has unsupported critical extension(s): {', '.join(sorted(unsupported))}",
                n,
            )
        if anchor["tbs_certificate"]["version"].native == "v3" and not anchor.ca:
            return ChainFailure(
                ChainProblem.INVALID, f"{who} issues certificates but is not a CA", n
            )
        key_usage = anchor.key_usage_value
        if key_usage is not None and "key_cert_sign" not in key_usage.native:
            return ChainFailure(
                ChainProblem.INVALID, f"{who} is not allowed to sign certificates", n
            )
    work = 0
    subtrees_above = 0
    for index in range(n, 0, -1):  # from the anchor down
        subtrees_above += _count_subtrees(full[index])
        if subtrees_above:
            work += _count_names(full[index - 1]) * subtrees_above
    if work > MAX_NAME_CONSTRAINT_CHECKS:
        raise LimitExceeded("name_constraint_checks", MAX_NAME_CONSTRAINT_CHECKS, work)
    return None


def subject_text(cert: x509.Certificate) -> str:
    try:
        return name_to_text(cert.subject)
    except ASN1_ERRORS:
        return "<unreadable name>"
