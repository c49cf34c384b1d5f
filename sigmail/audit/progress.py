"""A progress line on stderr: bytes done of the sources' total, items, rate and time left.

Twenty lines of our own rather than a dependency: it redraws one line (``\\r``) at most five
times a second, only when asked to (by default when stderr is a terminal), and ends with a
newline.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    def __init__(self, total_bytes: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done_bytes = 0
        self.items = 0
        self.skipped = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def advance(self, size: int, *, skipped: bool = False) -> None:
        self.done_bytes += size
        if skipped:
            self.skipped += 1
        else:
            self.items += 1
        if self.enabled and time.monotonic() - self._drawn >= 0.2:
            self.draw()

    def draw(self) -> None:
        self._drawn = time.monotonic()
        elapsed = max(self._drawn - self.started, 1e-9)
        share = min(self.done_bytes / self.total, 1.0)
        width = 24
        bar = "#" * int(share * width) + "-" * (width - int(share * width))
        rate = self.items / elapsed
        left = elapsed * (1 - share) / share if share > 0 else 0
        line = (
            f"\rsigmail audit [{bar}] {share:4.0%} {_bytes(self.done_bytes)}/{_bytes(self.total)}"
            f"  {self.items} new, {self.skipped} skipped  {rate:.1f}/s  ETA {_clock(left)} "
        )
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()
