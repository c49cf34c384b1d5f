"""Whole-process figures (issue 15): sigmail as a new process each time, beside its peers.

    python bench/bench_cold.py [--runs N] [--only ROW ...] [--json OUT]

Run it inside a private network namespace (the test PKI responder listens on
127.0.0.1:47831): ``tools/netns-run python bench/bench_cold.py``. It uses the ``sigmail``
next to the running interpreter (a non-editable install measures what users run) and says
whether sigmail's modules were read from compiled bytecode.

Rows (each a median over N new processes; the runs of a row are interleaved, sigmail and its
peer one after the other, so both see the same load):

* ``p7m`` — ``sigmail verify --offline`` of vectors/cms/person-official.p7m (revocation from a
  filled cache directory, policy ``basic``), beside ``openssl cms -verify -crl_check`` on the
  same file and the floors that bound it: the interpreter (``python -S -c pass``,
  ``python -c pass``), the imports a chain validation cannot do without (asn1crypto,
  cryptography, pyhanko-certvalidator with asyncio, dataclasses, logging, tomllib), and
  sigmail's own imports for a .p7m without verifying anything;
* ``help`` — ``sigmail --help``, beside the imports argparse needs to print a help;
* ``mail`` — a 10 MB multipart/signed message (vectors.testpki.smime_vectors.signed_message,
  a 7.3 MiB attachment) with CRL checking: ``sigmail verify --offline`` with a filled cache
  against ``openssl cms -verify -crl_check`` with the same CRLs in its store;
* ``pdf`` — a 1 MB PDF signed by the person and then the agency (as the vector
  pdf-person-then-agency, plus a 1 MB scan), revocation checked: ``sigmail verify --offline``
  with a filled cache against ``pyhanko sign validate`` (pyhanko-cli; it fetches CRLs/OCSP from
  the test responder, as its CLI takes no CRL file). pyHanko's CLI validates at the current
  time (given a validation time it checks no revocation), so both run with the clock set to
  the vectors' validation time by libfaketime (``apt-get install faketime``).

Wall time and CPU time (user + system of the child) are printed; on a shared machine the CPU
figure is the one to compare, and the load average is printed with them. No timing is
asserted anywhere in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vectors.testpki.responder import PKIResponder  # noqa: E402

VECTORS = REPO / "vectors"
AT = datetime(2026, 6, 1, tzinfo=UTC)
ROOT_PEM = VECTORS / "pki/certs/root-official.pem"
CA_PEM = VECTORS / "pki/certs/ca-official.pem"
CRLS = [VECTORS / "pki/crl/root-official.crl", VECTORS / "pki/crl/ca-official.crl"]
P7M = VECTORS / "cms/person-official.p7m"
MAIL_ATTACHMENT = 7_650_000  # bytes: base64 makes the message ~10.3 MB
SCAN = 1_000_000
# What a chain validation imports whatever sigmail does (the floor of row p7m).
FLOOR_IMPORTS = (
    "import asn1crypto.cms, asn1crypto.crl, asn1crypto.ocsp, asn1crypto.tsp, dataclasses, "
    "logging, tomllib, argparse, json, pathlib; "
    "import cryptography.hazmat.primitives.serialization, cryptography.hazmat.primitives.hashes; "
    "import pyhanko_certvalidator.validate"
)
# Every module ``sigmail verify`` of a .p7m imports, without verifying (its imports' share).
SIGMAIL_IMPORTS = (
    "import sigmail.cli.verify_cmd, sigmail.cli.render, sigmail.cli.trust_dir, sigmail.verifier, "
    "sigmail.formats.cms_file, sigmail.revocation.factory, sigmail.revocation.offline, "
    "sigmail.trust.chain"
)
TARGETS = {
    "p7m": "≤ 80 ms",
    "help": "≤ 25 ms",
    "mail": "≤ 0.6× openssl",
    "pdf": "≤ 0.3× pyhanko",
}


def _sigmail() -> list[str]:
    exe = Path(sys.executable).with_name("sigmail")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sigmail")
    return [found] if found else [sys.executable, "-m", "sigmail"]


# Run from "/", so that the installed sigmail is the one looked at (bench/ holds no sigmail).
_BYTECODE_PROBE = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import bytecode, sigmail
print(bytecode.state(sigmail))
"""


def bytecode_state() -> str:
    """Whether the children read sigmail's own modules from compiled bytecode."""
    proc = subprocess.run(
        [sys.executable, "-c", _BYTECODE_PROBE], capture_output=True, text=True, cwd="/"
    )
    return proc.stdout.strip() or proc.stderr.strip()[-200:]


def _once(cmd: list[str], expect: int | None, env=None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd "/": "python -c" must import the installed sigmail, not a source tree it runs in
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd="/")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if expect is not None and proc.returncode != expect:
        raise RuntimeError(
            f"{' '.join(cmd[:3])}… exited {proc.returncode}: "
            f"{(proc.stdout + proc.stderr).decode(errors='replace')[-600:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(commands: dict[str, tuple[list[str], int | None]], runs: int) -> dict:
    """{label: {wall, cpu}} medians, the commands interleaved run by run (one warm-up each)."""
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for cmd, expect in commands.values():
        _once(cmd, expect)
    for _ in range(runs):
        for label, (cmd, expect) in commands.items():
            samples[label].append(_once(cmd, expect))
    return {
        label: {
            "wall": statistics.median(s[0] for s in v),
            "cpu": statistics.median(s[1] for s in v),
        }
        for label, v in samples.items()
    }


def _verify_cmd(path: Path, cache: Path, *, at: datetime | None = AT) -> list[str]:
    cmd = [*_sigmail(), "verify", "--offline", "--policy", "basic", "--revocation-cache"]
    cmd += [str(cache), "--trust", str(ROOT_PEM)]
    if at is not None:
        cmd += ["--at", at.isoformat()]
    return [*cmd, str(path)]


def _openssl_cmd(path: Path, store: Path, *, der: bool) -> list[str]:
    cmd = ["openssl", "cms", "-verify", *(["-inform", "DER"] if der else []), "-in", str(path)]
    cmd += ["-CAfile", str(store), "-crl_check", "-attime", str(int(AT.timestamp()))]
    # -binary for a DER .p7m; a MIME message is canonicalised (CRLF) as S/MIME says.
    return [*cmd, "-purpose", "any", *(["-binary"] if der else []), "-out", os.devnull]


def _fill_cache(cache: Path, paths: list[Path], at: datetime) -> None:
    """Verify each input once online (the test responder), as a server's first message would:
    the cache directory then holds what the offline runs read."""
    from sigmail import OnlineRevocation, TrustStore, Verifier

    warmer = Verifier(
        trust=TrustStore.load(official=[ROOT_PEM]),
        policy="basic",
        revocation=OnlineRevocation(
            cache_dir=cache, clock=lambda: at, allow_networks=["127.0.0.1/32"]
        ),
    )
    for path in paths:
        verdict = warmer.verify(path.read_bytes(), at=at, name=path.name)
        assert verdict.verdict.value == "official", (path, verdict.reasons)


def _store(tmp: Path) -> Path:
    store = tmp / "store.pem"
    store.write_bytes(ROOT_PEM.read_bytes())
    for crl in CRLS:
        pem = subprocess.run(
            ["openssl", "crl", "-inform", "DER", "-in", str(crl)], capture_output=True, check=True
        ).stdout
        with store.open("ab") as f:
            f.write(pem)
    return store


def _mail(tmp: Path) -> Path:
    from vectors.testpki.pki import load_pki
    from vectors.testpki.smime_vectors import signed_message

    blob = hashlib.shake_256(b"sigmail bench_cold attachment").digest(MAIL_ATTACHMENT)
    path = tmp / "mail-10mb.eml"
    path.write_bytes(
        signed_message(
            load_pki(VECTORS),
            "person-an",
            attachments=(("application/octet-stream", "phu-luc.zip", blob),),
            label="bench-cold-mail",
        )
    )
    return path


def _pdf(tmp: Path) -> Path:
    from vectors.testpki import pdf_vectors
    from vectors.testpki.pki import KEYS_DIR, build_pki
    from vectors.testpki.spec import load_pki_spec

    pki_spec = load_pki_spec(VECTORS)
    pki = build_pki(pki_spec, VECTORS / KEYS_DIR, create_keys=False)
    crls = {name: pki.build_crl(c) for name, c in pki_spec.crls.items()}
    spec = pdf_vectors.load_spec(VECTORS)
    scan = hashlib.shake_256(b"bench_cold scan").digest(SCAN)
    base = pdf_vectors.letter(spec.lines, spec.document_id, (scan,))
    signed_at = datetime(2026, 5, 20, 3, tzinfo=UTC)
    steps = [
        {"sign": "person-an", "time": signed_at, "field": "NguoiKy"},
        {"sign": "agency-stttt", "time": signed_at.replace(hour=4), "field": "CoQuan"},
    ]
    data, _made = pdf_vectors.apply_steps(pki, crls, base, steps, "bench_cold person+agency")
    path = tmp / "letter-1mb-person-agency.pdf"
    path.write_bytes(data)
    return path


def _pyhanko() -> list[str] | None:
    exe = Path(sys.executable).with_name("pyhanko")
    found = str(exe) if exe.exists() else shutil.which("pyhanko")
    return [found] if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="new processes per command")
    parser.add_argument("--only", nargs="*", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    py = sys.executable
    out: dict[str, dict] = {}
    print(f"# bench_cold: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {bytecode_state()}")
    print(f"# {args.runs} runs per command; sigmail: {' '.join(_sigmail())}")
    with PKIResponder(VECTORS), tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = _store(tmp)
        if "p7m" in args.only:
            cache = tmp / "rev-p7m"
            _fill_cache(cache, [P7M], AT)
            out["p7m"] = measure(
                {
                    "sigmail verify": (_verify_cmd(P7M, cache), 0),
                    "openssl cms -verify -crl_check": (_openssl_cmd(P7M, store, der=True), 0),
                    "floor: python -S -c pass": ([py, "-S", "-c", "pass"], 0),
                    "floor: python -c pass": ([py, "-c", "pass"], 0),
                    "floor: the chain validation's imports": ([py, "-c", FLOOR_IMPORTS], 0),
                    "sigmail's imports for it, no verification": (
                        [py, "-c", SIGMAIL_IMPORTS],
                        0,
                    ),
                },
                args.runs,
            )
            out["p7m"]["load"] = os.getloadavg()[0]
        if "help" in args.only:
            out["help"] = measure(
                {
                    "sigmail --help": ([*_sigmail(), "--help"], 0),
                    # what argparse imports to print a help (terminal width, wrapping)
                    "floor: python -c 'import argparse, shutil, textwrap'": (
                        [py, "-c", "import argparse, shutil, textwrap"],
                        0,
                    ),
                },
                args.runs,
            )
            out["help"]["load"] = os.getloadavg()[0]
        if "mail" in args.only:
            mail = _mail(tmp)
            cache = tmp / "rev-mail"
            _fill_cache(cache, [mail], AT)
            out["mail"] = measure(
                {
                    "sigmail verify": (_verify_cmd(mail, cache), 0),
                    "openssl cms -verify -crl_check": (_openssl_cmd(mail, store, der=False), 0),
                },
                args.runs,
            )
            out["mail"]["load"] = os.getloadavg()[0]
            out["mail"]["size"] = mail.stat().st_size
        if "pdf" in args.only:
            pyhanko, faketime = _pyhanko(), shutil.which("faketime")
            if pyhanko is None or faketime is None:
                print("# pdf: needs the pyhanko CLI (pyhanko-cli) and faketime: skipped")
            else:
                pdf = _pdf(tmp)
                cache = tmp / "rev-pdf"
                _fill_cache(cache, [pdf], AT)
                # pyHanko's CLI validates now (a validation time turns its revocation checking
                # off) and the test PKI's CRLs are valid at AT: both tools run with the clock
                # at AT (libfaketime), pyHanko fetching from the test responder.
                at_clock = [faketime, "-f", f"@{AT:%Y-%m-%d %H:%M:%S}"]
                validate = [*at_clock, *pyhanko, "sign", "validate", "--trust", str(ROOT_PEM)]
                validate += ["--trust-replace", "--other-certs", str(CA_PEM)]
                validate += ["--executive-summary", str(pdf)]
                out["pdf"] = measure(
                    {
                        "sigmail verify": ([*at_clock, *_verify_cmd(pdf, cache, at=None)], 0),
                        "pyhanko sign validate": (validate, 0),
                    },
                    args.runs,
                )
                out["pdf"]["load"] = os.getloadavg()[0]
                out["pdf"]["size"] = pdf.stat().st_size

    ms = 1000.0
    print("\n| row | command | wall (median) | CPU (median) | ratio (CPU) | target | load |")
    print("|---|---|---|---|---|---|---|")
    for row, figures in out.items():
        commands = [k for k in figures if isinstance(figures[k], dict)]
        first = figures[commands[0]]
        for i, label in enumerate(commands):
            f = figures[label]
            ratio = ""
            if i == 1 and row in ("mail", "pdf", "p7m"):
                ratio = f"sigmail {first['cpu'] / f['cpu']:.2f}×"
            if i == 0:
                size = f" ({figures['size'] / 1e6:.1f} MB)" if "size" in figures else ""
                head, target, load = f"{row}{size}", TARGETS[row], f"{figures['load']:.1f}"
            else:
                head = target = load = ""
            print(
                f"| {head} | {label} | {f['wall'] * ms:.1f} ms | {f['cpu'] * ms:.1f} ms "
                f"| {ratio} | {target} | {load} |"
            )
    floors = out.get("p7m", {})
    if "floor: python -c pass" in floors:
        site = floors["floor: python -c pass"]["cpu"] - floors["floor: python -S -c pass"]["cpu"]
        if site > 0.005:
            # An editable install's finder, or a .pth of the system's site-packages that
            # imports something (a venv with --system-site-packages inherits it), costs every
            # process here, sigmail and floors alike: a user's plain virtual environment has
            # neither. (2026-12-08: 18 ms and 27 ms on the project's machine, 3 ms clean.)
            print(
                f"# note: this interpreter's site takes {site * ms:.1f} ms of every process "
                "(`python -X importtime -c pass` says what); a plain venv takes ~3 ms"
            )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
