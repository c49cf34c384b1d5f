"""Rough edges of the command line and the notebook helpers (issue 11, item 9; issue 10,
item 10's CLI part), each on the real command."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sigmail.cli import main
from sigmail.cli.trust_dir import _slug

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
OFFICIAL = ["--trust", str(VECTORS / "pki/certs/root-official.pem")]
AT = ["--at", "2026-06-01T00:00:00Z"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- usage -------------------------------------------------------------------------------------


def test_an_unknown_option_under_verify_prints_the_verify_usage(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--no-such-option", str(VECTORS / "cms/garbage.p7m")])
    assert stop.value.code == 64
    err = capsys.readouterr().err
    assert err.startswith("usage: sigmail verify ")
    assert "sigmail verify: error: unrecognized arguments: --no-such-option" in err
    with pytest.raises(SystemExit):
        main(["trust", "add", "--no-such-option", "x.pem"])
    assert capsys.readouterr().err.startswith("usage: sigmail trust add ")


def test_one_missing_file_among_several_is_reported_and_the_others_verified(capsys, tmp_path):
    files = [
        str(VECTORS / "cms/vn-official-offline.p7m"),
        str(tmp_path / "missing.p7m"),
        str(VECTORS / "cms/garbage.p7m"),
    ]
    rc, out, err = run(capsys, "verify", "--json", "--offline", *OFFICIAL, *AT, *files)
    assert rc == 64  # a FILE that cannot be read is a usage error, after the others
    assert f"{tmp_path / 'missing.p7m'}: No such file or directory" in err
    verdicts = json.loads(out)
    assert [(v["name"], v["verdict"]) for v in verdicts] == [
        ("vn-official-offline.p7m", "official"),
        ("garbage.p7m", "invalid"),
    ]
    rc, out, err = run(capsys, "verify", "--offline", *OFFICIAL, *AT, *files)
    assert rc == 64 and out.count(": ") >= 2 and "garbage.p7m: KHÔNG HỢP LỆ" in out
    # Alone, it is the usage error it always was, with nothing on stdout.
    rc, out, err = run(capsys, "verify", "--offline", *OFFICIAL, *AT, files[1])
    assert (rc, out) == (64, "") and err.count("\n") == 1


# -- an internal error is one line -------------------------------------------------------------


def _recurse(data):
    return _recurse(data)


def _recursing_handler(kind):
    # A real RecursionError, as a fuzzed input once caused. The recursion is through a function
    # with neither defaults nor **kwargs: CPython 3.13 does not bound recursion through those
    # (python/cpython#132744), and the test would take all the machine's memory.
    def handler(data, **_kwargs):
        return _recurse(data)

    return handler


def test_an_internal_error_is_one_line_unless_asked_for_the_traceback(
    capsys, monkeypatch, tmp_path
):
    # A fault injected into the one function that picks a format handler: the bug's stand-in.
    monkeypatch.setattr("sigmail.verifier.handler_for", _recursing_handler)
    vector = str(VECTORS / "cms/vn-official-offline.p7m")
    args = ["verify", "--offline", *OFFICIAL, *AT, "--lang", "en", vector]
    rc, out, err = run(capsys, *args)
    assert rc == 4 and "[internal_error" in out
    assert err.count("\n") == 1, err
    assert err.startswith("sigmail: sigmail internal error on vn-official-offline.p7m: ")
    assert "RecursionError" in err and "Traceback" not in err

    rc, out, err = run(capsys, *args, "--verbose")
    assert rc == 4 and "Traceback (most recent call last)" in err
    monkeypatch.setenv("SIGMAIL_DEBUG", "1")
    rc, out, err = run(capsys, *args)
    assert "Traceback (most recent call last)" in err
    monkeypatch.delenv("SIGMAIL_DEBUG")
    # The logger is left as it was found (main is called in-process).
    import logging

    assert logging.getLogger("sigmail").handlers == []


def test_the_installed_command_prints_no_traceback_for_an_internal_error(tmp_path):
    """The same through ``python -m sigmail``: the fault comes from a sitecustomize."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sigmail.verifier as v\n"
        "def recurse(data):\n"
        "    return recurse(data)\n"
        "def handler_for(kind):\n"
        "    def h(data, **kw):\n"
        "        return recurse(data)\n"
        "    return h\n"
        "v.handler_for = handler_for\n",
        encoding="utf-8",
    )
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    vector = str(VECTORS / "cms/vn-official-offline.p7m")
    done = subprocess.run(
        [sys.executable, "-m", "sigmail", "verify", "--offline", *OFFICIAL, *AT, vector],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.count("\n") == 1 and "RecursionError" in done.stderr


# -- sigmail trust add keeps readable names ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Ban Cơ yếu Chính phủ", "Ban-Co-yeu-Chinh-phu"),
        ("VGCA CA phục vụ các cơ quan Đảng G2", "VGCA-CA-phuc-vu-cac-co-quan-Dang-G2"),
        ("SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "SO-THONG-TIN-VA-TRUYEN-THONG"),
        ("đường Đồng Khởi", "duong-Dong-Khoi"),
        ("Vietnam National Root CA (NEAC)", "Vietnam-National-Root-CA-NEAC"),
        ("日本", "ca"),
    ],
)
def test_file_names_are_transliterated_not_dropped(name, slug):
    assert _slug(name) == slug


def test_trust_add_names_the_file_after_the_certificate(capsys, tmp_path):
    rc, out, _ = run(
        capsys,
        "trust",
        "add",
        "--trust-dir",
        str(tmp_path),
        "--allow-unpinned",
        "--class",
        "intermediate",
        str(VECTORS / "pki/certs/agency-stttt.pem"),
    )
    assert rc == 0, out
    (installed,) = (tmp_path / "intermediates").iterdir()
    assert installed.name.endswith("-SO-THONG-TIN-VA-TRUYEN-THONG.pem")


# -- the register in pandas, Parquet too; Dask without a scheduler -----------------------------


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("vn-official-offline.p7m", "garbage.p7m", "person-official.p7m"):
        shutil.copyfile(VECTORS / "cms" / name, folder / name)
    return folder


def _audit(folder: Path, register: Path, *extra: str) -> int:
    return main(
        [
            "audit",
            str(folder),
            "--register",
            str(register),
            "--offline",
            *OFFICIAL,
            *AT,
            "--no-progress",
            *extra,
        ]
    )


def test_register_frame_reads_a_parquet_register(tmp_path, capsys):
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from sigmail.notebook import register_frame

    folder = _folder(tmp_path)
    assert _audit(folder, tmp_path / "r.sqlite", "--workers", "1") == 0
    assert _audit(folder, tmp_path / "r.parquet", "--workers", "1", "--format", "parquet") == 0
    capsys.readouterr()
    lite, parquet = register_frame(tmp_path / "r.sqlite"), register_frame(tmp_path / "r.parquet")
    assert list(parquet.columns) == list(lite.columns)
    key = ["source", "item_sha256", "part"]
    lite, parquet = lite.sort_values(key), parquet.sort_values(key)
    assert list(parquet["verdict"]) == list(lite["verdict"])
    assert str(parquet["verdict"].dtype) == "category"
    assert list(parquet["reasons"]) == list(lite["reasons"])
    assert [len(s) for s in parquet["signers"]] == [len(s) for s in lite["signers"]]
    with pytest.raises(Exception, match="only the table entries"):
        register_frame(tmp_path / "r.parquet", table="register_meta")


def test_register_frame_refuses_what_is_not_a_register(tmp_path):
    pytest.importorskip("pandas")
    from sigmail.errors import UsageError
    from sigmail.notebook import register_frame

    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1 but not parquet")
    with pytest.raises(UsageError, match="not a sigmail register"):
        register_frame(fake)


def test_dask_engine_without_a_scheduler_starts_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    folder = _folder(tmp_path)
    assert _audit(folder, tmp_path / "local.sqlite", "--workers", "1") == 0
    capsys.readouterr()
    rc = _audit(folder, tmp_path / "dask.sqlite", "--engine", "dask", "--workers", "1", "--json")
    out = capsys.readouterr().out
    assert rc == 0, out
    summary = json.loads(out)
    assert summary["engine"] == "dask" and summary["items"] == 3

    def verdicts(path):
        with sqlite3.connect(path) as db:
            return db.execute(
                "SELECT source, part, verdict, reasons FROM entries ORDER BY id"
            ).fetchall()

    assert verdicts(tmp_path / "dask.sqlite") == verdicts(tmp_path / "local.sqlite")


def test_audit_workers_log_an_internal_error_in_one_line(tmp_path):
    """Worker processes (a fork server, not forks of the command) log as the command does."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sigmail.verifier as v\n"
        "def handler_for(kind):\n"
        "    def h(data, **kw):\n"
        "        raise RuntimeError('injected fault')\n"
        "    return h\n"
        "v.handler_for = handler_for\n",
        encoding="utf-8",
    )
    folder = _folder(tmp_path)
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    args = ["audit", str(folder), "--register", str(tmp_path / "r.sqlite"), "--offline"]
    args += [*OFFICIAL, *AT, "--no-progress", "--workers", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "sigmail", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert len([line for line in lines if "RuntimeError: injected fault" in line]) == 3, lines


def test_one_bad_bundle_among_several_is_reported_and_the_others_replayed(capsys, tmp_path):
    bundle = tmp_path / "b.zip"
    vector = str(VECTORS / "cms/vn-official-offline.p7m")
    args = ["verify", "--offline", *OFFICIAL, *AT, "--evidence", str(bundle), vector]
    assert run(capsys, *args)[0] == 0
    (tmp_path / "not-a-bundle.zip").write_bytes(b"PK\x03\x04 not a zip")
    files = [str(tmp_path / "missing.zip"), str(bundle), str(tmp_path / "not-a-bundle.zip")]
    rc, out, err = run(capsys, "verify", "--json", "--replay", *files)
    assert rc == 64
    assert json.loads(out)["verdict"] == "official"  # the one good bundle, replayed
    assert err.count("\n") == 2 and "missing.zip" in err and "not-a-bundle.zip" in err
