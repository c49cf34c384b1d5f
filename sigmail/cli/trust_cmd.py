"""``sigmail trust add|list``: install pinned CA certificates, show what is installed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    p = sub.add_parser("trust", help="install and list trust anchors (pinned by the policy)")
    actions = p.add_subparsers(dest="trust_action", required=True, parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--trust-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="trust directory (default: $SIGMAIL_TRUST_DIR or ~/.local/share/sigmail/trust)",
    )
    common.add_argument(
        "--policy",
        default=None,
        metavar="NAME|FILE",
        help="policy whose pins decide (default: vn-gov)",
    )
    add = actions.add_parser("add", parents=[common], help="install certificate files")
    add.add_argument("files", nargs="+", metavar="FILE")
    add.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="install a certificate the policy does not pin (needs --class)",
    )
    add.add_argument(
        "--class", dest="anchor_class", choices=("official", "public", "intermediate"), default=None
    )
    add.set_defaults(run=run_add)
    show = actions.add_parser("list", parents=[common], help="list installed certificates")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_list)


def _context(args):
    from sigmail.cli.trust_dir import default_trust_dir
    from sigmail.policy.model import DEFAULT_POLICY, load_policy

    return args.trust_dir or default_trust_dir(), load_policy(args.policy or DEFAULT_POLICY)


def run_add(args: argparse.Namespace) -> int:
    from sigmail.cli.trust_dir import install

    trust_dir, policy = _context(args)
    for file in args.files:
        done = install(
            file,
            trust_dir=trust_dir,
            policy=policy,
            allow_unpinned=args.allow_unpinned,
            anchor_class=args.anchor_class,
        )
        label = done.pin.name if done.pin else f"UNPINNED {done.subject}"
        print(f"installed {label} as {done.use} → {done.path}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from sigmail.cli.trust_dir import installed

    trust_dir, policy = _context(args)
    rows = installed(trust_dir, policy)
    if args.json:
        data = [
            {
                "use": r.use,
                "sha256": r.sha256,
                "subject": r.subject,
                "not_after": r.not_after.isoformat(),
                "pinned": r.pin.name if r.pin else None,
                "path": str(r.path),
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return 0
    if not rows:
        print(f"no certificates installed in {trust_dir}")
        return 0
    for r in rows:
        pinned = r.pin.name if r.pin else "unpinned"
        print(
            f"{r.use:12} expires {r.not_after:%Y-%m-%d}  {pinned}\n"
            f"{'':12} {r.subject}\n{'':12} {r.sha256}  {r.path.name}"
        )
    return 0
