"""Memory of one long-lived verifying process: RSS over many verifications.

    python bench/bench_memory.py [--traffic messages|fuzz] [--verifications N] [--every K]

``messages``: the audit bench's 1,000 distinct small signed messages in rotation (offline
revocation from a cache of the test PKI's CRLs, one Verifier), the kind of traffic the
milter's and the service's workers see. ``fuzz``: the ``verify`` fuzz target's inputs 0..N-1
of seed 1, every one a mutated vector with mutated certificates, so every cache churns: the
worst case. Both allocate from one malloc arena, as the fuzz workers do. Printed every K
verifications: resident memory (``/proc/self/statm``), live Python objects, and the entries
and bytes held by the process-wide caches (docs/architecture.md, "Memory of a long-lived
process"); at the end, what a full garbage collection costs. Nothing is asserted; run it on
demand.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def caches() -> str:
    from sigmail.cms import algorithms, signer_info
    from sigmail.trust import certificates, path_builder, revocation_status

    held = {
        "loaded": certificates._loaded,
        "summaries": certificates._summaries,
        "stable": certificates._stable,
        "ess": signer_info._cert_digests,
        "keys": algorithms._public_keys,
        "sigchecks": path_builder._cache,
        "revocation": revocation_status._parse_cache,
    }
    return " ".join(f"{k}={len(c)}/{c.weight / 2**20:.1f}MB" for k, c in held.items())


def message_traffic(n: int):
    """(verify one, cleanup) for the audit bench's messages in rotation."""
    import bench_audit

    from sigmail.audit.work import verifier_for

    work = Path(tempfile.mkdtemp(prefix="sigmail-bench-memory-"))
    config = bench_audit.settings(bench_audit.revocation_cache(work))
    inputs = bench_audit.verification_inputs(bench_audit.small_mix(work, 1000), config)
    shutil.rmtree(work)
    verifier = verifier_for(config)

    def one(i: int) -> None:
        data, name, receipt = inputs[i % len(inputs)]
        verifier.verify(data, at=config.at, name=name, receipt_time=receipt)

    return one


def fuzz_traffic(n: int):
    from fuzz.mutators import generate
    from fuzz.targets import run, warm_up

    warm_up("verify")

    def one(i: int) -> None:
        data, name = generate("verify", 1, i)
        run("verify", data, name)

    return one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traffic", choices=("messages", "fuzz"), default="messages")
    parser.add_argument("--verifications", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX: one arena, as the fuzz workers
    one = (message_traffic if args.traffic == "messages" else fuzz_traffic)(args.verifications)
    print(f"{args.traffic}: start rss={rss_mb():.1f} MB objects={len(gc.get_objects())}")
    started = time.perf_counter()
    for i in range(args.verifications):
        one(i)
        if (i + 1) % args.every == 0:
            print(
                f"{i + 1:>8} rss={rss_mb():.1f} MB objects={len(gc.get_objects())} "
                f"t={time.perf_counter() - started:.0f}s {caches()}",
                flush=True,
            )
    # What a full collection costs with this much held: the pause the next input that triggers
    # one is charged with (gen-2 collections are rare, but they traverse every live object).
    pauses = []
    for _ in range(3):
        t0 = time.process_time()
        gc.collect()
        pauses.append((time.process_time() - t0) * 1000)
    held = len(gc.get_objects())
    print(f"full gc.collect(): {min(pauses):.0f}-{max(pauses):.0f} ms CPU, {held} objects")
    return 0


if __name__ == "__main__":
    sys.exit(main())
