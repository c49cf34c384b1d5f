"""``sigmail audit`` (mailboxes and folders → the arrival register) and ``sigmail report``
(the register → the yearly statistics), see docs/audit.md.

The verification options (anchors, policy, validation time, revocation) are ``sigmail
verify``'s own: they are taken from its parser, so both commands always accept the same
ones with the same meaning.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from sigmail.cli.options import (
    add_revocation_options,
    add_time_option,
    add_trust_options,
    policy_from,
    trust_store_from,
)
from sigmail.errors import UsageError

__all__ = ["add_parser", "run_audit_cmd", "run_report_cmd"]

# A register's year: electronic correspondence is dated after 1990 and before 2200; "26" is
# a two-digit year someone meant as 2026, not year 26.
MIN_YEAR, MAX_YEAR = 1990, 2199
EXIT_TEMPFAIL = 75  # some items could not be read: they are not registered, run again later


def add_parser(sub) -> None:
    audit = sub.add_parser(
        "audit",
        help="verify mailboxes and folders into the arrival register",
        description=(
            "Verify every message of mbox files and Maildirs, and every .eml/.pdf/.p7m/.p7s "
            "file of folders, into the arrival register (table entries: one row per message "
            "and per document). Items already registered are skipped."
        ),
    )
    audit.add_argument("sources", nargs="+", metavar="SOURCE")
    audit.add_argument(
        "--register", required=True, type=Path, metavar="FILE", help="the register file"
    )
    audit.add_argument(
        "--format",
        choices=("sqlite", "parquet"),
        default=None,
        help="register format (default: the existing file's, else by suffix, else sqlite)",
    )
    audit.add_argument(
        "--own-mta",
        action="append",
        default=[],
        metavar="HOST",
        help="a host name of the agency's own MTA: its Received: field (the topmost) proves "
        "the time of receipt (repeatable)",
    )
    audit.add_argument("--config", type=Path, default=None, metavar="FILE", help="TOML [audit]")
    audit.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local worker processes (default) or a Dask distributed cluster",
    )
    audit.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler (--engine dask; without it, a local cluster of --workers "
        "processes is started for the run)",
    )
    audit.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes on this machine (default: the number of CPUs; 1: in this "
        "process, except with --engine dask)",
    )
    audit.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: when stderr is a terminal)",
    )
    audit.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    group = audit.add_argument_group("verification (as for sigmail verify)")
    add_trust_options(group)
    add_time_option(group)
    add_revocation_options(group)
    group.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of messages")
    group.add_argument("--strict", action="store_true", help="re-raise internal errors")
    audit.set_defaults(run=run_audit_cmd)

    report = sub.add_parser(
        "report",
        help="yearly statistics from the arrival register (HTML, CSV)",
        description=(
            "Per agency and month: entries by verdict, the share officially valid and the "
            "most frequent reasons, for messages and for documents. The HTML page is "
            "self-contained (inline SVG charts) and opens offline."
        ),
    )
    report.add_argument("register", type=Path, metavar="FILE")
    report.add_argument("--year", type=int, required=True, metavar="YYYY")
    report.add_argument("--html", type=Path, default=None, metavar="OUT", help="write the page")
    report.add_argument(
        "--csv", type=Path, default=None, metavar="OUT", help="write the table (- for stdout)"
    )
    report.add_argument(
        "--tz", default="+07:00", metavar="OFFSET", help="months in this UTC offset (+07:00)"
    )
    report.add_argument("--lang", choices=("vi", "en"), default="vi", help="page language")
    report.add_argument(
        "--top", type=int, default=3, metavar="N", help="reasons shown per row (default 3)"
    )
    report.set_defaults(run=run_report_cmd)


def _settings(args: argparse.Namespace, own_mta: tuple[str, ...]):
    import uuid

    from sigmail.audit.work import Settings

    policy = policy_from(args)
    trust = trust_store_from(args, policy, lang=args.lang)
    return Settings(
        trust=trust,
        policy=policy,
        at=args.at or datetime.now(UTC),
        offline=args.offline,
        revocation_cache=args.revocation_cache,
        timeout=args.timeout,
        fetch_allow=tuple(args.fetch_allow),
        own_mta=own_mta,
        strict=args.strict,
        token=uuid.uuid4().hex,
    )


def run_audit_cmd(args: argparse.Namespace) -> int:
    from sigmail.audit.config import AuditConfig, load_audit_config
    from sigmail.audit.engine import run_audit
    from sigmail.audit.received import valid_host

    config = load_audit_config(args.config) if args.config else AuditConfig()
    for host in args.own_mta:
        if not valid_host(host):
            raise UsageError(f"--own-mta {host!r}: not a host name")
    own_mta = tuple(dict.fromkeys((*config.own_mta, *args.own_mta)))
    settings = _settings(args, own_mta)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    summary = run_audit(
        args.sources,
        args.register,
        settings=settings,
        fmt=args.format,
        engine=args.engine,
        workers=args.workers or (None if args.scheduler else config.workers),
        scheduler=args.scheduler,
        progress=progress,
    )
    facts = summary.to_dict()
    if args.json:
        sys.stdout.write(json.dumps(facts, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(
            f"sigmail audit: {facts['items']} new items ({facts['messages']} message rows, "
            f"{facts['documents']} document rows), {facts['skipped']} already registered, "
            f"{len(summary.unreadable)} unreadable; {facts['seconds']:.1f} s, "
            f"{facts['items_per_second']:.1f} items/s ({summary.engine}, {summary.workers} "
            f"workers) → {args.register}\n"
        )
    for problem in summary.unreadable:
        sys.stderr.write(f"sigmail audit: not registered (unreadable): {problem}\n")
    return EXIT_TEMPFAIL if summary.unreadable else 0


def run_report_cmd(args: argparse.Namespace) -> int:
    from sigmail.audit.report import build_report, parse_offset
    from sigmail.audit.report_csv import csv_text
    from sigmail.audit.report_html import render_html

    if args.top < 1:
        raise UsageError("--top must be at least 1")
    if args.html is None and args.csv is None:
        raise UsageError(
            "report: give --html OUT, --csv OUT (--csv - for standard output), or both"
        )
    if not MIN_YEAR <= args.year <= MAX_YEAR:
        raise UsageError(
            f"--year {args.year}: give the full year ({MIN_YEAR}–{MAX_YEAR}), e.g. 2026"
        )
    report = build_report(args.register, args.year, tz=parse_offset(args.tz))
    if args.html is not None:
        _write(args.html, render_html(report, lang=args.lang, top=args.top))
    if args.csv is not None:
        _write(args.csv, csv_text(report, top=args.top))
    return 0


def _write(path: Path, text: str) -> None:
    if str(path) == "-":
        sys.stdout.write(text)
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
