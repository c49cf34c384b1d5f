"""The ``sigmail verify`` contract: JSON keys, exit codes, stdin, detached content, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sigmail.cli import main

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]
# The test PKI responder is on the loopback, which fetching refuses unless allowed.
AT = ["--at", "2026-06-01T00:00:00Z", "--policy", "basic", "--fetch-allow", "127.0.0.1/32"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("vector", "mode", "verdict", "code"),
    [
        ("embedded-revocation.p7m", "--offline", "official", 0),
        ("public-ca-signer.p7m", "online", "not_official", 1),
        ("no-signerinfos.p7m", "--offline", "unsigned", 2),
        ("tampered-econtent.p7m", "online", "invalid", 3),
        ("person-official.p7m", "--offline", "indeterminate", 4),
    ],
)
def test_exit_code_and_json_per_verdict(capsys, responder, vector, mode, verdict, code):
    extra = [mode] if mode != "online" else []
    rc, out, _ = run(capsys, "verify", "--json", *TRUST, *AT, *extra, str(VECTORS / "cms" / vector))
    doc = json.loads(out)
    assert rc == code
    assert doc["verdict"] == verdict
    assert {"schema", "verdict", "reasons", "signatures", "documents"} <= set(doc)
    assert doc["schema"] == "sigmail.verdict/1"
    assert doc["name"] == vector


def test_detached_signature_takes_the_sibling_file_or_content(capsys, responder, tmp_path):
    p7s = VECTORS / "cms/person-detached.p7s"
    rc, out, _ = run(
        capsys,
        "verify",
        "--json",
        *TRUST,
        *AT,
        str(p7s),
        "--content",
        str(VECTORS / "cms/document.txt"),
    )
    assert rc == 0, out
    # no --content: the file beside it, named without .p7s
    (tmp_path / "document.txt").write_bytes((VECTORS / "cms/document.txt").read_bytes())
    (tmp_path / "document.txt.p7s").write_bytes(p7s.read_bytes())
    rc, out, _ = run(capsys, "verify", "--json", *TRUST, *AT, str(tmp_path / "document.txt.p7s"))
    assert rc == 0, out
    # neither: the verdict says what is missing
    rc, out, _ = run(capsys, "verify", "--json", *TRUST, *AT, "--offline", str(p7s))
    assert rc == 4 and "detached_content_missing" in json.loads(out)["reasons"]


def test_several_files_give_a_list_and_the_most_severe_exit_code(capsys, responder):
    files = [
        str(VECTORS / "cms" / n)
        for n in ("person-official.p7m", "bad-signature-value.p7m", "revoked-no-tst.p7m")
    ]
    rc, out, _ = run(capsys, "verify", "--json", *TRUST, *AT, *files)
    docs = json.loads(out)
    assert [d["verdict"] for d in docs] == ["official", "invalid", "indeterminate"]
    assert "signature_invalid" in docs[1]["reasons"] and "revoked_no_poe" in docs[2]["reasons"]
    assert rc == 3  # invalid outranks indeterminate


def test_text_output_in_both_languages(capsys):
    path = str(VECTORS / "cms/embedded-revocation.p7m")
    rc, vi, _ = run(capsys, "verify", *TRUST, *AT, "--offline", path)
    assert rc == 0 and "HỢP LỆ" in vi and "Nguyễn Văn An" in vi and "Vào sổ văn bản đến" in vi
    rc, en, _ = run(capsys, "verify", *TRUST, *AT, "--offline", "--lang", "en", path)
    assert rc == 0 and "OFFICIALLY VALID" in en and "Register it as received" in en


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],  # no file
        ["verify", "--at", "yesterday", "x.p7m"],
        ["verify", "--at", "2026-06-01T00:00:00", "x.p7m"],  # no offset: refused, not guessed
        ["verify", "--lang", "fr", "x.p7m"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_64(capsys, args):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 64


def test_configuration_errors_exit_64_with_a_message(capsys, tmp_path):
    rc, _, err = run(capsys, "verify", "--trust", str(tmp_path / "missing.pem"), "x.p7m")
    assert rc == 64 and "missing.pem" in err
    bad = tmp_path / "policy.toml"
    bad.write_text("[policy]\nname = 1\n")
    rc, _, err = run(capsys, "verify", *TRUST, "--policy", str(bad), "x.p7m")
    assert rc == 64 and "policy.toml:2" in err
    rc, _, err = run(capsys, "verify", *TRUST, str(tmp_path / "nope.p7m"))
    assert rc == 64 and "nope.p7m" in err


def test_stdin_and_the_installed_command(responder):
    """A real process: the console script reads stdin and keeps the exit-code contract."""
    data = (VECTORS / "cms/embedded-revocation.p7m").read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "sigmail", "verify", "--json", "--offline", *TRUST, *AT, "-"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "official"
    assert proc.stderr == b""


def test_garbage_is_a_verdict_not_a_traceback(capsys, tmp_path):
    junk = tmp_path / "junk.p7m"
    junk.write_bytes(b"\x30\x82\xff\xff" + b"\x00" * 50)
    rc, out, err = run(capsys, "verify", "--json", *TRUST, *AT, "--offline", str(junk))
    assert rc == 3 and json.loads(out)["reasons"] == ["malformed"]
    assert "Traceback" not in err


def test_reasons_command_lists_every_code(capsys):
    from sigmail.verdict.reasons import REASONS

    rc, out, _ = run(capsys, "reasons", "--json")
    assert rc == 0
    assert {row["code"] for row in json.loads(out)} == set(REASONS)
