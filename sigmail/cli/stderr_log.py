"""Log lines of the one-shot commands on stderr: a logged exception is one line, its
traceback only when asked for (``--verbose`` or ``SIGMAIL_DEBUG=1``).

Without a handler, Python's last-resort handler prints every logged traceback in full — the
verifier logs each internal error with its traceback, 3,000 lines for a RecursionError.
Used by :func:`sigmail.cli.main` and by the audit's worker processes.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["StderrHandler", "debug_env", "stderr_handler"]


def debug_env() -> bool:
    """``SIGMAIL_DEBUG`` set to anything but empty or 0."""
    return os.environ.get("SIGMAIL_DEBUG", "") not in ("", "0")


class StderrHandler(logging.Handler):
    """Writes to the current ``sys.stderr`` (not the one at import: tests capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


class _OneLine(logging.Formatter):
    """A logged exception as one line: what failed, the exception's type and message."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"sigmail: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += f": {type(exc).__name__}: {str(exc)[:200]}"
            line += " (--verbose or SIGMAIL_DEBUG=1 prints the traceback)"
        return line


def stderr_handler(*, tracebacks: bool) -> StderrHandler:
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("sigmail: %(message)s") if tracebacks else _OneLine())
    return handler
