"""What the milter costs under abuse, measured on the real daemon (``sigmail milter`` process).

    python bench/milter_load.py [--idle 1000] [--nofile 256]

Prints, for docs/milter.md ("Abuse"): threads, RSS and descriptors with N idle connections;
the time a new client waits to be served behind N idle connections, a slowloris peer and a
lowered descriptor limit; peak RSS for one message of 150 header fields of 1 MiB; peak RSS for
8 messages of 30 MB sent at once to a milter with one worker.
Run it inside tools/netns-run (it starts the test PKI responder).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from milter_support import DaemonProcess, MtaClient, signed_message, unsigned_message  # noqa: E402
from miltertest import codec  # noqa: E402
from miltertest import constants as mc  # noqa: E402
from test_milter_abuse import big_headers, connect_flood, idle_peer, send_raw_headers  # noqa: E402

from vectors.testpki.responder import PKIResponder  # noqa: E402


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def _proc_status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker_peak(pid: int) -> int:
    """The largest peak RSS (kB) among the daemon's descendants: its verifying processes
    (children of the forkserver it started), which hold a copy of each message they verify."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except OSError:
                continue
    tree, grew = {pid}, True
    while grew:
        more = {c for c, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    peaks = []
    for member in tree - {pid}:
        try:
            peaks.append(_proc_status(member, "VmHWM"))
        except OSError:
            continue
    return max(peaks, default=0)


def idle_cost(count: int, nofile: int | None, settings: str = "") -> None:
    directory = tempfile.mkdtemp(prefix="sm-")
    try:
        with DaemonProcess(directory, settings, nofile=nofile) as d:
            with MtaClient(d.path) as mta:
                mta.send_message(signed_message())
            base = (d.status("Threads"), d.status("VmRSS"), d.fds())
            peers = [idle_peer(d.path) for _ in range(min(count, 150))]
            peers += connect_flood(d.path, count - len(peers))
            time.sleep(1.0)
            after = (d.status("Threads"), d.status("VmRSS"), d.fds())
            slow = idle_peer(d.path)
            slow.sendall(codec.encode_msg(mc.SMFIC_MAIL, args=["<s@x.example>"])[:3])
            started = time.perf_counter()
            with MtaClient(d.path) as late:
                late.send_message(signed_message())
            served = time.perf_counter() - started
            print(
                f"{count} idle peers, RLIMIT_NOFILE {nofile or 'unchanged'}: threads "
                f"{base[0]} -> {after[0]}, RSS {mib(base[1])} -> {mib(after[1])}, fds "
                f"{base[2]} -> {after[2]}; a new client + slowloris: served in {served:.3f} s"
            )
            for peer in [*peers, slow]:
                peer.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def header_memory() -> None:
    directory = tempfile.mkdtemp(prefix="sm-")
    try:
        with DaemonProcess(directory, "workers = 1") as d:
            before = d.status("VmRSS")
            send_raw_headers(d.path, big_headers(150, 1024 * 1024 - 200))
            print(
                f"150 x 1 MiB header fields: peak RSS {mib(d.status('VmHWM'))} "
                f"(idle {mib(before)}), verifying process {mib(worker_peak(d.proc.pid))}"
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def big_messages(count: int = 8, size: int = 30_000_000) -> None:
    directory = tempfile.mkdtemp(prefix="sm-")
    body = ("x" * 998 + "\r\n") * (size // 1000)
    message = unsigned_message() + body.encode()
    try:
        with DaemonProcess(directory, "workers = 1") as d:
            before = d.status("VmRSS")
            results = []

            def send():
                with MtaClient(d.path) as mta:
                    mta.sock.settimeout(600)
                    results.append(mta.send_message(message).action)

            threads = [threading.Thread(target=send) for _ in range(count)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            took = time.perf_counter() - started
            print(
                f"{count} x {size / 1e6:.0f} MB at once, one worker: peak RSS "
                f"{mib(d.status('VmHWM'))} (idle {mib(before)}), verifying process "
                f"{mib(worker_peak(d.proc.pid))}, {results.count('accept')} accepted "
                f"in {took:.1f} s"
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--nofile", type=int, default=256)
    args = parser.parse_args()
    responder = PKIResponder(ROOT / "vectors", port=47831)
    responder.start()
    try:
        idle_cost(args.idle, 4096)
        idle_cost(args.idle, args.nofile, "read_timeout = 2.0")
        header_memory()
        big_messages()
    finally:
        responder.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
