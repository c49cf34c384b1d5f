"""False accepts the peer suites found in the modification analysis (docs/peer-suites.md,
issue 10): each test makes the one change after a signature that passed as benign before the
fix, and checks the verdict and the reason."""

from __future__ import annotations

from pdf_support import incremental_update, object_body
from test_pdf_modifications import (
    _fill,
    _sign,
    _verify,
    _with_text_field,
)

from sigmail.verdict.model import VerdictKind


def _locked_with_p(p: int) -> bytes:
    """The letter with a text field "SoVanBan" and a signature field "NguoiKy" whose PDF 2.0
    /Lock locks no existing field but sets a DocMDP level ``/P``; signed (pyHanko copies the
    lock into a FieldMDP /Reference)."""
    base = _with_text_field(None, lock=True)
    lock = object_body(base, 23).replace(b"/Fields [(SoVanBan)]", b"/Fields [(Nothing)] /P %d" % p)
    return _sign(incremental_update(base, {23: lock}), field="NguoiKy")


def test_a_field_lock_p_is_obeyed_when_a_fieldmdp_reference_names_the_lock():
    # PDF 2.0 (12.7.5.5): a signature field lock's /P restricts the document after that
    # signature as DocMDP does. It used to be read only when no FieldMDP /Reference existed.
    signed = _locked_with_p(1)
    assert _verify(signed).verdict is VerdictKind.OFFICIAL
    verdict = _verify(_fill(signed, b"2026"))
    assert "docmdp_violation" in verdict.reasons, verdict.modifications
    # P2 allows filling in the (unlocked) field
    assert _verify(_fill(_locked_with_p(2), b"2026")).verdict is VerdictKind.OFFICIAL
