"""bench/bench_pause.py runs and reports every input at every pause (its figures are not
asserted: the suite holds no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_pause_reports_each_input_and_pause(tmp_path):
    out = tmp_path / "pause.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_pause.py"),
            "--messages",
            "4",
            "--pauses",
            "0,0.1",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = json.loads(out.read_text())["results"]
    seen = {(r["input"], r["pause_ms"], r["busy"]) for r in results}
    for name in ("bench_milter message", "bench_audit mix"):
        assert {(name, 0.0, False), (name, 0.1, False), (name, 0.1, True)} <= seen
    assert all(r["cpu_ms"] > 0 for r in results)
    assert all(r["ratio"] == 1.0 for r in results if r["pause_ms"] == 0)
