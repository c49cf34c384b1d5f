"""docs/forensics.ipynb, executed by a real Jupyter kernel (nbclient + ipykernel), and the
promise behind it: every sigmail call works inside a running event loop.

The notebook verifies online vectors: it uses the test PKI responder this session runs (the
``responder`` fixture), and would start one itself if none were listening.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "forensics.ipynb"
TRUST = ROOT / "vectors" / "pki" / "certs" / "root-official.pem"


def _outputs(cell) -> tuple[str, str, set[str]]:
    """(text/html, stdout and text/plain, output MIME types) of one executed cell."""
    html, text, kinds = [], [], set()
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            text.append(out["text"])
            kinds.add(f"stream:{out['name']}")
        for kind, value in out.get("data", {}).items():
            kinds.add(kind)
            if kind == "text/html":
                html.append(value if isinstance(value, str) else "".join(value))
            elif kind == "text/plain":
                text.append(value if isinstance(value, str) else "".join(value))
    return "".join(html), "".join(text), kinds


def test_notebook_is_committed_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.get("id")


def test_notebook_runs_in_a_real_kernel_and_shows_the_verdicts(responder, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=False,  # any cell error fails the test (CellExecutionError)
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    nbformat.write(nb, tmp_path / "forensics.executed.ipynb")  # for a look when it fails

    seen_tags = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        html, text, kinds = _outputs(cell)
        assert "error" not in {o["output_type"] for o in cell.outputs}, cell.get("id")
        assert "<script" not in html.lower()
        for tag in cell.metadata.get("tags", []):
            seen_tags.add(tag)
            if tag.startswith("verdict:"):
                expected = tag.split(":", 1)[1]
                # the rich display: the badge of the expected verdict, chains and timelines
                assert f'class="sigmail-badge" data-verdict="{expected}"' in html, cell.id
                assert 'class="sigmail-timeline"' in html, cell.id
            elif tag == "event-loop":
                assert "inside a running event loop: True; verdict: official" in text
            elif tag == "signature":
                assert 'class="sigmail-signature"' in html and 'class="sigmail-coverage"' in html
            elif tag == "table":
                assert "0 differ from the manifest" in text and "<table" in html
            elif tag == "plot":
                assert "image/png" in kinds
            elif tag == "register":
                assert "official" in html and "invalid" in html
            elif tag == "evidence":
                assert "identical verdict JSON: True" in text
                assert "replayed offline: official" in text
    assert {"event-loop", "signature", "table", "plot", "register", "evidence"} <= seen_tags
    pdfs = [c for c in nb.cells if c.get("id") in ("pdf", "attacked")]
    assert 'class="sigmail-coverage"' in _outputs(pdfs[0])[0]  # the person → agency PDF
    assert "page_content_modified" in _outputs(pdfs[1])[0]  # the attacked one says why


def test_every_call_works_inside_a_running_event_loop(responder, tmp_path):
    """What a notebook cell does: sigmail called while an asyncio loop is running."""
    from sigmail import OnlineRevocation, TrustStore, Verifier
    from sigmail.evidence import replay, verify_with_evidence

    data = (ROOT / "vectors" / "cms" / "vn-person-then-agency.p7m").read_bytes()
    at = datetime(2026, 6, 1, tzinfo=UTC)

    async def cell():
        assert asyncio.get_running_loop().is_running()
        verifier = Verifier(
            trust=TrustStore.load(official=[TRUST]),
            policy="vn-gov",
            revocation=OnlineRevocation(timeout=2.0, allow_networks=["127.0.0.1/32"]),
            strict=True,
        )
        verdict = verifier.verify(data, at=at, name="vn-person-then-agency.p7m")
        html = verdict._repr_html_()
        again, bundle = verify_with_evidence(verifier, data, at=at, name="x.p7m")
        replayed = replay(bundle.to_bytes(), strict=True)
        return verdict, html, again, replayed

    verdict, html, again, replayed = asyncio.run(cell())
    assert verdict.verdict.value == "official"
    assert 'data-verdict="official"' in html
    assert again.verdict.value == "official" and replayed.identical


def test_import_and_plain_verify_do_not_load_the_notebook_or_evidence_stack():
    """pandas, nbformat, matplotlib and sigmail.evidence/notebook are loaded only when used."""
    code = """
import json, sys
import sigmail
from sigmail.cli import main
rc = main(["verify", "--json", "--offline", "--trust", sys.argv[1], "--at",
           "2026-06-01T00:00:00Z", sys.argv[2]])
heavy = ["pandas", "matplotlib", "nbformat", "nbclient", "IPython", "sigmail.notebook",
         "sigmail.evidence"]
print(json.dumps({"rc": rc, "loaded": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""
    vector = ROOT / "vectors" / "cms" / "vn-official-offline.p7m"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(TRUST), str(vector)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report == {"rc": 0, "loaded": []}, proc.stderr
