"""Messages per second through a real Postfix, with and without the sigmail milter, one run.

    sudo python bench/bench_milter.py [--messages N] [--rounds R] [--sessions S] [--json OUT]

A private Postfix instance on 127.0.0.1 (tests/postfix_lab.py; installed with apt when
missing) delivers into a Maildir. One SMTP session sends N small signed S/MIME messages
(person-an, multipart/signed, ~6 KB, each with its own Message-ID); the figure is N divided by
the time from the first MAIL FROM to the N-th message in the Maildir. Rounds alternate
"Postfix alone" and "Postfix + sigmail milter" (unix socket, ``sigmail milter`` as a separate
process, online revocation from the test PKI responder, caches warm after the first message),
switching with ``postfix reload``; the best round of each is reported, with the median.

A third mode runs the same milter with a verdict computed once (bench/null_milter.py): what
the milter protocol and Postfix's milter handling cost by themselves.

Targets (issue 6): with the milter ≥ 200 msg/s and at most 20 % below Postfix alone.
Nothing here is asserted by the test suite; the script exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
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
    lab: PostfixLab, workers: int | None, *, null: bool = False
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
        + "[verify]\nat = 2026-06-01T00:00:00Z\n"
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


def milter_times(log: Path) -> list[float]:
    """Milliseconds from end of message to the reply, from the milter's per-message lines."""
    return [float(x) for x in re.findall(r" ms=([0-9.]+)", log.read_text())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=1, help="parallel SMTP sessions")
    parser.add_argument("--workers", type=int, default=None, help="the milter's workers")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    why_not = ensure_postfix()
    if why_not:
        print(f"skipped: {why_not}")
        return 0
    responder = PKIResponder(ROOT / "vectors").start()
    lab = PostfixLab()
    lab.root.mkdir(parents=True, exist_ok=True)
    os.chmod(lab.root, 0o755)
    milter, socket_spec = start_milter(lab, args.workers)
    null_milter, null_spec = start_milter(lab, args.workers, null=True)
    sockets = {"postfix": None, "postfix+milter": socket_spec, "postfix+null milter": null_spec}
    modes = tuple(sockets)
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    try:
        lab.start()
        messages = [signed_message() for _ in range(args.messages)]
        warm = [signed_message() for _ in range(20)]
        for round_ in range(args.rounds + 1):  # round 0 warms both (first fetches, forks)
            for mode in modes:
                lab.milter = sockets[mode]
                lab.reload()
                time.sleep(0.5)
                figures = one_round(lab, warm if round_ == 0 else messages, sessions=args.sessions)
                if round_:
                    results[mode].append(figures)
        in_filter = milter_times(lab.root / "milter.log")[len(warm) :]
    finally:
        lab.stop()
        for proc in (milter, null_milter):
            proc.terminate()
            proc.wait(timeout=30)
        responder.stop()
        lab.cleanup()

    size = len(messages[0])
    print(
        f"{args.messages} signed messages of {size} bytes, {args.sessions} SMTP session(s), "
        f"{args.rounds} rounds, milter workers: {args.workers or os.cpu_count()}"
    )
    print(f"{'':22} {'delivered msg/s':>16} {'(median)':>9} {'accepted msg/s':>15}")
    best = {}
    for mode, rows in results.items():
        delivered = [r[0] for r in rows]
        accepted = [r[1] for r in rows]
        best[mode] = max(delivered)
        print(
            f"{mode:22} {max(delivered):16.0f} {statistics.median(delivered):9.0f} "
            f"{max(accepted):15.0f}"
        )
    slower = 1 - best["postfix+milter"] / best["postfix"]
    in_filter.sort()
    print(
        f"time in the filter per message (end of message to reply): median "
        f"{statistics.median(in_filter):.2f} ms, p95 {in_filter[int(len(in_filter) * 0.95)]:.2f} ms"
    )
    null_slower = 1 - best["postfix+null milter"] / best["postfix"]
    print(
        f"milter overhead: {slower * 100:.1f} % (target ≤ 20 %); "
        f"with milter {best['postfix+milter']:.0f} msg/s (target ≥ 200); "
        f"the same milter with verification costing nothing: {null_slower * 100:.1f} %"
    )
    if args.json:
        args.json.write_text(json.dumps({"results": results, "overhead": slower}, indent=2))
    return 0 if best["postfix+milter"] >= 200 and slower <= 0.20 else 1


if __name__ == "__main__":
    sys.exit(main())
