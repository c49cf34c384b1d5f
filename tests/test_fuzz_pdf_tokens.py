"""The PDF tokenizer's fast path (one regular-expression match per common token) means what
the long way means, and a few kB of object stream that inflate to millions of tokens stop at
an allowance in proportion to the file (issue 10, item 10: under 1 s per MB)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmail.limits import LimitExceeded, Limits
from sigmail.pdf.filters import TOKENS_BASE, DecodeAllowance
from sigmail.pdf.objects import Name, PdfDict, PdfString, Ref
from sigmail.pdf.parser import MAX_DEPTH, ObjectParser, PdfSyntaxError

PIECES = [
    b"<<", b">>", b"[", b"]", b"/Name", b"/", b"/A#20b", b"1 0 R", b"12 3 R", b"1 0", b"R",
    b"-3", b"+4", b".5", b"5.", b"-.", b"1e5", b"9" * 19, b"9" * 18, b"9" * 25, b"9" * 5000,
    b"(s\\))", b"(a(b)c", b"<41>", b"<4 1", b"true", b"truex", b"null", b"nul", b"false",
    b"%c\n", b" ", b"\n", b"\x00", b">", b"{", b")", b"obj", b"endobj", b"0", b"[" * 70,
]  # fmt: skip


def outcome(call):
    try:
        value, end = call()
    except PdfSyntaxError as exc:
        return "error", str(exc)
    if isinstance(value, PdfDict):
        value = ("dict", list(value.items()), value.duplicates, value.spans)
    return type(value).__name__, value, end


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12), st.sampled_from([b"", b" "]))
def test_the_fast_path_means_what_the_long_way_means(pieces, sep):
    data = sep.join(pieces)
    fast = outcome(lambda: ObjectParser(data).parse(0))
    slow = outcome(lambda: ObjectParser(data)._parse_other(0, 0))
    assert fast == slow


@pytest.mark.parametrize(
    ("data", "value", "end"),
    [
        (b"  12 0 R ", Ref(12, 0), 8),
        (b"12 0", 12, 2),
        (b"-12", -12, 3),
        (b"4.", 4.0, 2),
        (b"9" * 25, int("9" * 25), 25),
        (b"/A#20b", Name("A b"), 6),
        (b"%x\n true", True, 8),
        (b"null]", None, 4),
        (b"[1 2 0 R /N -1 (s)]", [1, Ref(2, 0), Name("N"), -1, PdfString(b"s")], 19),
        (b"<< /A 1 /A [] >>", PdfDict(A=[]), 16),
    ],
)
def test_tokens(data, value, end):
    got, stop = ObjectParser(data).parse(0)
    assert (got, stop) == (value, end) and type(got) is type(value)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"[1 2", "unexpected end of data at byte 4"),
        (b"<< /A 1 > >>", "'>' inside a dictionary at byte 8"),
        (b"<< 1 2 >>", "dictionary key is not a name at byte 3"),
        (b"[ >> ]", "unexpected byte 0x3e at byte 2"),
        (b"9" * 5000, "bad number at byte 0"),
        (b"1" * 21 + b" 0 R", "a number of 21 digits at byte 0"),
        (b"[" * (MAX_DEPTH + 1) + b"1", "objects nested too deeply at byte 65"),
        (b"[1 obj]", "unexpected keyword 'obj' at byte 3"),
    ],
)
def test_errors_say_where(data, error):
    with pytest.raises(PdfSyntaxError) as exc:
        ObjectParser(data).value(0)
    assert str(exc.value) == f"PDF syntax: {error}"


def test_tokens_are_counted_one_by_one():
    allowance = DecodeAllowance(Limits(max_pdf_stream_tokens=5))
    assert ObjectParser(b"[1 2 3 4]", tokens=allowance).parse(0)[0] == [1, 2, 3, 4]
    assert allowance.tokens_left == 0
    with pytest.raises(LimitExceeded) as exc:
        ObjectParser(b"7", tokens=allowance).parse(0)
    assert (exc.value.value, exc.value.observed) == (5, 6)


def test_the_token_allowance_grows_with_the_file_up_to_the_limit():
    limits = Limits()
    assert DecodeAllowance(limits).token_allowance == limits.max_pdf_stream_tokens
    assert DecodeAllowance(limits, 60_000).token_allowance == TOKENS_BASE + 60_000
    assert DecodeAllowance(limits, 10**9).token_allowance == limits.max_pdf_stream_tokens


def test_an_object_stream_of_a_few_kb_inflating_to_500_000_tokens_is_limit_exceeded():
    """500,000 numbers in 1 kB of Flate: under the old fixed allowance (10⁶) every one was
    parsed; now a file of that size gets 50,000 + one a byte."""
    from test_pdf_document_robustness import PAGE_TREE, objstm, verdict_of, xref_stream_pdf

    junk = b"[" + b"0 " * 500_000 + b"]"
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Junk " + junk + b" >>"
    data = xref_stream_pdf(
        {2: PAGE_TREE[2], 3: PAGE_TREE[3], 5: objstm([(1, catalog)])}, {1: (2, 5, 0)}
    )
    assert len(data) < 5_000 and len(zlib.compress(junk)) < 2_000
    verdict = verdict_of(data)
    assert verdict.reasons == ("limit_exceeded",)
    assert f"max_pdf_stream_tokens = {TOKENS_BASE + len(data)}" in verdict.findings[0].detail
