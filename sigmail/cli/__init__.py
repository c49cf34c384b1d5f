"""``sigmail`` command line: the contract other tools script against.

Exit codes: 0 official, 1 not_official, 2 unsigned, 3 invalid, 4 indeterminate (for several
files: the most severe verdict, in the order invalid > indeterminate > unsigned >
not_official > official), 64 usage error, 70 internal error.

An internal error (a bug) is one line on stderr; the traceback only with ``--verbose`` or
``SIGMAIL_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sigmail.cli.exit_codes import EXIT_INTERNAL, EXIT_USAGE
from sigmail.errors import ConfigError, SigmailError, UsageError

__all__ = ["EXIT_INTERNAL", "EXIT_USAGE", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with EX_USAGE (64) instead of 2, which means "unsigned" here."""

    def error(self, message: str):
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


def _debug(args: argparse.Namespace) -> bool:
    """Tracebacks wanted: ``--verbose`` (the commands that have it) or ``SIGMAIL_DEBUG=1``."""
    from sigmail.cli.stderr_log import debug_env

    return bool(getattr(args, "verbose", False)) or debug_env()


@contextmanager
def _logging_to_stderr(args: argparse.Namespace) -> Iterator[None]:
    """The core's log lines on stderr during a one-shot command (sigmail.cli.stderr_log).
    The logger is restored afterwards: main() is also called in-process (tests, scripts).
    The daemons (milter, serve) configure their own."""
    if args.command in ("milter", "serve"):
        yield
        return
    from sigmail.cli.stderr_log import debug_env, stderr_handler

    logger = logging.getLogger("sigmail")
    saved = (logger.level, logger.propagate)
    handler = stderr_handler(tracebacks=_debug(args))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug_env() else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _innermost(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The (sub)command parser the arguments chose: ``sigmail verify --bogus`` is answered
    with ``verify``'s usage, not the top level's."""
    while True:
        action = next(
            (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None
        )
        chosen = getattr(args, action.dest, None) if action is not None else None
        if action is None or chosen not in action.choices:
            return parser
        parser = action.choices[chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _innermost(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        with _logging_to_stderr(args):
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
        if _debug(args):
            traceback.print_exc(file=sys.stderr)
        print(f"sigmail: internal error: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
