"""A fuzz campaign: ``python -m fuzz.campaign --format cms --inputs 1000000 --workers 2``.

Input number *i* is ``fuzz.mutators.generate(format, seed, i)``: the same bytes on every run,
so a campaign is reproducible and any input can be rebuilt from its number (``--show i``).
Inputs run in worker processes, each under an address-space limit (``--memory-mb``, set with
``resource.setrlimit`` after the worker has imported everything) and timed one by one
against ``--time-limit``; a worker stuck for ``--hang-after`` seconds is killed and replaced.

A finding is an exception that is not sigmail's own input signal (for ``verify``: an
``internal_error`` or a broken verdict invariant), a ``MemoryError``, an input over the time
limit, a hang or a dead worker. Each distinct finding (kind, exception type, place) is
minimised by delta debugging and written to ``--findings/<format>/<id>/`` (``input``,
``minimised``, ``finding.json``); the campaign's figures go to
``--findings/<format>/campaign-<seed>-<start>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import importlib
import json
import multiprocessing as mp
import os
import queue
import resource
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from fuzz.minimise import asn1_min, ddmin
from fuzz.mutators import generate
from fuzz.seeds import FORMATS
from fuzz.targets import run, run_timed, warm_up

IDLE, RUNNING, MINIMISING, GENERATING = 0.0, 1.0, 2.0, 3.0
SLOWEST = 10  # inputs timed again, alone, at the end of a campaign


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def signature_of(kind: str, exc: BaseException | None) -> str:
    """What makes two findings the same: kind, exception type and where it was raised (the
    deepest frame, and the deepest one in sigmail)."""
    if exc is None:
        return kind
    cause = _root_cause(exc)
    frames = traceback.extract_tb(cause.__traceback__)
    ours = [f for f in frames if "/sigmail/" in f.filename]

    def where(f):
        return f"{Path(f.filename).name}:{f.lineno}" if f else "?"

    return f"{kind}:{type(cause).__name__}:{where(frames[-1] if frames else None)}:" + where(
        ours[-1] if ours else None
    )


def classify(exc: BaseException | None, elapsed: float, time_limit: float) -> str | None:
    if exc is not None:
        return "over_memory" if isinstance(_root_cause(exc), MemoryError) else "exception"
    if elapsed > time_limit:
        return "over_time"
    return None


def _format_exc(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))[-6000:]


# -- the worker ------------------------------------------------------------------------------


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


_M_ARENA_MAX = -8  # glibc mallopt parameter


def _one_malloc_arena() -> None:
    """All threads of the worker allocate from glibc's main arena. The address-space limit is
    meant for what an input costs; each other thread (the result queue's feeder) otherwise gets
    an arena of its own that reserves 64 MB heaps it never uses, and over some 100,000 inputs
    those reservations ran workers into the 512 MB limit (MemoryError where nothing was used)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1)


def _worker(
    wid, fmt, seed, tasks, results, state, time_limit, memory_mb, minimise_tests, warm, clock
):
    now = CLOCKS[clock]  # what an input's time is: wall-clock, or the worker's own CPU
    if warm:
        warm_up(fmt)
    if memory_mb:
        _one_malloc_arena()
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    seen: set[str] = set()
    while True:
        task = tasks.get()
        if task is None:
            return
        first, last = task
        stats = {"first": first, "last": last, "count": 0, "worst_time": 0.0}
        stats |= {"worst_time_index": None, "rss_kb": 0, "rss_index": None, "worst_time_name": None}
        stats["slowest"] = []  # (seconds, index) of the slowest inputs of the batch
        for index in range(first, last):
            # Making the input is the fuzzer's work: a worker stuck there is a fuzzer_hang,
            # not a hang of sigmail's (xml inputs 161,887 and 224,230 of seed 1 once took
            # 17-25 s to make).
            state[0], state[1], state[2] = index, time.monotonic(), GENERATING
            state[3] = time.process_time()
            try:
                data, name = generate(fmt, seed, index)
            except Exception as exc:  # a bug of the fuzzer's own: say so, go on
                record = {"index": index, "kind": "fuzzer_error", "name": None, "size": 0}
                record |= {"signature": signature_of("fuzzer_error", exc), "elapsed": None}
                record |= {"exception": repr(exc), "traceback": _format_exc(exc)}
                results.put(("finding", wid, record, b""))
                continue
            state[1], state[2], state[3] = time.monotonic(), RUNNING, time.process_time()
            exc, elapsed = run_timed(fmt, data, name, now)
            state[2] = IDLE
            stats["count"] += 1
            if elapsed > stats["worst_time"]:
                stats |= {"worst_time": elapsed, "worst_time_index": index, "worst_time_name": name}
            slowest = stats["slowest"]
            if len(slowest) < SLOWEST or elapsed > slowest[-1][0]:
                slowest.append((elapsed, index))
                slowest.sort(reverse=True)
                del slowest[SLOWEST:]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if rss > stats["rss_kb"]:
                stats["rss_kb"], stats["rss_index"] = rss, index
            kind = classify(exc, elapsed, time_limit)
            if kind == "over_time":
                # Once more: on a loaded machine one slow run may be the machine's, not ours;
                # the finding stands if the second run is over the limit too.
                elapsed = min(elapsed, run_timed(fmt, data, name, now)[1])
                kind = classify(None, elapsed, time_limit)
            if kind is None:
                continue
            sig = signature_of(kind, exc) + (f":{name}" if kind == "over_time" else "")
            record = {
                "index": index,
                "kind": kind,
                "signature": sig,
                "name": name,
                "size": len(data),
                "elapsed": elapsed,
                "exception": None if exc is None else repr(_root_cause(exc))[:500],
                "traceback": None if exc is None else _format_exc(exc),
            }
            results.put(("finding", wid, record, data))
            if sig in seen or kind != "exception" or not minimise_tests:
                continue
            seen.add(sig)

            def still_fails(candidate: bytes, sig=sig, name=name) -> bool:
                state[1], state[2] = time.monotonic(), MINIMISING
                state[3] = time.process_time()
                e = run(fmt, candidate, name)
                return e is not None and signature_of("exception", e) == sig

            reduce = asn1_min if fmt == "cms" or name.endswith((".p7m", ".p7s")) else ddmin
            small = reduce(data, still_fails, max_tests=minimise_tests)
            state[2] = IDLE
            results.put(("minimised", wid, {"signature": sig, "index": index}, small))
        results.put(("batch", wid, stats, None))


# -- the parent ------------------------------------------------------------------------------


@dataclass
class Totals:
    count: int = 0
    worst_time: float = 0.0
    worst_time_index: int | None = None
    worst_time_name: str | None = None
    rss_kb: int = 0
    rss_index: int | None = None
    slowest: list[tuple[float, int]] = field(default_factory=list)
    findings: dict[str, dict] = field(default_factory=dict)  # signature → summary
    by_kind: dict[str, int] = field(default_factory=dict)
    done: list[list[int]] = field(default_factory=list)  # [first, last) ranges of inputs run
    seconds: float = 0.0  # spent by the earlier runs of a resumed campaign

    def mark_done(self, first: int, last: int) -> None:
        if first >= last:
            return
        ranges = sorted([*self.done, [first, last]])
        merged = [ranges[0]]
        for lo, hi in ranges[1:]:
            if lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.done = merged

    def left(self, start: int, stop: int, batch: int) -> list[tuple[int, int]]:
        """The batches of [start, stop) not run yet."""
        out, at = [], start
        for lo, hi in [*self.done, [stop, stop]]:
            lo, hi = max(lo, start), min(hi, stop)
            out += [(i, min(i + batch, lo)) for i in range(at, lo, batch)]
            at = max(at, hi)
        return out

    @classmethod
    def from_state(cls, report: dict) -> Totals:
        t = cls(count=report["inputs_run"], rss_kb=int(report["worst_rss_mb"] * 1024))
        t.worst_time = report["worst_time_s"]
        t.worst_time_index = report["worst_time_input"]
        t.worst_time_name = report["worst_time_name"]
        t.rss_index = report["worst_rss_input"]
        t.slowest = [tuple(x) for x in report["state"]["slowest"]]
        t.findings = report["state"]["findings"]
        t.by_kind = dict(report["findings_by_kind"])
        t.done = [list(r) for r in report["state"]["done"]]
        t.seconds = report["seconds"]
        return t

    def add_batch(self, stats: dict) -> None:
        self.mark_done(stats["first"], stats["last"])
        self.count += stats["count"]
        if stats["worst_time"] > self.worst_time:
            self.worst_time = stats["worst_time"]
            self.worst_time_index = stats["worst_time_index"]
            self.worst_time_name = stats["worst_time_name"]
        self.slowest = sorted([*self.slowest, *stats["slowest"]], reverse=True)[:SLOWEST]
        if stats["rss_kb"] > self.rss_kb:
            self.rss_kb, self.rss_index = stats["rss_kb"], stats["rss_index"]


class Campaign:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.fmt = args.format
        self.out = Path(args.findings) / self.fmt
        self.out.mkdir(parents=True, exist_ok=True)
        self.ctx = mp.get_context("fork")
        self.results = self.ctx.Queue()
        self.state_path = self.out / f"campaign-{args.seed}-{args.start}.json"
        self.totals = Totals()
        self.resumed_from: list[dict] = []
        if args.resume and self.state_path.exists():
            # The same campaign (format, seed, first input) continued: the inputs already run
            # are skipped and the figures carried on; --inputs may be larger than before.
            before = json.loads(self.state_path.read_text())
            self.totals = Totals.from_state(before)
            self.resumed_from = [*before.get("resumed_from", [])]
            self.resumed_from.append(
                {"inputs_run": before["inputs_run"], "sigmail_commit": before["sigmail_commit"]}
                | {"seconds": before["seconds"], "clock": before.get("clock", "wall")}
            )
            print(f"[{self.fmt}] resuming at {before['inputs_run']} inputs run", flush=True)
        self.workers: dict[int, tuple] = {}
        self.pending: list[tuple[int, int]] = []
        self.assigned: dict[int, tuple[int, int]] = {}
        self.next_wid = 0
        self.done_by: dict[int, int] = {}  # inputs each worker has run
        self.recycled = 0
        self.commit = _commit()  # the code the workers import now, not at the end

    # workers

    def _spawn(self) -> int:
        wid = self.next_wid
        self.next_wid += 1
        tasks = self.ctx.Queue()
        # the input running, when it started (wall-clock, and the worker's CPU time), the phase
        state = self.ctx.Array("d", [-1.0, 0.0, IDLE, 0.0], lock=False)
        a = self.args
        proc = self.ctx.Process(
            target=_worker,
            args=(wid, self.fmt, a.seed, tasks, self.results, state, *self._limits()),
            daemon=True,
        )
        proc.start()
        self.workers[wid] = (proc, tasks, state)
        return wid

    def _recycle(self, wid: int) -> int:
        """An idle worker that has run --recycle-after inputs is ended and a fresh one takes
        its place: what a long-lived worker accumulates (bounded caches, a fragmented heap)
        is not charged to the input that happens to cross the memory limit."""
        proc, tasks, _state = self.workers.pop(wid)
        self.assigned.pop(wid, None)
        tasks.put(None)
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        self.recycled += 1
        return self._spawn()

    def _limits(self) -> tuple:
        a = self.args
        return a.time_limit, a.memory_mb, a.minimise_tests, not a.no_warm_up, a.clock

    def _feed(self, wid: int) -> None:
        if self.pending:
            task = self.pending.pop(0)
            self.assigned[wid] = task
            self.workers[wid][1].put(task)
        else:
            self.assigned.pop(wid, None)

    def _replace(self, wid: int, kind: str) -> None:
        """A worker hung or died: record the input it was on, resubmit the rest of its batch."""
        proc, _tasks, state = self.workers.pop(wid)
        index, phase = int(state[0]), state[2]
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        first, last = self.assigned.pop(wid)
        # Inputs before `index` in this batch were run but their figures are lost with the
        # worker: counted here (their worst time and RSS are not).
        if phase != MINIMISING and index < first:
            index = first  # died before its first input was marked: that input is the suspect
        if phase != MINIMISING:
            self.totals.mark_done(first, index + 1)
            self.totals.count += index - first + 1
            try:
                data, name = generate(self.fmt, self.args.seed, index)
            except Exception:
                data, name = b"", None
            record = {"index": index, "kind": kind, "signature": f"{kind}:{name}", "name": name}
            record |= {"size": len(data), "elapsed": None, "exception": None, "traceback": None}
            record["exitcode"] = proc.exitcode
            self._finding(record, data)
            resume = index + 1
        else:
            resume = max(index + 1, first)
            self.totals.mark_done(first, resume)
            self.totals.count += resume - first
        if resume < last:
            self.pending.insert(0, (resume, last))
        new = self._spawn()
        self._feed(new)

    # findings

    def _finding(self, record: dict, data: bytes) -> None:
        sig = record["signature"]
        self.totals.by_kind[record["kind"]] = self.totals.by_kind.get(record["kind"], 0) + 1
        summary = self.totals.findings.get(sig)
        folder = self.out / hashlib.sha256(sig.encode()).hexdigest()[:12]
        if summary is None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "input").write_bytes(data)
            summary = {**record, "count": 0, "indices": [], "folder": str(folder)}
            self.totals.findings[sig] = summary
            print(
                f"[{self.fmt}] new finding {record['kind']} at input {record['index']}: {sig}",
                flush=True,
            )
        summary["count"] += 1
        if len(summary["indices"]) < 20:
            summary["indices"].append(record["index"])
        (folder / "finding.json").write_text(json.dumps(summary, indent=2) + "\n")

    def _minimised(self, info: dict, data: bytes) -> None:
        summary = self.totals.findings.get(info["signature"])
        if summary is None:
            return
        folder = Path(summary["folder"])
        (folder / "minimised").write_bytes(data)
        summary["minimised_size"] = len(data)
        (folder / "finding.json").write_text(json.dumps(summary, indent=2) + "\n")

    # the run

    def run(self) -> dict:
        a = self.args
        started = time.monotonic()
        stop = a.start + a.inputs
        self.pending = self.totals.left(a.start, stop, a.batch)
        for _ in range(a.workers):
            self._feed(self._spawn())
        last_report = time.monotonic()
        try:
            self._loop(started, last_report)
        except (KeyboardInterrupt, SystemExit):
            self._write_report(started, final=False)  # what --resume goes on from
            for proc, tasks, _state in self.workers.values():
                proc.kill()  # the batch it is on is run again by --resume
                tasks.cancel_join_thread()
            self.results.cancel_join_thread()
            raise
        finally:
            for _proc, tasks, _state in self.workers.values():
                tasks.put(None)
            for proc, _tasks, _state in self.workers.values():
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
        retimed = self._retime()
        return self._write_report(started, final=True, retimed=retimed)

    def _loop(self, started: float, last_report: float) -> None:
        a = self.args
        while self.assigned:
            try:
                what, wid, payload, data = self.results.get(timeout=0.25)
            except queue.Empty:
                what = None
            if what == "finding":
                self._finding(payload, data)
            elif what == "minimised":
                self._minimised(payload, data)
            elif what == "batch" and wid in self.workers:
                self.totals.add_batch(payload)
                self.done_by[wid] = self.done_by.get(wid, 0) + payload["count"]
                if a.recycle_after and self.done_by[wid] >= a.recycle_after:
                    wid = self._recycle(wid)
                self._feed(wid)
            self._watch()
            if a.seconds and time.monotonic() - started > a.seconds and self.pending:
                print(f"[{self.fmt}] --seconds {a.seconds} spent: no new batches", flush=True)
                self.pending.clear()
            if time.monotonic() - last_report > a.progress_every:
                last_report = time.monotonic()
                self._progress(started)
                self._write_report(started, final=False)

    def _retime(self) -> list[dict]:
        """The slowest inputs run again here, after the workers have stopped, best of three:
        on a shared machine a single slow run is often the machine's."""
        if not self.args.retime:
            return []
        warm_up(self.fmt)
        now = CLOCKS[self.args.clock]
        out = []
        for first, index in self.totals.slowest[: self.args.retime]:
            data, name = generate(self.fmt, self.args.seed, index)
            runs = []
            for _ in range(3):
                runs.append(run_timed(self.fmt, data, name, now)[1])
            out.append(
                {"input": index, "name": name, "size": len(data), "campaign_s": round(first, 4)}
                | {"retimed_s": round(min(runs), 4)}
            )
        return out

    def _watch(self) -> None:
        now = time.monotonic()
        for wid, (proc, _tasks, state) in list(self.workers.items()):
            if wid not in self.assigned:
                continue
            if not proc.is_alive():
                self._replace(wid, "crash")
            elif state[2] != IDLE and self._hung(proc.pid, state, now):
                self._replace(wid, "fuzzer_hang" if state[2] == GENERATING else "hang")

    def _hung(self, pid: int, state, now: float) -> bool:
        """Over --hang-after on the input: wall-clock, or with --clock cpu the worker's CPU
        time (a worker starved on a loaded machine is not hung; past 30 times the limit in
        wall-clock it is, whatever the clock)."""
        wall = now - state[1]
        if self.args.clock != "cpu":
            return wall > self.args.hang_after
        cpu = _cpu_seconds(pid)
        if cpu is not None and cpu - state[3] > self.args.hang_after:
            return True
        return wall > self.args.hang_after * (30 if cpu is not None else 1)

    def _progress(self, started: float) -> None:
        t = self.totals
        rate = t.count / max(time.monotonic() - started, 1e-9)
        print(
            f"[{self.fmt}] {t.count} inputs, {rate:.0f}/s, findings {t.by_kind or 0}, "
            f"worst {t.worst_time:.3f} s, rss {t.rss_kb / 1024:.0f} MB",
            flush=True,
        )

    def _write_report(self, started: float, *, final: bool, retimed: list | None = None) -> dict:
        a, t = self.args, self.totals
        elapsed = time.monotonic() - started + t.seconds
        report = {
            "format": self.fmt,
            "seed": a.seed,
            "start": a.start,
            "inputs_requested": a.inputs,
            "inputs_run": t.count,
            "finished": final,
            "complete": not t.left(a.start, a.start + a.inputs, a.batch),
            "workers": a.workers,
            "seconds": round(elapsed, 1),
            "inputs_per_second": round(t.count / max(elapsed, 1e-9), 1),
            "time_limit_s": a.time_limit,
            "clock": a.clock,
            "memory_limit_mb": a.memory_mb,
            "worst_time_s": round(t.worst_time, 4),
            "worst_time_input": t.worst_time_index,
            "worst_time_name": t.worst_time_name,
            "worst_time_retimed_s": max((r["retimed_s"] for r in retimed), default=None)
            if retimed
            else None,
            "slowest_retimed": retimed or [],
            "worst_rss_mb": round(t.rss_kb / 1024, 1),
            "recycle_after": a.recycle_after,
            "workers_recycled": self.recycled,
            "worst_rss_input": t.rss_index,
            "findings_by_kind": t.by_kind,
            "distinct_findings": sorted(t.findings),
            "internal_errors": t.by_kind.get("exception", 0),
            "sigmail_commit": self.commit,
            "resumed_from": self.resumed_from,
            # what --resume needs to go on
            "state": {"done": t.done, "slowest": t.slowest, "findings": t.findings},
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(self.state_path)  # a campaign killed while writing keeps its last state
        return report


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _commit() -> str | None:
    """HEAD, with "+changes" when sigmail/ or fuzz/ differ from it."""
    where = ["git", "-C", str(Path(__file__).parent)]
    try:
        head = subprocess.run([*where, "rev-parse", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(
            [*where, "status", "--porcelain", "--", "../sigmail", "../fuzz"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fuzz.campaign", description=__doc__.split("\n")[0])
    p.add_argument("--format", choices=FORMATS, required=True)
    p.add_argument("--inputs", type=int, default=10_000)
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    p.add_argument(
        "--seed", type=int, default=0, help="campaign seed (input i is a function of it)"
    )
    p.add_argument("--start", type=int, default=0, help="number of the first input")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument(
        "--seconds", type=float, default=0, help="stop starting batches after this (0: never)"
    )
    p.add_argument("--findings", default="fuzz-findings")
    p.add_argument("--time-limit", type=float, default=1.0, help="seconds per input")
    p.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="what --time-limit measures: wall-clock, or the worker's CPU time (a loaded "
        "machine makes wall-clock times long without the input being slow)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the campaign of this format, seed and --start from its state file "
        "(campaign-SEED-START.json), skipping the inputs it ran",
    )
    p.add_argument("--hang-after", type=float, default=20.0, help="kill a worker after this")
    p.add_argument(
        "--recycle-after",
        type=int,
        default=0,
        help="replace a worker after it has run this many inputs (0: never)",
    )
    p.add_argument("--memory-mb", type=int, default=512, help="address-space limit per worker")
    p.add_argument("--minimise-tests", type=int, default=1500)
    p.add_argument("--retime", type=int, default=SLOWEST, help="slowest inputs timed again")
    p.add_argument("--target", help="module:function instead of the format's target (tests)")
    p.add_argument("--generator", help="module:function instead of generate() (tests)")
    p.add_argument("--no-warm-up", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--progress-every", type=float, default=30.0)
    p.add_argument("--show", type=int, metavar="I", help="write input I to stdout and exit")
    return p.parse_args(argv)


def _plant(spec: str, fmt: str) -> None:
    """``--target module:function`` replaces the format's target (to test the runner)."""
    import importlib

    from fuzz import targets

    module, _, function = spec.partition(":")
    targets.TARGETS[fmt] = getattr(importlib.import_module(module), function)
    targets.CHECKS.pop(fmt, None)  # the check belongs to the target it replaced


def main(argv: list[str] | None = None) -> int:
    global generate
    a = parse_args(argv)
    if a.target:
        _plant(a.target, a.format)
    if a.generator:  # forked workers inherit it
        module, _, function = a.generator.partition(":")
        generate = getattr(importlib.import_module(module), function)
    if a.show is not None:
        data, name = generate(a.format, a.seed, a.show)
        print(f"input {a.show}: {name}, {len(data)} bytes", file=sys.stderr)
        sys.stdout.buffer.write(data)
        return 0
    # `kill PID` stops a campaign cleanly: its state is written for --resume, workers stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Campaign(a).run()
    print(json.dumps(report, indent=2))
    return 1 if report["findings_by_kind"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
