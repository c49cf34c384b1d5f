"""Shared pytest fixtures: the generated test vectors and the test PKI's live responder.

The vectors (certificates, CRLs, signed files, manifest.json) live in ``vectors/`` and are
described in vectors/README.md. Fixtures here are session-wide and read-only; a test that
changes the responder (clock, faults) must undo it, e.g. with ``responder.reset()``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests run the same examples on every run (a CI run must not turn red by chance);
# explore new ones locally with `pytest --hypothesis-profile=explore`.
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=2000)
settings.load_profile("default")

REPO_ROOT = Path(__file__).resolve().parent.parent

# `vectors` is a plain directory at the repository root, not an installed package: put the root
# on sys.path so tests can `import vectors.testpki` whatever directory pytest was started from.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from vectors.testpki.endpoints import RESPONDER_PORT  # noqa: E402
from vectors.testpki.responder import PKIResponder  # noqa: E402


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The committed vectors directory; paths in the manifest are relative to it."""
    return REPO_ROOT / "vectors"


@pytest.fixture(scope="session")
def manifest(vectors_dir: Path) -> dict[str, Any]:
    """vectors/manifest.json, parsed: PKI files, CRLs, keys and vectors with expected verdicts."""
    return json.loads((vectors_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def responder(vectors_dir: Path) -> Iterator[PKIResponder]:
    """The test PKI's CRL/OCSP/TSA responder on 127.0.0.1:47831, for the whole session.

    The certificates name this exact port, so another free port would not do: if it is taken
    (another test run, a foreground `python -m vectors.testpki.responder`), fail clearly.
    """
    server = PKIResponder(vectors_dir, port=RESPONDER_PORT)
    bind_error: OSError | None = None
    try:
        server.start()
    except OSError as error:
        bind_error = error  # fail outside the except block, without a chained traceback
    if bind_error is not None:
        pytest.fail(
            f"cannot start the test PKI responder on 127.0.0.1:{RESPONDER_PORT} ({bind_error}); "
            "is another test run or `python -m vectors.testpki.responder` using the port?",
            pytrace=False,
        )
    try:
        yield server
    finally:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A selection that collects no tests (exit code 5) is not a failure of the suite."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
