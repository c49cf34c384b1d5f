"""Messages per second through a real Postfix, with and without the sigmail milter, one run.

    sudo python bench/bench_milter.py [--messages N] [--rounds R] [--sessions 1,4] [--json OUT]

A private Postfix instance on 127.0.0.1 (tests/postfix_lab.py; installed with apt when
missing) delivers into a Maildir. S SMTP sessions send N small signed S/MIME messages between
them (person-an, multipart/signed, ~6 KB, each with its own Message-ID); the figure is N
divided by the time from the first MAIL FROM to the N-th message in the Maildir. Rounds
alternate "Postfix alone", "Postfix + sigmail milter" (unix socket, ``sigmail milter`` as a
separate process, online revocation from the test PKI responder, caches warm after the first
message) and "Postfix + null milter" (bench/null_milter.py: the same milter with a verdict
computed once, i.e. what the protocol and Postfix's milter handling cost by themselves),
switching with ``postfix reload``, for each session count; the best round of each is reported,
with the median, and the milter processes' CPU time per message (from /proc, which a loaded
machine disturbs less than wall time).

Targets (issue 11), from one run: with one session the verifying milter delivers at least 0.8x
what the null milter delivers, and with 4 sessions at least 1.5x its own one-session rate.
Nothing here is asserted by the test suite; the script exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from milter_support import signed_message  # noqa: E402
from postfix_lab import PostfixLab, ensure_postfix  # noqa: E402

from vectors.testpki.responder import PKIResponder  # noqa: E402


def count_delivered(maildir: Path) -> int:
    new = maildir / "new"
    return len(os.listdir(new)) if new.is_dir() else 0


def _session(port: int, messages: list[bytes]) -> None:
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in messages:
            smtp.sendmail("sender@stttt.tphcm.gov.vn", ["vanthu@stp.kontum.gov.vn"], message)


def one_round(lab: PostfixLab, messages: list[bytes], *, sessions: int = 1, timeout=120.0):
    """(delivered msg/s, accepted msg/s) for ``messages`` over ``sessions`` SMTP sessions."""
    before = count_delivered(lab.maildir)
    started = time.perf_counter()
    shares = [messages[i::sessions] for i in range(sessions)]
    threads = [threading.Thread(target=_session, args=(lab.port, share)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = time.perf_counter() - started
    want = before + len(messages)
    deadline = started + timeout
    while count_delivered(lab.maildir) < want:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {count_delivered(lab.maildir) - before} delivered")
        time.sleep(0.002)
    delivered = time.perf_counter() - started
    return len(messages) / delivered, len(messages) / accepted


def start_milter(
    lab: PostfixLab, workers: int | None, *, processes: int | None = None, null: bool = False
) -> tuple[subprocess.Popen, str]:
    """The sigmail milter, or (``null``) the same milter with a verdict computed once."""
    tag = "null-milter" if null else "milter"
    sock = lab.root / f"{tag}.sock"
    config = lab.root / f"{tag}.toml"
    certs = ROOT / "vectors" / "pki" / "certs"
    config.write_text(
        "[milter]\n"
        f'socket = "unix:{sock}"\n'
        'socket_mode = "0666"\n'
        'authserv_id = "mx.sigmail.test"\n'
        + (f"workers = {workers}\n" if workers else "")
        + (f"processes = {processes}\n" if processes is not None else "")
        + "[verify]\nat = 2026-06-01T00:00:00Z\n"
        # the test PKI's responder is on loopback, which fetching refuses unless allowed
        + 'fetch_allow = ["127.0.0.1/32"]\n'
        f'[trust]\nofficial = ["{certs / "root-official.pem"}"]\n'
        f'public = ["{certs / "root-national.pem"}"]\n'
    )
    log = (lab.root / f"{tag}.log").open("w")
    command = (
        [sys.executable, str(ROOT / "bench" / "null_milter.py"), "--config", str(config)]
        if null
        else [sys.executable, "-m", "sigmail", "milter", "--config", str(config)]
    )
    proc = subprocess.Popen(command, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 30
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{tag} did not start: {(lab.root / f'{tag}.log').read_text()}")
        time.sleep(0.05)
    return proc, f"unix:{sock}"


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and all its descendants (the verifying
    processes are children of the forkserver, itself a child of the milter)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for member in tree:
        fields = _stat(member)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def milter_times(log: Path) -> list[float]:
    """Milliseconds from end of message to the reply, from the milter's per-message lines."""
    return [float(x) for x in re.findall(r" ms=([0-9.]+)", log.read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", default="1,4", help="parallel SMTP sessions, e.g. 1,4")
    parser.add_argument("--workers", type=int, default=None, help="the milter's workers")
    parser.add_argument(
        "--processes", type=int, default=None, help="the verifying milter's processes (0: none)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    session_counts = [int(x) for x in args.sessions.split(",")]

    why_not = ensure_postfix()
    if why_not:
        print(f"skipped: {why_not}")
        return 0
    load_before = os.getloadavg()
    responder = PKIResponder(ROOT / "vectors").start()
    lab = PostfixLab()
    lab.root.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.root, 0o755)
    milter, socket_spec = start_milter(lab, args.workers, processes=args.processes)
    null_milter, null_spec = start_milter(lab, args.workers, null=True)
    sockets = {"postfix": None, "postfix+milter": socket_spec, "postfix+null milter": null_spec}
    pids = {"postfix+milter": milter.pid, "postfix+null milter": null_milter.pid}
    modes = tuple(sockets)
    keys = [(mode, n) for n in session_counts for mode in modes]
    results: dict[tuple[str, int], list[tuple[float, float]]] = {k: [] for k in keys}
    cpu: dict[tuple[str, int], list[float]] = {k: [] for k in keys}
    try:
        lab.start()
        messages = [signed_message() for _ in range(args.messages)]
        warm = [signed_message() for _ in range(20)]
        for round_ in range(args.rounds + 1):  # round 0 warms both (first fetches, forks)
            for mode, sessions in keys:
                lab.milter = sockets[mode]
                lab.reload()
                time.sleep(0.5)
                pid = pids.get(mode)
                before = cpu_seconds(pid) if pid else 0.0
                batch = warm if round_ == 0 else messages
                figures = one_round(lab, batch, sessions=sessions)
                if round_:
                    results[(mode, sessions)].append(figures)
                    if pid:
                        used = cpu_seconds(pid) - before
                        cpu[(mode, sessions)].append(used * 1000 / len(batch))
        in_filter = milter_times(lab.root / "milter.log")[len(warm) * len(session_counts) :]
        verdicts = collections.Counter(
            re.findall(r" verdict=(\w+)", (lab.root / "milter.log").read_text())
        )
    finally:
        lab.stop()
        for proc in (milter, null_milter):
            proc.terminate()
            proc.wait(timeout=30)
        responder.stop()
        lab.cleanup()
    load_after = os.getloadavg()

    size = len(messages[0])
    print(
        f"{args.messages} signed messages of {size} bytes, {args.rounds} rounds, milter "
        f"workers: {args.workers or os.cpu_count()}, processes: "
        f"{args.processes if args.processes is not None else 'default'}, "
        f"load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (on {os.cpu_count()} cores)"
    )
    print(
        f"{'':22} {'sessions':>8} {'delivered msg/s':>16} {'(median)':>9} "
        f"{'accepted msg/s':>15} {'milter CPU ms/msg':>18}"
    )
    best = {}
    for (mode, sessions), rows in results.items():
        delivered = [r[0] for r in rows]
        accepted = [r[1] for r in rows]
        best[(mode, sessions)] = max(delivered)
        spent = f"{min(cpu[(mode, sessions)]):18.2f}" if cpu[(mode, sessions)] else ""
        print(
            f"{mode:22} {sessions:8} {max(delivered):16.0f} {statistics.median(delivered):9.0f} "
            f"{max(accepted):15.0f}{spent}"
        )
    # A bench whose messages fail (a revocation fetch refused, say) measures the wrong path.
    print("verdicts of the verifying milter:", dict(verdicts))
    in_filter.sort()
    print(
        f"time in the filter per message (end of message to reply): median "
        f"{statistics.median(in_filter):.2f} ms, p95 {in_filter[int(len(in_filter) * 0.95)]:.2f} ms"
    )
    one, many = session_counts[0], session_counts[-1]
    vs_null = best[("postfix+milter", one)] / best[("postfix+null milter", one)]
    scaling = best[("postfix+milter", many)] / best[("postfix+milter", one)]
    print(
        f"verifying / null milter, {one} session(s): {vs_null:.2f}x (target >= 0.8x); "
        f"verifying milter, {many} / {one} session(s): {scaling:.2f}x (target >= 1.5x)"
    )
    if args.json:
        table = {f"{mode} x{n}": rows for (mode, n), rows in results.items()}
        args.json.write_text(
            json.dumps({"results": table, "vs_null": vs_null, "scaling": scaling}, indent=2)
        )
    return 0 if vs_null >= 0.8 and (many == one or scaling >= 1.5) else 1


if __name__ == "__main__":
    sys.exit(main())
