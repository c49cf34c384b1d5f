"""The audit's engines (issue 15): the same register and counts from every engine, nothing lost
when a run is interrupted, a worker's log lines once.

The messages are the S/MIME vectors in rotation, each made unique by a Received field of the
agency's own MTA (as bench/bench_audit.py makes them), audited --offline against a revocation
cache of the test PKI's CRLs (no responder). The runs of ``sigmail audit`` are processes of
their own, which run no other thread: their workers are forked, while those of an audit in
the test process (where other tests may have left threads) may come from a fork server.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sigmail import TrustStore
from sigmail.audit.engine import run_audit
from sigmail.audit.register import read_rows
from sigmail.audit.rows import TIMING_COLUMNS
from sigmail.audit.work import Settings
from sigmail.policy.model import load_policy

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
OWN_MTA = "mx.stp.kontum.gov.vn"
AT = datetime(2026, 6, 1, tzinfo=UTC)
MIX = [
    "person-official",
    "agency-official",
    "person-and-agency",
    "opaque-signed",
    "p7m-attachment",
    "p7s-pair-attachment",
    "pdf-attachment",
    "forwarded-inside-signed",
    "timestamped",
    "tampered-body",
    "unsigned",
    "public-ca-signer",
]


def _received(n: int) -> bytes:
    when = datetime(2026, 1, 5, 1, tzinfo=UTC) + timedelta(minutes=7 * n)
    return (
        f"Received: from mail.stttt.tphcm.gov.vn (mail.stttt.tphcm.gov.vn [203.0.113.25])\r\n"
        f"\tby {OWN_MTA} (Postfix) with ESMTPS id B{n:08d}\r\n"
        f"\tfor <vanthu@stp.kontum.gov.vn>; {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
    ).encode()


def maildir(root: Path, count: int) -> Path:
    box = root / "mail"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    bodies = [(VECTORS / "smime" / f"{name}.eml").read_bytes() for name in MIX]
    for n in range(count):
        path = box / "new" / f"{1780000000 + n}.M{n}P1.test"
        path.write_bytes(_received(n) + bodies[n % len(bodies)])
    return box


@pytest.fixture(scope="module")
def crl_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("revocation")
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    return cache


def settings(cache: Path, token: str) -> Settings:
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
        strict=True,
        token=token,
    )


def rows(register: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in read_rows(register)]


def counts(summary) -> dict:
    facts = summary.to_dict()
    for wall_clock in ("seconds", "items_per_second", "engine", "workers"):
        facts.pop(wall_clock)
    return facts


def test_every_engine_writes_the_same_register_and_counts(tmp_path, crl_cache):
    """Inline, worker processes (forked by ``sigmail audit``) and Dask (a LocalCluster of
    threads, as in test_audit.py): the same rows (ids included), verdicts and counts."""
    distributed = pytest.importorskip("distributed")
    box = maildir(tmp_path, 60)
    runs = {}
    for engine, workers in (("local", 1), ("local", 2)):
        register = tmp_path / f"{engine}-{workers}.sqlite"
        summary = run_audit(
            [box],
            register,
            settings=settings(crl_cache, f"{engine}-{workers}"),
            engine=engine,
            workers=workers,
        )
        runs[f"{engine}/{workers}"] = (rows(register), counts(summary))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50
    ) as cluster:
        register = tmp_path / "dask.sqlite"
        summary = run_audit(
            [box],
            register,
            settings=settings(crl_cache, "dask"),
            engine="dask",
            scheduler=cluster.scheduler_address,
        )
        runs["dask"] = (rows(register), counts(summary))
        # The run's worker plugin is gone from the shared cluster afterwards.
        with distributed.Client(cluster.scheduler_address) as client:
            plugins = client.run(lambda dask_worker: list(dask_worker.plugins))
        assert not [p for names in plugins.values() for p in names if "sigmail-audit" in p]
    # sigmail audit itself, whose process runs no other thread: its workers are forked (this
    # process may run threads other tests left, and then gets a fork server's workers).
    register = tmp_path / "command.sqlite"
    run = _sigmail_audit(box, register, crl_cache)
    _out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err.decode()
    reference_rows, reference_counts = runs["local/1"]
    assert rows(register) == reference_rows
    assert len(reference_rows) > 60 and reference_counts["items"] == 60
    verdicts = reference_counts["verdicts"]["message"]
    assert verdicts.get("invalid") and verdicts.get("unsigned")  # the mix is a mix
    for name, (got_rows, got_counts) in runs.items():
        assert got_rows == reference_rows, name
        assert got_counts == reference_counts, name


def _sigmail_audit(box: Path, register: Path, cache: Path, **popen) -> subprocess.Popen:
    argv = [
        *(sys.executable, "-m", "sigmail", "audit", str(box), "--register", str(register)),
        *("--at", "2026-06-01T00:00:00Z", "--policy", "basic", "--offline"),
        *("--revocation-cache", str(cache), "--own-mta", OWN_MTA, "--workers", "2"),
        *("--trust", str(VECTORS / "pki/certs/root-official.pem")),
        *("--trust-public", str(VECTORS / "pki/certs/root-national.pem")),
        "--no-progress",
    ]
    # ^C is the default action in the command even where the tests run with SIGINT ignored (a
    # shell's background job): Python then installs no KeyboardInterrupt handler and the
    # "interrupted" audit would run to its end.
    return subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,
    )


def _committed_items(register: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{register}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM entries WHERE part=''").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:  # not created yet
        return 0


COUNT = 900  # more than one commit's worth (every 500 items or 2 s)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, crl_cache) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("whole")
    box = maildir(root, COUNT)
    run = _sigmail_audit(box, root / "whole.sqlite", crl_cache)
    _out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err.decode()
    return box, rows(root / "whole.sqlite")


@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_an_interrupted_audit_loses_nothing(tmp_path, crl_cache, uninterrupted, how):
    """``sigmail audit`` stopped once some rows are committed — ^C to the whole process group
    (the command and its workers), or SIGKILL of the command — keeps only whole items, and
    the next run completes the register: the same as one uninterrupted run. A killed run's
    workers end too."""
    box, expected = uninterrupted
    per_item: dict[str, int] = {}
    for row in expected:
        per_item[row["item_sha256"]] = per_item.get(row["item_sha256"], 0) + 1

    register = tmp_path / "interrupted.sqlite"
    run = _sigmail_audit(box, register, crl_cache, start_new_session=True)
    deadline = time.monotonic() + 300
    while _committed_items(register) == 0 and run.poll() is None:
        assert time.monotonic() < deadline, "no commit within 300 s"
        time.sleep(0.05)
    if how == "interrupt":
        os.killpg(run.pid, signal.SIGINT)
    else:
        os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=120)
    if how == "kill":  # its workers are told (PR_SET_PDEATHSIG) and end
        with pytest.raises(ProcessLookupError):
            for _ in range(200):
                os.killpg(run.pid, 0)
                time.sleep(0.05)
        assert run.returncode == -signal.SIGKILL
    assert run.returncode != 0, "the run ended before it was interrupted: use more messages"
    kept = rows(register)
    assert 0 < len({r["item_sha256"] for r in kept}) < COUNT
    got: dict[str, int] = {}
    for row in kept:
        got[row["item_sha256"]] = got.get(row["item_sha256"], 0) + 1
    assert all(n == per_item[sha] for sha, n in got.items())  # whole items only
    assert kept == expected[: len(kept)]  # the first items, in listing order

    again = _sigmail_audit(box, register, crl_cache)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()
    assert f"{len(got)} already registered" in out.decode()
    assert rows(register) == expected


def test_a_worker_log_line_is_written_once(tmp_path):
    """A forked worker keeps the command's stderr handler and adds none of its own."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(12):
        (folder / f"broken-{n}.pdf").write_bytes(b"%%PDF-1.7\nbroken %d\n" % n)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "sigmail", "audit", str(folder)),
            *("--register", str(tmp_path / "r.sqlite"), "--workers", "2", "--offline"),
            *("--at", "2026-06-01T00:00:00Z", "--no-progress"),
            *("--trust", str(VECTORS / "pki/certs/root-official.pem")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SIGMAIL_DEBUG": "1"},  # the text reader's debug line per file
    )
    assert run.returncode == 0, run.stderr
    for n in range(12):
        assert run.stderr.count(f"no text from broken-{n}.pdf") == 1, run.stderr


def test_worker_logging_adds_one_handler():
    from sigmail.audit.work import _log_to_stderr
    from sigmail.cli.stderr_log import StderrHandler

    logger = logging.getLogger("sigmail")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        _log_to_stderr()
        _log_to_stderr()
        assert sum(isinstance(h, StderrHandler) for h in logger.handlers) == 1
        assert logger.propagate is False
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
