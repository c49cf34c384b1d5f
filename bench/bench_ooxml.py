"""Signed Office package verification: a 1 MB .docx with two signatures, warm.

    python bench/bench_ooxml.py [--runs N] [--json OUT]     (inside /work/tools/netns-run)

The input is the vector ``vectors/ooxml/ooxml-docx-1mb.docx`` (1.7 MB of text in
word/document.xml, deflated to 1 MB; person-an then agency-stttt, each signature covering
every part). Revocation comes from the test PKI's responder (started here on 127.0.0.1);
after the first call the chains come from the verifier's chain cache, as in a long-running
filter. For comparison the same is measured for the PDF vector signed by the same two
(``pdf-person-then-agency.pdf``, a one-page letter: not the same size, the nearest PDF the
vectors hold).

Measured: warm time in process (median, p95 in brackets) and the growth of peak RSS
(VmHWM) of a fresh process over its own warm-up, i.e. what one verification of the file
adds. Target (issue 13): under 10 ms warm; peak memory under 3x the file. No timing is
asserted in the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
sys.path.insert(0, str(ROOT))
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
DOCX = VECTORS / "ooxml/ooxml-docx-1mb.docx"
PDF = VECTORS / "pdf/pdf-person-then-agency.pdf"


def _verifier():
    from sigmail import OnlineRevocation, TrustStore, Verifier

    trust = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    revocation = OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"])
    return Verifier(trust=trust, policy="basic", revocation=revocation)


def _timed(path: Path, runs: int) -> dict:
    verifier = _verifier()
    data = path.read_bytes()
    first = verifier.verify(data, at=AT, name=path.name)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        verifier.verify(data, at=AT, name=path.name)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "file": path.name,
        "bytes": len(data),
        "verdict": first.verdict.value,
        "signatures": len(first.signatures),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
    }


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _memory_child(path: str) -> None:
    """In a fresh process: warm up on a small vector, then verify ``path`` once."""
    verifier = _verifier()
    small = (VECTORS / "ooxml/ooxml-xlsx-person-agency.xlsx").read_bytes()
    verifier.verify(small, at=AT, name="small.xlsx")
    data = Path(path).read_bytes()
    before = _hwm_mb()
    verifier.verify(data, at=AT, name=Path(path).name)
    print(json.dumps({"peak_growth_mb": round(_hwm_mb() - before, 2)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from vectors.testpki.responder import PKIResponder

    with PKIResponder(VECTORS):
        if args.memory_child:
            _memory_child(args.memory_child)
            return 0
        results = [_timed(DOCX, args.runs), _timed(PDF, args.runs)]
    for path, result in zip((DOCX, PDF), results, strict=True):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        result["peak_growth_x_file"] = round(result["peak_growth_mb"] * 2**20 / result["bytes"], 2)
    for result in results:
        print(
            f"{result['file']}: {result['bytes'] / 2**20:.2f} MiB, {result['signatures']} "
            f"signatures, {result['verdict']}: {result['median_ms']} ms warm "
            f"(p95 {result['p95_ms']}); peak RSS +{result['peak_growth_mb']} MB "
            f"({result['peak_growth_x_file']}x the file)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
