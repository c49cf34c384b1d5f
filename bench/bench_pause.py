"""What a verification costs when the CPU did something else just before: the floor under the
mail filter's and the service's per-message figures.

    python bench/bench_pause.py [--messages N] [--pauses 0,0.5,2] [--json OUT]

A loop verifying one message after another keeps the interpreter's and the verifier's working
set in the CPU's caches. A mail filter or a service does not: between two messages the CPU runs
Postfix, uvicorn, the client, or sleeps. Here one Verifier (warm, offline, the test PKI's CRLs
from a cache) verifies N messages several times — back to back, then with a pause of P ms
after each (``time.sleep``, or a busy wait that runs other Python code) — and reports the CPU
of the verification alone (``time.thread_time`` around ``Verifier.verify``), so the pause
itself is not counted. Two inputs: the message of ``bench_milter.py`` (person-an,
multipart/signed, each signed anew) and the first N of ``bench_audit.py``'s mix.

Nothing here is asserted by the test suite; it measures, it has no target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import bench_audit  # noqa: E402
import bytecode  # noqa: E402
from milter_support import signed_message  # noqa: E402

import sigmail  # noqa: E402
from sigmail.audit.work import verifier_for  # noqa: E402

ROUNDS = 3


def _inputs(tmp: Path, count: int):
    """(name, [(bytes, receipt time)], settings) for both inputs."""
    settings = bench_audit.settings(bench_audit.revocation_cache(tmp))
    box = bench_audit.small_mix(tmp, count)
    mix = [
        (data, receipt) for data, _name, receipt in bench_audit.verification_inputs(box, settings)
    ]
    milter = [(signed_message(message_id=f"<pause-{i}@sigmail.test>"), None) for i in range(count)]
    return [("bench_milter message", milter), ("bench_audit mix", mix)], settings


def _pass(verifier, settings, inputs, pause: float, busy: bool) -> float:
    """Mean CPU milliseconds of one verification, pausing ``pause`` seconds after each."""
    spent = 0.0
    for data, receipt in inputs:
        started = time.thread_time()
        verifier.verify(data, at=settings.at, receipt_time=receipt)
        spent += time.thread_time() - started
        if pause and busy:
            until = time.perf_counter() + pause
            while time.perf_counter() < until:
                pass
        elif pause:
            time.sleep(pause)
    return spent / len(inputs) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--pauses", default="0,0.5,2", help="milliseconds after each (0,0.5,2)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    pauses = [float(p) / 1000 for p in args.pauses.split(",")]
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load {load[0]:.2f}")
    print(bytecode.state(sigmail))
    tmp = Path(tempfile.mkdtemp(prefix="sigmail-bench-pause-"))
    results = []
    try:
        inputs, settings = _inputs(tmp, args.messages)
        verifier = verifier_for(settings)
        for name, batch in inputs:
            _pass(verifier, settings, batch, 0, False)  # warm: imports, chains, CRLs
            base = None
            for pause in pauses:
                for busy in (False, True) if pause else (False,):
                    figures = [_pass(verifier, settings, batch, pause, busy) for _ in range(ROUNDS)]
                    ms = statistics.median(figures)
                    base = base if base is not None else ms
                    how = (
                        "back to back"
                        if not pause
                        else (f"{pause * 1000:g} ms {'busy wait' if busy else 'sleep'} after each")
                    )
                    print(
                        f"{name:22s} {how:30s} {ms:6.3f} ms CPU per verification  "
                        f"{ms / base:4.2f}x back to back"
                    )
                    results.append(
                        {
                            "input": name,
                            "pause_ms": pause * 1000,
                            "busy": busy,
                            "cpu_ms": round(ms, 4),
                            "ratio": round(ms / base, 3),
                        }
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"load": load, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
