"""The milter's pre-fork mode (``processes``): worker processes verify, the daemon keeps the
connections. The same replies as verifying in threads; a small message is verified in the
daemon while no worker is busy (``inline_bytes``); a worker that dies is replaced; a
reloaded configuration reaches the workers; stopping the daemon stops them.

The tests of the workers themselves set ``inline_bytes = 0`` so that every message reaches one.

(The DaemonProcess tests — test_milter_abuse, test_milter_postfix — run ``sigmail milter``
with its default, which is this mode on a machine with several CPUs.)"""

from __future__ import annotations

import datetime as dt
import os
import signal
import tempfile
import time

import pytest
from milter_support import (
    MilterStarter,
    base_config,
    message_of_kind,
    with_message_id,
)

from sigmail.milter.runtime import Runtime

PATIENCE = 60  # a functional timeout for a loaded machine, never a measurement


@pytest.fixture
def milter(responder):
    with MilterStarter() as start:
        yield start


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too; a process reaped meanwhile has no /proc entry to read
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _replies(running, kinds):
    out = {}
    with running.client() as mta:
        for kind in kinds:
            message = with_message_id(message_of_kind(kind), f"<{kind}@sigmail.test>")
            out[kind] = mta.send_message(message).golden()
    return out


KINDS = ("official", "tampered", "spoofed", "unsigned", "forwarded")


@pytest.fixture(scope="module")
def threaded_replies(responder):
    with MilterStarter() as start:
        return _replies(start(processes=0), KINDS)


@pytest.mark.parametrize(
    ("inline_bytes", "handed"),
    [
        (0, len(KINDS)),  # every message to a worker
        (256 * 1024, 0),  # one message at a time, all small: the daemon verifies each
        (100, len(KINDS)),  # every message is larger than that: to a worker
    ],
)
def test_processes_give_the_same_replies_as_threads(milter, threaded_replies, inline_bytes, handed):
    running = milter(processes=2, inline_bytes=inline_bytes)
    assert running.server.processes is not None
    assert len(running.server.processes.pids()) == 2
    assert _replies(running, KINDS) == threaded_replies
    assert running.server.processes.handed == handed
    assert "smime=pass" in "\n".join(threaded_replies["official"])
    assert "smime=fail" in "\n".join(threaded_replies["tampered"])


def test_a_dead_worker_is_replaced_and_mail_keeps_flowing(milter, caplog):
    running = milter(processes=1, workers=1, inline_bytes=0)
    processes = running.server.processes
    message = message_of_kind("official")
    with running.client() as mta:
        assert "smime=pass" in "\n".join(mta.send_message(message).golden())
        (pid,) = processes.pids()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + PATIENCE
        while _alive(pid):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # found dead before the message was handed over: verified by a new worker
        assert "smime=pass" in "\n".join(mta.send_message(message).golden())
        assert "smime=pass" in "\n".join(mta.send_message(message).golden())
    assert processes.restarts == 1
    assert processes.pids() != [pid]
    assert f"verifying process {pid} died" in caplog.text


def test_a_reloaded_configuration_reaches_the_workers(milter):
    current = {}

    def load():
        return Runtime.load(current["config"])

    directory = tempfile.mkdtemp(prefix="sm-")  # the starter removes it
    current["config"] = base_config(directory, processes=2, inline_bytes=0)
    running = milter(load=load, directory=directory)
    message = message_of_kind("official")
    with running.client() as mta:
        assert "smime=pass" in "\n".join(mta.send_message(message).golden())
        # judged in 2030, after the signer's certificate expired (2028): not official
        current["config"] = current["config"].with_(at=dt.datetime(2030, 6, 1, tzinfo=dt.UTC))
        assert running.server.reload()
        for _ in range(4):  # whichever worker takes it
            assert "smime=pass" not in "\n".join(mta.send_message(message).golden())


def test_stopping_the_daemon_stops_the_workers(milter):
    running = milter(processes=2)
    pids = running.server.processes.pids()
    assert all(_alive(pid) for pid in pids)
    running.stop()
    deadline = time.monotonic() + PATIENCE
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline
        time.sleep(0.05)


class _KillWhenTaken:
    """A worker's pipe that kills the worker once it has taken a message (as a message that
    crashes the verification would). A worker that dies before it takes one is another case:
    the message goes to a new worker (the test above)."""

    def __init__(self, conn, pid):
        self._conn, self._pid = conn, pid

    def recv(self):
        item = self._conn.recv()
        if item == ("taken", None):
            os.kill(self._pid, signal.SIGKILL)
        return item

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_worker_dying_with_a_message_fails_only_that_message(milter):
    running = milter(processes=1, workers=1, inline_bytes=0)
    processes = running.server.processes
    (worker,) = processes._all
    worker.conn = _KillWhenTaken(worker.conn, worker.process.pid)
    message = message_of_kind("official")
    with running.client() as mta:
        died = "\n".join(mta.send_message(message).golden())
        after = "\n".join(mta.send_message(message).golden())
    assert "smime=temperror" in died and "X-Sigmail-Verdict: indeterminate" in died
    assert "smime=pass" in after
    assert processes.restarts == 1


class _Processes:
    """A stand-in for VerifierProcesses in a unit test of Runtime.outcome's choice."""

    def __init__(self, idle: bool) -> None:
        self.idle = idle
        self.handed: list[bytes] = []

    def all_idle(self) -> bool:
        return self.idle

    def outcome(self, blob, message, received_at):
        self.handed.append(message)
        return "handed"


def test_the_daemon_verifies_only_one_small_message_at_a_time_and_only_while_idle(
    responder, tmp_path
):
    message = message_of_kind("official")
    config = base_config(str(tmp_path), inline_bytes=len(message))
    runtime = Runtime.load(config)
    at = dt.datetime.now(dt.UTC)

    idle = _Processes(idle=True)
    here = runtime.with_processes(idle).outcome(message, received_at=at)
    assert here.verdict == "official" and here.result is None and idle.handed == []

    busy = _Processes(idle=False)  # a worker is verifying: the daemon does not compete
    assert runtime.with_processes(busy).outcome(message, received_at=at) == "handed"

    larger = _Processes(idle=True)
    assert runtime.with_processes(larger).outcome(message + b"\r\n", received_at=at) == "handed"

    inlined = runtime.with_processes(_Processes(idle=True))
    with inlined._inline:  # the daemon is verifying another message already
        assert inlined.outcome(message, received_at=at) == "handed"
    assert inlined.processes.handed == [message]
