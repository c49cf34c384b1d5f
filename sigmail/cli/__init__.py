"""``sigmail`` command line: the contract other tools script against.

Exit codes: 0 official, 1 not_official, 2 unsigned, 3 invalid, 4 indeterminate (for several
files: the most severe verdict, in the order invalid > indeterminate > unsigned >
not_official > official), 64 usage error, 70 internal error.

An internal error (a bug) is one line on stderr; the traceback only with ``--verbose`` or
``SIGMAIL_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sigmail.cli.exit_codes import EXIT_INTERNAL, EXIT_USAGE
from sigmail.errors import ConfigError, SigmailError, UsageError

__all__ = ["EXIT_INTERNAL", "EXIT_USAGE", "build_parser", "main"]

# Every command: the module that defines its parser, and its one-line help. Only the command
# given on the command line has its module imported and its parser built (a command's module
# imports what its options need); the others are listed by name and help, which is all
# ``sigmail --help`` prints — so ``sigmail --help`` imports no command at all, and
# ``sigmail verify`` not the audit's or the service's options. tests/test_importtime.py checks that
# these lines are the ones the modules give.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("verify_cmd", "verify signed files and print their verdicts"),
    "trust": ("trust_cmd", "install and list trust anchors (pinned by the policy)"),
    "reasons": ("reasons_cmd", "list every reason code with its effect and legal basis"),
    "milter": ("milter_cmd", "run the mail filter (milter) for Postfix or Sendmail"),
    "audit": ("audit_cmd", "verify mailboxes and folders into the arrival register"),
    "report": ("audit_cmd", "yearly statistics from the arrival register (HTML, CSV)"),
    "serve": ("serve_cmd", "run the verification service (HTTP API and the clerk's web page)"),
}


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, sized as it sizes it, without importing shutil for that (the
    import is a tenth of ``sigmail --help``)."""

    def __init__(self, prog: str, **kwargs) -> None:
        kwargs.setdefault("width", _columns() - 2)
        super().__init__(prog, **kwargs)


def _columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the terminal's, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):  # closed, detached, not a terminal
            columns = 0
    return columns if columns > 0 else 80


class _Parser(argparse.ArgumentParser):
    """argparse that exits with EX_USAGE (64) instead of 2, which means "unsigned" here."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``sigmail`` parser. With ``argv``, only the command it names is built in full (the
    others by name and help only); without, every command is."""
    import importlib

    if argv is None:
        full = {module for module, _help in COMMANDS.values()}
    else:
        chosen = _command_of(argv)
        full = {COMMANDS[chosen][0]} if chosen is not None else set()
    parser = _Parser(prog="sigmail", description=__doc__.split("\n")[0].replace("``", ""))
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    built: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if module not in full:
            sub.add_parser(name, help=help_line, add_help=False)
        elif module not in built:  # adds all its commands (audit_cmd: audit, report) in order
            built.add(module)
            importlib.import_module(f"sigmail.cli.{module}").add_parser(sub)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (the top level has
    only --help and --version, which take no value)."""
    words = iter(argv)
    for word in words:
        if word == "--":
            word = next(words, "")
        elif word.startswith("-"):
            continue
        return word if word in COMMANDS else None
    return None


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
    import logging

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
    parser = build_parser(sys.argv[1:] if argv is None else argv)
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
            import traceback

            traceback.print_exc(file=sys.stderr)
        print(f"sigmail: internal error: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
