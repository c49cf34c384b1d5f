"""Properties of PDF verification: any bytes named .pdf get a verdict; changing any byte a
signature covers never passes; the one-pass hashing equals hashing each range alone; the
object parser agrees with pyHanko's reader on every object of every test PDF."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdf_support import AT, PDF_VECTORS, offline_verifier, vector_bytes

from fuzz.invariants import assert_invariants
from sigmail.limits import Budget, Limits
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.hashing import HashJob, hash_in_one_pass
from sigmail.pdf.source import Source
from sigmail.verdict.model import SignatureStatus, VerdictKind

VERIFIER = offline_verifier()
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Official offline (its DSS carries the evidence): the baseline the tampering is measured on.
BASELINE_NAME = "pdf-person-b-lta"
BASELINE = vector_bytes(BASELINE_NAME)
PASSING = (VerdictKind.OFFICIAL, VerdictKind.NOT_OFFICIAL)


def _signed_ranges(data: bytes) -> list[tuple[int, int]]:
    verdict = VERIFIER.verify(data, at=AT, name="baseline.pdf")
    ranges = []
    for sig in verdict.signatures:
        a, b, c, d = sig.byte_range
        ranges += [(a, a + b), (c, c + d)]
    return ranges


RANGES = _signed_ranges(BASELINE)
# Also official offline: a signature and a document timestamp over a certificate that has
# expired since (the timestamp proves when). Each (file, range) pair is a place to tamper.
OTHER_BASELINE = vector_bytes("pdf-expired-proven-by-doc-timestamp")
PLACES = [(BASELINE, r) for r in RANGES] + [
    (OTHER_BASELINE, r) for r in _signed_ranges(OTHER_BASELINE)
]


def test_baselines_are_official():
    for baseline in (BASELINE, OTHER_BASELINE):
        verdict = VERIFIER.verify(baseline, at=AT, name="baseline.pdf")
        assert verdict.verdict is VerdictKind.OFFICIAL, verdict.reasons
        assert [s.status for s in verdict.signatures] == [SignatureStatus.PASSED] * 2


@SETTINGS
@given(data=st.binary(max_size=4096), header=st.booleans())
def test_any_bytes_named_pdf_get_a_verdict(data, header):
    blob = (b"%PDF-1.7\n" + data) if header else data
    verdict = VERIFIER.verify(blob, at=AT, name="random.pdf")
    assert_invariants(verdict)
    assert verdict.verdict not in PASSING


@SETTINGS
@given(st.data())
def test_any_mutation_of_a_signed_pdf_gets_a_verdict(data):
    blob = bytearray(BASELINE)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(blob) - 1))
        if op == "flip":
            blob[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del blob[pos : pos + data.draw(st.integers(1, 64))]
        else:
            blob[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
    verdict = VERIFIER.verify(bytes(blob), at=AT, name="mutated.pdf")
    assert_invariants(verdict)
    assert "internal_error" not in verdict.reasons


@SETTINGS
@given(index=st.integers(0, len(PLACES) - 1), data=st.data())
def test_flipping_a_signed_byte_never_passes(index, data):
    baseline, (start, end) = PLACES[index]
    pos = data.draw(st.integers(start, end - 1))
    blob = bytearray(baseline)
    blob[pos] ^= data.draw(st.integers(1, 255))
    verdict = VERIFIER.verify(bytes(blob), at=AT, name="tampered.pdf")
    assert_invariants(verdict)
    assert verdict.verdict not in PASSING, (pos, verdict.reasons)
    # Whatever still parses, no signature whose range holds the byte verifies.
    for sig in verdict.signatures:
        if sig.byte_range and len(sig.byte_range) == 4:
            a, b, c, d = sig.byte_range
            if a <= pos < a + b or c <= pos < c + d:
                assert sig.status is not SignatureStatus.PASSED


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 5000),
    jobs=st.lists(
        st.tuples(
            st.sampled_from(["sha256", "sha1", "sha512"]),
            st.lists(st.integers(0, 5200), min_size=2, max_size=6),
        ),
        max_size=5,
    ),
    chunk=st.sampled_from([1, 7, 64, 4096]),
)
def test_one_pass_hashing_equals_hashing_each_range(size, jobs, chunk):
    data = hashlib.shake_256(b"%d" % size).digest(size)
    wanted = []
    for algorithm, points in jobs:
        points = points[: len(points) // 2 * 2]
        ranges = tuple((points[i], max(points[i], points[i + 1])) for i in range(0, len(points), 2))
        wanted.append(HashJob(algorithm, ranges))
    got = hash_in_one_pass(Source(data), wanted, chunk=chunk)
    for job, digest in zip(wanted, got, strict=True):
        h = hashlib.new(job.algorithm)
        for a, b in job.ranges:
            h.update(data[min(a, size) : min(b, size)])
        assert digest == h.digest()


def _normalise(value, doc, depth=0):
    """pyHanko's and sigmail's objects in one comparable form."""
    from pyhanko.pdf_utils import generic

    from sigmail.pdf.objects import Ref, Stream

    if depth > 40:
        return "…"
    if isinstance(value, generic.IndirectObject | Ref):
        return ("ref", value.idnum if hasattr(value, "idnum") else value.num)
    if isinstance(value, generic.StreamObject):
        return ("stream", _normalise(dict(value.items()), doc, depth + 1), value.encoded_data)
    if isinstance(value, Stream):
        return ("stream", _normalise(value.dict, doc, depth + 1), doc.raw(value))
    if isinstance(value, dict):
        return {str(k).lstrip("/"): _normalise(v, doc, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, doc, depth + 1) for v in value]
    if isinstance(value, generic.NameObject):
        return ("name", str(value).lstrip("/"))
    if isinstance(value, str) and type(value).__name__ == "Name":
        return ("name", str(value))
    if isinstance(value, generic.TextStringObject):
        return ("string", value.original_bytes)
    if isinstance(value, bytes):
        return ("string", bytes(value))
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return round(float(value), 6)
    if isinstance(value, generic.NullObject):
        return None
    return value


def _compare_with_pyhanko(data: bytes, label: str) -> int:
    """Every object the last revision lists, read by sigmail and by pyHanko (the oracle);
    objects pyHanko cannot read are skipped. Returns how many were compared."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.reader import PdfFileReader

    doc = PdfDocument(data, Budget(Limits()))
    reader = PdfFileReader(BytesIO(data), strict=False)
    checked = 0
    for num, entry in doc.revision(doc.last).entries.items():
        if entry[0] == 0:
            continue
        try:
            theirs = reader.get_object(generic.Reference(num, entry[2] if entry[0] == 1 else 0))
            expected = _normalise(theirs, doc)
        except Exception:  # the oracle's own failures are not ours
            continue
        assert _normalise(doc.get(num, doc.last), doc) == expected, (label, num)
        checked += 1
    return checked


def test_parser_agrees_with_pyhanko_on_every_object_of_every_test_pdf():
    checked = sum(
        _compare_with_pyhanko(vector_bytes(name), name)
        for name in sorted(PDF_VECTORS)
        if name != "pdf-appended-objects"  # both ignore what follows %%EOF
    )
    assert checked > 100


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "attacks"


def test_parser_agrees_with_pyhanko_on_the_attack_corpus():
    import pytest

    files = sorted(CORPUS.rglob("*.pdf")) if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"the attack corpus is not at {CORPUS}")
    checked = sum(_compare_with_pyhanko(f.read_bytes(), f.name) for f in files)
    assert checked > 1000
