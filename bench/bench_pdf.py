"""Signed PDF verification: sigmail side by side with pyHanko's ``validate_pdf_signature``.

    python bench/bench_pdf.py [--runs N] [--big-mb 100] [--json OUT]

Two files are generated into a temporary directory at every run (never into git), signed
exactly as the test vectors are (vectors/testpki/pdf_vectors.py: person-an, PAdES, the test
TSA, pinned times):

* **1 MB** — the test letter plus one page holding a 1 MB scanned image, one signature
  (PAdES B-B);
* **big** — the letter plus ``--big-mb`` pages of 1 MB scans (100 MB by default), a
  timestamped signature (B-T) and a post-signing LTV revision (DSS with the chain, both CRLs
  and an OCSP response: B-LT).

Both tools check revocation and analyse modifications: sigmail with its defaults (policy
"basic"; revocation from the test responder for the 1 MB file, from the DSS for the big
one); pyHanko with ``validate_pdf_signature`` over a ``ValidationContext`` holding the same
trust root, certificates, CRLs and OCSP response, ``revocation_mode="hard-fail"`` and the
default difference policy. sigmail reads the big file through a read-only ``mmap``.

Measured: warm time in process (median, p95 in brackets); peak RSS of a fresh process that
verifies the file (VmHWM, so every page the process touched counts); RSS over
consecutive verifications in one process (100 for sigmail, 8 for pyHanko on the big file).
Targets (issue 4): 1 MB ≤ 6 ms warm; big ≤ 100 ms and ≤ 80 MB peak RSS; memory flat.
No timing is asserted in the test suite; this script is run on demand.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import mmap
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

VECTORS = REPO / "vectors"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2026, 5, 20, 3, tzinfo=dt.UTC)
LTV_AT = dt.datetime(2026, 5, 31, tzinfo=dt.UTC)
SCAN = 1_000_000  # bytes of image samples per page


# -- the files -------------------------------------------------------------------------------


def make_files(directory: Path, big_mb: int) -> dict[str, Path]:
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    pki_spec = load_pki_spec(VECTORS)
    pki = build_pki(pki_spec, VECTORS / KEYS_DIR, create_keys=False)
    crls = {name: pki.build_crl(c) for name, c in pki_spec.crls.items()}
    spec = pdf_vectors.load_spec(VECTORS)

    def scans(n: int) -> tuple[bytes, ...]:
        return tuple(hashlib.shake_256(b"bench scan %d" % i).digest(SCAN) for i in range(n))

    sign = {"sign": "person-an", "time": SIGNED_AT, "field": "NguoiKy"}
    ltv = {
        "dss": {
            "certs": ["ca-official", "root-official"],
            "crls": ["ca-official", "root-official"],
            "ocsp": ["person-an"],
            "ocsp_clock": LTV_AT,
            "time": LTV_AT,
        }
    }
    files = {}
    for label, pages, steps in (
        ("1 MB, B-B", 1, [sign]),
        (f"{big_mb} MB, B-LT", big_mb, [{**sign, "timestamp": SIGNED_AT}, ltv]),
    ):
        base = pdf_vectors.letter(spec.lines, spec.document_id, scans(pages))
        data, _made = pdf_vectors.apply_steps(pki, crls, base, steps, f"bench {label}")
        path = directory / f"{pages}mb.pdf"
        path.write_bytes(data)
        files[label] = path
    return files


# -- the two verifiers -----------------------------------------------------------------------


def sigmail_verifier(online: bool):
    from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier

    trust = TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"])
    revocation = (
        OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"])
        if online
        else OfflineRevocation()
    )
    verifier = Verifier(trust=trust, policy="basic", revocation=revocation)

    def verify(path: Path):
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            verdict = verifier.verify(m, at=AT, name=path.name)
        assert verdict.verdict.value == "official", (verdict.verdict, verdict.reasons)
        return verdict

    return verify


def pyhanko_verifier():
    from asn1crypto import crl, ocsp, pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    from vectors.testpki.pki import load_pki
    from vectors.testpki.revocation import ocsp_response_for_certificate

    def cert(name: str):
        return x509.Certificate.load(
            pem.unarmor((VECTORS / f"pki/certs/{name}.pem").read_bytes())[2]
        )

    pki = load_pki(VECTORS)
    context = ValidationContext(
        trust_roots=[cert("root-official")],
        other_certs=[cert("ca-official"), cert("tsa-official")],
        crls=[
            crl.CertificateList.load((VECTORS / f"pki/crl/{n}.crl").read_bytes())
            for n in ("ca-official", "root-official")
        ],
        ocsps=[
            ocsp.OCSPResponse.load(ocsp_response_for_certificate(pki, "person-an", clock=LTV_AT))
        ],
        moment=AT,
        revocation_mode="hard-fail",
        allow_fetching=False,
    )
    usage = KeyUsageConstraints(
        key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
    )

    def verify(path: Path):
        with path.open("rb") as f:
            reader = PdfFileReader(f)
            sig = reader.embedded_signatures[0]
            status = validate_pdf_signature(
                sig,
                signer_validation_context=context,
                diff_policy=DEFAULT_DIFF_POLICY,
                key_usage_settings=usage,
                skip_diff=False,
            )
        assert status.bottom_line, status.pretty_print_details()
        return status

    return verify


# -- measurements ----------------------------------------------------------------------------


def _timeit(fn, runs: int, warmup: int = 2) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def child(tool: str, path: Path, repeat: int, online: bool) -> None:
    """Run in a fresh process: verify ``repeat`` times, print RSS figures as JSON."""
    verify = sigmail_verifier(online) if tool == "sigmail" else pyhanko_verifier()
    before = _rss_mb()
    series = []
    for _ in range(repeat):
        verify(path)
        series.append(round(_rss_mb(), 1))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent (this bench),
    # while VmHWM is the high-water mark of this process's own memory.
    peak = _status_mb("VmHWM")
    print(json.dumps({"baseline_mb": round(before, 1), "peak_mb": round(peak, 1),
                      "series_mb": series}))  # fmt: skip


def run_child(tool: str, path: Path, repeat: int, online: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", tool, str(path), str(repeat)]
    if online:
        cmd.append("--online")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="warm iterations on the 1 MB file")
    parser.add_argument("--big-runs", type=int, default=10, help="warm iterations, big file")
    parser.add_argument("--big-mb", type=int, default=100, help="size of the big file in MB")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--child", nargs=3, metavar=("TOOL", "FILE", "REPEAT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--online", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, path, repeat = args.child
        child(tool, Path(path), int(repeat), args.online)
        return

    from vectors.testpki.responder import PKIResponder

    rows = []
    with PKIResponder(VECTORS) as _responder, tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), args.big_mb)
        for label, path in files.items():
            small = label.startswith("1 MB")
            runs = args.runs if small else args.big_runs
            s_verify = sigmail_verifier(online=small)
            p_verify = pyhanko_verifier()
            row = {
                "input": label,
                "size_mb": round(path.stat().st_size / 1e6, 1),
                "sigmail_ms": [x * 1000 for x in _timeit(partial(s_verify, path), runs)],
                "pyhanko_ms": [x * 1000 for x in _timeit(partial(p_verify, path), runs)],
                "sigmail_rss": run_child("sigmail", path, 1, online=small),
                "pyhanko_rss": run_child("pyhanko", path, 1, online=small),
            }
            if not small:
                row["sigmail_series"] = run_child("sigmail", path, 100, online=False)
                row["pyhanko_series"] = run_child("pyhanko", path, 8, online=False)
            rows.append(row)

    print(
        "| input | sigmail warm | pyHanko warm | ratio | sigmail peak RSS | pyHanko peak RSS "
        "| ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        s, p = r["sigmail_ms"], r["pyhanko_ms"]
        sr, pr = r["sigmail_rss"]["peak_mb"], r["pyhanko_rss"]["peak_mb"]
        print(
            f"| {r['input']} ({r['size_mb']} MB) | {s[0]:.1f} ms [{s[1]:.1f}] | {p[0]:.1f} ms "
            f"[{p[1]:.1f}] | {p[0] / s[0]:.1f}× faster | {sr:.0f} MB | {pr:.0f} MB "
            f"| {pr / sr:.1f}× less |"
        )
    for r in rows:
        if "sigmail_series" in r:
            ss, ps = r["sigmail_series"]["series_mb"], r["pyhanko_series"]["series_mb"]
            print(
                f"\nRSS over consecutive verifications of the {r['input']} file: sigmail "
                f"{ss[0]:.0f} → {ss[-1]:.0f} MB after {len(ss)} (max {max(ss):.0f}); "
                f"pyHanko {ps[0]:.0f} → {ps[-1]:.0f} MB after {len(ps)} (max {max(ps):.0f})"
            )
    print(
        f"\nwarm: median [p95] of {args.runs} (1 MB) / {args.big_runs} (big) runs; peak RSS: "
        "a fresh process verifying once (interpreter and imports included)"
    )
    print("targets: 1 MB ≤ 6 ms; big ≤ 100 ms and ≤ 80 MB; memory flat over 100 verifications")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
