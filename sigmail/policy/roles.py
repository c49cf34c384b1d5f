"""Person or agency? No certificate field says so; the rule book decides in this order:

1. the agency registry of the policy (certificate SHA-256, subject key identifier, subject);
2. the subject UID prefix: a personal identifier (``CCCD:``, ``CMND:``, ``HC:``, ``PID:``,
   ``BHXH:``) → person; ``MST:``/``MNS:`` alone → agency;
3. the common name: an agency name ("SỞ …", "UBND …", "TỔNG CỤC …", compared without
   diacritics and case) → agency;
4. otherwise → person.

:func:`classify` reports the role and which rule decided (``role_source``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sigmail.policy.model import Policy, RegistryEntry
from sigmail.verdict.model import CertificateSummary

__all__ = ["Role", "classify", "fold", "registry_entry"]


@dataclass(frozen=True, slots=True)
class Role:
    role: str  # "person" | "agency"
    source: str  # "registry" | "uid" | "common_name" | "default"
    agency: str | None = None  # the registry's agency name, when the registry decided


def fold(text: str) -> str:
    """Vietnamese text compared loosely: no diacritics (đ → d), one case, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare).strip().casefold()


def registry_entry(policy: Policy, signer: CertificateSummary) -> RegistryEntry | None:
    for entry in policy.registry:
        if entry.sha256 is not None and entry.sha256 == signer.sha256.upper():
            return entry
        if entry.ski is not None and signer.subject_key_id and entry.ski == signer.subject_key_id:
            return entry
        if entry.subject is not None and entry.subject == signer.subject:
            return entry
    return None


# X.520 bounds a UID at 256 characters (ub-user-identifier); one longer than this is read only
# this far, since the identifiers it names come first.
MAX_UID_CHARS = 1024
MAX_UID_PREFIXES = 16


def _uid_prefixes(uid: str | None) -> set[str]:
    """The "PREFIX" of every "PREFIX:value" in a UID (one may hold several identifiers,
    "MST:0301…, CCCD:0790…", in some profiles). One linear pass: each colon is preceded by
    optional spaces and the ASCII letters of its prefix, read backwards from the colon (a
    regular expression searched from every position was quadratic in a UID without colons)."""
    if not uid:
        return set()
    prefixes: set[str] = set()
    segments = uid[:MAX_UID_CHARS].split(":")
    for segment in segments[:-1]:  # every segment but the last is followed by a colon
        end = len(segment.rstrip())
        start = end
        while start > 0 and segment[start - 1].isascii() and segment[start - 1].isalpha():
            start -= 1
        if start < end:
            prefixes.add(segment[start:end].upper())
            if len(prefixes) >= MAX_UID_PREFIXES:
                break
    return prefixes


def _is_agency_name(common_name: str | None, prefixes: tuple[str, ...]) -> bool:
    if not common_name:
        return False
    name = fold(common_name)
    return any(name == p or name.startswith(p + " ") for p in (fold(x) for x in prefixes))


def classify(policy: Policy, signer: CertificateSummary) -> Role:
    entry = registry_entry(policy, signer)
    if entry is not None:
        return Role(entry.role, "registry", entry.agency)
    prefixes = _uid_prefixes(signer.uid)
    rules = policy.roles
    if prefixes & {p.upper() for p in rules.person_uid_prefixes}:
        return Role("person", "uid")
    if prefixes & {p.upper() for p in rules.agency_uid_prefixes}:
        return Role("agency", "uid")
    if _is_agency_name(signer.common_name, rules.agency_name_prefixes):
        return Role("agency", "common_name")
    return Role("person", "default")
