"""A policy: what "officially valid" requires, loaded from a versioned TOML file.

Policies are data. A bad file fails at load time with a :class:`PolicyError` naming the
file (and line, where TOML gives one); the verdict records the policy's name, version and
the SHA-256 of the file it came from.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sigmail.cms.algorithms import AlgorithmPolicy
from sigmail.errors import PolicyError
from sigmail.trust.chain_types import ChainParams, RevocationRule
from sigmail.verdict.model import PolicyRef

__all__ = ["BUILTIN_POLICIES", "DEFAULT_POLICY", "Policy", "load_policy"]

BUILTIN_POLICIES = ("basic",)
DEFAULT_POLICY = "basic"

_CA_CLASS_EFFECTS = ("accept", "not_official")
_BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    version: str
    sha256: str
    description: str
    algorithms: AlgorithmPolicy
    chain: ChainParams
    ca_class_effects: tuple[tuple[str, str], ...]  # (anchor class, "accept" | "not_official")

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(self.name, self.version, self.sha256)

    def effect_of_ca_class(self, anchor_class: str) -> str:
        return dict(self.ca_class_effects).get(anchor_class, "not_official")


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return n
    return None


def _parse(text: str, source: str) -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # TOMLDecodeError has .lineno only from Python 3.14; older ones say it in the message.
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise PolicyError(str(exc), source=source, line=line) from exc

    def fail(message: str, key: str | None = None):
        raise PolicyError(message, source=source, line=_line_of(text, key) if key else None)

    known = {"policy", "algorithms", "ca_classes", "revocation"}
    for section in data:
        if section not in known:
            fail(f"unknown section [{section}]")
    meta = data.get("policy") or fail("missing [policy] section")
    for key in ("name", "version"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            fail(f"[policy] {key} must be a non-empty string", key)

    algos = data.get("algorithms", {})
    defaults = AlgorithmPolicy()
    try:
        algorithm_policy = AlgorithmPolicy(
            allowed_digests=frozenset(algos.get("digests", defaults.allowed_digests)),
            min_rsa_bits=int(algos.get("min_rsa_bits", defaults.min_rsa_bits)),
            min_ec_bits=int(algos.get("min_ec_bits", defaults.min_ec_bits)),
            allow_dsa=bool(algos.get("allow_dsa", defaults.allow_dsa)),
        )
    except (TypeError, ValueError) as exc:
        fail(f"[algorithms]: {exc}")
    for key in algos:
        if key not in {
            "digests",
            "min_rsa_bits",
            "min_ec_bits",
            "allow_dsa",
            "chain_legacy_hashes",
            "chain_refused_hashes",
        }:
            fail(f"unknown key [algorithms] {key}", key)

    rev = data.get("revocation", {})
    rules = {r.value for r in RevocationRule}
    for key, value in rev.items():
        if key not in ("signer", "ca"):
            fail(f"unknown key [revocation] {key}", key)
        if value not in rules:
            fail(f"[revocation] {key} must be one of {sorted(rules)}, not {value!r}", key)
    chain_defaults = ChainParams()
    chain = ChainParams(
        leaf_revocation=RevocationRule(rev.get("signer", chain_defaults.leaf_revocation)),
        ca_revocation=RevocationRule(rev.get("ca", chain_defaults.ca_revocation)),
        refused_hashes=frozenset(algos.get("chain_refused_hashes", ("md2", "md5"))),
        legacy_hashes=frozenset(algos.get("chain_legacy_hashes", ("sha1",))),
    )

    classes = data.get("ca_classes", {})
    for key, value in classes.items():
        if key not in ("official", "public"):
            fail(f"unknown CA class {key!r} (official, public)", key)
        if value not in _CA_CLASS_EFFECTS:
            fail(f"[ca_classes] {key} must be one of {list(_CA_CLASS_EFFECTS)}", key)
    effects = {"official": "accept", "public": "not_official", **classes}

    return Policy(
        name=meta["name"],
        version=meta["version"],
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        description=str(meta.get("description", "")),
        algorithms=algorithm_policy,
        chain=chain,
        ca_class_effects=tuple(sorted(effects.items())),
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
