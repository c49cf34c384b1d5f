"""Audit throughput (messages per second): the local engine against Dask, on the same input.

    python bench/bench_audit.py [--messages N] [--attached N] [--attachment-mb M] [--json OUT]

The input is one Maildir of N small signed messages — the S/MIME vectors in rotation
(person, agency, person + agency, opaque, quoted-printable, with a .p7m, a .p7s pair or a PDF
attached, forwarded, tampered, unsigned, wrapped, …; 3–12 KB each), each made unique by a
Received field of the agency's own MTA with its own date — and, in a second Maildir, N
messages each carrying an M MiB signed .p7m document (person-an, made here with the test
PKI). Revocation is offline from a cache holding the test PKI's CRLs, so the figures are the
verifier's and the engines', not a responder's.

Each engine writes its own register (SQLite) from scratch:

* ``local/1``: the local engine in this process (``--workers 1``);
* ``local/2``: the local engine, 2 worker processes (the default on 2 cores);
* ``dask/processes``: a ``distributed.LocalCluster`` of 2 worker processes (1 thread each);
* ``dask/threads``: the same with ``processes=False`` (2 threads in this process, the GIL
  shared: the configuration the test suite uses to check the registers are equal).

The figure is new messages divided by the wall time of the ``run_audit`` call, startup of the
worker pool included (cluster startup is not: a cluster is long-lived). Every register must
equal ``local/1``'s (all columns but ``audited_at``/``retry_after``); the script exits 1 if not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from sigmail import TrustStore  # noqa: E402
from sigmail.audit.engine import run_audit  # noqa: E402
from sigmail.audit.register import read_rows  # noqa: E402
from sigmail.audit.rows import TIMING_COLUMNS  # noqa: E402
from sigmail.audit.work import Settings  # noqa: E402
from sigmail.policy.model import load_policy  # noqa: E402

VECTORS = ROOT / "vectors"
OWN_MTA = "mx.stp.kontum.gov.vn"
AT = datetime(2026, 6, 1, tzinfo=UTC)
MIX = [
    "person-official",
    "agency-official",
    "person-and-agency",
    "opaque-signed",
    "quoted-printable",
    "p7m-attachment",
    "p7s-pair-attachment",
    "pdf-attachment",
    "vn-document-with-attachment",
    "forwarded-inside-signed",
    "timestamped",
    "vietnamese-subject",
    "tampered-body",
    "unsigned",
    "wrapped-text-before",
    "public-ca-signer",
]


def received(n: int) -> bytes:
    when = datetime(2026, 1, 5, 1, tzinfo=UTC) + timedelta(minutes=7 * n)
    return (
        f"Received: from mail.stttt.tphcm.gov.vn (mail.stttt.tphcm.gov.vn [203.0.113.25])\r\n"
        f"\tby {OWN_MTA} (Postfix) with ESMTPS id B{n:08d}\r\n"
        f"\tfor <vanthu@stp.kontum.gov.vn>; {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
    ).encode()


def maildir(root: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def small_mix(root: Path, count: int) -> Path:
    box = maildir(root / "small")
    bodies = [(VECTORS / "smime" / f"{name}.eml").read_bytes() for name in MIX]
    for n in range(count):
        (box / "new" / f"{1780000000 + n}.M{n}P1.bench").write_bytes(
            received(n) + bodies[n % len(bodies)]
        )
    return box


def attached_mix(root: Path, count: int, megabytes: float) -> Path:
    from vectors.testpki.cms import Signer, signed_data
    from vectors.testpki.pki import load_pki
    from vectors.testpki.smime_vectors import signed_message

    pki = load_pki(VECTORS)
    box = maildir(root / "attached")
    text = (VECTORS / "cms" / "document.txt").read_bytes()
    filler = os.urandom(int(megabytes * 1024 * 1024))
    for n in range(count):
        cert = pki.certificates["person-an"]
        document = signed_data(
            text + b"\n" + filler + str(n).encode(),
            [Signer(cert=cert, key=pki.keys["person-an"], signing_time=AT - timedelta(days=12))],
            certificates=[cert, pki.issuer_of("person-an")],
        )
        message = signed_message(
            pki,
            "person-an",
            attachments=(("application/pkcs7-mime", f"quyet-dinh-{n}.txt.p7m", document),),
            label=f"bench-{n}",
        )
        (box / "new" / f"{1790000000 + n}.M{n}P1.bench").write_bytes(received(n) + message)
    return box


def settings(cache: Path) -> Settings:
    trust = TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )
    return Settings(
        trust=trust,
        policy=load_policy("basic"),
        at=AT,
        offline=True,
        revocation_cache=str(cache),
        own_mta=(OWN_MTA,),
        token=uuid.uuid4().hex,
    )


class PeakMemory:
    """The peak resident memory of this process and all its descendants (worker processes,
    the fork server, a local Dask cluster), sampled every 100 ms with psutil."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.psutil = psutil
        self.me = psutil.Process()
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        total = self.me.memory_info().rss
        for child in self.me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except self.psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, self._total())

    def __enter__(self) -> PeakMemory:
        self.peak = self._total()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def rows(register: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in read_rows(register)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="small messages (1000)")
    parser.add_argument("--attached", type=int, default=100, help="messages with a document")
    parser.add_argument("--attachment-mb", type=float, default=1.0, help="document size (1)")
    parser.add_argument("--engines", default="local/1,local/2,dask/processes,dask/threads")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sigmail-bench-audit-"))
    cache = work / "revocation"
    cache.mkdir()
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    inputs = {"small": small_mix(work, args.messages)}
    if args.attached:
        inputs["attached"] = attached_mix(work, args.attached, args.attachment_mb)
    sizes = {
        name: sum(p.stat().st_size for p in (box / "new").iterdir()) for name, box in inputs.items()
    }

    results = []
    reference: dict[str, list[dict]] = {}
    ok = True
    for engine in args.engines.split(","):
        kind, _, mode = engine.partition("/")
        cluster = None
        if kind == "dask":
            import distributed

            cluster = distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=mode == "processes",
                dashboard_address=None,
                silence_logs=50,
            )
        try:
            for name, box in inputs.items():
                register = work / f"{engine.replace('/', '-')}-{name}.sqlite"
                with PeakMemory() as memory:
                    started = time.perf_counter()
                    summary = run_audit(
                        [box],
                        register,
                        settings=settings(cache),
                        engine=kind,
                        workers=int(mode) if kind == "local" else None,
                        scheduler=cluster.scheduler_address if cluster else None,
                    )
                    seconds = time.perf_counter() - started
                got = rows(register)
                same = reference.setdefault(name, got) == got
                ok &= same
                results.append(
                    {
                        "engine": engine,
                        "input": name,
                        "messages": summary.items,
                        "rows": summary.rows,
                        "seconds": round(seconds, 3),
                        "messages_per_second": round(summary.items / seconds, 1),
                        "megabytes_per_second": round(sizes[name] / 1e6 / seconds, 1),
                        "peak_rss_mb": round(memory.peak / 1e6),
                        "same_register_as_first": same,
                    }
                )
                print(
                    f"{engine:15} {name:9} {summary.items:6d} msgs {seconds:7.2f} s "
                    f"{summary.items / seconds:8.1f} msg/s {sizes[name] / 1e6 / seconds:7.1f} MB/s"
                    f"  peak RSS {memory.peak / 1e6:5.0f} MB  same register: {same}",
                    flush=True,
                )
        finally:
            if cluster is not None:
                cluster.close()
    facts = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "inputs": {name: {"bytes": sizes[name]} for name in inputs},
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
