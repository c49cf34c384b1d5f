"""Policy rules applied on top of signature verification, one function per check.

C1 (presence) and C2–C5 (integrity, chain, time, key and algorithms) are decided while
verifying (:mod:`sigmail.cms`); this module holds the checks that depend on policy settings.
"""

from __future__ import annotations

from sigmail.policy.model import Policy
from sigmail.verdict.model import Finding, SignatureReport, SignatureStatus

__all__ = ["check_ca_class", "signature_rules"]


def check_ca_class(policy: Policy, sig: SignatureReport) -> list[Finding]:
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


def signature_rules(policy: Policy, sig: SignatureReport) -> list[Finding]:
    return check_ca_class(policy, sig)
