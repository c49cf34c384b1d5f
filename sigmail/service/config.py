"""The service's configuration: a TOML file (``--config``) with the command line on top.

Every key is documented in docs/service.md. Unknown keys, wrong types and impossible values
raise :class:`~sigmail.errors.ConfigError` when the file is loaded, not at the first request.
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sigmail.errors import ConfigError

__all__ = ["BUILTIN_POLICIES", "ServiceConfig", "load_service_config", "parse_listen"]

BUILTIN_POLICIES = ("vn-gov", "basic")


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    listen: str = "127.0.0.1:8480"
    workers: int = 2
    """Verification processes (each keeps one Verifier per policy and its caches)."""
    queue: int = 16
    """Requests that may wait for a worker; beyond workers + queue the answer is 503."""
    max_upload_bytes: int = 64 * 1024 * 1024
    """Request body limit (the milter's default message size); larger is 413."""
    time_budget_seconds: float = 30.0
    """Wall-clock budget of one verification (the core's Limits.max_seconds)."""
    upload_idle_seconds: float = 15.0
    """A body that sends nothing for this long is cut off (408)."""
    upload_seconds: float = 300.0
    """A body still arriving after this long is cut off (408): slow uploads hold no worker."""
    retry_after_seconds: int = 5
    tokens_file: str | None = None
    """One bearer token a line ('#' comments); when set, /v1/verify, /v1/trust and /metrics
    need ``Authorization: Bearer``."""
    page: str = "open"
    """The clerk's page: "open" (no token), "token" (same tokens as the API), "off"."""
    archive_dir: str | None = None
    """When set, every upload is kept there as <sha256>.<ext>; otherwise nothing is stored."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser; none by default (CORS off)."""
    log_level: str = "info"
    # Trust, policy and revocation: the same meaning as sigmail verify's options.
    trust: tuple[str, ...] = ()
    trust_public: tuple[str, ...] = ()
    intermediates: tuple[str, ...] = ()
    trust_dir: str | None = None
    policy: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    """Extra policies a request may name (name -> built-in name or file)."""
    offline: bool = False
    revocation_cache: str | None = None
    timeout: float = 5.0
    """Per-request timeout for CRL/OCSP fetching."""
    fetch_allow: tuple[str, ...] = ()
    """Networks (CIDR) fetching may reach although the SSRF deny-list covers them
    (docs/chain-validation.md); ``--fetch-allow``."""

    def __post_init__(self) -> None:
        parse_listen(self.listen)
        for name in ("workers", "queue", "max_upload_bytes", "retry_after_seconds"):
            if getattr(self, name) < (0 if name == "queue" else 1):
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("time_budget_seconds", "upload_idle_seconds", "upload_seconds", "timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.page not in ("open", "token", "off"):
            raise ConfigError(f"page must be open, token or off, got {self.page!r}")
        if self.page == "token" and self.tokens_file is None:
            raise ConfigError("page = 'token' needs a tokens_file")
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigError(
                f"log_level must be debug, info, warning or error: {self.log_level!r}"
            )

    def with_(self, **changes: Any) -> ServiceConfig:
        return replace(self, **changes)

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def policy_names(self) -> tuple[str, ...]:
        """Names a request's ``policy`` field may take; the first is the default."""
        default = self.policy or "vn-gov"
        names = [default, *BUILTIN_POLICIES, *self.policies]
        return tuple(dict.fromkeys(names))

    def policy_source(self, name: str) -> str:
        return self.policies.get(name, name)

    def options(self, policy: str | None = None) -> argparse.Namespace:
        """The namespace sigmail.cli.options' helpers read (what `sigmail verify` builds)."""
        return argparse.Namespace(
            trust=list(self.trust),
            trust_public=list(self.trust_public),
            intermediates=list(self.intermediates),
            trust_dir=Path(self.trust_dir) if self.trust_dir else None,
            policy=self.policy_source(policy) if policy else self.policy,
            offline=self.offline,
            revocation_cache=self.revocation_cache,
            timeout=self.timeout,
            fetch_allow=list(self.fetch_allow),
        )

    def tokens(self) -> frozenset[str]:
        """The bearer tokens of ``tokens_file`` (read at start; an empty file is an error)."""
        if self.tokens_file is None:
            return frozenset()
        try:
            text = Path(self.tokens_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"tokens_file {self.tokens_file}: {exc}") from exc
        tokens = frozenset(
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        )
        if not tokens:
            raise ConfigError(f"tokens_file {self.tokens_file} has no token")
        return tokens


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or not host:
        raise ConfigError(f"listen must be HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


_TUPLES = ("trust", "trust_public", "intermediates", "cors_origins", "fetch_allow")


def load_service_config(path: str | Path) -> ServiceConfig:
    """The TOML file at ``path`` (keys as :class:`ServiceConfig`'s fields)."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {f.name: f for f in fields(ServiceConfig)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key {key!r}")
        if key in _TUPLES:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {key} must be a list of strings")
            value = tuple(value)
        elif key == "policies":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(f'{path}: policies must be a table of name = "file or name"')
        else:
            default = known[key].default
            expected = (int, float) if isinstance(default, float) else type(default)
            if default is None:
                expected = str
            if isinstance(value, bool) and expected is not bool:
                raise ConfigError(f"{path}: {key} has the wrong type")
            if not isinstance(value, expected):
                raise ConfigError(f"{path}: {key} has the wrong type ({type(value).__name__})")
        values[key] = value
    return ServiceConfig(**values)
