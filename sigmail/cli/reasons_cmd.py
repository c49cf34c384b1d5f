"""``sigmail reasons``: the reason-code table, for integrators and the docs."""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser("reasons", help="list every reason code with its effect and legal basis")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from sigmail.verdict.reasons import REASONS, reasons_json, reasons_markdown

    if args.markdown:
        sys.stdout.write(reasons_markdown())
    elif args.json:
        rows = reasons_json()
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    else:
        for r in REASONS.values():
            sys.stdout.write(f"{r.code:28} {r.effect.value:14} {r.check:3} {r.en}\n")
    return 0
