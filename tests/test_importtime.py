"""What a command imports: only what its input needs (issue 15, the cold start).

Each test runs ``python -X importtime -m sigmail …`` in a new process and reads the module
names it imported; it fails when a module the input does not need was imported. No timing is
asserted: the figures are bench/bench_cold.py's.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VECTORS = REPO / "vectors"
ROOT_PEM = VECTORS / "pki/certs/root-official.pem"
AT = "2026-06-01T00:00:00Z"

# Front-ends and the other formats' code: a .p7m needs none of them.
NOT_FOR_A_P7M = (
    "sigmail.pdf",
    "sigmail.formats.pdf",
    "sigmail.smime",
    "sigmail.formats.email",
    "sigmail.milter",
    "sigmail.audit",
    "sigmail.notebook",
    "sigmail.service",
    "sigmail.evidence",
    "sigmail.xmldsig",
    "sigmail.formats.xml",
    "sigmail.ooxml",
    "sigmail.formats.ooxml",
    "sigmail.odf",
    "sigmail.formats.odf",
    "sigmail.verdict.html",
    "sigmail.verdict.svg",
    "sigmail.verdict.auth_results",
    "sigmail.revocation.online",
    "sigmail.revocation.transport",
    "sigmail.cli.audit_cmd",
    "sigmail.cli.milter_cmd",
    "sigmail.cli.serve_cmd",
    "sigmail.cli.trust_cmd",
    "sigmail.cli.reasons_cmd",
    "email",
    "lxml",
    "signxml",
    "pyhanko",  # the PDF library (pyhanko_certvalidator is another package)
    "pandas",
    "sqlite3",
    "urllib3",
    "dask",
    "uvicorn",
    "starlette",
    "httpx",
)
# What only chain validation needs.
CHAIN_VALIDATION = ("pyhanko_certvalidator", "asyncio", "sigmail.trust.chain")


# ``python -m sigmail`` with sys.modules written out at exit: -X importtime does not report a
# module that importlib.import_module loads (the CLI's commands, the format handlers), only
# what that module imports in turn.
_RUN = """
import runpy, sys
out, sys.argv = sys.argv[1], ["sigmail", *sys.argv[2:]]
try:
    runpy.run_module("sigmail", run_name="__main__", alter_sys=True)
finally:
    with open(out, "w") as f:
        f.write("\\n".join(sys.modules))
"""


@functools.cache
def startup_modules() -> frozenset[str]:
    """What this interpreter has imported before any code runs: site's .pth files may import
    certifi, typing and more (a sandbox's CA hook does); sigmail is not to blame for those."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return frozenset(proc.stdout.split())


def imported(*argv: str, cwd: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules ``python -X importtime -m sigmail ARGV`` imports (and its result), less
    what the interpreter imports at startup in this environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGMAIL_")}
    env["SIGMAIL_TRUST_DIR"] = str(cwd / "no-trust-dir")
    modules = cwd / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _RUN, str(modules), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    names = set(modules.read_text().split("\n"))
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "sigmail.cli" in names, proc.stderr[-2000:]
    return names - startup_modules(), proc


# Run on its own (trust/certificates.py) for its OID registrations: not the package.
ALLOWED = {"pyhanko_certvalidator.asn1_types"}


def offenders(names: set[str], forbidden) -> list[str]:
    return sorted(
        n
        for n in names - ALLOWED
        if any(n == f or n.startswith(f if f.endswith(".") else f + ".") for f in forbidden)
    )


def verify_argv(path: Path) -> list[str]:
    return ["verify", "--offline", "--policy", "basic", "--trust", str(ROOT_PEM), "--at", AT]


def test_p7m_imports_only_the_cms_path(tmp_path):
    path = VECTORS / "cms/person-official.p7m"
    names, proc = imported(*verify_argv(path), str(path), cwd=tmp_path)
    # No revocation evidence offline: indeterminate, after the chain was validated.
    assert proc.returncode == 4, proc.stdout + proc.stderr[-2000:]
    assert "revocation_unavailable" in proc.stdout or "CRL/OCSP" in proc.stdout
    assert offenders(names, NOT_FOR_A_P7M) == []
    assert {"sigmail.cms.verify", "sigmail.trust.chain", "pyhanko_certvalidator"} <= names


@pytest.mark.parametrize(
    ("vector", "reads_xml"),
    [("pdf-person-then-agency.pdf", False), ("pdf-metadata-xmp.pdf", True)],
)
def test_the_xml_reader_is_imported_for_a_pdf_only_to_read_its_metadata(
    tmp_path, vector, reads_xml
):
    """Comparing a PDF's revisions reads XML only when a revision changed its /Metadata."""
    path = VECTORS / "pdf" / vector
    names, proc = imported(*verify_argv(path), str(path), cwd=tmp_path)
    assert proc.returncode in (0, 1, 2, 3, 4), proc.stderr[-2000:]
    assert "sigmail.pdf.diff.analysis" in names  # the revisions were compared
    xml = offenders(names, ("lxml", "sigmail.xmldsig"))
    assert bool(xml) == reads_xml, xml


@pytest.mark.parametrize(
    "content",
    [b"just some text, no signature\n", b"\x30\x82\x01\x00garbage that is not DER"],
    ids=["text", "broken-der"],
)
def test_no_chain_validator_when_no_chain_is_validated(tmp_path, content):
    path = tmp_path / "input.p7m"
    path.write_bytes(content)
    names, proc = imported(*verify_argv(path), str(path), cwd=tmp_path)
    assert proc.returncode in (2, 3, 4), proc.stderr[-2000:]
    assert offenders(names, (*NOT_FOR_A_P7M, *CHAIN_VALIDATION)) == []


def test_help_imports_no_command(tmp_path):
    names, proc = imported("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "verify" in proc.stdout
    from sigmail.cli import COMMANDS

    commands = {f"sigmail.cli.{module}" for module, _help in COMMANDS.values()}
    assert offenders(names, ("sigmail.verifier", "sigmail.verdict", *commands)) == []
    assert offenders(names, ("sigmail.cli.options", "sigmail.cli.render")) == []
    assert offenders(names, ("logging", "typing", "asn1crypto", "cryptography")) == []
    assert offenders(names, ("shutil",)) == []  # the width is read without it
    assert "sigmail command line" in proc.stdout  # the description, without its ``quotes``


def test_verify_help_does_not_import_the_verifier(tmp_path):
    names, proc = imported("verify", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "--offline" in proc.stdout
    assert "sigmail.cli.verify_cmd" in names
    assert offenders(names, ("sigmail.verifier", "sigmail.verdict", "asn1crypto")) == []


def test_command_table_matches_the_commands():
    """``sigmail --help`` lists the commands from sigmail.cli.COMMANDS without importing them:
    each line there must be the help its module gives, in the same order."""
    from sigmail.cli import COMMANDS, build_parser

    full = build_parser()
    lazy = build_parser(["--help"])
    for parser in (full, lazy):
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(sub.choices) == list(COMMANDS)
        assert [(a.dest, a.help) for a in sub._choices_actions] == [
            (name, help_line) for name, (_module, help_line) in COMMANDS.items()
        ]
    assert full.format_help() == lazy.format_help()


def test_certvalidator_oids_registered_without_its_package(tmp_path):
    """The OID registrations (trust/certificates.py) do not run pyhanko_certvalidator's
    ``__init__``; when the package is imported later, it uses that very module."""
    code = (
        "import sys\n"
        "import sigmail.trust.certificates\n"
        "from asn1crypto import x509\n"
        "assert 'pyhanko_certvalidator' not in sys.modules\n"
        "module = sys.modules['pyhanko_certvalidator.asn1_types']\n"
        "assert x509.Extension._oid_specs['aa_controls'] is module.AAControls\n"
        "import pyhanko_certvalidator.validate as validate\n"
        "assert validate.AAControls is module.AAControls\n"
        "import pyhanko_certvalidator.asn1_types as again\n"
        "assert again is module\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_certvalidator_imported_first_is_used_as_it_is():
    code = (
        "import sys, pyhanko_certvalidator\n"
        "import sigmail.trust.certificates\n"
        "from asn1crypto import x509\n"
        "from pyhanko_certvalidator import asn1_types, validate\n"
        "assert x509.Extension._oid_specs['aa_controls'] is asn1_types.AAControls\n"
        "assert validate.AAControls is asn1_types.AAControls\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("columns", [None, "50", "200", "x", "0"])
def test_help_is_as_wide_as_shutil_says(monkeypatch, columns):
    """sigmail's help formatter sizes itself as argparse's does (shutil.get_terminal_size)."""
    import shutil

    from sigmail.cli import _columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _columns() == shutil.get_terminal_size().columns
