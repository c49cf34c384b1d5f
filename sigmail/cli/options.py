"""Options shared by the commands that verify (verify, milter, audit), defined once.

Each command adds the groups it needs and turns them into core objects with the helpers
below, so ``--trust`` means the same thing everywhere.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from sigmail.errors import UsageError

__all__ = [
    "add_revocation_options",
    "add_time_option",
    "add_trust_options",
    "parse_time",
    "policy_from",
    "revocation_from",
    "trust_store_from",
]


def parse_time(text: str) -> datetime:
    """ISO 8601; a time without an offset is refused rather than guessed."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise UsageError(f"time {text!r} has no UTC offset (write Z or +07:00)")
    return value


def _time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_trust_options(p: argparse.ArgumentParser) -> None:
    """--trust, --trust-public, --intermediates, --trust-dir, --policy."""
    p.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PATH",
        help="official-duty trust anchors (file or directory, PEM or DER)",
    )
    p.add_argument(
        "--trust-public",
        action="append",
        default=[],
        metavar="PATH",
        help="anchors of licensed public CAs (national root)",
    )
    p.add_argument(
        "--intermediates",
        action="append",
        default=[],
        metavar="PATH",
        help="untrusted CA certificates to help build chains",
    )
    p.add_argument(
        "--trust-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="installed anchors (sigmail trust add), used when no --trust is given",
    )
    p.add_argument(
        "--policy",
        default=None,
        metavar="NAME|FILE",
        help="built-in policy (vn-gov, basic) or a policy file (default: vn-gov)",
    )


def add_revocation_options(p: argparse.ArgumentParser, *, timeout: bool = True) -> None:
    """--offline, --revocation-cache and (unless the command has its own) --timeout."""
    p.add_argument(
        "--offline",
        action="store_true",
        help="no network: only embedded evidence and the revocation cache",
    )
    p.add_argument(
        "--revocation-cache",
        metavar="DIR",
        default=None,
        help="directory of cached CRL/OCSP responses (read offline, filled online)",
    )
    p.add_argument(
        "--fetch-allow",
        action="append",
        default=[],
        metavar="CIDR",
        help="let CRL/OCSP/AIA fetching connect to this network, which it refuses by default "
        "(loopback, private, link-local, …; see docs/chain-validation.md); repeatable",
    )
    if timeout:
        p.add_argument(
            "--timeout",
            type=float,
            default=5.0,
            metavar="SECONDS",
            help="per-request timeout for CRL/OCSP fetching (default 5)",
        )


def add_time_option(
    p: argparse.ArgumentParser, flag: str = "--at", help: str = "validation time (default: now)"
) -> None:
    """An aware ISO 8601 time (``--at`` unless ``flag`` says otherwise)."""
    p.add_argument(flag, type=_time_arg, default=None, metavar="ISO-8601", help=help)


def policy_from(args: argparse.Namespace):
    from sigmail.policy.model import DEFAULT_POLICY, load_policy

    return load_policy(args.policy or DEFAULT_POLICY)


def trust_store_from(args: argparse.Namespace, policy, *, lang: str = "vi"):
    """--trust/--trust-public when given, else the installed trust directory; with no anchor
    at all, say on stderr where the roots are published and how to install them."""
    from sigmail.cli.trust_dir import default_trust_dir, load_trust_dir, missing_anchor_help
    from sigmail.trust.store import TrustStore

    trust_dir = args.trust_dir or default_trust_dir()
    if args.trust or args.trust_public:
        trust = TrustStore.load(
            official=args.trust, public=args.trust_public, intermediates=args.intermediates
        )
    else:
        installed = load_trust_dir(trust_dir)
        extra = TrustStore.load(intermediates=args.intermediates)
        trust = TrustStore(installed.anchors, (*installed.intermediates, *extra.intermediates))
    if not trust:
        sys.stderr.write("sigmail: " + missing_anchor_help(policy, trust_dir, lang))
    return trust


def revocation_from(args: argparse.Namespace):
    from sigmail.revocation.factory import revocation_source

    return revocation_source(
        offline=args.offline,
        cache_dir=args.revocation_cache,
        timeout=args.timeout,
        fetch_allow=args.fetch_allow,
    )
