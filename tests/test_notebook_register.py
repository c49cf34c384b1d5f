"""register_frame: an arrival register (SQLite, table ``entries``) as a pandas DataFrame.

The register is made here with sqlite3 and the documented column set, so this test does not
depend on ``sigmail audit`` (which writes real ones).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

pd = pytest.importorskip("pandas")

from sigmail.errors import UsageError  # noqa: E402
from sigmail.notebook import VERDICT_ORDER, register_frame  # noqa: E402

COLUMNS = (
    "message_id",
    "kind",
    "name",
    "received_at",
    "sender",
    "agency",
    "subject",
    "doc_number",
    "doc_date",
    "verdict",
    "reasons",
    "signers",
    "sha256",
)

SIGNERS = [
    {"name": "Nguyễn Văn An", "role": "person", "proven_time": "2026-05-20T03:00:00Z"},
    {"name": "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "role": "agency", "proven_time": None},
]

ROWS = [
    (
        "<a@x>",
        "message",
        "thu.eml",
        "2026-05-20T03:05:00Z",
        "an.nv@stttt.tphcm.gov.vn",
        "Sở TT&TT",
        "Quyết định số 123",
        None,
        None,
        "official",
        "[]",
        json.dumps(SIGNERS, ensure_ascii=False),
        "aa" * 32,
    ),
    (
        "<a@x>",
        "document",
        "qd-123.pdf",
        "2026-05-20T03:05:00Z",
        "an.nv@stttt.tphcm.gov.vn",
        "Sở TT&TT",
        None,
        "123/QĐ-STTTT",
        "2026-05-20",
        "invalid",
        json.dumps(["page_content_modified", "benign_modification"]),
        json.dumps(SIGNERS[:1], ensure_ascii=False),
        "bb" * 32,
    ),
    (
        "<b@x>",
        "message",
        "khac.eml",
        "2026-05-21T08:00:00+07:00",
        "x@example.vn",
        None,
        None,
        None,
        None,
        "indeterminate",
        "revocation_unreachable, expired_no_poe",  # a text list is read too
        None,
        "cc" * 32,
    ),
]


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "register.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE entries ({', '.join(f'{c} TEXT' for c in COLUMNS)})")
        db.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * len(COLUMNS))})", ROWS)
    return path


def test_register_becomes_a_dataframe_with_decoded_columns(register):
    frame = register_frame(register)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 3
    assert frame.loc[0, "signers"] == SIGNERS
    assert frame.loc[0, "reasons"] == []
    assert frame.loc[1, "reasons"] == ["page_content_modified", "benign_modification"]
    assert frame.loc[2, "reasons"] == ["revocation_unreachable", "expired_no_poe"]
    assert frame.loc[2, "signers"] == []
    # times are timestamps in UTC; the +07:00 one is converted, not dropped
    assert str(frame["received_at"].dt.tz) == "UTC"
    assert frame.loc[2, "received_at"] == pd.Timestamp("2026-05-21T01:00:00Z")
    assert frame.loc[1, "doc_date"] == pd.Timestamp("2026-05-20")
    assert pd.isna(frame.loc[0, "doc_date"])


def test_verdict_is_an_ordered_category_in_verdict_order(register):
    frame = register_frame(register)
    assert list(frame["verdict"].cat.categories) == list(VERDICT_ORDER)
    assert frame["verdict"].cat.ordered
    counts = frame.groupby("verdict", observed=False).size()
    assert list(counts.index) == list(VERDICT_ORDER)
    assert counts["official"] == 1 and counts["not_official"] == 0


def test_explode_signers_for_per_signer_analysis(register):
    frame = register_frame(register)
    signers = frame.explode("signers").dropna(subset=["signers"])
    roles = signers["signers"].map(lambda s: s["role"]).value_counts()
    assert roles["person"] == 2 and roles["agency"] == 1


def test_not_a_register_is_a_usage_error(tmp_path, register):
    with pytest.raises(UsageError, match="no such register"):
        register_frame(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(UsageError, match="not a sigmail register"):
        register_frame(junk)
    with pytest.raises(UsageError, match="not a table name"):
        register_frame(register, table="entries; DROP TABLE entries")
    with pytest.raises(UsageError, match="not a sigmail register"):
        register_frame(register, table="other")


def test_the_register_is_opened_read_only(register):
    before = register.read_bytes()
    register_frame(register)
    assert register.read_bytes() == before
