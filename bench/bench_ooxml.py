"""Signed Office package verification: a 1 MB .docx with two signatures, warm.

    python bench/bench_ooxml.py [--runs N] [--json OUT]     (inside tools/netns-run)

The input is the vector ``vectors/ooxml/ooxml-docx-1mb.docx`` (1.6 MB of text in
word/document.xml, deflated to 1 MB; person-an then agency-stttt, each signature covering
every part). Revocation comes from the test PKI's responder (started here on 127.0.0.1);
after the first call the chains come from the verifier's chain cache, as in a long-running
filter. For comparison, measured in the same run: the same .docx with the part-digest memo of
``sigmail.ooxml.zipsafe`` switched off (every verification inflates word/document.xml again),
a PDF with the same text (the .docx's lines on one page, made here with the vectors' own
``pdf_vectors.letter`` and signed by the same two, as ``pdf-person-then-agency`` is) and that
20 KB vector itself.

Measured: CPU time per warm verification (process_time; median, p95 in brackets), wall time
(say the load next to it), and the growth of peak RSS (VmHWM) of a fresh process over its own
warm-up, i.e. what one verification of the file adds. Target (issue 13): under 10 ms warm;
peak memory under 3x the file. No timing is asserted in the test suite.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def same_content_pdf(directory: Path) -> Path:
    """A PDF of the .docx's text (the same lines as ``ooxml_vectors``' filler), signed by
    person-an then agency-stttt with the vectors' own steps."""
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    pki_spec = load_pki_spec(VECTORS)
    pki = build_pki(pki_spec, VECTORS / KEYS_DIR, create_keys=False)
    crls = {name: pki.build_crl(c) for name, c in pki_spec.crls.items()}
    seed, lines, size = b"sigmail", [], 0
    while size < 1_700_000:  # as ooxml_vectors._docx(filler=1700000)
        seed = hashlib.sha256(seed).digest()
        text = base64.b64encode(seed * 3).decode()
        lines.append(text)
        size += len(text) + 40
    steps = [
        {
            "sign": "person-an",
            "time": dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC),
            "field": "NguoiKy",
        },
        {
            "sign": "agency-stttt",
            "time": dt.datetime(2026, 5, 20, 4, tzinfo=dt.UTC),
            "field": "CoQuan",
        },
    ]
    base = pdf_vectors.letter(tuple(lines), b"sigmail-bench-ooxml")
    data, _made = pdf_vectors.apply_steps(pki, crls, base, steps, "bench ooxml same content")
    path = directory / "same-content.pdf"
    path.write_bytes(data)
    return path


def _timed(path: Path, runs: int, label: str | None = None, memo: bool = True) -> dict:
    from sigmail.ooxml import zipsafe

    floor = zipsafe._CACHE_FLOOR
    zipsafe._CACHE_FLOOR = floor if memo else 1 << 62
    zipsafe._DIGESTS.clear()
    try:
        verifier = _verifier()
        data = path.read_bytes()
        first = verifier.verify(data, at=AT, name=path.name)
        for _ in range(5):
            verifier.verify(data, at=AT, name=path.name)
        cpu, wall = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            verifier.verify(data, at=AT, name=path.name)
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    finally:
        zipsafe._CACHE_FLOOR = floor
    cpu.sort()
    wall.sort()
    return {
        "file": label or path.name,
        "path": str(path),
        "bytes": len(data),
        "verdict": first.verdict.value,
        "signatures": len(first.signatures),
        "cpu_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(cpu[int(len(cpu) * 0.95) - 1], 2),
        "wall_ms": round(statistics.median(wall), 2),
        "memo": memo,
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

    if args.memory_child:
        with PKIResponder(VECTORS):
            _memory_child(args.memory_child)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        same = same_content_pdf(Path(scratch))
        with PKIResponder(VECTORS):
            results = [
                _timed(DOCX, args.runs),
                _timed(DOCX, args.runs, label=f"{DOCX.name} (no part-digest memo)", memo=False),
                _timed(same, args.runs, label="same text as PDF (made here)"),
                _timed(PDF, args.runs),
            ]
        for result in (results[0], results[2], results[3]):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-child", result["path"]],
                capture_output=True,
                text=True,
                check=True,
            )
            result.update(json.loads(out.stdout.strip().splitlines()[-1]))
            result["peak_growth_x_file"] = round(
                result["peak_growth_mb"] * 2**20 / result["bytes"], 2
            )
    load = os.getloadavg()[0]
    pdf_cpu = results[2]["cpu_ms"]
    for result in results:
        memory = (
            f"; peak RSS +{result['peak_growth_mb']} MB ({result['peak_growth_x_file']}x the file)"
            if "peak_growth_mb" in result
            else ""
        )
        print(
            f"{result['file']}: {result['bytes'] / 2**20:.2f} MiB, {result['signatures']} "
            f"signatures, {result['verdict']}: CPU {result['cpu_ms']} ms warm "
            f"(p95 {result['cpu_p95_ms']}), {result['cpu_ms'] / pdf_cpu:.2f}x the same-text PDF; "
            f"wall {result['wall_ms']} ms at load {load:.1f}{memory}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
