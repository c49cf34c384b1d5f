"""``sigmail serve`` throughput: requests per second and latency over HTTP, next to the
in-process ``Verifier.verify`` rate measured in the same run.

    python bench/bench_serve.py [--seconds S] [--json OUT]

Two documents: a small ``.p7m`` (vectors/cms/agency-official.p7m, 4 KB, agency seal) and a
1 MB signed PDF made here as bench/bench_pdf.py makes it (the test letter plus a 1 MB scan,
person-an, PAdES B-B). Both are verified with policy "basic" and offline revocation from a
cache holding the test PKI's CRLs, so the figures are sigmail's, not a responder's.

* **in-process**: ``Verifier.verify`` in a loop, in 1 process and in 2 processes at once
  (the machine's cores; each process its own Verifier, warm);
* **service**: ``sigmail serve --workers 2`` on 127.0.0.1, driven by a small asyncio
  HTTP/1.1 client (keep-alive, one connection per concurrent client, the multipart body built
  once) at concurrency 1, 8 and 32 for ``--seconds`` each; every answer must be 200 with the
  expected verdict. The client runs on the same machine and takes some of its CPU.

Targets (issue 14): at concurrency 8 the service delivers >= 0.7x the 2-process in-process
rate; p99 < 50 ms for the small document. Run on demand (inside /work/tools/netns-run on
the shared development machine); the test suite asserts no timing.
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


def _loop(args) -> int:
    path, cache, seconds, start_at = args
    verifier = _verifier(cache)
    data = Path(path).read_bytes()
    name = Path(path).name
    for _ in range(3):  # warm: chain cache, imports
        verdict = verifier.verify(data, at=AT_DT, name=name)
    assert verdict.verdict.value == "official", (verdict.verdict, verdict.reasons)
    while time.time() < start_at:
        time.sleep(0.001)
    done, end, cpu = 0, time.monotonic() + seconds, time.process_time()
    while time.monotonic() < end:
        verifier.verify(data, at=AT_DT, name=name)
        done += 1
    return done, time.process_time() - cpu


def in_process(path: Path, cache: Path, processes: int, seconds: float) -> tuple[float, float]:
    """(verifications per second, CPU ms per verification)."""
    context = multiprocessing.get_context("forkserver")
    with context.Pool(processes) as pool:
        start_at = time.time() + 3  # every process loaded and warm before the clock starts
        runs = pool.map(_loop, [(str(path), str(cache), seconds, start_at)] * processes)
    done = sum(n for n, _ in runs)
    return done / seconds, 1000 * sum(c for _, c in runs) / done


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


def over_http(proc, port: int, path: Path, concurrency: int, seconds: float) -> dict:
    body, media = multipart(path)
    request = (
        f"POST /v1/verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {media}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    asyncio.run(_run(port, request, concurrency, min(seconds, 1.0)))  # warm every connection
    workers = worker_pids(proc.pid)
    server_cpu, workers_cpu = cpu_seconds([proc.pid]), cpu_seconds(workers)
    figures = asyncio.run(_run(port, request, concurrency, seconds))
    n = figures["requests"]
    figures["server_cpu_ms"] = 1000 * (cpu_seconds([proc.pid]) - server_cpu) / n
    figures["worker_cpu_ms"] = 1000 * (cpu_seconds(workers) - workers_cpu) / n
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8], help="client connections"
    )
    parser.add_argument("--http-only", action="store_true", help="skip the in-process rates")
    args = parser.parse_args(argv)

    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seconds": args.seconds,
        "documents": {},
    }
    with tempfile.TemporaryDirectory(prefix="sigmail-bench-serve-") as tmp:
        work = Path(tmp)
        files = make_files(work)
        cache = make_cache(work)
        for label, path in files.items():
            if args.http_only:
                one, two, cpu_ms = 1.0, 1.0, 0.0
            else:
                one, cpu_ms = in_process(path, cache, 1, args.seconds)
                two, _ = in_process(path, cache, 2, args.seconds)
            results["documents"][label] = {
                "bytes": path.stat().st_size,
                "in_process_1": one,
                "in_process_2": two,
                "in_process_cpu_ms": cpu_ms,
                "http": {},
            }
            print(f"{label} ({path.stat().st_size:,} bytes): in process {one:.0f}/s (1 process), "
                  f"{two:.0f}/s (2 processes), {cpu_ms:.2f} CPU ms each", flush=True)  # fmt: skip
        proc, port = start_server(cache, work)
        try:
            for label, path in files.items():
                doc = results["documents"][label]
                for concurrency in args.concurrency:
                    figures = over_http(proc, port, path, concurrency, args.seconds)
                    doc["http"][str(concurrency)] = figures
                    ratio = figures["rps"] / doc["in_process_2"]
                    print(
                        f"  {label} c={concurrency:<2}: {figures['rps']:7.1f} req/s "
                        f"({ratio:.2f}x in-process 2), p50 {figures['p50_ms']:6.1f} ms, "
                        f"p99 {figures['p99_ms']:6.1f} ms, {figures['requests']} requests, "
                        f"{figures['errors']} errors; CPU ms/request: worker "
                        f"{figures['worker_cpu_ms']:.2f}, server {figures['server_cpu_ms']:.2f}",
                        flush=True,
                    )
                    if figures["errors"]:
                        print(f"    first error: {figures['first_error']}")
        finally:
            proc.terminate()
            _, errors = proc.communicate(timeout=60)
            if errors.strip():
                print("server stderr:\n" + errors.decode(errors="replace")[-3000:])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    small = results["documents"]["small .p7m"]
    ok = (
        small["http"]["8"]["rps"] >= 0.7 * small["in_process_2"]
        and small["http"]["8"]["p99_ms"] < 50
        and not any(f["errors"] for d in results["documents"].values() for f in d["http"].values())
    )
    print("targets met" if ok else "targets NOT met (see docs/service.md)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
