"""Audit throughput (messages per second): the local engine (1 and 2 processes) and Dask
(2 workers) against the ceiling, on the same input, in one run.

    python bench/bench_audit.py [--messages N] [--attached N] [--attachment-mb M]
                                [--measure ceiling,local/1,local/2,dask/2] [--json OUT]

The input is one Maildir of N small signed messages — the S/MIME vectors in rotation
(person, agency, person + agency, opaque, quoted-printable, with a .p7m, a .p7s pair or a PDF
attached, forwarded, tampered, unsigned, wrapped, …; 3–12 KB each), each made unique by a
Received field of the agency's own MTA with its own date — and, with ``--attached N``, a second
Maildir of N messages each carrying an M MiB signed .p7m document (person-an, made here with the
test PKI). Revocation is offline from a cache holding the test PKI's CRLs, so the figures are
the verifier's and the engines', not a responder's.

Every measurement runs in a process forked for it from this one (sigmail imported, no Verifier
made), so no run inherits another's warm caches:

* ``ceiling``: verification alone — one Verifier, every message's bytes already in memory,
  ``Verifier.verify`` as the audit calls it (name, receipt time, documents collected), one
  process: its CPU per message bounds any engine at (cores / CPU per message);
* ``local/1``: ``run_audit`` in the measuring process (``--workers 1``);
* ``local/2``: ``run_audit`` with 2 worker processes (forked from the measuring process after
  its first batch: the default of ``sigmail audit`` on 2 cores);
* ``dask/2``: ``run_audit`` on a ``LocalCluster`` of 2 worker processes (1 thread each, made by
  ``sigmail.audit.dask_worker.local_cluster`` as ``--engine dask`` makes it); the cluster's
  start is not timed (a cluster is long-lived), the plugin that makes each worker's Verifier is.

Each audit writes its own register (SQLite) from scratch; the figure is new messages divided by
the wall time of the ``run_audit`` call. Each audit's line also says when its first rows were
written (the start: imports the first message needs, its first chain validations, forking the
workers) and the rate from then on (items written between the 10th and the 90th percentile),
which is what a longer run approaches. CPU is that of every process of the measurement
(the measuring one, its reaped workers, a cluster's live processes) over the same interval.
The load average (``os.getloadavg``) is printed before and after each measurement: wall-clock
figures are only comparable at the same load; CPU per message much less depends on it. Every
register must equal the first one's (all columns but ``audited_at``/``retry_after``); the
script exits 1 if not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import bytecode  # noqa: E402

import sigmail  # noqa: E402
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
    """The peak resident memory of a process and all its descendants (worker processes, a
    local Dask cluster), sampled every 100 ms with psutil from this process."""

    def __init__(self, pid: int) -> None:
        import threading

        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        try:
            total = self.root.memory_info().rss
            children = self.root.children(recursive=True)
        except self.psutil.Error:
            return 0
        for child in children:
            try:
                total += child.memory_info().rss
            except self.psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self.peak = max(self.peak, self._total())

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()  # no thread left when the next measurement forks


def cpu_seconds() -> float:
    """CPU of this process, of its reaped descendants and of its live ones."""
    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def rows(register: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in read_rows(register)]


def revocation_cache(work: Path) -> Path:
    """A revocation cache directory in ``work`` holding the test PKI's CRLs (offline runs)."""
    cache = work / "revocation"
    cache.mkdir()
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    return cache


def verification_inputs(box: Path, config: Settings) -> list[tuple[bytes, str, datetime | None]]:
    """Every message of ``box`` as the audit hands it to the verifier: (bytes, name, the
    receipt time its own MTA's Received field proves)."""
    from sigmail.audit.received import arrival, header_fields
    from sigmail.audit.sources import read_item, scan
    from sigmail.limits import Limits

    limit = Limits().max_input_bytes
    inputs = []
    for item in scan([box]):
        data = read_item(item, limit)
        inputs.append((data, item.name, arrival(header_fields(data), config.own_mta).receipt_time))
    return inputs


def ceiling(box: Path, cache: Path) -> dict:
    """Verification alone, one process, as the audit calls it (see the module docstring)."""
    from sigmail.audit.work import verifier_for

    config = settings(cache)
    inputs = verification_inputs(box, config)
    started, cpu = time.perf_counter(), time.process_time()
    verifier = verifier_for(config)
    for data, name, receipt in inputs:
        documents: list = []
        verifier.verify(
            data, at=config.at, name=name, receipt_time=receipt, on_document=documents.append
        )
    return {
        "messages": len(inputs),
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


def audit(engine: str, box: Path, cache: Path, register: Path) -> dict:
    kind, _, count = engine.partition("/")
    cluster = None
    if kind == "dask":
        from sigmail.audit.dask_worker import local_cluster

        cluster = local_cluster(int(count))
    written: list[float] = []  # when each item's rows were written (perf_counter)
    try:
        config = settings(cache)
        started, cpu = time.perf_counter(), cpu_seconds()
        summary = run_audit(
            [box],
            register,
            settings=config,
            engine=kind,
            workers=int(count) if kind == "local" else None,
            scheduler=cluster.scheduler_address if cluster else None,
            on_result=lambda _result: written.append(time.perf_counter()),
        )
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    finally:
        if cluster is not None:
            cluster.close()
    return {
        "messages": summary.items,
        "rows": summary.rows,
        "seconds": seconds,
        "cpu": cpu,
        **start_and_steady_rate(started, written),
    }


def start_and_steady_rate(started: float, written: list[float]) -> dict:
    """How long the run took to write its first rows (the start: imports, the first
    validations, forking the workers) and its rate once running, from the 10th to the 90th
    percentile of the items written: together they say what a longer run would do."""
    if len(written) < 20:
        return {}
    lo, hi = len(written) // 10, len(written) * 9 // 10
    return {
        "first_row_seconds": written[0] - started,
        "steady_messages_per_second": (hi - lo) / (written[hi] - written[lo]),
    }


def measure(engine: str, box: Path, cache: Path, register: Path) -> dict:
    """One measurement in a process forked for it; its figures come back through a pipe."""
    load_before = os.getloadavg()[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the measuring process
        os.close(read)
        code = 0
        try:
            if engine == "ceiling":
                facts = ceiling(box, cache)
            else:
                facts = audit(engine, box, cache, register)
        except BaseException as exc:  # reported by the parent
            facts, code = {"error": repr(exc)}, 1
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(facts))
        os._exit(code)
    os.close(write)
    with PeakMemory(pid) as memory, os.fdopen(read) as source:
        text = source.read()
    os.waitpid(pid, 0)
    facts = json.loads(text or '{"error": "no answer"}')
    if "error" in facts:
        raise SystemExit(f"{engine}: {facts['error']}")
    facts.update(
        engine=engine,
        peak_rss_mb=round(memory.peak / 1e6),
        load=[round(load_before, 2), round(os.getloadavg()[0], 2)],
    )
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000, help="small messages (1000)")
    parser.add_argument("--attached", type=int, default=0, help="messages with a document (0)")
    parser.add_argument("--attachment-mb", type=float, default=1.0, help="document size (1)")
    parser.add_argument("--measure", default="ceiling,local/1,local/2,dask/2")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sigmail-bench-audit-"))
    cache = revocation_cache(work)
    inputs = {"small": small_mix(work, args.messages)}
    if args.attached:
        inputs["attached"] = attached_mix(work, args.attached, args.attachment_mb)
    sizes = {
        name: sum(p.stat().st_size for p in (box / "new").iterdir()) for name, box in inputs.items()
    }
    print(f"{os.cpu_count()} CPUs, Python {platform.python_version()}; load {os.getloadavg()}")
    print(bytecode.state(sigmail))

    results = []
    reference: dict[str, list[dict]] = {}
    local: dict[str, float] = {}
    ok = True
    for name, box in inputs.items():
        floor = None
        for engine in args.measure.split(","):
            register = work / f"{engine.replace('/', '-')}-{name}.sqlite"
            facts = measure(engine, box, cache, register)
            n = facts["messages"]
            rate = n / facts["seconds"]
            cpu_ms = facts["cpu"] * 1e3 / n
            line = (
                f"{engine:8} {name:8} {n:5d} msgs {facts['seconds']:6.2f} s {rate:7.1f} msg/s"
                f"  CPU {cpu_ms:5.2f} ms/msg  peak RSS {facts['peak_rss_mb']:4d} MB"
                f"  load {facts['load'][0]:.1f}→{facts['load'][1]:.1f}"
            )
            if engine == "ceiling":
                floor = cpu_ms
                line += f"  → {1e3 / cpu_ms:.0f} msg/s per core, {2e3 / cpu_ms:.0f} on 2"
            else:
                got = rows(register)
                same = reference.setdefault(name, got) == got
                ok &= same
                facts["same_register_as_first"] = same
                line += f"  same register: {same}"
                if floor:
                    line += f"  CPU {cpu_ms / floor:.2f}× the ceiling's"
                if "first_row_seconds" in facts:
                    line += (
                        f"  first rows after {facts['first_row_seconds']:.2f} s,"
                        f" then {facts['steady_messages_per_second']:.0f} msg/s"
                    )
                if engine.startswith("local/"):
                    local[f"{name}:{engine}"] = rate
                best = local.get(f"{name}:local/2")
                if engine.startswith("dask/") and best:
                    facts["dask_over_local2"] = round(rate / best, 2)
                    line += f"  {rate / best:.2f}× local/2"
            facts.update(
                input=name,
                messages_per_second=round(rate, 1),
                cpu_ms_per_message=round(cpu_ms, 3),
                megabytes_per_second=round(sizes[name] / 1e6 / facts["seconds"], 1),
            )
            results.append(facts)
            print(line, flush=True)
    if args.json:
        facts = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "inputs": {name: {"bytes": sizes[name]} for name in inputs},
            "results": results,
        }
        args.json.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
