"""The front-ends treat an OpenDocument file as they treat the other formats: the audit register
(a row per .odt and per .ods annex, format ``odf``, its signers — macro signatures among them,
kind ``odf_macro``), the evidence bundle (the XAdES timestamp tokens copied out, the replay
deciding the same verdict offline) and the notebook display (the streams each signature
covers, the macro signature apart)."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from test_odf_package import AT, _message, online, vector

from sigmail.audit.register import read_rows
from sigmail.cli import main
from sigmail.evidence import replay, verify_with_evidence

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]


@pytest.fixture(scope="module")
def register(tmp_path_factory, responder) -> Path:
    root = tmp_path_factory.mktemp("odf-archive")
    folder = root / "docs"
    folder.mkdir()
    for name in ("odf-odt-person-agency.odt", "odf-odt-macro-only.odt", "odf-odt-tampered.odt"):
        shutil.copyfile(VECTORS / "odf" / name, folder / name)
    maildir = root / "inbox"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1780000001.M1P1.sigmail-test").write_bytes(
        _message(vector("odf-ods-agency"))
    )
    out = root / "register.sqlite"
    argv = ["audit", str(folder), str(maildir), "--register", str(out), "--at", AT.isoformat()]
    argv += [*TRUST, "--policy", "vn-gov", "--strict", "--no-progress"]
    assert main([*argv, "--fetch-allow", "127.0.0.1/32"]) == 0
    return out


def test_the_register_has_a_row_per_opendocument_file_and_annex(register):
    rows = {(r["name"], r["part"]): r for r in read_rows(register)}
    odt = rows[("odf-odt-person-agency.odt", "")]
    assert odt["format"] == "odf" and odt["kind"] == "document"
    signers = json.loads(odt["signers"])
    assert [(s["kind"], s["role"]) for s in signers] == [("odf", "person"), ("odf", "agency")]
    # Side by side, neither signature contains the other: vn-gov cannot see the order (C8).
    assert odt["verdict"] == "not_official"
    assert json.loads(odt["reasons"]) == ["signing_order_unproven"]
    tampered = rows[("odf-odt-tampered.odt", "")]
    assert tampered["verdict"] == "invalid" and "digest_mismatch" in json.loads(tampered["reasons"])
    macro = rows[("odf-odt-macro-only.odt", "")]
    assert macro["verdict"] == "unsigned"
    assert [s["kind"] for s in json.loads(macro["signers"])] == ["odf_macro"]
    (annex,) = [r for (name, part), r in rows.items() if part.endswith("phu-luc.ods")]
    assert annex["format"] == "odf" and annex["kind"] == "document"
    assert annex["verdict"] == "official"
    assert [s["role"] for s in json.loads(annex["signers"])] == ["agency"]
    (message,) = [r for r in rows.values() if r["kind"] == "message"]
    assert "attachment_not_agency_signed" not in json.loads(message["reasons"])


def test_the_notebook_frame_shows_the_odf_rows(register):
    pytest.importorskip("pandas")
    from sigmail.notebook import register_frame

    frame = register_frame(register)
    odf_rows = frame[frame["format"] == "odf"]
    assert len(odf_rows) == 4
    assert set(odf_rows["verdict"]) == {"official", "not_official", "unsigned", "invalid"}


def test_the_evidence_bundle_keeps_the_xades_timestamps_and_replays_offline(responder, monkeypatch):
    verdict, bundle = verify_with_evidence(
        online(), vector("odf-odt-xades-t"), at=AT, name="odf-odt-xades-t.odt"
    )
    assert verdict.verdict.value == "official"
    stamps = bundle.manifest["timestamps"]
    assert [s["where"] for s in stamps] == [
        "META-INF/documentsignatures.xml signature 0",
        "META-INF/documentsignatures.xml signature 1",
    ]
    assert [s["gen_time"] for s in stamps] == ["2026-05-20T03:02:00Z", "2026-05-20T04:02:00Z"]

    def refused(*args, **kwargs):
        raise OSError("the replay must not use the network")

    monkeypatch.setattr(socket, "create_connection", refused)
    monkeypatch.setattr(socket.socket, "connect", refused)
    again = replay(bundle.to_bytes(), strict=True)
    assert again.identical and not again.unanswered


def test_the_notebook_display_names_the_streams_and_the_macro_signature_apart(responder):
    verdict = online().verify(vector("odf-odt-macros-signed"), at=AT, name="qd <b>.odt")
    page = verdict._repr_html_()
    assert "qd &lt;b&gt;.odt" in page and "<b>.odt" not in page
    assert "odf_macro" in page and "macro signature 0" in page
    assert "covers: " in page and "META-INF/macrosignatures.xml" in page
    fragment = verdict.signatures[0]._repr_html_()
    assert "content.xml" in fragment and "Thumbnails/thumbnail.png" in fragment
