"""The ByteRange check (ISO 32000-1 §12.8.1; ETSI EN 319 142-1 §5.1): what a signature covers.

A sound ``/ByteRange`` is exactly ``[0, b, c, d]`` where ``b`` is the offset of the
``/Contents`` hexadecimal string of *this* signature dictionary, ``c`` the offset just after
it, and ``c + d`` the end of the revision the dictionary belongs to (after its ``%%EOF``
line). Anything else — a second ``/ByteRange`` key, a gap wider or narrower than the
``/Contents`` string, ranges that overlap or leave the file, an end that is not the end of
its revision — is ``byte_range_invalid``: the bytes outside the ranges are not what the
signer signed, so what the reader sees may not be either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sigmail.pdf.document import PdfDocument
from sigmail.pdf.signatures import PdfSignature
from sigmail.verdict.vocabulary import Coverage as CoverageKind

__all__ = ["Coverage", "check_byte_range"]

_BLANK = b"\x00\t\n\x0c\r "


@dataclass(slots=True)
class Coverage:
    """What one signature's ByteRange covers, and what is wrong with it."""

    byte_range: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]  # the pieces to hash, clipped to the file
    revision: int  # the revision the signature belongs to (and signs, when sound)
    coverage: CoverageKind
    problems: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not self.problems


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _revision_ends(doc: PdfDocument, revision: int) -> set[int]:
    """Where a signature over ``revision`` may end: after ``%%EOF`` or after its line end."""
    end = doc.revision(revision).end
    tail = doc.src.bytes(end - 2, end)
    ends = {end}
    if tail.endswith(b"\r\n"):
        ends.add(end - 2)
    elif tail.endswith((b"\n", b"\r")):
        ends.add(end - 1)
    return ends


def check_byte_range(doc: PdfDocument, sig: PdfSignature) -> Coverage:
    size = doc.src.size
    raw = sig.dict.get("ByteRange")
    problems: list[str] = []
    values: tuple[int, ...] = ()
    if not isinstance(raw, list):
        problems.append("the signature dictionary has no /ByteRange array")
    else:
        values = tuple(v for v in raw if _is_int(v))
        if len(raw) != 4 or len(values) != 4:
            problems.append(f"/ByteRange has {len(raw)} entries, not 4 integers")
    for key in ("ByteRange", "Contents"):
        if key in sig.dict.duplicates:
            problems.append(f"the signature dictionary has a second /{key} key")

    # The pieces to hash: whatever the pairs say, clipped to the file.
    ranges: list[tuple[int, int]] = []
    for i in range(0, len(values) - 1, 2):
        start, length = values[i], values[i + 1]
        if start < 0 or length < 0:
            problems.append(f"/ByteRange has a negative value ({start} {length})")
            continue
        ranges.append((min(start, size), min(start + length, size)))

    revision = sig.home
    span = sig.contents_span
    if span is None:
        problems.append(
            "the signature dictionary is inside an object stream or has no /Contents "
            "string: its /Contents cannot be excluded from the signed bytes"
        )
    elif sig.contents is None or doc.src.bytes(span[0], span[0] + 1) != b"<":
        problems.append("/Contents is not a hexadecimal string")

    if not problems and len(values) == 4:
        a, b, c, d = values
        if a != 0:
            problems.append(f"the signed bytes start at {a}, not at the beginning of the file")
        if span is not None and (b, c) != span:
            problems.append(
                f"the gap between the signed ranges is [{b}, {c}) but this signature's "
                f"/Contents string is at [{span[0]}, {span[1]})"
            )
        if b > c:
            problems.append("the signed ranges overlap")
        if c + d > size:
            problems.append(
                f"the signed range ends at {c + d}, beyond the end of the file ({size})"
            )
        elif c + d not in _revision_ends(doc, revision):
            problems.append(
                f"the signed range ends at {c + d}, not at the end of revision {revision} "
                f"({doc.revision(revision).end})"
            )
    end = ranges[-1][1] if ranges else 0
    if problems:
        coverage = CoverageKind.PARTIAL
    elif end >= size or (size - end <= 64 and not doc.src.bytes(end, size).strip(_BLANK)):
        coverage = CoverageKind.ENTIRE_FILE
    else:
        coverage = CoverageKind.ENTIRE_REVISION
    return Coverage(values, tuple(ranges), revision, coverage, problems)
