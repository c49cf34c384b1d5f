"""The command line's exit codes besides the verdicts' (VerdictKind.exit_code): sysexits."""

from __future__ import annotations

__all__ = ["EXIT_INTERNAL", "EXIT_USAGE"]

EXIT_USAGE = 64  # EX_USAGE: bad arguments, unreadable FILE, bad configuration
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug
