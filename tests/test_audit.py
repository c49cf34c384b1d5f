"""sigmail audit: the arrival register from the vectors (issue 7, items 1, 2 and 6).

What it must show:

* an audit of a Maildir holding the vectors' mails, and of folders holding the .p7m, .p7s and
  .pdf vectors, gives one register row per message and per document, with the verdicts the
  manifest expects; a second run adds nothing;
* the receipt time from the agency's own MTA keeps an archived verdict (a signer revoked or
  expired after the receipt), and Received fields of other hosts prove nothing;
* the Dask engine (a distributed.LocalCluster: 2 workers, processes=False — threads in this
  process, which start in well under a second on 2 cores; the work is the same function the
  process pool runs) writes the same register as the local engine.

Every audit runs strict (a bug fails the test instead of becoming internal_error). Online
vectors use the test PKI responder; the receipt-time tests run --offline against a revocation
cache holding the test PKI's CRLs (current and archived 2023 ones).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail import OfflineRevocation, OnlineRevocation, TrustStore, Verifier
from sigmail.audit.received import arrival, parse_received
from sigmail.audit.register import read_rows
from sigmail.audit.report import build_report
from sigmail.audit.rows import NAMES, TIMING_COLUMNS, iso
from sigmail.audit.sources import scan
from sigmail.cli import main
from sigmail.mailboxes import strip_comments

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
AT = "2026-06-01T00:00:00Z"
AT_DT = datetime(2026, 6, 1, tzinfo=UTC)
OWN_MTA = "mx.stp.kontum.gov.vn"
TRUST = [
    "--trust",
    str(VECTORS / "pki/certs/root-official.pem"),
    "--trust-public",
    str(VECTORS / "pki/certs/root-national.pem"),
]


def _group(v: dict) -> str:
    kind = "mail" if v["kind"] == "eml" else "docs"
    return f"{kind}.{v['policy']}.{v['mode']}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_corpus(root: Path) -> dict[str, dict[str, dict]]:
    """The vectors laid out as an archive: one Maildir per (policy, mode) of the messages, one
    folder per (policy, mode) of the documents (a .p7s beside its content). Vectors with the
    same bytes in the same group are one item. Returns group → item file name → vector."""
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    seen: dict[tuple, str] = {}
    for i, v in enumerate(MANIFEST["vectors"]):
        group = _group(v)
        src = VECTORS / v["path"]
        key = (group, _sha(src), v["content"] and _sha(VECTORS / v["content"]))
        if key in seen:
            first = groups[group][seen[key]]
            assert first["expect"]["verdict"] == v["expect"]["verdict"], (first, v)
            continue
        folder = root / group
        if v["kind"] == "eml":
            # Half in new/, half in cur/ with flags, as a mail client leaves them.
            for sub in ("new", "cur", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            name = f"17800{i:05d}.M{i}P1.sigmail-test"
            path = folder / ("new" if i % 2 else "cur") / (name if i % 2 else f"{name}:2,S")
            shutil.copyfile(src, path)
            item_name = f"{name}.eml"
        else:
            folder.mkdir(parents=True, exist_ok=True)
            suffix = Path(v["path"]).suffix
            item_name = f"{v['name']}{suffix}"
            shutil.copyfile(src, folder / item_name)
            if v["content"]:
                shutil.copyfile(VECTORS / v["content"], folder / v["name"])
        seen[key] = item_name
        groups[group][item_name] = v
    return groups


def audit(register: Path, sources: list[Path], *extra: str) -> int:
    return main(
        [
            "audit",
            *map(str, sources),
            "--register",
            str(register),
            "--at",
            AT,
            *TRUST,
            "--strict",
            "--no-progress",
            "--fetch-allow",  # the test PKI's responder is on the loopback
            "127.0.0.1/32",
            *extra,
        ]
    )


def audit_corpus(root: Path, register: Path, *extra: str) -> None:
    """One run per (policy, mode), all into one register."""
    by_setting: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for group in sorted(p.name for p in root.iterdir()):
        _kind, policy, mode = group.split(".")
        by_setting[(policy, mode)].append(root / group)
    for (policy, mode), sources in sorted(by_setting.items()):
        flags = ["--policy", policy, *(["--offline"] if mode == "offline" else [])]
        assert audit(register, sources, *flags, *extra) == 0


def rows_of(register: Path) -> list[dict]:
    return list(read_rows(register))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("archive")
    return root, build_corpus(root)


@pytest.fixture(scope="module")
def local_register(corpus, responder, tmp_path_factory) -> Path:
    root, _groups = corpus
    register = tmp_path_factory.mktemp("local") / "register.sqlite"
    audit_corpus(root, register, "--workers", "2")
    return register


def _verifiers(responder) -> dict[tuple[str, str], Verifier]:
    trust = TrustStore.load(
        official=[VECTORS / "pki/certs/root-official.pem"],
        public=[VECTORS / "pki/certs/root-national.pem"],
    )
    online = OnlineRevocation(timeout=2.0, allow_networks=["127.0.0.1/32"])
    return {
        (policy, mode): Verifier(
            trust=trust,
            policy=policy,
            revocation=online if mode == "online" else OfflineRevocation(),
            strict=True,
        )
        for policy in ("basic", "vn-gov")
        for mode in ("online", "offline")
    }


def _flatten(verdict, prefix: str = "") -> list[tuple[str, str, str]]:
    out = []
    for doc in verdict.documents:
        path = f"{prefix}{doc.name}"
        out.append((path, "document", str(doc.verdict)))
        out.extend(_flatten(doc, path + " / "))
    return out


def test_every_message_and_document_has_its_row_with_the_expected_verdict(
    corpus, local_register, responder
):
    root, groups = corpus
    rows = rows_of(local_register)
    items = defaultdict(list)
    for row in rows:
        items[(row["source"], row["item_sha256"])].append(row)
    verifiers = _verifiers(responder)
    checked_documents = 0
    expected_rows = 0
    for group, members in groups.items():
        _kind, policy, mode = group.split(".")
        source = str((root / group).resolve())
        for item_name, vector in members.items():
            (own,) = [
                r
                for r in rows
                if r["source"] == source and r["part"] == "" and r["name"] == item_name
            ]
            label = f"{group}/{item_name} ({vector['name']})"
            assert own["verdict"] == vector["expect"]["verdict"], (label, own["reasons"])
            assert set(vector["expect"]["reasons"]) <= set(json.loads(own["reasons"])), label
            assert own["kind"] == ("message" if vector["kind"] == "eml" else "document")
            assert own["policy"].split()[0] == policy
            # One row per document the verdict lists, at any depth, with its verdict.
            data = (VECTORS / vector["path"]).read_bytes()
            content = (VECTORS / vector["content"]).read_bytes() if vector["content"] else None
            verdict = verifiers[(policy, mode)].verify(
                data, at=AT_DT, name=item_name, content=content
            )
            documents = sorted(
                (r["part"], r["kind"], r["verdict"])
                for r in items[(source, own["item_sha256"])]
                if r["part"]
            )
            assert documents == sorted(_flatten(verdict)), label
            for name, expected in vector.get("documents", {}).items():
                (row,) = [r for r in items[(source, own["item_sha256"])] if r["part"] == name]
                assert row["verdict"] == expected, (label, name)
                assert row["message_id"] == own["message_id"] and row["kind"] == "document"
                checked_documents += 1
            expected_rows += 1 + len(documents)
    assert len(rows) == expected_rows
    assert checked_documents >= 5
    assert sum(len(m) for m in groups.values()) >= 100  # every vector file is in the archive


def test_register_columns_and_text_fields(local_register):
    db = sqlite3.connect(local_register)
    columns = [r[1] for r in db.execute("PRAGMA table_info(entries)")]
    assert tuple(columns) == NAMES
    required = {"message_id", "kind", "name", "received_at", "sender", "agency", "subject"}
    required |= {"doc_number", "doc_date", "verdict", "reasons", "signers", "sha256"}
    assert required <= set(columns)
    indexes = {r[1] for r in db.execute("PRAGMA index_list(entries)")}
    assert "entries_key" in indexes
    rows = rows_of(local_register)
    # doc_number and doc_date from the document's text: the .p7m content, the PDF's page.
    p7m = next(r for r in rows if r["name"] == "vn-person-then-agency.p7m")
    assert (p7m["doc_number"], p7m["doc_date"]) == ("123/QĐ-STTTT", "2026-05-20")
    assert p7m["agency"] == "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" and p7m["agency_source"] == "signer"
    pdf = next(r for r in rows if r["name"] == "pdf-person-then-agency.pdf")
    assert pdf["doc_number"] == "123/QD-STTTT"  # the letter is written in Helvetica, no diacritics
    detached = next(r for r in rows if r["name"] == "person-detached.p7s")
    assert detached["doc_number"] == "123/QĐ-STTTT"  # read from the content beside it
    # A document inside a message: its text, the message's header facts.
    attached = next(r for r in rows if r["part"] == "quyet-dinh-123.txt.p7m")
    assert attached["doc_date"] == "2026-05-20" and attached["subject"].startswith("Quyết định")
    assert attached["sender"] == "Nguyễn Văn An <an.nv@stttt.tphcm.gov.vn>"
    in_mail = next(
        r for r in rows if r["part"] and r["message_id"] == "<pdf-attachment@sigmail.test>"
    )
    assert in_mail["format"] == "pdf" and in_mail["doc_number"] is None  # a page without text
    message = next(r for r in rows if r["message_id"] == "<person-official@sigmail.test>")
    assert message["agency"] == "stttt.tphcm.gov.vn" and message["agency_source"] == "sender_domain"
    assert message["received_source"] == "date" and message["received_at"] == "2026-05-20T03:00:00Z"
    (signer,) = json.loads(message["signers"])
    assert signer["name"] == "Nguyễn Văn An" and signer["role"] == "person"
    assert signer["status"] == "passed" and signer["claimed_signing_time"] == "2026-05-20T03:00:00Z"
    sealed = next(
        r for r in rows if r["message_id"] == "<vn-document-with-attachment@sigmail.test>"
    )
    assert sealed["agency"] == "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    for row in rows:
        assert row["policy_sha256"] and len(row["sha256"]) == 64 and row["validation_time"] == AT
        # The JSON columns are written with their keys in order, as sort_keys writes them.
        signers = json.loads(row["signers"])
        assert row["signers"] == json.dumps(
            signers, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
    assert any(json.loads(row["signers"]) for row in rows)


def test_a_second_run_adds_nothing(corpus, local_register):
    root, _groups = corpus
    before = rows_of(local_register)
    audit_corpus(root, local_register, "--workers", "2")
    assert rows_of(local_register) == before


def test_a_new_message_is_all_a_rerun_adds(corpus, local_register, tmp_path, responder):
    root, _groups = corpus
    register = tmp_path / "copy.sqlite"
    shutil.copyfile(local_register, register)
    maildir = root / "mail.basic.online"
    extra = maildir / "new" / "1790000000.M1P1.late-arrival"
    shutil.copyfile(VECTORS / "smime/pdf-attachment.eml", extra)
    extra.write_bytes(b"X-Late: 1\r\n" + extra.read_bytes())  # other bytes: a new message
    try:
        assert audit(register, [maildir], "--policy", "basic", "--json") == 0
    finally:
        extra.unlink()
    rows = rows_of(register)
    new = rows[len(rows_of(local_register)) :]
    assert [(r["kind"], r["verdict"]) for r in new] == [
        ("message", "official"),
        ("document", "unsigned"),
    ]
    assert new[0]["locator"] == "new/1790000000.M1P1.late-arrival"


def test_mbox_gives_the_same_verdicts_as_the_maildir(corpus, local_register, tmp_path):
    root, _groups = corpus
    maildir = root / "mail.basic.online"
    mbox = tmp_path / "inbox.mbox"
    messages = [item for item in scan([maildir])]
    with mbox.open("wb") as out:
        for item in messages:
            data = Path(item.path).read_bytes()
            out.write(b"From MAILER-DAEMON Wed May 20 10:00:00 2026\n")
            out.write(data.replace(b"\nFrom ", b"\n>From "))
            out.write(b"\r\n" if data.endswith(b"\r\n") else b"\n")  # the empty line
    register = tmp_path / "mbox.sqlite"
    assert audit(register, [mbox], "--policy", "basic", "--workers", "1") == 0
    got = [(r["item_sha256"], r["part"], r["verdict"]) for r in rows_of(register)]
    source = str(maildir.resolve())
    want = [
        (r["item_sha256"], r["part"], r["verdict"])
        for r in rows_of(local_register)
        if r["source"] == source
    ]
    assert got == want  # the same bytes (From_ line and separators removed), the same verdicts
    assert [r["locator"] for r in rows_of(register) if r["part"] == ""][:2] == ["#1", "#2"]


def test_parquet_register_has_the_same_rows(corpus, local_register, tmp_path):
    pytest.importorskip("pyarrow")
    root, _groups = corpus
    register = tmp_path / "register.parquet"
    audit_corpus(root, register, "--workers", "2", "--format", "parquet")
    audit_corpus(root, register, "--workers", "2")  # a re-run: format from the file, no change

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]

    assert strip(rows_of(register)) == strip(rows_of(local_register))
    # The report reads either format.
    from sigmail.audit.report_csv import csv_text

    assert csv_text(build_report(register, 2026)) == csv_text(build_report(local_register, 2026))


# -- receipt time (item 2) ---------------------------------------------------------------------


def _received(by: str, when: str, helo: str = "mail.stttt.tphcm.gov.vn") -> bytes:
    return (
        f"Received: from {helo} ({helo} [203.0.113.25])\r\n"
        f"\tby {by} (Postfix) with ESMTPS id 4Xb2Kq1Zz9\r\n"
        f"\tfor <vanthu@stp.kontum.gov.vn>; {when}\r\n"
    ).encode()


RECEIPT_CASES = [
    # (name, vector, Received fields top first, verdict, reason, received_source)
    (
        "revoked-after-receipt",
        "revoked-signer-no-tst",
        [_received(OWN_MTA, "Mon, 2 Feb 2026 09:00:00 +0700")],
        "official",
        None,
        "own_mta",
    ),
    (
        "revoked-before-receipt",
        "revoked-signer-no-tst",
        [_received(OWN_MTA, "Thu, 5 Mar 2026 09:00:00 +0700")],
        "invalid",
        "certificate_revoked",
        "own_mta",
    ),
    (
        "expired-after-receipt",
        "expired-signer",
        [_received(OWN_MTA, "Fri, 2 Jun 2023 09:00:00 +0700")],
        "official",
        None,
        "own_mta",
    ),
    (
        # Our MTA received it in June; the sender wrote an "own" field dated February below.
        "forged-own-field-below",
        "revoked-signer-no-tst",
        [
            _received(OWN_MTA, "Mon, 25 May 2026 09:00:00 +0700"),
            _received(OWN_MTA, "Mon, 2 Feb 2026 09:00:00 +0700"),
        ],
        "invalid",
        "certificate_revoked",
        "own_mta",
    ),
    (
        "other-host-only",
        "revoked-signer-no-tst",
        [_received("relay.example.net", "Mon, 2 Feb 2026 09:00:00 +0700")],
        "indeterminate",
        "revoked_no_poe",
        "received",
    ),
    (
        "own-host-named-in-helo",
        "expired-signer",
        [_received("relay.example.net", "Fri, 2 Jun 2023 09:00:00 +0700", helo=OWN_MTA)],
        "indeterminate",
        "expired_no_poe",
        "received",
    ),
]


@pytest.fixture(scope="module")
def crl_cache(tmp_path_factory) -> Path:
    """A revocation cache as an archive keeps it: every CRL of the test PKI, current and 2023."""
    cache = tmp_path_factory.mktemp("revocation")
    for crl in (VECTORS / "pki/crl").glob("*.crl"):
        shutil.copyfile(crl, cache / crl.name)
    return cache


def test_receipt_time_of_the_own_mta_keeps_an_archived_verdict(tmp_path, crl_cache):
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for name, vector, fields, *_ in RECEIPT_CASES:
        data = (VECTORS / "smime" / f"{vector}.eml").read_bytes()
        (maildir / "new" / name).write_bytes(b"".join(fields) + data)
    register = tmp_path / "register.sqlite"
    flags = ["--offline", "--revocation-cache", str(crl_cache), "--policy", "basic"]
    assert audit(register, [maildir], *flags, "--own-mta", OWN_MTA.upper() + ".") == 0
    rows = {r["locator"].removeprefix("new/"): r for r in rows_of(register)}
    for name, _vector, _fields, verdict, reason, source in RECEIPT_CASES:
        row = rows[name]
        assert row["verdict"] == verdict, (name, row["reasons"])
        assert reason is None or reason in json.loads(row["reasons"]), name
        assert row["received_source"] == source, name
        (signer,) = json.loads(row["signers"])
        if source == "own_mta":
            assert row["receipt_time"] == row["received_at"]
            assert signer["proven_by"] == "receipt"
            assert signer["proven_signing_time"] == row["receipt_time"]
        else:
            assert row["receipt_time"] is None and signer["proven_by"] is None
    assert rows["revoked-after-receipt"]["receipt_time"] == "2026-02-02T02:00:00Z"
    # Without --own-mta nothing is proof: the same archive, as indeterminate as the vectors.
    again = tmp_path / "no-own-mta.sqlite"
    assert audit(again, [maildir], *flags) == 0
    assert {r["verdict"] for r in rows_of(again)} == {"indeterminate"}
    # The configuration file names the own MTAs too.
    config = tmp_path / "audit.toml"
    config.write_text(f'[audit]\nown_mta = ["{OWN_MTA}"]\nworkers = 1\n', encoding="utf-8")
    third = tmp_path / "config.sqlite"
    assert audit(third, [maildir], *flags, "--config", str(config)) == 0
    assert [r["verdict"] for r in rows_of(third)] == [r["verdict"] for r in rows_of(register)]


def _strip_comments_reference(text: str, gap: str) -> str:
    """RFC 5322 comments removed one character at a time (what strip_comments did until its
    scan visited only the specials)."""
    out, depth, escaped = [], 0, False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
        elif char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif char == "(":
            depth += 1
            if depth == 1:
                out.append(gap)
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


@settings(max_examples=1000, deadline=None)
@given(text=st.text(alphabet="ab ()\\", max_size=40), gap=st.sampled_from([" ", ""]))
def test_comments_are_stripped_as_one_character_at_a_time_strips_them(text, gap):
    assert strip_comments(text, gap=gap) == _strip_comments_reference(text, gap)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 5, 20, 3, 0, 0, 999_999, tzinfo=UTC), "2026-05-20T03:00:00Z"),
        (datetime(2026, 5, 20, 10, 0, tzinfo=timezone(timedelta(hours=7))), "2026-05-20T03:00:00Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (date(2026, 5, 20), "2026-05-20"),
        (None, None),
    ],
)
def test_register_times_are_utc_to_the_second(value, text):
    assert iso(value) == text


def test_received_field_parsing():
    field = parse_received(
        "from by (evil [198.51.100.7]) (comment with by fake.host) by MX.Stp.Kontum.gov.vn. "
        "(Postfix) with ESMTPS id ABC for <a@b>; Tue, 19 May 2026 10:00:00 +0700 (ICT)"
    )
    assert field.from_host == "by" and field.by_host == "mx.stp.kontum.gov.vn"
    assert field.date == datetime(2026, 5, 19, 3, tzinfo=UTC)
    assert parse_received("by mx; not a date").date is None
    assert parse_received("from x by mx; Tue, 19 May 2026 10:00:00 -0000").date.tzinfo is not None
    own = ["mx.stp.kontum.gov.vn"]
    top = ("received", "from a by mx.stp.kontum.gov.vn; Tue, 19 May 2026 10:00:00 +0700")
    other = ("received", "from b by relay.example; Mon, 18 May 2026 10:00:00 +0700")
    assert arrival([top, other], own).receipt_time == datetime(2026, 5, 19, 3, tzinfo=UTC)
    came = arrival([other, top], own)  # ours is not the topmost: proof of nothing
    assert came.receipt_time is None and came.source == "received"
    assert came.received_at == datetime(2026, 5, 18, 3, tzinfo=UTC)
    undated = ("received", "from a by mx.stp.kontum.gov.vn")
    assert arrival([undated, ("date", "Tue, 19 May 2026 08:00:00 +0700")], own).source == "date"
    assert arrival([], own).received_at is None


# -- the Dask engine (item 6) --------------------------------------------------------------------


def test_dask_engine_writes_the_same_register(corpus, local_register, tmp_path, responder):
    distributed = pytest.importorskip("distributed")
    root, _groups = corpus
    register = tmp_path / "dask.sqlite"
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        silence_logs=50,
    ) as cluster:
        audit_corpus(root, register, "--engine", "dask", "--scheduler", cluster.scheduler_address)

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]

    local, dask = strip(rows_of(local_register)), strip(rows_of(register))
    assert len(dask) == len(local) > 100
    assert dask == local  # every column but audited_at, ids (listing order) included


def test_usage_errors(tmp_path):
    register = tmp_path / "r.sqlite"
    assert main(["audit", str(tmp_path / "missing"), "--register", str(register)]) == 64
    dask = ["--engine", "dask", "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]
    assert main(["audit", str(tmp_path), "--register", str(register), *dask]) == 64
    assert main(["audit", str(tmp_path), "--register", str(register), "--own-mta", "a b"]) == 64
    bad = tmp_path / "bad.toml"
    bad.write_text("[audit]\nown_mtas = []\n", encoding="utf-8")
    assert main(["audit", str(tmp_path), "--register", str(register), "--config", str(bad)]) == 64
    (tmp_path / "not-a-register").write_text("hello", encoding="utf-8")
    assert main(["audit", str(tmp_path), "--register", str(tmp_path / "not-a-register")]) == 64


# -- bounded work, ordered writes ------------------------------------------------------------


def test_in_flight_work_is_bounded_and_rows_are_written_in_listing_order(tmp_path):
    """At most ``window`` items are submitted and not yet written, whatever order the work
    finishes in (here: the newest batch first), and rows are written in listing order."""
    from concurrent.futures import Future

    from sigmail.audit.engine import AuditSummary, _drive, _Pool
    from sigmail.audit.progress import Progress
    from sigmail.audit.work import ItemResult

    for n in range(50):
        (tmp_path / f"{n:02d}.eml").write_bytes(b"Subject: %d\r\n\r\nbody %d\r\n" % (n, n))

    class Pool(_Pool):
        workers, batch = 2, 3

        def __init__(self):
            self.submitted = 0
            self.peak = 0

        def submit(self, batch):
            self.submitted += len(batch)
            self.peak = max(self.peak, self.submitted - len(register.added))
            future = Future()
            future.results = [
                ItemResult(seq, [{"kind": "message", "verdict": "unsigned", "n": seq}], size=1)
                for seq, _item, _digest in batch
            ]
            return future

        def wait_any(self, futures):
            newest = futures[-1]
            newest.set_result(newest.results)
            return {newest}

    class Register:
        def __init__(self):
            self.added = []

        def known(self, source, sha):
            return False

        def add(self, rows):
            self.added.append(rows[0]["n"])

    register = Register()
    pool = Pool()
    summary = AuditSummary(engine="test", workers=2)
    _drive(pool, register, scan([tmp_path]), summary, Progress(50, enabled=False), 7, None)
    assert register.added == list(range(50)) and summary.items == 50
    assert pool.peak <= 7


def test_sigmail_verify_imports_none_of_the_audit_extras():
    """Dask, pyarrow and the audit package stay out of ``import sigmail`` and ``sigmail
    verify`` (a fresh interpreter: this one has imported them)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import sigmail\n"
        "from sigmail.cli import main\n"
        f"rc = main(['verify', '--offline', '--at', '{AT}', '--trust', "
        f"{str(VECTORS / 'pki/certs/root-official.pem')!r}, "
        f"{str(VECTORS / 'cms/vn-official-offline.p7m')!r}])\n"
        "heavy = ('dask', 'distributed', 'pyarrow', 'sqlite3', 'sigmail.audit')\n"
        "print(rc, sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "0 []"


def test_mbox_quoting_is_undone_across_read_chunks(tmp_path, monkeypatch):
    """Reading an mbox message in chunks of whole lines gives the bytes that undoing the
    mboxrd quoting of the whole message gives (small chunks, so lines cross them)."""
    import random
    import re

    from sigmail.audit import sources
    from sigmail.audit.sources import Item, item_digest, read_item

    quote = re.compile(rb"(?m)^>(>*From )")
    rnd = random.Random(7)
    mbox = tmp_path / "m"
    for _ in range(300):
        lines = []
        for _ in range(rnd.randint(1, 30)):
            kind = rnd.random()
            if kind < 0.2:
                lines.append(b">" * rnd.randint(1, 3) + b"From x" + b"z" * rnd.randint(0, 40))
            elif kind < 0.3:
                lines.append(b"x" * rnd.randint(0, 40) + b">From y")
            else:
                lines.append(bytes(rnd.choice(b"ab>From \r") for _ in range(rnd.randint(0, 25))))
        message = b"\n".join(lines) + (b"\n" if rnd.random() < 0.5 else b"")
        mbox.write_bytes(b"HEAD" + message + b"TAIL")
        item = Item(
            "s", "#1", str(mbox), len(message), 0.0, start=4, end=4 + len(message), mbox=True
        )
        monkeypatch.setattr(sources, "_CHUNK", rnd.randint(16, 64))
        want = quote.sub(rb"\1", message)
        assert read_item(item) == want
        assert item_digest(item) == hashlib.sha256(want).hexdigest()
        assert read_item(item, limit=5) == want[:6]


@pytest.mark.parametrize(
    ("listed", "now", "limit", "read"),
    [
        (10, 10, 100, 10),  # fits: read whole
        (10, 10, 10, 10),  # exactly at the limit
        (50, 50, 10, 11),  # over: one byte past the limit, so the verifier refuses it
        (10, 30, 100, 30),  # grew after it was listed: read as it is now
        (10, 300, 100, 101),  # grew past the limit
        (0, 0, 100, 0),
    ],
)
def test_a_file_item_is_read_whole_or_to_one_byte_past_the_limit(
    tmp_path, listed, now, limit, read
):
    from sigmail.audit.sources import Item, read_item

    path = tmp_path / "m.eml"
    data = bytes(range(256)) * 2
    path.write_bytes(data[:now])
    item = Item("s", "m.eml", str(path), listed, 0.0)
    assert read_item(item, limit) == data[:read]
    assert read_item(item) == data[:now]


def test_an_oversized_item_is_registered_without_being_read_whole(tmp_path):
    from sigmail.audit.engine import run_audit
    from sigmail.audit.work import Settings
    from sigmail.limits import Limits
    from sigmail.policy.model import load_policy

    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    big = maildir / "new" / "big"
    shutil.copyfile(VECTORS / "smime/p7m-attachment.eml", big)
    shutil.copyfile(VECTORS / "smime/unsigned.eml", maildir / "new" / "small")
    settings = Settings(
        trust=TrustStore.load(official=[VECTORS / "pki/certs/root-official.pem"]),
        policy=load_policy("basic"),
        at=AT_DT,
        offline=True,
        limits=Limits(max_input_bytes=4000),
        strict=True,
        token="oversized",
    )
    register = tmp_path / "r.sqlite"
    summary = run_audit([maildir], register, settings=settings, workers=1)
    assert summary.items == 2
    rows = {r["locator"]: r for r in rows_of(register)}
    assert json.loads(rows["new/big"]["reasons"]) == ["limit_exceeded"]
    assert rows["new/big"]["sha256"] == _sha(big) == rows["new/big"]["item_sha256"]
    assert rows["new/big"]["size"] == big.stat().st_size > 4000
    assert rows["new/small"]["verdict"] == "unsigned"


def test_the_received_field_of_a_real_postfix_is_the_receipt_time(tmp_path, responder):
    """Mail delivered by a real Postfix (tests/postfix_lab.py, installed with apt when missing
    and we are root) into its Maildir: the field its smtpd adds is recognised as the own
    MTA's, and a field the sender wrote below it, naming the same host, changes nothing."""
    import os
    import smtplib
    import time

    from postfix_lab import PostfixLab, ensure_postfix

    why_not = ensure_postfix()
    if why_not and os.geteuid() != 0:
        pytest.skip(f"no real Postfix: {why_not}")
    assert why_not is None, why_not
    revoked = (VECTORS / "smime/revoked-signer-no-tst.eml").read_bytes()
    forged = b"Received: from x by mx.sigmail.test; Mon, 2 Feb 2026 09:00:00 +0700\r\n"
    messages = {
        "<person-official@sigmail.test>": (VECTORS / "smime/person-official.eml").read_bytes(),
        "<revoked-signer-no-tst@sigmail.test>": revoked,
        "<forged@sigmail.test>": forged
        + revoked.replace(b"<revoked-signer-no-tst@sigmail.test>", b"<forged@sigmail.test>"),
    }
    lab = PostfixLab()
    started = datetime.now(UTC).replace(microsecond=0)
    responder.clock = started  # OCSP answers as of now: the validation time is now
    try:
        lab.start()
        with smtplib.SMTP("127.0.0.1", lab.port) as smtp:
            for data in messages.values():
                smtp.sendmail("an.nv@stttt.tphcm.gov.vn", ["vanthu@stp.kontum.gov.vn"], data)
        deadline = time.monotonic() + 30
        new = lab.maildir / "new"
        while not (new.is_dir() and len(list(new.iterdir())) == len(messages)):
            assert time.monotonic() < deadline, lab.log_tail()
            time.sleep(0.05)
        # The test PKI's CRLs (the CAs' status) end in June 2026 and validation is now: this
        # policy does not check the CAs; the signers' status comes from OCSP as of now.
        basic = (ROOT / "sigmail/policy/builtin/basic.toml").read_text(encoding="utf-8")
        policy = tmp_path / "now.toml"
        policy.write_text(
            basic.replace('name = "basic"', 'name = "basic-now"').replace(
                'ca = "if_declared"', 'ca = "none"'
            ),
            encoding="utf-8",
        )
        register = tmp_path / "register.sqlite"
        argv = ["audit", str(lab.maildir), "--register", str(register), *TRUST]
        argv += ["--policy", str(policy), "--own-mta", "mx.sigmail.test", "--strict"]
        argv += ["--fetch-allow", "127.0.0.1/32"]
        assert main(argv) == 0  # validation time: now, after the receipt
    finally:
        responder.reset()
        lab.stop()
        lab.cleanup()
    rows = {r["message_id"]: r for r in rows_of(register)}
    assert set(rows) == set(messages)
    for row in rows.values():
        assert row["received_source"] == "own_mta"
        received = datetime.fromisoformat(row["receipt_time"].replace("Z", "+00:00"))
        assert started <= received <= datetime.now(UTC)
        (signer,) = json.loads(row["signers"])
        assert signer["proven_by"] == "receipt"
    assert rows["<person-official@sigmail.test>"]["verdict"] == "official"
    # Revoked on 1 March, received now: the forged February field does not save it.
    for mid in ("<revoked-signer-no-tst@sigmail.test>", "<forged@sigmail.test>"):
        assert rows[mid]["verdict"] == "invalid"
        assert "certificate_revoked" in json.loads(rows[mid]["reasons"])


def test_a_source_that_is_no_mailbox_is_refused_before_anything_is_written(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not mail", encoding="utf-8")
    register = tmp_path / "r.sqlite"
    assert main(["audit", str(text), "--register", str(register)]) == 64
    assert not register.exists()
