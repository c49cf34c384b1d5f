"""Whether sigmail's modules are read from up-to-date compiled bytecode, for the benches'
first line.

A module whose ``.pyc`` is missing or older than its source is compiled again at every start
when bytecode is not written (``PYTHONDONTWRITEBYTECODE=1``, a read-only tree): an editable
checkout edited since its last compile then measures the compiler too. One run of
``bench_audit.py`` on 2026-12-07 recompiled 45 modules in every measurement and gave 650–790
msg/s instead of 1,157–1,278. ``python -m compileall -q sigmail`` fixes it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType


def _fresh(source: Path) -> bool | None:
    """True if the source's cached bytecode is current, False if stale, None if missing."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        header = cached.read_bytes()[:16]
    except OSError:
        return None
    flags = int.from_bytes(header[4:8], "little")
    if flags & 1:  # hash-based: checked (or not) by its own rule, never by time
        return True
    st = source.stat()
    return (
        int.from_bytes(header[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(header[12:16], "little") == st.st_size & 0xFFFFFFFF
    )


def state(package: ModuleType) -> str:
    """One line: how many of the package's modules have current bytecode, which do not."""
    root = Path(package.__file__).parent
    found = [_fresh(p) for p in root.rglob("*.py")]
    fresh = sum(1 for f in found if f)
    stale = sum(1 for f in found if f is False)
    missing = sum(1 for f in found if f is None)
    editable = not str(root.resolve()).startswith(sys.prefix)
    line = f"{package.__name__}'s modules: {fresh}/{len(found)} compiled"
    if stale or missing:
        line += f" ({stale} stale, {missing} not compiled: python -m compileall -q {root})"
    if editable:
        line += " (editable install)"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        line += "; PYTHONDONTWRITEBYTECODE=1"
    return line
