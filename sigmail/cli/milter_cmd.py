"""``sigmail milter``: run the mail filter daemon (see docs/milter.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sigmail.cli.options import add_revocation_options, add_time_option, add_trust_options

__all__ = ["add_parser", "config_from_args", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "milter",
        help="run the mail filter (milter) for Postfix or Sendmail",
        description=(
            "Annotate every message with its verdict (Authentication-Results smime=, "
            "X-Sigmail-Verdict) and apply the configured action. Options override the "
            "configuration file. SIGHUP reloads, SIGTERM finishes messages in progress."
        ),
    )
    p.add_argument(
        "--socket",
        metavar="SPEC",
        default=None,
        help="unix:/path/to/sock or inet:PORT@127.0.0.1 (default: unix:/run/sigmail/milter.sock)",
    )
    p.add_argument("--config", metavar="FILE", type=Path, default=None, help="TOML config file")
    add_trust_options(p)
    add_revocation_options(p, timeout=False)
    p.add_argument("--authserv-id", default=None, metavar="NAME", help="default: the host name")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="verification threads")
    add_time_option(
        p, help="fixed validation time (tests and replays only; default: the time of receipt)"
    )
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default=None,
        help="default: info (one line per message)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="load the configuration and trust anchors, report, and exit (0 if usable)",
    )
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace):
    """The configuration file (if any) with the command line's options on top."""
    from sigmail.milter.config import MilterConfig, load_config, parse_socket

    config = load_config(args.config) if args.config else MilterConfig()
    changes: dict = {}
    if args.socket is not None:
        try:
            parse_socket(args.socket)
        except ValueError as exc:
            from sigmail.errors import UsageError

            raise UsageError(str(exc)) from exc
        changes["socket"] = args.socket
    if args.trust or args.trust_public:
        changes["trust_official"] = tuple(args.trust)
        changes["trust_public"] = tuple(args.trust_public)
    if args.intermediates:
        changes["trust_intermediates"] = tuple(args.intermediates)
    if args.trust_dir is not None:
        changes["trust_dir"] = str(args.trust_dir)
    if args.policy is not None:
        changes["policy"] = args.policy
    if args.offline:
        changes["offline"] = True
    if args.revocation_cache is not None:
        changes["revocation_cache"] = args.revocation_cache
    if args.fetch_allow:
        changes["fetch_allow"] = tuple(args.fetch_allow)
    if args.authserv_id is not None:
        changes["authserv_id"] = args.authserv_id
    if args.workers is not None:
        if args.workers < 1:
            from sigmail.errors import UsageError

            raise UsageError("--workers must be at least 1")
        changes["workers"] = args.workers
    if args.at is not None:
        changes["at"] = args.at
    if args.log_level is not None:
        changes["log_level"] = args.log_level
    return config.with_(**changes)


def run(args: argparse.Namespace) -> int:
    from sigmail.milter.daemon import MilterServer
    from sigmail.milter.runtime import Runtime

    def load() -> Runtime:
        return Runtime.load(config_from_args(args))  # the file is read again on SIGHUP

    config = config_from_args(args)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, config.log_level.upper()),
        format="%(asctime)s sigmail-milter[%(process)d] %(levelname)s %(message)s",
    )
    if args.check:
        runtime = Runtime.load(config)
        anchors = len(runtime.verifier.trust.anchors)
        print(
            f"sigmail milter: configuration usable: socket {config.socket}, authserv-id "
            f"{config.authserv_id}, policy {runtime.verifier.policy.name}, {anchors} anchors"
        )
        return 0
    server = MilterServer(load)
    server.install_signal_handlers()
    server.serve_forever()
    return 0
