"""The yearly report counts agencies and dates right (issue 11, item 8): one agency is one
identity, the TSA and "unknown" are never agencies, a document is dated by its text, its
signing time or its message (a file's mtime only as a last resort, and flagged), the
Vietnamese page speaks Vietnamese, and empty months do not take the chart.

Registers are made by real audits (offline, strict) of the test vectors."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigmail.audit.register import read_rows
from sigmail.audit.report import Cell, build_report
from sigmail.audit.report_csv import csv_text
from sigmail.audit.report_html import _month_slots, render_html
from sigmail.cli import main
from sigmail.verdict.reasons import REASONS

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]
FEBRUARY = datetime(2026, 2, 10, 3, tzinfo=UTC).timestamp()


def _audit(register: Path, source: Path, policy: str, *extra: str) -> None:
    cache = register.parent / "revocation"
    cache.mkdir(exist_ok=True)
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    args = ["audit", str(source), "--register", str(register), "--policy", policy]
    args += ["--at", "2026-06-01T00:00:00Z", *TRUST, "--strict", "--offline"]
    args += ["--revocation-cache", str(cache), "--no-progress", "--workers", "1", *extra]
    assert main(args) == 0


@pytest.fixture(scope="module")
def filed(tmp_path_factory) -> Path:
    """A folder of documents, every file modified in February 2026."""
    root = tmp_path_factory.mktemp("filed")
    folder = root / "documents"
    folder.mkdir()
    for path in (
        "cms/vn-official-offline.p7m",  # text: "ngày 20 tháng 5 năm 2026"
        "pdf/pdf-doc-timestamp-only.pdf",  # only a document timestamp (the TSA), 20 May
        "pdf/pdf-unsigned.pdf",  # nothing dates it but the file
        "pdf/pdf-person-b-lt.pdf",  # a person's signature: claimed/proven signing time
    ):
        target = folder / Path(path).name
        shutil.copyfile(VECTORS / path, target)
        os.utime(target, (FEBRUARY, FEBRUARY))
    register = root / "register.sqlite"
    _audit(register, folder, "vn-gov")
    return register


def _row(register: Path, name: str) -> dict:
    return next(r for r in read_rows(register) if r["name"] == name)


def test_the_tsa_is_never_an_agency(filed):
    row = _row(filed, "pdf-doc-timestamp-only.pdf")
    assert row["agency"] is None  # not "Ban Cơ yếu Chính phủ", the TSA certificate's O
    report = build_report(filed, 2026)
    assert not any("Cơ yếu" in a for a in report.agencies("document"))


def test_unidentified_entries_are_counted_apart_not_as_an_agency(filed):
    report = build_report(filed, 2026)
    assert "" not in report.agencies("document") and "(unknown)" not in report.agencies("document")
    assert report.unnamed("document").total == 2  # the timestamp-only and the unsigned PDF
    page = render_html(report)
    assert "(unknown)" not in page and "<i>Chưa xác định được cơ quan</i>" in page
    # Not a bar of its own in the share chart.
    share = re.search(r'data-chart="share-document".*?</svg>', page, re.S).group(0)
    assert "Chưa xác định" not in share
    rows = list(csv.DictReader(io.StringIO(csv_text(report))))
    agencies = {r["agency"] for r in rows if r["kind"] == "document"}
    assert len(agencies) == 2 and "" in agencies  # one agency (two spellings), and the rest


def test_documents_are_dated_by_text_signing_time_or_message_mtime_last(filed):
    report = build_report(filed, 2026)
    # The text date (May), the document timestamp (May) and the person's signing time (May)
    # win over the files' February mtime; only the unsigned PDF is dated by its file.
    assert report.dated == {"text": 1, "signing_time": 2, "file_time": 1}
    assert report.cell("document", None, 5).total == 3
    february = report.cell("document", None, 2)
    assert february.total == 1 and february.dated_by_file_time == 1
    rows = list(csv.DictReader(io.StringIO(csv_text(report))))
    flagged = [r for r in rows if r["dated_by_file_time"] not in ("", "0")]
    assert {(r["agency"], r["month"]) for r in flagged} == {("", "2026-02"), ("", "total")}
    assert "chỉ có thời điểm sửa tệp 1 (không chắc chắn)" in render_html(report)


def test_a_carried_document_without_a_date_takes_its_messages(tmp_path):
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    received = (
        b"Received: from relay.example.net by mx.example.net; Tue, 3 Mar 2026 01:15:00 +0000\r\n"
    )
    data = (VECTORS / "smime/pdf-attachment.eml").read_bytes()
    (maildir / "new" / "1780000000.M1P1.test").write_bytes(received + data)
    register = tmp_path / "register.sqlite"
    _audit(register, maildir, "basic")
    report = build_report(register, 2026)
    assert report.dated["file_time"] == 0
    documents = [r for r in read_rows(register) if r["kind"] == "document"]
    assert documents and report.cell("document").total == len(documents)


def test_the_vietnamese_page_gives_reasons_in_vietnamese(filed):
    report = build_report(filed, 2026)
    vi, en = render_html(report, lang="vi"), render_html(report, lang="en")
    assert "<code>no_signature</code>" not in vi and ">no_signature" not in vi
    assert REASONS["no_signature"].vi in vi and REASONS["no_signature"].en in en
    assert 'title="no_signature"' in vi  # the stable code, on hover


def _cells(months: set[int]) -> list[Cell]:
    cells = []
    for m in range(1, 13):
        cell = Cell()
        if m in months:
            cell.verdicts["official"] = 1
        cells.append(cell)
    return cells


@pytest.mark.parametrize(
    ("months", "drawn"),
    [({5}, 1), ({1, 2, 3, 4, 5}, 5), ({1, 12}, 12), ({3, 4, 9}, 7)],
)
def test_empty_months_do_not_take_most_of_the_chart(months, drawn):
    slots = _month_slots(_cells(months))
    assert len(slots) == drawn  # from the first month with entries to the last
    total = sum(width for _m, width in slots)
    empty = sum(width for m, width in slots if m not in months)
    assert empty / total <= 1 / 3 + 1e-9
    assert all(width == 1.0 for m, width in slots if m in months)


def test_the_month_chart_draws_only_the_months_of_the_entries(filed):
    page = render_html(build_report(filed, 2026))
    chart = re.search(r'data-chart="months-document".*?</svg>', page, re.S).group(0)
    labels = re.findall(r'class="month"[^>]*>([^<]*)<', chart)
    assert labels == ["T2", "·", "·", "T5"]  # February to May; March and April narrow
