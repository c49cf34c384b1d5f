"""S/MIME (.eml) verification: sigmail side by side with ``openssl cms -verify``, one run.

    python bench/bench_smime.py [--runs N] [--json OUT]

Two messages, both multipart/signed by person-an of the test PKI (RSA-2048, SHA-256, chain of
three, CRL and OCSP evidence), validated at the vectors' validation time:

* small — vectors/smime/person-official.eml (6 KB, one base64 text part);
* large — the same signer, a text part and a 7 MiB attachment (application/octet-stream,
  base64): made here by vectors.testpki.smime_vectors.signed_message.

Measured:

* warm, in process — ``Verifier.verify`` with its caches warm (revocation from the test
  responder; after the first call nothing is fetched): median [p95];
* cold, a new process — ``sigmail verify --offline`` with a filled revocation cache, against
  ``openssl cms -verify -crl_check_all`` with the same CRLs (openssl checks only the
  signature and chain: no From check, no parts, no revocation beyond the CRLs);
* peak memory of one verification of the large message in a fresh process, after one small
  message (imports, certificates and chain are not the message's) — tracemalloc's peak
  (Python allocations, the message itself included) and the peak RSS above the RSS before
  the message was read — and openssl's peak RSS (its whole process).

Targets (issue 3): small ≤ 2 ms warm; large ≤ 40 ms warm and peak memory ≤ 3× its size.
No timing is asserted anywhere in the test suite; this script is run on demand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vectors.testpki.pki import load_pki  # noqa: E402
from vectors.testpki.responder import PKIResponder  # noqa: E402
from vectors.testpki.smime_vectors import signed_message  # noqa: E402

VECTORS = REPO / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
ROOT_PEM = VECTORS / "pki/certs/root-official.pem"
CRLS = [VECTORS / "pki/crl/root-official.crl", VECTORS / "pki/crl/ca-official.crl"]
ATTACHMENT = 7 * 1024 * 1024

_MEMORY_PROBE = r"""
import sys, tracemalloc
from datetime import datetime
from pathlib import Path
from sigmail import OfflineRevocation, TrustStore, Verifier

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

path, warmup, root, cache, at = sys.argv[1:6]
at = datetime.fromisoformat(at)
verifier = Verifier(trust=TrustStore.load(official=[root]), policy="basic",
                    revocation=OfflineRevocation(cache))
# One small message first: imports, parsed certificates and the chain are not the message's.
verifier.verify(Path(warmup).read_bytes(), at=at, name="warmup.eml")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)
base = status("VmRSS")
tracemalloc.start()
data = Path(path).read_bytes()
verdict = verifier.verify(data, at=at, name="large.eml")
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(verdict.verdict.value, len(data), peak, status("VmHWM") - base)
"""

_OPENSSL_PROBE = r"""
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def _stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def _timeit(fn, runs: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return _stats(out)


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
    return elapsed


def _sigmail_cmd() -> list[str]:
    exe = shutil.which("sigmail")
    return [exe] if exe else [sys.executable, "-m", "sigmail"]


def sigmail_warm(data: bytes, runs: int):
    from sigmail import OnlineRevocation, TrustStore, Verifier

    verifier = Verifier(
        trust=TrustStore.load(official=[ROOT_PEM]),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
    )
    verdict = verifier.verify(data, at=AT, name="m.eml")
    assert verdict.verdict.value == "official", verdict.reasons
    return _timeit(lambda: verifier.verify(data, at=AT, name="m.eml"), runs)


def sigmail_cold(path: Path, runs: int, cache: Path):
    cmd = [
        *_sigmail_cmd(),
        "verify",
        "--offline",
        "--policy",
        "basic",
        "--revocation-cache",
        str(cache),
        "--trust",
        str(ROOT_PEM),
        "--at",
        AT.isoformat(),
        str(path),
    ]
    return _stats([_run(cmd) for _ in range(runs)])


def _openssl_cmd(path: Path, store: Path) -> list[str]:
    return [
        "openssl",
        "cms",
        "-verify",
        "-in",
        str(path),
        "-CAfile",
        str(store),
        "-crl_check_all",
        "-attime",
        str(int(AT.timestamp())),
        "-purpose",
        "any",
        "-out",
        os.devnull,
    ]


def openssl_cold(path: Path, runs: int, store: Path):
    return _stats([_run(_openssl_cmd(path, store)) for _ in range(runs)])


def memory(path: Path, cache: Path, store: Path) -> dict:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            str(path),
            str(VECTORS / "smime/person-official.eml"),
            str(ROOT_PEM),
            str(cache),
            AT.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    verdict, size, peak, grown = probe.stdout.split()
    assert verdict == "official", probe.stdout
    openssl = subprocess.run(
        [sys.executable, "-c", _OPENSSL_PROBE, *_openssl_cmd(path, store)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "size": int(size),
        "tracemalloc_peak": int(peak),
        "rss_growth": int(grown),
        "openssl_peak_rss": int(openssl.stdout.strip()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="warm iterations (cold: runs/10)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    cold_runs = max(10, args.runs // 10)

    rows = []
    with PKIResponder(VECTORS) as _responder, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pki = load_pki(VECTORS)
        blob = hashlib.shake_256(b"sigmail bench attachment").digest(ATTACHMENT)
        large = tmp / "large.eml"
        large.write_bytes(
            signed_message(
                pki,
                "person-an",
                attachments=(("application/octet-stream", "phu-luc.zip", blob),),
                label="bench-large",
            )
        )
        inputs = {"small": VECTORS / "smime/person-official.eml", "large (7 MiB)": large}

        store = tmp / "store.pem"
        store.write_bytes(ROOT_PEM.read_bytes())
        for crl in CRLS:
            pem = subprocess.run(
                ["openssl", "crl", "-inform", "DER", "-in", str(crl)],
                capture_output=True,
                check=True,
            ).stdout
            with store.open("ab") as f:
                f.write(pem)

        # Fill a revocation cache directory once, as a mail server's first message would.
        from sigmail import OnlineRevocation, TrustStore, Verifier

        cache = tmp / "rev"
        warmer = Verifier(
            trust=TrustStore.load(official=[ROOT_PEM]),
            policy="basic",
            revocation=OnlineRevocation(
                cache_dir=cache, clock=lambda: AT, allow_networks=["127.0.0.1/32"]
            ),
        )
        for path in inputs.values():
            assert warmer.verify(path.read_bytes(), at=AT).verdict.value == "official"

        for label, path in inputs.items():
            data = path.read_bytes()
            runs = args.runs if label == "small" else max(20, args.runs // 5)
            rows.append(
                {
                    "input": label,
                    "size": len(data),
                    "sigmail_warm": sigmail_warm(data, runs),
                    "sigmail_cold": sigmail_cold(path, cold_runs, cache),
                    "openssl_cold": openssl_cold(path, cold_runs, store),
                }
            )
        mem = memory(large, cache, store)

    ms = 1000.0
    print(
        "| message | size | sigmail warm | sigmail cold (CLI) | openssl cms -verify (cold) "
        "| openssl ÷ sigmail warm | sigmail cold ÷ openssl |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        sw, sc, oc = r["sigmail_warm"], r["sigmail_cold"], r["openssl_cold"]
        print(
            f"| {r['input']} | {r['size'] / 1024:.0f} KiB | {sw[0] * ms:.2f} ms [{sw[1] * ms:.2f}] "
            f"| {sc[0] * ms:.0f} ms [{sc[1] * ms:.0f}] | {oc[0] * ms:.0f} ms [{oc[1] * ms:.0f}] "
            f"| {oc[0] / sw[0]:.0f}× | {sc[0] / oc[0]:.1f}× |"
        )
    mib = 1024 * 1024
    print(
        f"\nlarge message, one verification in a fresh process: {mem['size'] / mib:.1f} MiB; "
        f"sigmail tracemalloc peak {mem['tracemalloc_peak'] / mib:.1f} MiB "
        f"({mem['tracemalloc_peak'] / mem['size']:.2f}× the message), peak RSS above baseline "
        f"{mem['rss_growth'] / mib:.1f} MiB ({mem['rss_growth'] / mem['size']:.2f}×); "
        f"openssl peak RSS {mem['openssl_peak_rss'] / mib:.1f} MiB"
    )
    print(
        f"warm: median [p95] of {args.runs} (small) / {max(20, args.runs // 5)} (large) runs; "
        f"cold: {cold_runs} runs. Targets: small ≤ 2 ms warm; large ≤ 40 ms warm, peak ≤ 3× size"
    )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "memory": mem}, indent=2) + "\n")


if __name__ == "__main__":
    main()
