"""PDF budgets end in ``limit_exceeded``; malformed PDFs end in a verdict, never a traceback
(the verifier runs strict, so a bug would raise InternalError here)."""

from __future__ import annotations

import zlib

import pytest
from pdf_support import AT, incremental_update, offline_verifier, vector_bytes

from sigmail import Limits
from sigmail.verdict.model import VerdictKind

TWO_SIGNATURES = vector_bytes("pdf-person-then-agency")  # 3 revisions, 2 signatures


@pytest.mark.parametrize(
    "limits",
    [
        Limits(max_input_bytes=4096),
        Limits(max_pdf_revisions=2),
        Limits(max_signatures=1),
        Limits(max_pdf_objects=5),
    ],
    ids=["file size", "revisions", "signatures", "objects"],
)
def test_each_pdf_limit_gives_limit_exceeded(limits):
    verdict = offline_verifier(limits).verify(TWO_SIGNATURES, at=AT, name="two.pdf")
    assert verdict.verdict is VerdictKind.INDETERMINATE
    assert verdict.reasons == ("limit_exceeded",)
    assert verdict.findings[0].detail.split(" =")[0] in {
        "max_input_bytes",
        "max_pdf_revisions",
        "max_signatures",
        "max_pdf_objects",
    }


def test_within_the_limits_the_same_file_verifies():
    limits = Limits(max_pdf_revisions=3, max_signatures=2, max_pdf_objects=64)
    verdict = offline_verifier(limits).verify(TWO_SIGNATURES, at=AT, name="two.pdf")
    assert "limit_exceeded" not in verdict.reasons


def _bomb() -> bytes:
    """A small Flate stream that inflates to 64 MB, as the page content of a signed file."""
    payload = zlib.compress(b"\0" * (64 << 20), 9)
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(payload) + payload
    return incremental_update(vector_bytes("pdf-person-only"), {5: body + b"\nendstream"})


def _prev_loop(data: bytes) -> bytes:
    """The last cross-reference section's /Prev points at itself."""
    last = data.rsplit(b"startxref", 1)[1].split()[0]
    head, tail = data.rsplit(b"/Prev ", 1)
    return head + b"/Prev " + last + b" " + tail.split(maxsplit=1)[1]


SIGNED = vector_bytes("pdf-person-only")
MALFORMED = {
    "empty": b"",
    "header only": b"%PDF-1.7\n",
    "truncated": SIGNED[: len(SIGNED) // 2],
    "no startxref": SIGNED.replace(b"startxref", b"startxreX"),
    "startxref outside the file": SIGNED[: SIGNED.rfind(b"startxref")]
    + b"startxref\n999999999\n%%EOF\n",
    "xref garbage": SIGNED[: SIGNED.rfind(b"startxref")] + b"startxref\n9\n%%EOF\n",
    "prev loop": _prev_loop(SIGNED),
    "deep nesting": b"%PDF-1.7\n1 0 obj\n" + b"[" * 5000 + b"]" * 5000 + b"\nendobj\n"
    b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\n"
    b"startxref\n%d\n%%%%EOF\n" % (10019 + 9),
    "garbage after header": b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n",
    "inflation bomb": _bomb(),
    "signature dict broken": SIGNED.replace(b"/ByteRange", b"/ByteRange [0 ", 1),
}


# what each is, if not (invalid, malformed): the bomb is an incremental update over a signed
# file that rewrites the page; cut before its signature field, the file is merely unsigned;
# damaged bytes with no trace of a signature (no /ByteRange, /Sig, /ObjStm) are unsigned too
# (issue 10, item 12)
NOT_MALFORMED = {
    "inflation bomb": (VerdictKind.INVALID, "page_content_modified"),
    "truncated": (VerdictKind.UNSIGNED, "no_signature"),
    "empty": (VerdictKind.UNSIGNED, "no_signature"),
    "header only": (VerdictKind.UNSIGNED, "no_signature"),
    "garbage after header": (VerdictKind.UNSIGNED, "no_signature"),
    "deep nesting": (VerdictKind.UNSIGNED, "no_signature"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_pdfs_get_a_verdict(name):
    verifier = offline_verifier(Limits(max_input_bytes=32 << 20))
    verdict = verifier.verify(MALFORMED[name], at=AT, name=f"{name}.pdf")
    kind, reason = NOT_MALFORMED.get(name, (VerdictKind.INVALID, "malformed"))
    assert verdict.verdict is kind and reason in verdict.reasons, verdict.reasons
    assert "internal_error" not in verdict.reasons
