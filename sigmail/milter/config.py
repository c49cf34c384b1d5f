"""The milter's configuration file (TOML): what it is, its defaults, and its validation.

``MilterConfig`` is one plain frozen struct whose defaults are documented field by field; a
file sets some of them, and the command line (``sigmail milter --trust …``) overrides the
file. A file that does not validate raises :class:`~sigmail.errors.MilterConfigError` (a
``ConfigError``) naming the file and the line, when it is loaded — never while mail flows.
docs/milter.md is the reference, deploy/sigmail-milter.toml the annotated sample.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket as _socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sigmail.errors import MilterConfigError
from sigmail.milter.actions import (
    VERDICTS,
    ActionSet,
    Disposition,
    DomainActions,
    check_reply,
)

__all__ = ["MilterConfig", "load_config", "parse_config", "parse_socket"]


# The Subject tags a clerk sees in any mail reader (docs/milter.md, "What the clerk sees").
DEFAULT_SUBJECT_TAGS = {
    "official": "",
    "not_official": "[CHƯA HỢP LỆ]",
    "unsigned": "[KHÔNG KÝ SỐ]",
    "invalid": "[KHÔNG HỢP LỆ]",
    "indeterminate": "[CHƯA XÁC ĐỊNH]",
}
MAX_TAG_CHARS = 40
MAX_NOTICE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class MilterConfig:
    """Everything ``sigmail milter`` needs; every default is the documented one."""

    # [milter]
    socket: str = "unix:/run/sigmail/milter.sock"
    """``unix:/path`` or ``inet:PORT@HOST`` (``inet6:PORT@HOST`` too)."""
    socket_mode: int = 0o660
    """Permissions of a unix socket (the MTA's user must be able to connect)."""
    authserv_id: str = field(default_factory=_socket.getfqdn)
    """Our name in Authentication-Results (RFC 8601 authserv-id); default: the host name."""
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    """Messages verified at the same time (threads); more connections wait their turn."""
    processes: int = field(default_factory=lambda: _default_processes())
    """Verifying processes, each with its own warm verifier, so that every CPU verifies (the
    verifier is pure Python: threads share one CPU). 0: verify in the daemon's own threads.
    Default: the number of CPUs when there are several, else 0."""
    inline_bytes: int = 256 * 1024
    """With ``processes``, a message up to this size is verified in the daemon itself while no
    process is busy (a hand-over costs about half a small message's verification). 0: every
    message goes to a process."""
    time_budget: float = 20.0
    """Seconds one message may take to verify before the fail-safe applies."""
    max_message_bytes: int = 64 * 1024 * 1024
    """Larger messages are not verified: the fail-safe applies."""
    spool_memory_bytes: int = 1024 * 1024
    """A message is kept in memory up to this size, then in a temporary file."""
    spool_dir: str | None = None
    """Where those temporary files go (default: the system's temporary directory)."""
    on_failure: Disposition = Disposition.ACCEPT
    """Internal error, time budget, oversize: ``accept`` (annotated indeterminate) or
    ``tempfail``."""
    shutdown_timeout: float = 30.0
    """On SIGTERM, how long messages in progress may take to finish."""
    max_connections: int = 512
    """MTA connections served at once (each holds a thread and a descriptor). At the cap the
    connection idle the longest without a message in progress is closed for the new one;
    it is also kept under the process's descriptor limit (``LimitNOFILE``)."""
    idle_timeout: float = 600.0
    """Seconds a connection may wait for the MTA's next command (longer than Postfix's
    ``smtpd_timeout``, 300 s, so a slow SMTP client does not cost a retry)."""
    read_timeout: float = 30.0
    """Seconds the rest of a command may take once its first byte arrived (Postfix writes a
    command whole, so only a stalled or hostile peer is this slow: a slowloris)."""
    max_header_fields: int = 10_000
    """More header fields than this: not verified, ``indeterminate (limit_exceeded)``."""
    log_level: str = "info"

    # [verify]
    policy: str = "vn-gov"
    offline: bool = False
    revocation_cache: str | None = None
    fetch_timeout: float = 5.0
    fetch_allow: tuple[str, ...] = ()
    """Networks (CIDR) fetching may connect to although the SSRF deny-list refuses them
    (loopback, private, link-local…), e.g. an internal CRL mirror."""
    receipt_time: bool = True
    """Pass the time of receipt as a proven signing time bound (the agency vouches for it)."""
    at: datetime | None = None
    """A fixed validation time, for tests and replays only; unset, the time of receipt."""

    # [trust]
    trust_official: tuple[str, ...] = ()
    trust_public: tuple[str, ...] = ()
    trust_intermediates: tuple[str, ...] = ()
    trust_dir: str | None = None
    """Installed anchors (``sigmail trust add``), used when no official/public file is given."""

    # [actions], [domains."…"]
    actions: DomainActions = field(default_factory=DomainActions)

    # [subject_tag], [notice]: what a clerk reading in webmail sees
    subject_tags: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SUBJECT_TAGS))
    """Per verdict, a tag put in front of the Subject ("" for none; none for ``official``)."""
    unsigned_notice: str | None = None
    """A short text shown as a separate leading part of messages with no signature at all."""

    source: str | None = None

    def with_(self, **changes: Any) -> MilterConfig:
        return replace(self, **changes)


def _default_processes() -> int:
    cpus = os.cpu_count() or 1
    return cpus if cpus > 1 else 0


def parse_socket(spec: str) -> tuple[str, Any]:
    """``unix:/path`` → ("unix", path); ``inet:PORT@HOST`` → ("inet", (host, port))."""
    kind, sep, rest = spec.partition(":")
    if not sep:
        if spec.startswith("/"):
            return "unix", _unix_path(spec, spec)
        raise ValueError(f"socket {spec!r}: expected unix:/path or inet:PORT@HOST")
    kind = kind.lower()
    if kind in ("unix", "local"):
        if not rest:
            raise ValueError(f"socket {spec!r}: no path")
        return "unix", _unix_path(spec, rest)
    if kind in ("inet", "inet6"):
        port_text, _, host = rest.partition("@")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"socket {spec!r}: bad port {port_text!r}")
        host = host.strip("[]") or ("127.0.0.1" if kind == "inet" else "::1")
        return kind, (host, int(port_text))
    raise ValueError(f"socket {spec!r}: unknown kind {kind!r} (unix, inet, inet6)")


# sun_path holds 108 bytes on Linux, the terminating NUL included (unix(7)).
MAX_UNIX_PATH_BYTES = 107


def _unix_path(spec: str, path: str) -> str:
    size = len(os.fsencode(path))
    if size > MAX_UNIX_PATH_BYTES:
        raise ValueError(
            f"socket {spec!r}: the path is {size} bytes; a unix socket path can have at most "
            f"{MAX_UNIX_PATH_BYTES} (choose a shorter directory)"
        )
    return path


# -- loading -----------------------------------------------------------------------------------


class _Source:
    """The file's text, to name the line of a table or key in error messages."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.tables: list[tuple[tuple[str, ...], int]] = []  # (table path, 1-based line)
        self.keys: dict[tuple[tuple[str, ...], str], int] = {}
        current: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", stripped)
            if header:
                current = _split_key(header.group(1))
                self.tables.append((current, number))
                continue
            key = re.match(r"""("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""", stripped)
            if key:
                self.keys.setdefault((current, key.group(1).strip("\"'")), number)

    def line(self, table: tuple[str, ...], key: str | None = None) -> int | None:
        if key is not None and (table, key) in self.keys:
            return self.keys[(table, key)]
        for path, number in self.tables:
            if path == table:
                return number
        return None

    def fail(self, message: str, table: tuple[str, ...] = (), key: str | None = None):
        raise MilterConfigError(message, source=self.source, line=self.line(table, key))


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""\s*("[^"]*"|'[^']*'|[^.\s]+)\s*(?:\.|$)""", text)
    return tuple(p.strip("\"'") for p in parts)


def load_config(path: str | os.PathLike[str]) -> MilterConfig:
    """Read and validate a configuration file; relative paths are taken from its directory."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MilterConfigError(exc.strerror or str(exc), source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise MilterConfigError("not UTF-8 text", source=str(path)) from exc
    return parse_config(text, source=str(path), base=path.parent)


def parse_config(text: str, *, source: str = "<milter config>", base: Path | None = None):
    src = _Source(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        raise MilterConfigError(str(exc), source=source, line=line) from exc

    for section in data:
        if section not in (
            "milter",
            "verify",
            "trust",
            "actions",
            "domains",
            "subject_tag",
            "notice",
        ):
            src.fail(f"unknown section [{section}]", (section,))
    changes: dict[str, Any] = {"source": source}
    changes.update(_milter_section(src, data.get("milter", {})))
    changes.update(_verify_section(src, data.get("verify", {}), base))
    changes.update(_trust_section(src, data.get("trust", {}), base))
    changes.update(_clerk_sections(src, data.get("subject_tag", {}), data.get("notice", {})))
    default = _action_set(src, data.get("actions", {}), ("actions",), ActionSet())
    domains_table = data.get("domains", {})
    if not isinstance(domains_table, dict):
        src.fail('[domains] must hold tables such as [domains."example.gov.vn"]', ("domains",))
    domains = {}
    for name, table in domains_table.items():
        where = ("domains", name)
        if not re.fullmatch(r"(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?", name):
            src.fail(f"[domains.{name!r}]: not a domain name (or *.domain)", where)
        domains[name.lower().rstrip(".")] = _action_set(src, table, where, default)
    changes["actions"] = DomainActions(default=default, domains=domains)
    return MilterConfig(**changes)


def _table(src: _Source, value: Any, where: tuple[str, ...], allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        src.fail(f"[{'.'.join(where)}] must be a table", where)
    for key in value:
        if key not in allowed:
            src.fail(f"unknown key {key!r} in [{'.'.join(where)}]", where, key)
    return value


def _positive(src: _Source, table: dict, where, key: str, kind: type) -> dict:
    if key not in table:
        return {}
    value = table[key]
    ok = isinstance(value, int | float) if kind is float else isinstance(value, int)
    if isinstance(value, bool) or not ok or value <= 0:
        what = "a positive number" if kind is float else "a positive integer"
        src.fail(f"{key} must be {what}", where, key)
    return {key: kind(value)}


def _string(src: _Source, table: dict, where, key: str, target: str | None = None) -> dict:
    if key not in table:
        return {}
    if not isinstance(table[key], str) or not table[key]:
        src.fail(f"{key} must be a non-empty string", where, key)
    return {target or key: table[key]}


def _path(base: Path | None, value: str) -> str:
    p = Path(value).expanduser()
    return str(base / p) if base is not None and not p.is_absolute() else str(p)


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _milter_section(src: _Source, table: Any) -> dict:
    where = ("milter",)
    allowed = {
        "socket",
        "socket_mode",
        "authserv_id",
        "workers",
        "processes",
        "inline_bytes",
        "time_budget",
        "max_message_bytes",
        "spool_memory_bytes",
        "spool_dir",
        "on_failure",
        "shutdown_timeout",
        "max_connections",
        "idle_timeout",
        "read_timeout",
        "max_header_fields",
        "log_level",
    }
    table = _table(src, table, where, allowed)
    out: dict[str, Any] = {}
    out |= _string(src, table, where, "socket")
    if "socket" in out:
        try:
            parse_socket(out["socket"])
        except ValueError as exc:
            src.fail(str(exc), where, "socket")
    if "socket_mode" in table:
        mode = table["socket_mode"]
        if not isinstance(mode, str) or not re.fullmatch(r"0?[0-7]{3}", mode):
            src.fail('socket_mode must be an octal string such as "0660"', where, "socket_mode")
        out["socket_mode"] = int(mode, 8)
    out |= _string(src, table, where, "authserv_id")
    if "authserv_id" in out and not _DOT_ATOM.fullmatch(out["authserv_id"]):
        src.fail("authserv_id must be a host name (an RFC 5322 dot-atom)", where, "authserv_id")
    out |= _positive(src, table, where, "workers", int)
    if "processes" in table:
        value = table["processes"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 64:
            src.fail("processes must be an integer from 0 to 64", where, "processes")
        out["processes"] = value
    if "inline_bytes" in table:
        value = table["inline_bytes"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            src.fail("inline_bytes must be an integer, 0 or more", where, "inline_bytes")
        out["inline_bytes"] = value
    out |= _positive(src, table, where, "time_budget", float)
    out |= _positive(src, table, where, "max_message_bytes", int)
    out |= _positive(src, table, where, "spool_memory_bytes", int)
    out |= _positive(src, table, where, "shutdown_timeout", float)
    out |= _positive(src, table, where, "max_connections", int)
    out |= _positive(src, table, where, "idle_timeout", float)
    out |= _positive(src, table, where, "read_timeout", float)
    out |= _positive(src, table, where, "max_header_fields", int)
    out |= _string(src, table, where, "spool_dir")
    if "on_failure" in table:
        if table["on_failure"] not in ("accept", "tempfail"):
            src.fail('on_failure must be "accept" or "tempfail"', where, "on_failure")
        out["on_failure"] = Disposition(table["on_failure"])
    if "log_level" in table:
        if table["log_level"] not in ("debug", "info", "warning", "error"):
            src.fail("log_level must be debug, info, warning or error", where, "log_level")
        out["log_level"] = table["log_level"]
    return out


def _verify_section(src: _Source, table: Any, base: Path | None) -> dict:
    where = ("verify",)
    allowed = {
        "policy",
        "offline",
        "revocation_cache",
        "fetch_timeout",
        "fetch_allow",
        "receipt_time",
        "at",
    }
    table = _table(src, table, where, allowed)
    out: dict[str, Any] = {}
    if "policy" in table:
        policy = table["policy"]
        if not isinstance(policy, str) or not policy:
            src.fail("policy must be a built-in name (vn-gov, basic) or a file", where, "policy")
        is_file = policy.endswith(".toml") or "/" in policy
        out["policy"] = _path(base, policy) if is_file else policy
    for key in ("offline", "receipt_time"):
        if key in table:
            if not isinstance(table[key], bool):
                src.fail(f"{key} must be true or false", where, key)
            out[key] = table[key]
    if "revocation_cache" in table:
        out["revocation_cache"] = _path(
            base, _string(src, table, where, "revocation_cache")["revocation_cache"]
        )
    out |= _positive(src, table, where, "fetch_timeout", float)
    if "fetch_allow" in table:
        value = table["fetch_allow"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            src.fail(
                'fetch_allow must be a list of networks, e.g. ["10.20.0.0/16"]',
                where,
                "fetch_allow",
            )
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                src.fail(f"fetch_allow: {network!r} is not an IP network", where, "fetch_allow")
        out["fetch_allow"] = tuple(value)
    if "at" in table:
        at = table["at"]
        if isinstance(at, str):
            try:
                at = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                src.fail("at must be an ISO 8601 time with an offset", where, "at")
        if not isinstance(at, datetime):
            src.fail("at must be a date-time with an offset", where, "at")
        if at.tzinfo is None:
            src.fail("at needs a UTC offset (Z or +07:00)", where, "at")
        out["at"] = at
    return out


def _trust_section(src: _Source, table: Any, base: Path | None) -> dict:
    where = ("trust",)
    table = _table(src, table, where, {"official", "public", "intermediates", "dir"})
    out: dict[str, Any] = {}
    for key in ("official", "public", "intermediates"):
        if key in table:
            value = table[key]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                src.fail(f"[trust] {key} must be a list of paths", where, key)
            out[f"trust_{key}"] = tuple(_path(base, v) for v in value)
    if "dir" in table:
        out["trust_dir"] = _path(base, _string(src, table, where, "dir")["dir"])
    return out


def _clerk_sections(src: _Source, tags: Any, notice: Any) -> dict:
    out: dict[str, Any] = {}
    tags = _table(src, tags, ("subject_tag",), set(VERDICTS))
    if tags:
        merged = dict(DEFAULT_SUBJECT_TAGS)
        for verdict, tag in tags.items():
            if (
                not isinstance(tag, str)
                or len(tag) > MAX_TAG_CHARS
                or not all(c.isprintable() for c in tag)
            ):
                src.fail(
                    f"{verdict} must be a printable text of at most {MAX_TAG_CHARS} "
                    'characters ("" for no tag)',
                    ("subject_tag",),
                    verdict,
                )
            merged[verdict] = tag.strip()
        out["subject_tags"] = merged
    notice = _table(src, notice, ("notice",), {"unsigned"})
    if "unsigned" in notice:
        text = notice["unsigned"]
        if (
            not isinstance(text, str)
            or len(text) > MAX_NOTICE_CHARS
            or "\0" in text
            or not text.strip()
        ):
            src.fail(
                f"unsigned must be a non-empty text of at most {MAX_NOTICE_CHARS} characters",
                ("notice",),
                "unsigned",
            )
        out["unsigned_notice"] = text.strip() + "\n"
    return out


def _action_set(src: _Source, table: Any, where: tuple[str, ...], base: ActionSet) -> ActionSet:
    allowed = {*VERDICTS, "reject_reply", "tempfail_reply", "quarantine_reason"}
    table = _table(src, table, where, allowed)
    changes: dict[str, Any] = {}
    for verdict in VERDICTS:
        if verdict in table:
            try:
                changes[verdict] = Disposition(table[verdict])
            except ValueError:
                src.fail(
                    f"{verdict} must be one of accept, quarantine, reject, tempfail",
                    where,
                    verdict,
                )
    for key, digit in (("reject_reply", "5"), ("tempfail_reply", "4")):
        if key in table:
            value = table[key]
            problem = check_reply(value, digit) if isinstance(value, str) else "must be a string"
            if problem:
                src.fail(f"{key} {problem}", where, key)
            changes[key] = value
    if "quarantine_reason" in table:
        value = table["quarantine_reason"]
        if not isinstance(value, str) or not re.fullmatch(r"[\x20-\x7e]{1,200}", value):
            src.fail("quarantine_reason must be printable ASCII", where, "quarantine_reason")
        changes["quarantine_reason"] = value
    return base.overridden(**changes)
