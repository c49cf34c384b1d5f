"""sigmail report: the yearly statistics page and table (issue 7, item 3).

The register is made by a real audit (offline, strict, with a revocation cache holding the
test PKI's CRLs) of a Maildir whose messages arrived in different months of 2026 — the dates
are in Received fields of a relay, which date the arrival without proving anything — and of a
folder of documents filed in different months. The page is then opened in headless Chromium
(installed with apt when missing and we are root; skipped only when not root and absent): the
screenshot must show the charts' colours and text, and the DOM the charts and tables.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail.audit.register import read_rows
from sigmail.audit.report import COLORS, build_report
from sigmail.audit.report_csv import csv_text
from sigmail.audit.report_html import render_html
from sigmail.cli import main

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]
# (vector, month of arrival in 2026); the day and hour vary too.
MESSAGES = [
    ("person-official", 1),
    ("agency-official", 1),
    ("person-and-agency", 2),
    ("vietnamese-subject", 2),
    ("tampered-body", 2),
    ("unsigned", 3),
    ("from-mismatch", 3),
    ("public-ca-signer", 3),
    ("opaque-signed", 4),
    ("wrapped-text-before", 4),
    ("p7m-attachment", 4),
    ("vn-document-with-attachment", 5),
    ("forwarded-in-unsigned", 5),
    ("quoted-printable", 5),
    ("expired-signer", 5),
    ("pdf-attachment", 5),
    ("person-official", 12),  # 31 Dec 20:00 UTC: 1 Jan 2027 in Hà Nội, not counted in 2026
]
DOCUMENTS = [
    ("cms/vn-person-then-agency.p7m", 1),
    ("cms/vn-official-offline.p7m", 2),
    ("cms/person-official.p7m", 3),
    ("pdf/pdf-person-b-lt.pdf", 4),
    ("pdf/pdf-unsigned.pdf", 4),
    ("pdf/pdf-tampered-byte.pdf", 5),
]


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    maildir = root / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, (vector, month) in enumerate(MESSAGES):
        day, hour = (31, 20) if month == 12 else (3 + i, 1 + i % 9)
        when = datetime(2026, month, day, hour, 15, tzinfo=UTC)
        received = (
            f"Received: from relay.tphcm.gov.vn by relay.example.net; "
            f"{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        ).encode()
        data = (VECTORS / "smime" / f"{vector}.eml").read_bytes()
        (maildir / "new" / f"{1780000000 + i}.M{i}P1.test").write_bytes(received + data)
    folder = root / "documents"
    folder.mkdir()
    for path, month in DOCUMENTS:
        target = folder / Path(path).name
        shutil.copyfile(VECTORS / path, target)
        stamp = datetime(2026, month, 10, 3, tzinfo=UTC).timestamp()
        os.utime(target, (stamp, stamp))
    cache = root / "revocation"
    cache.mkdir()
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    out = root / "register.sqlite"
    common = ["--register", str(out), "--at", "2026-06-01T00:00:00Z", *TRUST, "--strict"]
    common += ["--offline", "--revocation-cache", str(cache), "--no-progress", "--workers", "1"]
    assert main(["audit", str(maildir), "--policy", "basic", *common]) == 0
    assert main(["audit", str(folder), "--policy", "vn-gov", *common]) == 0
    return out


def test_report_counts_per_agency_and_month(register):
    rows = list(read_rows(register))
    report = build_report(register, 2026)
    in_year = [r for r in rows if not r["received_at"].startswith("2026-12-31T20")]
    assert report.outside == len(rows) - len(in_year) > 0
    for kind in ("message", "document"):
        assert report.cell(kind).total == sum(1 for r in in_year if r["kind"] == kind)
    # Messages by month (Hà Nội time), under one agency: the seal's name, and the sender
    # domain its signed mail comes from (issue 11, item 8).
    stttt = report.cell("message", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", 2)
    assert stttt.total == 3 and stttt.verdicts["official"] == 2
    assert stttt.verdicts["invalid"] == 1 and stttt.reasons["digest_mismatch"] == 1
    assert "stttt.tphcm.gov.vn" not in report.agencies("message")
    assert "example.com.vn" in report.agencies("message")  # no signature names it: itself
    # The agency sealing the documents, whatever the spelling of its name.
    agencies = report.agencies("document")
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in agencies
    assert report.cell("document", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG").verdicts["official"] >= 2

    text = csv_text(report)
    table = list(csv.DictReader(io.StringIO(text)))
    assert table[0].keys() >= {"kind", "agency", "month", "total", "official", "official_share"}
    totals = [r for r in table if r["month"] == "total"]
    assert sum(int(r["total"]) for r in totals) == len(in_year)
    feb = next(
        r
        for r in table
        if (r["kind"], r["agency"], r["month"])
        == ("message", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "2026-02")
    )
    assert (feb["official"], feb["invalid"], feb["official_share"]) == ("2", "1", "0.6667")
    assert "digest_mismatch:1" in feb["top_reasons"]


def test_report_command_writes_csv_and_a_self_contained_page(register, tmp_path):
    page, table = tmp_path / "report.html", tmp_path / "report.csv"
    argv = ["report", str(register), "--year", "2026", "--html", str(page), "--csv", str(table)]
    assert main(argv) == 0
    html = page.read_text(encoding="utf-8")
    assert table.read_text(encoding="utf-8") == csv_text(build_report(register, 2026))
    # Nothing is fetched: no scripts, no external or relative resources of any kind.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", html, re.I)
    assert not re.search(r"\b(?:src|href)\s*=", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert html.count("<svg") == 4 and "Báo cáo sử dụng thư điện tử năm 2026" in html
    out = ["--csv", str(tmp_path / "t.csv")]
    assert main(["report", str(register), "--year", "2026", "--tz", "bad", *out]) == 64
    assert main(["report", str(tmp_path / "none.sqlite"), "--year", "2026", *out]) == 64


def test_report_without_an_output_or_with_a_short_year_is_a_usage_error(register, tmp_path, capsys):
    assert main(["report", str(register), "--year", "2026"]) == 64
    assert "--html OUT, --csv OUT" in capsys.readouterr().err
    assert main(["report", str(register), "--year", "26", "--csv", str(tmp_path / "t.csv")]) == 64
    assert "--year 26: give the full year" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()
    # --csv - is the table on standard output.
    assert main(["report", str(register), "--year", "2026", "--csv", "-"]) == 0
    assert capsys.readouterr().out == csv_text(build_report(register, 2026))


# -- headless Chromium ---------------------------------------------------------------------------

_BROWSERS = ("chromium", "chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed with apt when missing and we are root."""
    found = next((shutil.which(b) for b in _BROWSERS if shutil.which(b)), None)
    if found:
        return found
    if os.geteuid() != 0:
        pytest.skip("chromium is not installed and installing it needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"installing chromium failed at {' '.join(step)}: {done.stderr[-800:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium but there is no chromium command")
    return found


def _browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _near(pixel, colour: str, tolerance: int = 24) -> bool:
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(p - t) <= tolerance for p, t in zip(pixel[:3], target, strict=True))


def test_report_page_renders_in_headless_chromium(register, tmp_path, chromium):
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(render_html(build_report(register, 2026)), encoding="utf-8")
    shot = tmp_path / "report.png"
    done = _browser(
        chromium,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.as_uri(),
    )
    assert shot.is_file(), done.stderr[-2000:]
    keep = os.environ.get("SIGMAIL_REPORT_SCREENSHOT")
    if keep:  # to look at it: SIGMAIL_REPORT_SCREENSHOT=/tmp/report.png pytest -k chromium
        shutil.copyfile(shot, keep)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2000)
    histogram = image.getcolors(1280 * 2000)  # [(count, (r, g, b)), …]
    assert len(histogram) > 50, "the screenshot is blank"
    # The charts were drawn: bars in the verdict colours.
    for verdict in ("official", "invalid", "unsigned"):
        hits = sum(n for n, rgb in histogram if _near(rgb, COLORS[verdict]))
        assert hits > 300, f"no {verdict} bars on the screenshot ({hits} pixels)"
    # And text: dark pixels in the title's band.
    title = image.crop((0, 0, 900, 80)).getcolors(900 * 80)
    assert sum(n for n, rgb in title if max(rgb) < 80) > 200

    done = _browser(chromium, tmp_path / "profile-dom", "--dump-dom", page.as_uri())
    dom = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(re.findall(r"<svg[^>]*class=\"chart\"", dom)) == 4
    assert 'data-chart="months-message"' in dom and 'data-chart="share-document"' in dom
    assert len(re.findall(r"<rect[^>]*class=\"bar\"", dom)) >= 15
    assert '<table class="summary" data-kind="message">' in dom
    assert "example.com.vn" in dom and "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in dom
