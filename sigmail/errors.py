"""The one exception hierarchy of sigmail.

Bad *input* never raises from a verify call: it becomes a verdict with a reason code
(``malformed``, ``unsupported``, ``limit_exceeded``). Exceptions are for the caller's own
mistakes, found when configuration is loaded, and for bugs surfaced in strict mode. Bad
input found deep inside (and spent budgets) travels as :class:`InputSignal`, which sigmail
itself always handles — a finding on the verdict, a closed milter connection::

    SigmailException
    ├── InputSignal                 handled inside sigmail, never raised to a caller
    │   ├── InputProblem            sigmail.problems: MalformedInput, UnsupportedInput
    │   ├── LimitExceeded           sigmail.limits: a budget ran out
    │   ├── AlgorithmProblem        sigmail.cms.algorithms: refused or unverifiable algorithm
    │   └── ProtocolError           sigmail.milter.protocol: the MTA broke the milter protocol
    └── SigmailError (ValueError)   raised to the caller
        ├── ConfigError             bad configuration, raised at load time
        │   ├── TrustStoreError     an anchor file that is missing, unreadable or not a certificate
        │   ├── PolicyError         a policy file that does not validate (names the line)
        │   ├── MilterConfigError   a mail-filter configuration file that does not validate
        │   └── EvidenceBundleError an evidence bundle that is unreadable or does not match its
        │                           manifest (a tampered bundle is refused, never replayed)
        ├── VerdictSchemaError      a JSON verdict of a schema this release does not read
        ├── UsageError              an API or CLI call that makes no sense (e.g. naive datetime)
        └── InternalError           a bug caught at an entry point's boundary (strict mode only)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EvidenceBundleError",
    "InputSignal",
    "InternalError",
    "MilterConfigError",
    "PolicyError",
    "SigmailError",
    "SigmailException",
    "TrustStoreError",
    "UsageError",
    "VerdictSchemaError",
]


class SigmailException(Exception):
    """Root of every exception sigmail defines."""


class InputSignal(SigmailException):
    """Bad input or a spent budget, raised where it is found and handled by sigmail (a finding
    at the call site or at the entry point's boundary); never raised to a caller. Not a
    ValueError: a parser's ``except ValueError`` must not swallow a budget."""


class SigmailError(SigmailException, ValueError):
    """Root of every exception sigmail raises to its caller on purpose."""


class ConfigError(SigmailError):
    """Configuration that cannot be used; raised when it is loaded, never mid-verification."""


class TrustStoreError(ConfigError):
    """A trust anchor source that cannot be loaded."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class PolicyError(ConfigError):
    """A policy file that does not validate."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = source or "<policy>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class MilterConfigError(ConfigError):
    """A mail-filter (``sigmail milter``) configuration that does not validate."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = source or "<milter config>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class EvidenceBundleError(ConfigError):
    """An evidence bundle (``sigmail verify --evidence``) that cannot be replayed: not a zip,
    no manifest, or a member whose SHA-256 (the input's, the policy's …) differs from it."""

    def __init__(self, message: str, *, source: str | None = None, member: str | None = None):
        self.source = source
        self.member = member
        where = source or "<evidence bundle>"
        if member is not None:
            where = f"{where}:{member}"
        super().__init__(f"{where}: {message}")


class VerdictSchemaError(SigmailError):
    """JSON given to :meth:`Verdict.from_dict` that is not a verdict of the schema this
    release reads (``sigmail.verdict/1``): missing, another schema, or another major version.
    Read as if it were ours, a newer verdict's fields could be silently misread."""


class UsageError(SigmailError):
    """A call that cannot be answered as asked (the CLI maps it to exit code 64)."""


class InternalError(SigmailError):
    """A bug, re-raised from an entry point's boundary when strict mode is on."""
