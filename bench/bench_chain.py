"""Timing of sigmail.trust.chain.validate_chain (plain script: python bench/bench_chain.py).

Prints one table: median and p95 wall time per call over N warm runs for a 3-certificate RSA
chain with a CRL for each non-anchor certificate, a few variants, the real VGCA G2 chain when
../shared/vn-trust is present, and every x509-limbo pathological case (each must finish in
under a second; the script exits 1 if one does not).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from chainpki import T0, crl_item, issue, make_crl  # noqa: E402

from sigmail.limits import Budget, Limits  # noqa: E402
from sigmail.trust.chain import validate_chain  # noqa: E402
from sigmail.trust.chain_types import ChainParams, RevocationRule  # noqa: E402
from sigmail.trust.store import TrustStore  # noqa: E402

SHARED = ROOT.parent / "shared"
DAY = timedelta(days=1)
NONE = ChainParams(leaf_revocation=RevocationRule.NONE, ca_revocation=RevocationRule.NONE)
REQUIRED = ChainParams(
    leaf_revocation=RevocationRule.REQUIRED, ca_revocation=RevocationRule.REQUIRED
)


def timed(fn, runs: int) -> tuple[float, float, object]:
    fn()  # warm the caches
    samples = []
    result = None
    for _ in range(runs):
        start = time.perf_counter_ns()
        result = fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))], result


def rsa_chain():
    root = issue("bench Root", ca=True, key_label="bench root", key_kind="rsa")
    ica = issue(
        "bench CA",
        issuer=root,
        ca=True,
        key_label="bench ca",
        key_kind="rsa",
        crl_url="http://crl.example.vn/root.crl",
    )
    leaf = issue(
        "bench Signer",
        issuer=ica,
        key_label="bench leaf",
        key_kind="rsa",
        crl_url="http://crl.example.vn/ca.crl",
    )
    crls = [crl_item(make_crl(root)), crl_item(make_crl(ica))]
    return root, ica, leaf, crls


def chain_cases():
    root, ica, leaf, crls = rsa_chain()
    trust = TrustStore.from_certificates(official=[root.cert])

    def call(params, items, intermediates=(ica.cert,), store=trust):
        return lambda: validate_chain(
            leaf.cert,
            trust=store,
            at=T0,
            intermediates=list(intermediates),
            revocation_items=items,
            params=params,
            budget=Budget(Limits()),
        )

    yield "3-cert RSA chain, 2 CRLs, revocation required", call(REQUIRED, crls)
    yield "3-cert RSA chain, 2 CRLs, default params", call(ChainParams(), crls)
    yield "3-cert RSA chain, no revocation checking", call(NONE, [])
    via_store = TrustStore.from_certificates(official=[root.cert], intermediates=[ica.cert])
    yield "3-cert RSA chain, CA from the store, 2 CRLs", call(REQUIRED, crls, (), via_store)

    # a CA with a large CRL (certvalidator scans the revoked list linearly on every call)
    big_root = issue("bench big Root", ca=True)
    big_leaf = issue("bench big Signer", issuer=big_root, crl_url="http://crl.example.vn/big.crl")
    big_crl = crl_item(
        make_crl(
            big_root,
            revoked=tuple((10**12 + i, T0 - 30 * DAY, None) for i in range(20_000)),
        )
    )
    big_trust = TrustStore.from_certificates(official=[big_root.cert])
    yield (
        "2-cert chain, one 20,000-entry CRL, revocation required",
        lambda: validate_chain(
            big_leaf.cert,
            trust=big_trust,
            at=T0,
            revocation_items=[big_crl],
            params=REQUIRED,
            budget=Budget(Limits()),
        ),
    )

    vn = SHARED / "vn-trust"
    if vn.is_dir():
        from sigmail.trust.certificates import parse_certificates

        real_trust = TrustStore.load(official=[vn / "roots"])
        real_leaf = parse_certificates(
            (vn / "end-entity-samples/tong-cuc-thue-g2-org.der").read_bytes()
        )[0]
        real_ica = parse_certificates(
            (vn / "intermediates/vgca-ca-co-quan-nha-nuoc-g2.crt").read_bytes()
        )[0]
        yield (
            "real VGCA G2 chain (tong-cuc-thue), no revocation",
            lambda: validate_chain(
                real_leaf,
                trust=real_trust,
                at=datetime(2024, 1, 1, tzinfo=UTC),
                intermediates=[real_ica],
                params=NONE,
                budget=Budget(Limits()),
            ),
        )


def limbo_pathological():
    import test_limbo

    for case in test_limbo.CASES:
        if case["id"].startswith("pathological::") or "denial-of-service" in case["features"]:
            yield case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--runs", type=int, default=500)
    args = parser.parse_args()

    rows = []
    for label, fn in chain_cases():
        runs = min(args.runs, 50) if "20,000" in label else args.runs
        median, p95, result = timed(fn, runs)
        rows.append((label, runs, median, p95, "ok" if result.ok else result.failure.problem))
    slow = []
    for case in limbo_pathological():
        import test_limbo

        start = time.perf_counter_ns()
        outcome, result, budget, _why = test_limbo.run_case(case)
        cold = (time.perf_counter_ns() - start) / 1000
        median, p95, _ = timed(lambda case=case: test_limbo.run_case(case), 20)
        status = result.failure.problem if result and result.failure else outcome
        label = f"limbo {case['id']} (cold {cold:,.0f} µs, {budget.signature_checks} sig checks)"
        rows.append((label, 20, median, p95, str(status)))
        if max(cold, p95) >= 1_000_000:
            slow.append(case["id"])

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'runs':>5}  {'median µs':>10}  {'p95 µs':>10}  result")
    for label, runs, median, p95, status in rows:
        print(f"{label:<{width}}  {runs:>5}  {median:>10,.0f}  {p95:>10,.0f}  {status}")
    if slow:
        print("over one second:", json.dumps(slow))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
