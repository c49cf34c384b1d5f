"""Documentation that is generated from code stays in step with it."""

from __future__ import annotations

from pathlib import Path

from sigmail.verdict.reasons import REASONS, reasons_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_reason_code_page_lists_every_code():
    page = (ROOT / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    regenerate = "regenerate: sigmail reasons --markdown > docs/reason-codes.md"
    assert page == reasons_markdown(), regenerate
    for code in REASONS:
        assert f"| `{code}` |" in page, f"reason code {code} has no row in docs/reason-codes.md"
