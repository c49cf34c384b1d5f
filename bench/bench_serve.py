"""``sigmail serve`` throughput: requests per second, latency and CPU per request over HTTP,
side by side with the in-process ``Verifier.verify`` rate, in one run.

    python bench/bench_serve.py [--seconds S] [--rounds R] [--concurrency 1 8] [--json OUT]

Two documents: a small ``.p7m`` (vectors/cms/agency-official.p7m, 4 KB, agency seal) and a
1 MB signed PDF made here as bench/bench_pdf.py makes it (the test letter plus a 1 MB scan,
person-an, PAdES B-B). Both are verified with policy "basic" and offline revocation from a
cache holding the test PKI's CRLs, so the figures are sigmail's, not a responder's.

Each round, for each document, measures back to back (so both see the same machine load):

* **in process**: ``Verifier.verify`` in a loop in 2 processes at once (the machine's cores;
  each its own Verifier, warm; started together after loading) -- and in 1 process;
  verifications per second, CPU ms per verification, p50/p99 of one call;
* **service**: ``sigmail serve --workers 2`` on 127.0.0.1 (one server for the whole run),
  driven by a small asyncio HTTP/1.1 client in this process (keep-alive, one connection per
  concurrent client, the multipart body built once) at each concurrency for ``--seconds``;
  every answer must be 200 with the expected verdict. CPU per request is read from /proc for
  the server process and its worker processes, and from this process for the client (which
  shares the machine's two cores with them: the in-process loop has no client).

* **the lean server** (``bench/lean_server.py``, unless ``--no-lean``): the leanest HTTP server
  around ``Verifier.verify`` -- 2 uvicorn processes, raw ASGI, the raw document as the body,
  verified inline in the event loop -- and the same with a verdict computed once (``canned``:
  HTTP alone). Not a design sigmail could ship (the loop blocks); the bound on what any
  ``sigmail serve`` could deliver over HTTP on this machine, measured in the same round.

``--pool-only`` instead drives the worker pool directly (no HTTP, 8 jobs in flight) and
reports the event loop's CPU per job: what handing a job to a worker and its answer back
costs the server process.

The figures reported are the medians over the rounds (the ratio is taken within each round).
Targets (issue 14): at concurrency 8 the service delivers >= 0.7x the 2-process in-process
rate; p99 < 50 ms for the small document. Run on demand (inside tools/netns-run on
the shared development machine; note ``uptime``); the test suite asserts no timing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

VECTORS = REPO / "vectors"
AT = "2026-06-01T00:00:00Z"
AT_DT = datetime(2026, 6, 1, tzinfo=UTC)
SIGNED_AT = datetime(2026, 5, 20, 3, tzinfo=UTC)
TRUST = [VECTORS / "pki/certs/root-official.pem"]
TRUST_PUBLIC = [VECTORS / "pki/certs/root-national.pem"]


def make_files(work: Path) -> dict[str, Path]:
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    pki_spec = load_pki_spec(VECTORS)
    pki = build_pki(pki_spec, VECTORS / KEYS_DIR, create_keys=False)
    crls = {name: pki.build_crl(c) for name, c in pki_spec.crls.items()}
    spec = pdf_vectors.load_spec(VECTORS)
    scan = hashlib.shake_256(b"bench scan 0").digest(1_000_000)
    base = pdf_vectors.letter(spec.lines, spec.document_id, (scan,))
    sign = {"sign": "person-an", "time": SIGNED_AT, "field": "NguoiKy"}
    data, _ = pdf_vectors.apply_steps(pki, crls, base, [sign], "bench serve 1 MB")
    pdf = work / "1mb.pdf"
    pdf.write_bytes(data)
    small = work / "agency-official.p7m"
    shutil.copyfile(VECTORS / "cms/agency-official.p7m", small)
    return {"small .p7m": small, "1 MB PDF": pdf}


def make_cache(work: Path) -> Path:
    cache = work / "revocation"
    cache.mkdir()
    for crl in sorted((VECTORS / "pki/crl").glob("*.crl")):
        shutil.copyfile(crl, cache / crl.name)
    return cache


# -- in process ------------------------------------------------------------------------------
def _verifier(cache: str):
    from sigmail import OfflineRevocation, TrustStore, Verifier

    trust = TrustStore.load(official=TRUST, public=TRUST_PUBLIC)
    return Verifier(trust=trust, policy="basic", revocation=OfflineRevocation(cache))


def _loop(args) -> tuple[int, float, list[float]]:
    path, cache, seconds, start_at = args
    verifier = _verifier(cache)
    data = Path(path).read_bytes()
    name = Path(path).name
    for _ in range(3):  # warm: chain cache, imports
        verdict = verifier.verify(data, at=AT_DT, name=name)
    assert verdict.verdict.value == "official", (verdict.verdict, verdict.reasons)
    while time.time() < start_at:
        time.sleep(0.001)
    latencies: list[float] = []
    end, cpu = time.monotonic() + seconds, time.process_time()
    while time.monotonic() < end:
        started = time.perf_counter()
        verifier.verify(data, at=AT_DT, name=name)
        latencies.append(time.perf_counter() - started)
    return len(latencies), time.process_time() - cpu, latencies


def in_process(path: Path, cache: Path, processes: int, seconds: float) -> dict:
    """Verifications per second, CPU ms per verification, p50/p99 of one call."""
    context = multiprocessing.get_context("forkserver")
    with context.Pool(processes) as pool:
        start_at = time.time() + 3  # every process loaded and warm before the clock starts
        runs = pool.map(_loop, [(str(path), str(cache), seconds, start_at)] * processes)
    done = sum(n for n, _, _ in runs)
    latencies = sorted(t for _, _, ts in runs for t in ts)
    return {
        "rps": done / seconds,
        "cpu_ms": 1000 * sum(c for _, c, _ in runs) / done,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "load": os.getloadavg()[0],
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (/proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker replaced meanwhile (its CPU is lost)
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def worker_pids(pid: int) -> list[int]:
    """The server's worker processes (the forkserver's children are not the server's)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    forkservers = [int(p) for p, pp, args in rows if int(pp) == pid and "forkserver" in args]
    return [int(p) for p, pp, _ in rows if int(pp) in forkservers]


def descendants(pid: int) -> list[int]:
    """A process and all its descendants (/proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(c) for c in children.read_text().split())
    return out


# -- over HTTP -------------------------------------------------------------------------------
def multipart(path: Path) -> tuple[bytes, str]:
    boundary = "sigmailbench" + hashlib.sha256(path.name.encode()).hexdigest()[:16]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="at"\r\n\r\n{AT}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="policy"\r\n\r\nbasic\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode(),
        path.read_bytes(),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def _client(port: int, request: bytes, end: float, latencies: list[float], errors: list):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < end:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or b'"verdict": "official"' not in body:
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
    finally:
        writer.close()


async def _run(port: int, request: bytes, concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list = []
    end = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(_client(port, request, end, latencies, errors) for _ in range(concurrency))
    )
    wall = time.monotonic() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": len(errors),
        "first_error": errors[0].decode(errors="replace") if errors else None,
    }


def _measure(port: int, request: bytes, concurrency: int, seconds: float, **pids) -> dict:
    """Warm every connection, then drive the load; CPU ms per request of each group of
    processes in ``pids`` (``<group>_cpu_ms``) and of this process (the client)."""
    asyncio.run(_run(port, request, concurrency, min(seconds, 1.0)))
    groups = {name: (list(group), cpu_seconds(list(group))) for name, group in pids.items()}
    client_cpu = time.process_time()
    figures = asyncio.run(_run(port, request, concurrency, seconds))
    n = figures["requests"]
    figures["client_cpu_ms"] = 1000 * (time.process_time() - client_cpu) / n
    for name, (group, before) in groups.items():
        figures[f"{name}_cpu_ms"] = 1000 * (cpu_seconds(group) - before) / n
    figures["load"] = os.getloadavg()[0]
    return figures


def over_http(proc, port: int, path: Path, concurrency: int, seconds: float) -> dict:
    body, media = multipart(path)
    request = (
        f"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {media}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return _measure(
        port, request, concurrency, seconds, server=[proc.pid], worker=worker_pids(proc.pid)
    )


def start_lean(cache: Path, mode: str) -> tuple[subprocess.Popen, int]:
    """bench/lean_server.py (the leanest server around Verifier.verify) in ``mode``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SIGMAIL_LEAN_CACHE=str(cache), SIGMAIL_LEAN_MODE=mode)
    command = [sys.executable, str(REPO / "bench" / "lean_server.py"), str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"lean_server.py did not start: {proc.stderr.read().decode()[-2000:]}")


def over_lean(proc, port: int, path: Path, concurrency: int, seconds: float) -> dict:
    """The lean server: the raw document as the body; CPU of all its processes per request."""
    data = path.read_bytes()
    request = (
        f"POST /?name={path.name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data
    return _measure(port, request, concurrency, seconds, server=descendants(proc.pid))


def pool_only(cache: Path, files: dict[str, Path], in_flight: int, seconds: float) -> dict:
    """The worker pool driven directly (no HTTP): CPU per job of this process (the event loop's
    hand-off: frames, pipes, wake-ups) and of the workers."""
    import uvloop

    from sigmail.service.config import ServiceConfig
    from sigmail.service.pool import VerifierPool
    from sigmail.service.worker import Job

    config = ServiceConfig().with_(
        workers=2, queue=64, policy="basic", offline=True, revocation_cache=str(cache),
        trust=tuple(map(str, TRUST)), trust_public=tuple(map(str, TRUST_PUBLIC)),
    )  # fmt: skip
    figures: dict = {}

    async def measure() -> None:
        pool = VerifierPool(config)
        await pool.start()
        workers = [w.process.pid for w in pool._workers]
        try:
            for label, path in files.items():
                job = Job(path.read_bytes(), path.name, None, None, AT_DT, None, "basic")

                async def client(end: float, done: list, job: Job = job) -> None:
                    while time.monotonic() < end:
                        result = await pool.run(job)
                        assert result.verdict == "official", result.verdict
                        done.append(1)

                warm = time.monotonic() + 1
                await asyncio.gather(*(client(warm, []) for _ in range(in_flight)))
                done: list = []
                cpu, workers_cpu = time.process_time(), cpu_seconds(workers)
                started = time.monotonic()
                end = started + seconds
                await asyncio.gather(*(client(end, done) for _ in range(in_flight)))
                n = len(done)
                figures[label] = {
                    "jobs_per_s": n / (time.monotonic() - started),
                    "loop_cpu_ms": 1000 * (time.process_time() - cpu) / n,
                    "worker_cpu_ms": 1000 * (cpu_seconds(workers) - workers_cpu) / n,
                    "load": os.getloadavg()[0],
                }
        finally:
            pool.close()

    uvloop.run(measure())
    return figures


def start_server(cache: Path, work: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = work / "serve.toml"
    config.write_text("queue = 64\n", encoding="utf-8")
    command = [
        sys.executable, "-m", "sigmail", "serve", "--listen", f"127.0.0.1:{port}",
        "--workers", "2", "--config", str(config), "--policy", "basic", "--offline",
        "--revocation-cache", str(cache), "--log-level", "warning",
        *[a for t in TRUST for a in ("--trust", str(t))],
        *[a for t in TRUST_PUBLIC for a in ("--trust-public", str(t))],
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"sigmail serve did not start: {proc.stderr.read().decode()[-2000:]}")


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _summary(rows: list[dict]) -> dict:
    keys = [k for k, v in rows[0].items() if isinstance(v, int | float)]
    return {k: _median(rows, k) for k in keys} | {"rounds": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (medians reported)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8], help="client connections"
    )
    parser.add_argument("--http-only", action="store_true", help="skip the in-process rates")
    parser.add_argument(
        "--pool-only",
        action="store_true",
        help="only the worker pool driven directly (8 jobs in flight): its hand-off's CPU",
    )
    parser.add_argument(
        "--no-lean", action="store_true", help="skip the lean server (bench/lean_server.py)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seconds": args.seconds,
        "rounds": args.rounds,
        "load_before": os.getloadavg(),
        "documents": {},
    }
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="sigmail-bench-serve-") as tmp:
        work = Path(tmp)
        files = make_files(work)
        cache = make_cache(work)
        sizes = {label: path.stat().st_size for label, path in files.items()}
        if args.pool_only:
            for number in range(1, args.rounds + 1):
                for label, f in pool_only(cache, files, 8, args.seconds).items():
                    print(
                        f"round {number} {label}, pool alone, 8 in flight: "
                        f"{f['jobs_per_s']:.0f} jobs/s; CPU ms per job: event loop "
                        f"{f['loop_cpu_ms']:.3f}, workers {f['worker_cpu_ms']:.2f}; "
                        f"load {f['load']:.1f}",
                        flush=True,
                    )
            return 0
        proc, port = start_server(cache, work)
        lean = {} if args.no_lean else {m: start_lean(cache, m) for m in ("inline", "canned")}
        rounds: dict = {
            label: {"in_process_1": [], "in_process_2": [], "http": {}, "lean": {}}
            for label in files
        }
        try:
            for number in range(1, args.rounds + 1):
                for label, path in files.items():
                    row = rounds[label]
                    if not args.http_only:
                        row["in_process_2"].append(in_process(path, cache, 2, args.seconds))
                        row["in_process_1"].append(in_process(path, cache, 1, args.seconds))
                        two, one = row["in_process_2"][-1], row["in_process_1"][-1]
                        print(
                            f"round {number} {label}: in process {two['rps']:.0f}/s "
                            f"(2 processes; p50 {two['p50_ms']:.2f} ms, p99 {two['p99_ms']:.2f} "
                            f"ms), {one['rps']:.0f}/s (1), {one['cpu_ms']:.2f} CPU ms each; "
                            f"load {two['load']:.1f}",
                            flush=True,
                        )
                    for concurrency in args.concurrency:
                        f = over_http(proc, port, path, concurrency, args.seconds)
                        if row["in_process_2"]:
                            f["ratio"] = f["rps"] / row["in_process_2"][-1]["rps"]
                        row["http"].setdefault(str(concurrency), []).append(f)
                        print(
                            f"round {number} {label} c={concurrency:<2}: {f['rps']:7.1f} req/s "
                            f"({f.get('ratio', 0):.2f}x in process 2), p50 {f['p50_ms']:6.1f} ms, "
                            f"p99 {f['p99_ms']:6.1f} ms, {f['requests']} requests, "
                            f"{f['errors']} errors; CPU ms/request: worker "
                            f"{f['worker_cpu_ms']:.2f}, server {f['server_cpu_ms']:.2f}, client "
                            f"{f['client_cpu_ms']:.2f}; load {f['load']:.1f}",
                            flush=True,
                        )
                        if f["errors"]:
                            print(f"    first error: {f['first_error']}")
                        for mode, (lean_proc, lean_port) in lean.items():
                            f = over_lean(lean_proc, lean_port, path, concurrency, args.seconds)
                            if row["in_process_2"]:
                                f["ratio"] = f["rps"] / row["in_process_2"][-1]["rps"]
                            row["lean"].setdefault(f"{mode} c={concurrency}", []).append(f)
                            print(
                                f"round {number} {label} c={concurrency:<2} lean {mode}: "
                                f"{f['rps']:7.1f} req/s ({f.get('ratio', 0):.2f}x in process 2), "
                                f"p99 {f['p99_ms']:6.1f} ms, {f['errors']} errors; CPU "
                                f"ms/request: server {f['server_cpu_ms']:.2f}, client "
                                f"{f['client_cpu_ms']:.2f}; load {f['load']:.1f}",
                                flush=True,
                            )
        finally:
            for lean_proc, _ in lean.values():
                lean_proc.terminate()
                lean_proc.wait(timeout=60)
            proc.terminate()
            _, errors = proc.communicate(timeout=60)
            if errors.strip():
                print("server stderr:\n" + errors.decode(errors="replace")[-3000:])
    for label in files:
        row = rounds[label]
        doc: dict = {"bytes": sizes[label], "http": {}}
        for key in ("in_process_1", "in_process_2"):
            if row[key]:
                doc[key] = _summary(row[key])
        for concurrency, runs in row["http"].items():
            doc["http"][concurrency] = _summary([{k: v for k, v in r.items()} for r in runs])
        doc["lean"] = {key: _summary(runs) for key, runs in row["lean"].items()}
        results["documents"][label] = doc
    results["load_after"] = os.getloadavg()
    print(f"\nmedians over {args.rounds} rounds ({args.seconds:g} s each):")
    print(
        "| document | measured | req/s | x in process (2) | p50 | p99 "
        "| CPU ms per verification / per request: worker + server (+ client) |"
    )
    print("|---|---|---|---|---|---|---|")  # fmt: skip
    for label, doc in results["documents"].items():
        for key, what in (
            ("in_process_2", "in process, 2 procs"),
            ("in_process_1", "in process, 1 proc"),
        ):
            if key in doc:
                d = doc[key]
                ratio = d["rps"] / doc["in_process_2"]["rps"]
                print(f"| {label} | {what} | {d['rps']:.0f} | {ratio:.2f} | {d['p50_ms']:.2f} ms | "
                      f"{d['p99_ms']:.2f} ms | {d['cpu_ms']:.2f} |")  # fmt: skip
        for concurrency, d in doc["http"].items():
            ratio = f"{d['ratio']:.2f}" if "ratio" in d else "-"
            print(f"| {label} | service c={concurrency} | {d['rps']:.1f} | {ratio} | "
                  f"{d['p50_ms']:.1f} ms | {d['p99_ms']:.1f} ms | {d['worker_cpu_ms']:.2f} + "
                  f"{d['server_cpu_ms']:.2f} (+ {d['client_cpu_ms']:.2f}) |")  # fmt: skip
        for key, d in doc["lean"].items():
            ratio = f"{d['ratio']:.2f}" if "ratio" in d else "-"
            print(f"| {label} | lean server {key} | {d['rps']:.1f} | {ratio} | "
                  f"{d['p50_ms']:.1f} ms | {d['p99_ms']:.1f} ms | {d['server_cpu_ms']:.2f} "
                  f"(+ {d['client_cpu_ms']:.2f}) |")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    small = results["documents"]["small .p7m"]["http"].get("8")
    errors = any(
        r["errors"] for d in results["documents"].values()
        for f in [*d["http"].values(), *d["lean"].values()] for r in f["rounds"]
    )  # fmt: skip
    ok = (
        small is not None and "ratio" in small and small["ratio"] >= 0.7
        and small["p99_ms"] < 50 and not errors
    )  # fmt: skip
    print("targets met" if ok else "targets NOT met (see docs/service.md)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
