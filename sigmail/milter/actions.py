"""What the milter does with a message once it has a verdict: the configured action.

Every message is annotated (its headers say the verdict); the action decides whether it is
then delivered (``accept``, the default for every verdict), held in the MTA's quarantine
(``quarantine``: Postfix's hold queue), refused for good (``reject``, with a configurable
5xx reply) or refused for now (``tempfail``, 4xx: the sender's MTA retries).

Actions are set per verdict in ``[actions]`` and may be overridden per recipient domain
(``[domains."stp.kontum.gov.vn"]``, or ``[domains."*.kontum.gov.vn"]`` for its
subdomains). A milter decides once per message, so with recipients in several domains the
strictest of their actions applies to the whole message: reject > tempfail > quarantine >
accept. Nothing here ever discards a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sigmail.verdict.vocabulary import VERDICT_ORDER

__all__ = [
    "VERDICTS",
    "ActionSet",
    "Decision",
    "Disposition",
    "DomainActions",
    "check_reply",
    "resolve",
]

VERDICTS = VERDICT_ORDER


class Disposition(StrEnum):
    ACCEPT = "accept"
    QUARANTINE = "quarantine"
    TEMPFAIL = "tempfail"
    REJECT = "reject"

    @property
    def severity(self) -> int:
        return _SEVERITY.index(self)


_SEVERITY = (Disposition.ACCEPT, Disposition.QUARANTINE, Disposition.TEMPFAIL, Disposition.REJECT)

DEFAULT_REJECT_REPLY = "550 5.7.1 Message refused by the digital signature policy (sigmail)"
DEFAULT_TEMPFAIL_REPLY = "451 4.7.1 Signature could not be verified now, try again later (sigmail)"
DEFAULT_QUARANTINE_REASON = "sigmail: {verdict}"

_REPLY = re.compile(r"(?P<code>[245]\d\d)(?: (?P<dsn>[245]\.\d{1,3}\.\d{1,3}))?(?: (?P<text>.*))?")


def check_reply(text: str, first_digit: str) -> str | None:
    """Why ``text`` is not a usable SMTP reply starting with ``first_digit`` (None if it is)."""
    match = _REPLY.fullmatch(text)
    if match is None:
        return 'must look like "550 5.7.1 text" (a code, an optional status, printable text)'
    if match["code"][0] != first_digit:
        return f"the reply code must be {first_digit}xx"
    if match["dsn"] and match["dsn"][0] != first_digit:
        return f"the enhanced status code must start with {first_digit}."
    if not re.fullmatch(r"[\x20-\x7e]*", text) or "%" in text:
        return "only printable ASCII without '%' can go into an SMTP reply"
    return None


@dataclass(frozen=True, slots=True)
class ActionSet:
    """The action for each verdict, and the texts that go with them."""

    by_verdict: Mapping[str, Disposition] = field(
        default_factory=lambda: dict.fromkeys(VERDICTS, Disposition.ACCEPT)
    )
    reject_reply: str = DEFAULT_REJECT_REPLY
    tempfail_reply: str = DEFAULT_TEMPFAIL_REPLY
    quarantine_reason: str = DEFAULT_QUARANTINE_REASON

    def overridden(self, **changes) -> ActionSet:
        verdicts = {k: v for k, v in changes.items() if k in VERDICTS}
        rest = {k: v for k, v in changes.items() if k not in VERDICTS}
        return replace(self, by_verdict={**self.by_verdict, **verdicts}, **rest)


@dataclass(frozen=True, slots=True)
class DomainActions:
    """The default actions and the per-recipient-domain overrides."""

    default: ActionSet = field(default_factory=ActionSet)
    domains: Mapping[str, ActionSet] = field(default_factory=dict)  # "example.vn", "*.example.vn"

    def for_domain(self, domain: str | None) -> ActionSet:
        if domain:
            domain = domain.lower().rstrip(".")
            if domain in self.domains:
                return self.domains[domain]
            labels = domain.split(".")
            for i in range(1, len(labels)):
                wildcard = "*." + ".".join(labels[i:])
                if wildcard in self.domains:
                    return self.domains[wildcard]
        return self.default


@dataclass(frozen=True, slots=True)
class Decision:
    """What to answer the MTA at the end of a message."""

    disposition: Disposition
    reply: str | None = None  # the SMTP reply for reject/tempfail
    quarantine_reason: str | None = None
    domain: str | None = None  # the recipient domain whose rule decided (None: the default)


def _domain_of(recipient: str) -> str | None:
    address = recipient.strip().strip("<>")
    if "@" not in address:
        return None
    return address.rpartition("@")[2].lower().rstrip(".") or None


def resolve(actions: DomainActions, verdict: str, recipients: Iterable[str]) -> Decision:
    """The action for a message with this verdict sent to these recipients."""
    candidates: list[tuple[Disposition, ActionSet, str | None]] = []
    domains = {_domain_of(r) for r in recipients} or {None}
    for domain in sorted(domains, key=lambda d: d or ""):
        rules = actions.for_domain(domain)
        decided_by = domain if rules is not actions.default else None
        candidates.append((rules.by_verdict.get(verdict, Disposition.ACCEPT), rules, decided_by))
    disposition, rules, domain = max(candidates, key=lambda c: c[0].severity)
    if disposition is Disposition.REJECT:
        return Decision(disposition, reply=rules.reject_reply, domain=domain)
    if disposition is Disposition.TEMPFAIL:
        return Decision(disposition, reply=rules.tempfail_reply, domain=domain)
    if disposition is Disposition.QUARANTINE:
        reason = rules.quarantine_reason.replace("{verdict}", verdict)
        return Decision(disposition, quarantine_reason=reason, domain=domain)
    return Decision(disposition, domain=domain)
