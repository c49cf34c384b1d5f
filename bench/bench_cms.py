"""CMS (.p7m/.p7s) verification: sigmail side by side with OpenSSL and pyHanko, one run.

    python bench/bench_cms.py [--runs N] [--json OUT]

Measured on the same inputs from vectors/ (RSA-2048 signer, 3-certificate chain, CRL and
OCSP evidence), all pinned to the vectors' validation time:

* warm, in process — sigmail ``Verifier.verify`` with its caches warm (the test responder
  serves revocation; after the first call nothing is fetched) against pyHanko's
  ``async_validate_cms_signature`` with a prepared ValidationContext holding the same CRLs;
* cold, a new process — ``sigmail verify`` (offline, evidence from a revocation cache
  directory, as a mail server would run it) against ``openssl cms -verify -crl_check_all``
  with the same CRLs.

Targets (issue 2): warm ≤ 2 ms, cold ≤ 250 ms. Figures are medians (p95 in brackets).
No timing is asserted anywhere in the test suite; this script is run on demand.
"""

from __future__ import annotations

import argparse
import asyncio
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

from vectors.testpki.responder import PKIResponder  # noqa: E402

VECTORS = REPO / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
ROOT_PEM = VECTORS / "pki/certs/root-official.pem"
CA_PEM = VECTORS / "pki/certs/ca-official.pem"
CRLS = [VECTORS / "pki/crl/root-official.crl", VECTORS / "pki/crl/ca-official.crl"]
INPUTS = {
    "attached .p7m": (VECTORS / "cms/person-official.p7m", None),
    "detached .p7s": (VECTORS / "cms/person-detached.p7s", VECTORS / "cms/document.txt"),
}


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


def sigmail_warm(path: Path, content: Path | None, runs: int):
    from sigmail import OnlineRevocation, TrustStore, Verifier

    # "basic": the signature checks only, what OpenSSL and pyHanko check too.
    verifier = Verifier(
        trust=TrustStore.load(official=[ROOT_PEM]),
        policy="basic",
        revocation=OnlineRevocation(clock=lambda: AT, allow_networks=["127.0.0.1/32"]),
    )
    data = path.read_bytes()
    body = content.read_bytes() if content else None
    verdict = verifier.verify(data, at=AT, content=body)
    assert verdict.verdict.value == "official", verdict.reasons
    return _timeit(lambda: verifier.verify(data, at=AT, content=body), runs)


def pyhanko_warm(path: Path, content: Path | None, runs: int):
    from asn1crypto import cms, crl, pem, x509
    from pyhanko.sign.validation import generic_cms
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    def cert(p: Path):
        return x509.Certificate.load(pem.unarmor(p.read_bytes())[2])

    context = ValidationContext(
        trust_roots=[cert(ROOT_PEM)],
        other_certs=[cert(CA_PEM)],
        crls=[crl.CertificateList.load(p.read_bytes()) for p in CRLS],
        moment=AT,
        revocation_mode="require",
        allow_fetching=False,
    )
    signed_data = cms.ContentInfo.load(path.read_bytes())["content"]
    usage = KeyUsageConstraints(
        key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
    )
    loop = asyncio.new_event_loop()

    def once():
        if content is None:
            coro = generic_cms.async_validate_cms_signature(
                signed_data, validation_context=context, key_usage_settings=usage
            )
        else:
            coro = generic_cms.async_validate_detached_cms(
                content.read_bytes(),
                signed_data,
                signer_validation_context=context,
                key_usage_settings=usage,
            )
        status = loop.run_until_complete(coro)
        assert status.intact and status.valid and status.trust_problem_indic is None, status

    try:
        return _timeit(once, runs)
    finally:
        loop.close()


def _run(cmd: list[str], expect_rc: int = 0) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != expect_rc:
        raise RuntimeError(f"{cmd[0]} exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
    return elapsed


def sigmail_cold(path: Path, content: Path | None, runs: int, cache_dir: Path):
    exe = shutil.which("sigmail") or sys.executable
    base = [exe] if exe.endswith("sigmail") else [exe, "-m", "sigmail"]
    cmd = [
        *base,
        "verify",
        "--policy",
        "basic",
        "--offline",
        "--revocation-cache",
        str(cache_dir),
        "--trust",
        str(ROOT_PEM),
        "--at",
        AT.isoformat(),
        str(path),
    ]
    if content:
        cmd += ["--content", str(content)]
    return _stats([_run(cmd) for _ in range(runs)])


def openssl_cold(path: Path, content: Path | None, runs: int, store_pem: Path):
    # openssl cms has no -CRLfile: the CRLs go into the CAfile store beside the root.
    cmd = [
        "openssl",
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        str(path),
        "-CAfile",
        str(store_pem),
        "-crl_check_all",
        "-attime",
        str(int(AT.timestamp())),
        "-purpose",
        "any",
        "-binary",
        "-out",
        os.devnull,
    ]
    if content:
        cmd += ["-content", str(content)]
    return _stats([_run(cmd) for _ in range(runs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="warm iterations (cold: runs/10)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    cold_runs = max(10, args.runs // 10)

    rows = []
    with PKIResponder(VECTORS) as _responder, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store_pem = tmp / "store.pem"
        store_pem.write_bytes(ROOT_PEM.read_bytes())
        subprocess.run(
            [
                "sh",
                "-c",
                " && ".join(f"openssl crl -inform DER -in {p} >> {store_pem}" for p in CRLS),
            ],
            check=True,
        )
        # Fill a revocation cache directory once, as a mail server's first message would.
        from sigmail import OnlineRevocation, TrustStore, Verifier

        warmer = Verifier(
            trust=TrustStore.load(official=[ROOT_PEM]),
            policy="basic",
            revocation=OnlineRevocation(
                cache_dir=tmp / "rev", clock=lambda: AT, allow_networks=["127.0.0.1/32"]
            ),
        )
        for path, content in INPUTS.values():
            warmer.verify(
                path.read_bytes(), at=AT, content=content.read_bytes() if content else None
            )

        for label, (path, content) in INPUTS.items():
            s_warm = sigmail_warm(path, content, args.runs)
            p_warm = pyhanko_warm(path, content, args.runs)
            s_cold = sigmail_cold(path, content, cold_runs, tmp / "rev")
            o_cold = openssl_cold(path, content, cold_runs, store_pem)
            rows.append(
                {
                    "input": label,
                    "sigmail_warm": s_warm,
                    "pyhanko_warm": p_warm,
                    "sigmail_cold": s_cold,
                    "openssl_cold": o_cold,
                }
            )

    ms = 1000.0
    print(
        "| input | sigmail warm | pyHanko warm | ratio | sigmail cold (CLI) | openssl cold "
        "| ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        sw, pw, sc, oc = (
            r[k] for k in ("sigmail_warm", "pyhanko_warm", "sigmail_cold", "openssl_cold")
        )
        print(
            f"| {r['input']} | {sw[0] * ms:.2f} ms [{sw[1] * ms:.2f}] | {pw[0] * ms:.2f} ms "
            f"[{pw[1] * ms:.2f}] | {pw[0] / sw[0]:.1f}× faster | "
            f"{sc[0] * ms:.0f} ms [{sc[1] * ms:.0f}] "
            f"| {oc[0] * ms:.0f} ms [{oc[1] * ms:.0f}] | {sc[0] / oc[0]:.1f}× openssl |"
        )
    print(f"\nwarm: {args.runs} runs; cold: {cold_runs} runs; targets: warm ≤ 2 ms, cold ≤ 250 ms")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
