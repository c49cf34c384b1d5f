"""sigmail: is this piece of Vietnamese official correspondence officially valid?

    >>> import sigmail
    >>> trust = sigmail.TrustStore.load(official=["/etc/sigmail/trust"])
    >>> verdict = sigmail.verify(data, trust=trust, at=datetime.now(UTC))
    >>> verdict.verdict, verdict.reasons

Attributes are imported on first use so that ``import sigmail`` (and the CLI) start fast.
"""

from __future__ import annotations

from sigmail._version import __version__ as __version__

# Not typing's: ``sigmail --help`` does not import typing (mypy knows the name).
TYPE_CHECKING = False

_EXPORTS = {
    "verify": "sigmail.verifier",
    "Verifier": "sigmail.verifier",
    "TrustStore": "sigmail.trust.store",
    "AnchorClass": "sigmail.trust.store",
    "Limits": "sigmail.limits",
    "Policy": "sigmail.policy.model",
    "load_policy": "sigmail.policy.model",
    "OfflineRevocation": "sigmail.revocation.offline",
    "OnlineRevocation": "sigmail.revocation.online",
    "Verdict": "sigmail.verdict.model",
    "VerdictKind": "sigmail.verdict.model",
    "SignatureStatus": "sigmail.verdict.model",
    "Finding": "sigmail.verdict.model",
    "SigmailError": "sigmail.errors",
    "ConfigError": "sigmail.errors",
    "TrustStoreError": "sigmail.errors",
    "PolicyError": "sigmail.errors",
    "UsageError": "sigmail.errors",
    "InternalError": "sigmail.errors",
}

__all__ = [
    "AnchorClass",
    "ConfigError",
    "Finding",
    "InternalError",
    "Limits",
    "OfflineRevocation",
    "OnlineRevocation",
    "Policy",
    "PolicyError",
    "SigmailError",
    "SignatureStatus",
    "TrustStore",
    "TrustStoreError",
    "UsageError",
    "Verdict",
    "VerdictKind",
    "Verifier",
    "load_policy",
    "verify",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sigmail' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from sigmail.errors import (
        ConfigError,
        InternalError,
        PolicyError,
        SigmailError,
        TrustStoreError,
        UsageError,
    )
    from sigmail.limits import Limits
    from sigmail.policy.model import Policy, load_policy
    from sigmail.revocation.offline import OfflineRevocation
    from sigmail.revocation.online import OnlineRevocation
    from sigmail.trust.store import AnchorClass, TrustStore
    from sigmail.verdict.model import Finding, SignatureStatus, Verdict, VerdictKind
    from sigmail.verifier import Verifier, verify
