"""The audit's configuration file (TOML), for what an agency sets once.

::

    [audit]
    # The agency's own MTAs: a Received: field added by one of them (the topmost field)
    # proves the message existed then (see sigmail/audit/received.py).
    own_mta = ["mx.stp.kontum.gov.vn", "mail.stp.kontum.gov.vn"]
    # Worker processes of the local engine (default: the number of CPUs).
    workers = 4

Command-line options add to (``--own-mta``) or override (``--workers``) the file. An error
raises :class:`~sigmail.errors.ConfigError` naming the file, when it is loaded.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sigmail.audit.received import valid_host
from sigmail.errors import ConfigError

__all__ = ["AuditConfig", "load_audit_config"]


@dataclass(frozen=True, slots=True)
class AuditConfig:
    own_mta: tuple[str, ...] = ()
    workers: int | None = None


def load_audit_config(path: str | os.PathLike[str]) -> AuditConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    unknown = set(data) - {"audit"}
    if unknown:
        raise ConfigError(f"{path}: unknown section [{sorted(unknown)[0]}] (only [audit])")
    table = data.get("audit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [audit] must be a table")
    unknown = set(table) - {"own_mta", "workers"}
    if unknown:
        raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r} in [audit]")
    own = table.get("own_mta", [])
    if isinstance(own, str):
        own = [own]
    if not isinstance(own, list) or not all(isinstance(h, str) and valid_host(h) for h in own):
        raise ConfigError(f"{path}: [audit] own_mta must be a list of host names")
    workers = table.get("workers")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ConfigError(f"{path}: [audit] workers must be a positive integer")
    return AuditConfig(own_mta=tuple(own), workers=workers)
