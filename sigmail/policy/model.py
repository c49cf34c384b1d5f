"""A policy: what "officially valid" requires, loaded from a versioned TOML file.

Policies are data. A bad file fails at load time with a :class:`PolicyError` naming the file
and the line; the verdict records the policy's name, version and the SHA-256 of the file.
Built-in policies live in ``builtin/``: ``vn-gov`` (the default: the rule book's C1–C12) and
``basic`` (signature checks C1–C6 only).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from asn1crypto import x509

from sigmail.cms.algorithms import AlgorithmPolicy
from sigmail.errors import PolicyError
from sigmail.trust.chain_types import DOCUMENT_SIGNING_PURPOSES, ChainParams, RevocationRule
from sigmail.verdict.model import PolicyRef

__all__ = [
    "BUILTIN_POLICIES",
    "DEFAULT_POLICY",
    "AnchorPin",
    "Policy",
    "RegistryEntry",
    "RoleRules",
    "load_policy",
]

BUILTIN_POLICIES = ("vn-gov", "basic")
DEFAULT_POLICY = "vn-gov"

_BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
_CA_CLASS_EFFECTS = ("accept", "not_official")
_ROLES = ("person", "agency")
_DOCUMENT_ROLES = ("document", "attachment", "message")
_ORDERS = ("person_then_agency", "none")
_FINGERPRINT = re.compile(r"^[0-9A-F]{64}$")


@dataclass(frozen=True, slots=True)
class AnchorPin:
    """A CA certificate the policy recognises, by fingerprint (the file is not shipped)."""

    name: str
    sha256: str
    anchor_class: str  # "official" | "public"
    kind: str  # "root" | "intermediate"
    subject: str = ""
    published: str = ""


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """A certificate whose role and agency are known in advance (C7–C9)."""

    agency: str
    role: str  # "person" | "agency"
    sha256: str | None = None
    ski: str | None = None
    subject: str | None = None


# Words an agency's common name starts with (rule book, "Person or agency?").
DEFAULT_AGENCY_NAME_PREFIXES = (
    "ỦY BAN NHÂN DÂN",
    "UỶ BAN NHÂN DÂN",
    "UBND",
    "HỘI ĐỒNG NHÂN DÂN",
    "HĐND",
    "BỘ",
    "SỞ",
    "TỔNG CỤC",
    "CỤC",
    "CHI CỤC",
    "VĂN PHÒNG",
    "BAN",
    "PHÒNG",
    "TRUNG TÂM",
    "KHO BẠC",
    "BẢO HIỂM XÃ HỘI",
    "TÒA ÁN",
    "VIỆN KIỂM SÁT",
    "CÔNG AN",
    "BỘ CHỈ HUY",
    "THANH TRA",
    "ĐẢNG ỦY",
    "TỈNH ỦY",
    "THÀNH ỦY",
    "HUYỆN ỦY",
    "QUẬN ỦY",
    "ĐOÀN",
    "HỘI",
    "TRƯỜNG",
    "BỆNH VIỆN",
    "ĐÀI",
    "BAN QUẢN LÝ",
)


@dataclass(frozen=True, slots=True)
class RoleRules:
    person_uid_prefixes: tuple[str, ...] = ("CCCD", "CMND", "HC", "PID", "BHXH")
    agency_uid_prefixes: tuple[str, ...] = ("MST", "MNS")
    agency_name_prefixes: tuple[str, ...] = DEFAULT_AGENCY_NAME_PREFIXES


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    sha256: str
    description: str
    algorithms: AlgorithmPolicy
    chain: ChainParams
    ca_class_effects: tuple[tuple[str, str], ...]  # (anchor class, "accept" | "not_official")
    required_roles: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (document role, roles)
    signing_order: str = "none"  # "person_then_agency" | "none"
    tz_quirk: timedelta | None = timedelta(hours=7)
    roles: RoleRules = field(default_factory=RoleRules)
    anchors: tuple[AnchorPin, ...] = ()
    registry: tuple[RegistryEntry, ...] = ()
    source: str = ""

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(self.name, self.version, self.sha256)

    def effect_of_ca_class(self, anchor_class: str) -> str:
        return dict(self.ca_class_effects).get(anchor_class, "not_official")

    def required(self, document_role: str) -> tuple[str, ...]:
        return dict(self.required_roles).get(document_role, ())

    def pin(self, sha256: str) -> AnchorPin | None:
        wanted = sha256.upper()
        return next((p for p in self.anchors if p.sha256 == wanted), None)


class _Source:
    """The policy text, for error messages that name the line of a key."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def line(self, key: str | None = None, table: str | None = None, index: int = 0) -> int | None:
        start = 0
        if table is not None:
            headers = [
                n
                for n, line in enumerate(self.lines)
                if re.match(rf"\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$", line)
            ]
            if index >= len(headers):
                return None
            start = headers[index]
            if key is None:
                return start + 1
        if key is None:
            return None
        for n in range(start, len(self.lines)):
            if n > start and table is not None and re.match(r"\s*\[", self.lines[n]):
                break
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[n]):
                return n + 1
        return None

    def fail(
        self, message: str, key: str | None = None, table: str | None = None, index: int = 0
    ) -> NoReturn:
        raise PolicyError(message, source=self.source, line=self.line(key, table, index))


# The extendedKeyUsage purposes asn1crypto names (email_protection, client_auth, …).
_KEY_PURPOSES = frozenset(x509.KeyPurposeId._map.values())
_DOTTED = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


def _strings(src: _Source, table: dict, key: str, section: str, default: tuple[str, ...]):
    value = table.get(key, default)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        src.fail(f"[{section}] {key} must be a list of strings", key, section)
    return tuple(value)


def _check_keys(src: _Source, table: dict, section: str, allowed: set[str], index: int = 0):
    if not isinstance(table, dict):
        src.fail(f"[{section}] must be a table", None, section)
    for key in table:
        if key not in allowed:
            src.fail(f"unknown key {key!r} in [{section}]", key, section, index)


def _parse_anchors(src: _Source, data: list) -> tuple[AnchorPin, ...]:
    pins = []
    for i, entry in enumerate(data):
        _check_keys(
            src, entry, "anchors", {"name", "subject", "sha256", "class", "kind", "published"}, i
        )
        sha = str(entry.get("sha256", "")).replace(":", "").upper()
        if not _FINGERPRINT.match(sha):
            src.fail("[[anchors]] sha256 must be 64 hex digits", "sha256", "anchors", i)
        if entry.get("class") not in ("official", "public"):
            src.fail('[[anchors]] class must be "official" or "public"', "class", "anchors", i)
        if entry.get("kind", "root") not in ("root", "intermediate"):
            src.fail('[[anchors]] kind must be "root" or "intermediate"', "kind", "anchors", i)
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            src.fail("[[anchors]] needs a name", "name", "anchors", i)
        pins.append(
            AnchorPin(
                name=entry["name"],
                sha256=sha,
                anchor_class=entry["class"],
                kind=entry.get("kind", "root"),
                subject=str(entry.get("subject", "")),
                published=str(entry.get("published", "")),
            )
        )
    return tuple(pins)


def _parse_registry(src: _Source, data: list) -> tuple[RegistryEntry, ...]:
    entries = []
    for i, entry in enumerate(data):
        _check_keys(src, entry, "registry", {"agency", "role", "sha256", "ski", "subject"}, i)
        if entry.get("role") not in _ROLES:
            src.fail('[[registry]] role must be "person" or "agency"', "role", "registry", i)
        if not isinstance(entry.get("agency"), str) or not entry["agency"]:
            src.fail("[[registry]] needs the agency's name", "agency", "registry", i)
        sha = entry.get("sha256")
        if sha is not None:
            sha = str(sha).replace(":", "").upper()
            if not _FINGERPRINT.match(sha):
                src.fail("[[registry]] sha256 must be 64 hex digits", "sha256", "registry", i)
        ski = entry.get("ski")
        if ski is not None:
            ski = str(ski).replace(":", "").lower()
            if not re.fullmatch(r"[0-9a-f]+", ski):
                src.fail("[[registry]] ski must be hex", "ski", "registry", i)
        if sha is None and ski is None and not entry.get("subject"):
            src.fail("[[registry]] needs sha256, ski or subject", "agency", "registry", i)
        entries.append(
            RegistryEntry(entry["agency"], entry["role"], sha, ski, entry.get("subject"))
        )
    return tuple(entries)


def _parse(text: str, source: str) -> Policy:
    src = _Source(text, source)
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # TOMLDecodeError has .lineno only from Python 3.14; older ones say it in the message.
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise PolicyError(str(exc), source=source, line=line) from exc

    known = {
        "policy",
        "algorithms",
        "ca_classes",
        "revocation",
        "signer",
        "signing_time",
        "documents",
        "roles",
        "anchors",
        "registry",
    }
    for section in data:
        if section not in known:
            src.fail(f"unknown section [{section}]", None, section)
    meta = data.get("policy")
    if not isinstance(meta, dict):
        src.fail("missing [policy] section")
    _check_keys(src, meta, "policy", {"name", "version", "description"})
    for key in ("name", "version"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            src.fail(f"[policy] {key} must be a non-empty string", key, "policy")

    algos = data.get("algorithms", {})
    _check_keys(
        src,
        algos,
        "algorithms",
        {
            "digests",
            "min_rsa_bits",
            "min_ec_bits",
            "allow_dsa",
            "chain_legacy_hashes",
            "chain_refused_hashes",
        },
    )
    defaults = AlgorithmPolicy()
    for key in ("min_rsa_bits", "min_ec_bits"):
        if key in algos and (not isinstance(algos[key], int) or algos[key] <= 0):
            src.fail(f"[algorithms] {key} must be a positive integer", key, "algorithms")
    algorithm_policy = AlgorithmPolicy(
        allowed_digests=frozenset(
            _strings(src, algos, "digests", "algorithms", tuple(defaults.allowed_digests))
        ),
        min_rsa_bits=algos.get("min_rsa_bits", defaults.min_rsa_bits),
        min_ec_bits=algos.get("min_ec_bits", defaults.min_ec_bits),
        allow_dsa=bool(algos.get("allow_dsa", defaults.allow_dsa)),
    )

    rev = data.get("revocation", {})
    _check_keys(src, rev, "revocation", {"signer", "ca"})
    rules = {r.value for r in RevocationRule}
    for key, value in rev.items():
        if value not in rules:
            src.fail(
                f"[revocation] {key} must be one of {sorted(rules)}, not {value!r}",
                key,
                "revocation",
            )
    signer = data.get("signer", {})
    _check_keys(src, signer, "signer", {"purposes"})
    purposes = _strings(src, signer, "purposes", "signer", tuple(sorted(DOCUMENT_SIGNING_PURPOSES)))
    for purpose in purposes:
        if purpose not in _KEY_PURPOSES and not _DOTTED.fullmatch(purpose):
            src.fail(
                f"[signer] purposes: {purpose!r} is neither a key purpose name "
                "(email_protection, client_auth …) nor a dotted OID",
                "purposes",
                "signer",
            )
    if not purposes:
        src.fail("[signer] purposes must name at least one purpose", "purposes", "signer")
    chain_defaults = ChainParams()
    chain = ChainParams(
        required_leaf_eku=frozenset(purposes),
        leaf_revocation=RevocationRule(rev.get("signer", chain_defaults.leaf_revocation)),
        ca_revocation=RevocationRule(rev.get("ca", chain_defaults.ca_revocation)),
        refused_hashes=frozenset(
            _strings(src, algos, "chain_refused_hashes", "algorithms", ("md2", "md5"))
        ),
        legacy_hashes=frozenset(
            _strings(src, algos, "chain_legacy_hashes", "algorithms", ("sha1",))
        ),
    )

    classes = data.get("ca_classes", {})
    _check_keys(src, classes, "ca_classes", {"official", "public"})
    for key, value in classes.items():
        if value not in _CA_CLASS_EFFECTS:
            src.fail(
                f"[ca_classes] {key} must be one of {list(_CA_CLASS_EFFECTS)}", key, "ca_classes"
            )
    effects = {"official": "accept", "public": "not_official", **classes}

    timing = data.get("signing_time", {})
    _check_keys(src, timing, "signing_time", {"tz_quirk_hours"})
    quirk = timing.get("tz_quirk_hours", 7)
    if not isinstance(quirk, int | float) or not -14 <= quirk <= 14:
        src.fail(
            "[signing_time] tz_quirk_hours must be a number of hours (0 = off)",
            "tz_quirk_hours",
            "signing_time",
        )

    docs = data.get("documents", {})
    _check_keys(src, docs, "documents", {*_DOCUMENT_ROLES, "order"})
    required = []
    for role in _DOCUMENT_ROLES:
        roles = _strings(src, docs, role, "documents", ())
        for r in roles:
            if r not in _ROLES:
                src.fail(
                    f"[documents] {role}: unknown role {r!r} (person, agency)", role, "documents"
                )
        required.append((role, roles))
    order = docs.get("order", "none")
    if order not in _ORDERS:
        src.fail(f"[documents] order must be one of {list(_ORDERS)}", "order", "documents")

    role_table = data.get("roles", {})
    _check_keys(
        src,
        role_table,
        "roles",
        {"person_uid_prefixes", "agency_uid_prefixes", "agency_name_prefixes"},
    )
    role_defaults = RoleRules()
    roles = RoleRules(
        person_uid_prefixes=_strings(
            src, role_table, "person_uid_prefixes", "roles", role_defaults.person_uid_prefixes
        ),
        agency_uid_prefixes=_strings(
            src, role_table, "agency_uid_prefixes", "roles", role_defaults.agency_uid_prefixes
        ),
        agency_name_prefixes=_strings(
            src, role_table, "agency_name_prefixes", "roles", role_defaults.agency_name_prefixes
        ),
    )

    anchors = data.get("anchors", [])
    registry = data.get("registry", [])
    if not isinstance(anchors, list):
        src.fail("anchors must be an array of tables: [[anchors]]", None, "anchors")
    if not isinstance(registry, list):
        src.fail("registry must be an array of tables: [[registry]]", None, "registry")

    return Policy(
        name=meta["name"],
        version=meta["version"],
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        description=str(meta.get("description", "")),
        algorithms=algorithm_policy,
        chain=chain,
        ca_class_effects=tuple(sorted(effects.items())),
        required_roles=tuple(required),
        signing_order=order,
        tz_quirk=timedelta(hours=quirk) if quirk else None,
        roles=roles,
        anchors=_parse_anchors(src, anchors),
        registry=_parse_registry(src, registry),
        source=source,
    )


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    """A built-in policy by name, or a policy file by path. Raises :class:`PolicyError`."""
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_POLICIES:
        text = (_BUILTIN_DIR / f"{name_or_path}.toml").read_text(encoding="utf-8")
        return _parse(text, f"<builtin {name_or_path}>")
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(
            f"no such policy file (built-in policies: {', '.join(BUILTIN_POLICIES)})",
            source=str(path),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read: {exc}", source=str(path)) from exc
    return _parse(text, str(path))
