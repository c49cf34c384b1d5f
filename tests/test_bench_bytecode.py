"""bench/bytecode.py tells a current compiled module from a stale or missing one (the benches
print it first: a stale editable checkout measures the compiler too)."""

from __future__ import annotations

import compileall
import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _state(tmp_path):
    sys.path[:0] = [str(ROOT / "bench"), str(tmp_path)]
    try:
        import bytecode

        importlib.invalidate_caches()
        package = importlib.import_module("benchprobe")
        return bytecode.state(package)
    finally:
        sys.path.remove(str(ROOT / "bench"))
        sys.path.remove(str(tmp_path))
        sys.modules.pop("benchprobe", None)


def test_fresh_stale_and_missing_bytecode_are_told_apart(tmp_path):
    package = tmp_path / "benchprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("A = 1\n")
    (package / "b.py").write_text("B = 1\n")
    assert compileall.compile_dir(str(package), quiet=1, force=True)
    assert "3/3 compiled" in _state(tmp_path)
    (package / "a.py").write_text("A = 2  # edited\n")  # another size: stale whatever the clock
    (package / "c.py").write_text("C = 1\n")
    line = _state(tmp_path)
    assert "2/4 compiled (1 stale, 1 not compiled" in line, line
    os.utime(package / "b.py", (1, 1))  # same size, other time: stale too
    assert "1/4 compiled (2 stale, 1 not compiled" in _state(tmp_path)
