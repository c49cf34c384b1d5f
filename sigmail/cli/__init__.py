"""``sigmail`` command line: the contract other tools script against.

Exit codes: 0 official, 1 not_official, 2 unsigned, 3 invalid, 4 indeterminate (for several
files: the most severe verdict, in the order invalid > indeterminate > unsigned >
not_official > official), 64 usage error, 70 internal error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sigmail.errors import ConfigError, SigmailError, UsageError

__all__ = ["EXIT_INTERNAL", "EXIT_USAGE", "main"]

EXIT_USAGE = 64
EXIT_INTERNAL = 70


class _Parser(argparse.ArgumentParser):
    """argparse that exits with EX_USAGE (64) instead of 2, which means "unsigned" here."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from sigmail.cli import audit_cmd, milter_cmd, reasons_cmd, serve_cmd, trust_cmd, verify_cmd

    parser = _Parser(prog="sigmail", description=__doc__.split("\n")[0].strip("`"))
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify_cmd.add_parser(sub)
    trust_cmd.add_parser(sub)
    reasons_cmd.add_parser(sub)
    milter_cmd.add_parser(sub)
    audit_cmd.add_parser(sub)  # audit and report (docs/audit.md)
    serve_cmd.add_parser(sub)  # the HTTP service and the clerk's page (docs/service.md)
    return parser


def _version() -> str:
    from sigmail._version import __version__

    return f"sigmail {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ConfigError) as exc:
        print(f"sigmail: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SigmailError as exc:
        print(f"sigmail: internal error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the CLI's one boundary: a bug is exit 70, never a traceback dump
        print(f"sigmail: internal error: {exc!r}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
