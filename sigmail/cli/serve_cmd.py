"""``sigmail serve``: the verification service and the clerk's page (docs/service.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sigmail.cli.options import add_revocation_options, add_trust_options

__all__ = ["add_parser", "config_from_args", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="run the verification service (HTTP API and the clerk's web page)",
        description="Serve POST /v1/verify (the verdict JSON of sigmail verify --json) and the "
        "clerk's page at /. Options override the configuration file. SIGTERM finishes the "
        "requests in progress, then stops.",
    )
    p.add_argument("--listen", metavar="HOST:PORT", default=None, help="default 127.0.0.1:8480")
    p.add_argument("--config", metavar="FILE", type=Path, default=None, help="TOML config file")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="verification processes")
    add_trust_options(p)
    add_revocation_options(p)
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=None)
    p.add_argument(
        "--check",
        action="store_true",
        help="load the configuration and trust anchors, report, and exit (0 if usable)",
    )
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace):
    """The configuration file (if any) with the command line's options on top."""
    from sigmail.errors import ConfigError, UsageError
    from sigmail.service.config import ServiceConfig, load_service_config

    config = load_service_config(args.config) if args.config else ServiceConfig()
    changes: dict = {}
    if args.listen is not None:
        changes["listen"] = args.listen
    if args.workers is not None:
        changes["workers"] = args.workers
    if args.trust or args.trust_public:
        changes["trust"] = tuple(args.trust)
        changes["trust_public"] = tuple(args.trust_public)
    if args.intermediates:
        changes["intermediates"] = tuple(args.intermediates)
    if args.trust_dir is not None:
        changes["trust_dir"] = str(args.trust_dir)
    if args.policy is not None:
        changes["policy"] = args.policy
    if args.offline:
        changes["offline"] = True
    if args.revocation_cache is not None:
        changes["revocation_cache"] = args.revocation_cache
    if args.timeout != 5.0:
        changes["timeout"] = args.timeout
    if args.fetch_allow:
        changes["fetch_allow"] = tuple(args.fetch_allow)
    if args.log_level is not None:
        changes["log_level"] = args.log_level
    try:
        return config.with_(**changes)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    try:
        import orjson  # noqa: F401  (the workers' JSON writer; same extra)
        import uvicorn

        from sigmail.service import create_app
    except ImportError as exc:
        from sigmail.errors import UsageError

        raise UsageError(
            f"sigmail serve needs the service extra: pip install 'sigmail[service]' ({exc.name})"
        ) from exc

    config = config_from_args(args)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, config.log_level.upper()),
        format="%(asctime)s sigmail-serve[%(process)d] %(levelname)s %(message)s",
    )
    app = create_app(config)  # trust and policies load here: ConfigError before binding
    host, port = config.host_port
    if args.check:
        anchors = len(app.state.service.trust.anchors)
        print(
            f"sigmail serve: configuration usable: listen {config.listen}, {config.workers} "
            f"workers, policies {', '.join(config.policy_names)}, {anchors} anchors"
        )
        return 0
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # our one line per request instead of uvicorn's access log
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=int(config.time_budget_seconds * 2),
            server_header=False,
            h11_max_incomplete_event_size=64 * 1024,
        )
    )
    server.run()
    return 0
