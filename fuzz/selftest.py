"""Targets that misbehave on purpose, to test the campaign runner itself
(``python -m fuzz.campaign --target fuzz.selftest:raising``; tests/test_fuzz_smoke.py)."""

from __future__ import annotations

import time


def quiet(data: bytes, name: str | None) -> None:
    """Finds nothing."""


def raising(data: bytes, name: str | None) -> None:
    if data[:1] == b"\x30" and len(data) % 3 == 0:
        raise KeyError("planted")


def slow(data: bytes, name: str | None) -> None:
    time.sleep(0.3)


def hanging(data: bytes, name: str | None) -> None:
    time.sleep(60)


def hungry(data: bytes, name: str | None) -> bytearray:
    return bytearray(1024 * 1024 * 1024)


def spinning(data: bytes, name: str | None) -> None:
    """0.3 s of CPU (``slow`` sleeps: 0.3 s of wall-clock and no CPU)."""
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass


def looping(data: bytes, name: str | None) -> None:
    """Spins for a minute of CPU (``hanging`` sleeps)."""
    end = time.process_time() + 60
    while time.process_time() < end:
        pass


def slow_to_make(fmt: str, seed: int, index: int) -> tuple[bytes, str]:
    """A generator (``--generator``) that spins for 3 s of CPU making odd inputs."""
    if index % 2:
        end = time.process_time() + 3
        while time.process_time() < end:
            pass
    return b"\x30\x00", "made.p7m"
