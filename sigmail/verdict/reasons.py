"""Every reason code sigmail can report, in one table.

A reason code is stable API: agency systems store it and mail filters match on it, so a code is
never renamed or removed. Each row says what the finding does to a verdict (its *effect*), which
regulation check it belongs to (C1-C12 in the rule book), the legal basis a clerk can look up,
and the message in Vietnamese and English. Turning findings into a verdict happens only in
:mod:`sigmail.policy.verdict_table`.

This module is the table's API; the rows themselves live in :mod:`sigmail.verdict.reason_rows`,
one module per area (C1-C6, documents and mail, PDF, XML and packages).
"""

from __future__ import annotations

from enum import StrEnum

from sigmail.verdict.reason_rows import documents_mail, pdf, signatures, xml
from sigmail.verdict.reason_rows.row import Effect, Reason

__all__ = [
    "REASONS",
    "VERDICT_ACTIONS",
    "VERDICT_LABELS",
    "Effect",
    "Reason",
    "ReasonCode",
    "reason",
    "reasons_json",
    "reasons_markdown",
]

# The table, in the order of docs/reason-codes.md and `sigmail reasons --json` (codes in the
# order they were added; the rows themselves live in sigmail/verdict/reason_rows/, by area).
# A new code goes at the end: at the end of the last tuple here, or in a new one after it.
_ROWS: tuple[Reason, ...] = (
    *signatures.ROWS,  # input handling, C1-C6
    *documents_mail.ROWS,  # C7-C10 documents, C12 evidence, C11 e-mail
    *pdf.ROWS,  # PDF (PAdES)
    *documents_mail.MESSAGE_DATE_ROWS,  # issue 10: signing time far from the message's Date
    *xml.ROWS,  # issue 13: XMLDSig, XAdES, Office and OpenDocument packages
)

REASONS: dict[str, Reason] = {row.code: row for row in _ROWS}

# The codes as an enum (member MALFORMED has the value "malformed"), made from the table so
# the two cannot drift; a StrEnum, so JSON and string comparisons are unchanged.
ReasonCode = StrEnum("ReasonCode", [(row.code.upper(), row.code) for row in _ROWS])  # type: ignore[misc]


def reason(code: str) -> Reason:
    """The table row of ``code``; a code missing from the table is a bug."""
    return REASONS[code]


# How each verdict word is said to a clerk (vi) and an English reader.
VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "official": ("HỢP LỆ — văn bản điện tử chính thức", "OFFICIALLY VALID"),
    "not_official": (
        "KHÔNG PHẢI BẢN CHÍNH THỨC — chữ ký còn nguyên vẹn và tin cậy",
        "NOT OFFICIAL — signatures intact and trusted",
    ),
    "unsigned": ("KHÔNG CÓ CHỮ KÝ SỐ", "UNSIGNED"),
    "invalid": ("KHÔNG HỢP LỆ", "INVALID"),
    "indeterminate": ("CHƯA XÁC ĐỊNH ĐƯỢC", "INDETERMINATE"),
}

# What a clerk (văn thư) does with each verdict (rule book, "Verdict vocabulary").
VERDICT_ACTIONS: dict[str, tuple[str, str]] = {
    "official": ("Vào sổ văn bản đến.", "Register it as received."),
    "not_official": (
        "Chỉ dùng để tham khảo; đề nghị nơi gửi gửi bản chính thức.",
        "Treat it as information; ask the sender for the issued version.",
    ),
    "unsigned": ("Bản tham khảo, chỉ dùng để tham khảo.", "A reference copy only."),
    "invalid": (
        "Trả lại nơi gửi (NĐ 30/2020/NĐ-CP Điều 21 khoản 2).",
        "Return it to the sender (NĐ 30/2020/NĐ-CP Art 21(2)).",
    ),
    "indeterminate": ("Kiểm tra lại sau.", "Check again later."),
}


def reasons_json() -> list[dict[str, str]]:
    """The table as JSON rows (``sigmail reasons --json``, the service's ``/v1/reasons``)."""
    return [
        {
            "code": r.code,
            "effect": r.effect.value,
            "check": r.check,
            "basis": r.basis,
            "vi": r.vi,
            "en": r.en,
        }
        for r in REASONS.values()
    ]


def reasons_markdown() -> str:
    """The reason-code reference page (docs/reason-codes.md is this text; a test compares)."""
    lines = [
        "# Reason codes",
        "",
        "Every finding in a verdict carries one of these codes. Codes are stable API: they are",
        "never renamed or removed. *Effect* is what the finding does to the verdict of the",
        "document or message (see `sigmail/policy/verdict_table.py`); *check* is the rule-book",
        "check (C1–C12) it belongs to. Generated from `sigmail/verdict/reasons.py`",
        "(`sigmail reasons --markdown`).",
        "",
        "| code | effect | check | basis | Tiếng Việt | English |",
        "|---|---|---|---|---|---|",
    ]
    for row in _ROWS:
        cells = (f"`{row.code}`", row.effect.value, row.check, row.basis, row.vi, row.en)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
