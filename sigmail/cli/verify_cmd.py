"""``sigmail verify``: verify files (or stdin) and print a verdict per file."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from sigmail.cli.exit_codes import EXIT_USAGE
from sigmail.cli.options import (
    add_revocation_options,
    add_time_option,
    add_trust_options,
    parse_time,
    policy_from,
    revocation_from,
    trust_store_from,
)
from sigmail.errors import UsageError

__all__ = ["add_parser", "parse_time", "run"]  # parse_time: sigmail.cli.options


def add_parser(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="verify signed files and print their verdicts",
        description="Verify .p7m, .p7s (with --content), .eml or .pdf files, or - for stdin; "
        "with --replay, verify evidence bundles again offline.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the verdict JSON (sigmail.verdict/1)")
    add_trust_options(p)
    add_time_option(p)
    add_time_option(p, "--receipt-time", "a trusted time the input is known to have existed at")
    add_revocation_options(p)
    p.add_argument(
        "--content",
        metavar="FILE",
        default=None,
        help="the signed file of a detached signature (.p7s)",
    )
    p.add_argument(
        "--headers",
        action="store_true",
        help="print the header fields a mail filter adds (Authentication-Results smime=, "
        "X-Sigmail-Verdict), for MTAs without milter support",
    )
    p.add_argument(
        "--authserv-id",
        default=None,
        metavar="NAME",
        help="the authserv-id in Authentication-Results (default: the host name)",
    )
    p.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of the text output")
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="text output with every finding, its locator and the chains",
    )
    p.add_argument("--strict", action="store_true", help="re-raise internal errors (debugging)")
    p.add_argument(
        "--evidence",
        metavar="ZIP",
        default=None,
        help="also write an evidence bundle of the verdict (one FILE): input, chains, anchors, "
        "CRL/OCSP responses, timestamps, policy, verdict (docs/forensics.md)",
    )
    p.add_argument(
        "--replay",
        action="store_true",
        help="each FILE is an evidence bundle: verify its input again offline, from the bundle "
        "alone (trust, policy and times come from it)",
    )
    p.set_defaults(run=run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc


def _detached_content(path: str, explicit: str | None) -> bytes | None:
    if explicit is not None:
        return _read(explicit)
    if path != "-" and path.lower().endswith(".p7s"):
        sibling = Path(path[: -len(".p7s")])
        if sibling.is_file():
            return sibling.read_bytes()
    return None


# Options that --replay takes from the bundle instead (giving one is a usage error).
_FROM_BUNDLE = (
    "trust",
    "trust_public",
    "intermediates",
    "trust_dir",
    "policy",
    "at",
    "receipt_time",
    "offline",
    "revocation_cache",
    "content",
    "evidence",
)


def _replay(args: argparse.Namespace, unreadable: list[str]) -> tuple[list[str], list]:
    """Each FILE is a bundle: its verdict again, offline. A bundle that cannot be read or
    does not match its manifest (EvidenceBundleError, a ConfigError) goes to ``unreadable``
    and the others are still replayed, as for FILEs that are not bundles."""
    from sigmail.errors import ConfigError
    from sigmail.evidence import replay

    given = [
        "--" + name.replace("_", "-")
        for name in _FROM_BUNDLE
        if getattr(args, name) not in (None, [], False)
    ]
    if given:
        raise UsageError(f"--replay takes {given[0]} from the bundle; do not give it")
    paths, verdicts = [], []
    for path in args.files:
        try:
            result = replay(_read(path) if path == "-" else path, strict=args.strict)
        except (UsageError, ConfigError) as exc:
            unreadable.append(str(exc) if str(exc).startswith(path) else f"{path}: {exc}")
            continue
        if not result.identical:
            sys.stderr.write(
                f"sigmail: {path}: the replayed verdict differs from the one recorded in the "
                f"bundle ({result.recorded.verdict.value} recorded, "
                f"{result.verdict.verdict.value} now); see docs/forensics.md\n"
            )
        paths.append(path)
        verdicts.append(result.verdict)
    return paths, verdicts


def run(args: argparse.Namespace) -> int:
    """Verdicts of every FILE that could be read; a FILE that cannot be read is reported on
    stderr, the others are still verified, and the exit code is then 64 (usage error)."""
    from sigmail.cli.render import render_text

    unreadable: list[str] = []
    anchors_missing = False
    if args.replay:
        paths, verdicts = _replay(args, unreadable)
    else:
        paths, verdicts, anchors_missing = _verify(args, unreadable)
    for problem in unreadable:
        sys.stderr.write(f"sigmail: {problem}\n")
    if not verdicts:
        return EXIT_USAGE
    if args.headers:
        import socket

        from sigmail.verdict.auth_results import headers_for

        blocks = [
            "".join(f"{h}\n" for h in headers_for(v, args.authserv_id or socket.getfqdn()))
            for v in verdicts
        ]
        sys.stdout.write("\n".join(blocks))
    elif args.json:
        import json

        docs = [v.to_dict() for v in verdicts]
        out = docs[0] if len(docs) == 1 else docs
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    else:
        for path, verdict in zip(paths, verdicts, strict=True):
            text = render_text(
                verdict,
                path=path,
                lang=args.lang,
                verbose=args.verbose,
                anchors_missing=anchors_missing,
            )
            sys.stdout.write(text)
    if unreadable:
        return EXIT_USAGE
    worst = max(verdicts, key=lambda v: v.verdict.severity)
    return worst.verdict.exit_code


def _verify(args: argparse.Namespace, unreadable: list[str]) -> tuple[list[str], list, bool]:
    """(paths, verdicts) of the files that could be read (the others go to ``unreadable``),
    and whether no trust anchor at all was configured."""
    from sigmail.verifier import Verifier

    if args.evidence is not None and len(args.files) != 1:
        raise UsageError("--evidence writes the bundle of one FILE; give exactly one")
    policy = policy_from(args)
    trust = trust_store_from(args, policy, lang=args.lang)
    verifier = Verifier(
        trust=trust, policy=policy, revocation=revocation_from(args), strict=args.strict
    )
    at = args.at or datetime.now(UTC)
    if args.evidence is not None:
        return list(args.files), [_verify_with_evidence(args, verifier, at)], not trust.anchors

    paths, verdicts = [], []
    for path in args.files:
        try:
            data = _read(path)
        except UsageError as exc:
            unreadable.append(str(exc))
            continue
        content = _detached_content(path, args.content)
        paths.append(path)
        verdicts.append(
            verifier.verify(
                data,
                at=at,
                name=None if path == "-" else Path(path).name,
                content=content,
                receipt_time=args.receipt_time,
            )
        )
    return paths, verdicts, not trust.anchors


def _verify_with_evidence(args: argparse.Namespace, verifier, at: datetime):
    """One FILE, verified through sigmail.evidence; the bundle is written next to the verdict."""
    from sigmail.evidence import verify_with_evidence

    (path,) = args.files
    content = _detached_content(path, args.content)
    content_name = None
    if content is not None:
        content_name = Path(args.content or path[: -len(".p7s")]).name
    verdict, bundle = verify_with_evidence(
        verifier,
        _read(path),
        at=at,
        name=None if path == "-" else Path(path).name,
        content=content,
        content_name=content_name,
        receipt_time=args.receipt_time,
    )
    try:
        bundle.write(args.evidence)
    except OSError as exc:
        raise UsageError(f"{args.evidence}: {exc.strerror}") from exc
    return verdict
