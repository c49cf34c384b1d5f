"""Every digest a PDF needs, in one pass over the file.

Each signature (and document timestamp) hashes its ByteRange; the verdict records the SHA-256
of the whole file. These byte sets share long prefixes — a signature over revision 1 and the
whole file agree on every byte up to that signature's ``/Contents`` — so the pass keeps one
hash state per *group* of digests that have seen the same bytes so far, and copies a state
(``hash.copy()``) only where two digests part ways. A 100 MB file with one signature is read
once and hashed about once, not three times.

Reading is chunked (``CHUNK`` bytes), every digest that needs a chunk hashes it while it is
still in the CPU cache, and the chunk's pages are then released (see
:meth:`sigmail.pdf.source.Source.release`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from sigmail.cms.signer_info import ContentDigests
from sigmail.pdf.source import Source

__all__ = ["CHUNK", "HashJob", "PrecomputedDigests", "hash_in_one_pass", "hashlib_name"]

CHUNK = 1 << 18

_HASHLIB = {
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha512_224": "sha512_224",
    "sha512_256": "sha512_256",
    "sha3_224": "sha3_224",
    "sha3_256": "sha3_256",
    "sha3_384": "sha3_384",
    "sha3_512": "sha3_512",
    "md5": "md5",
}


def hashlib_name(name: str) -> str | None:
    """hashlib's name for an asn1crypto digest name, if hashlib can compute it here."""
    target = _HASHLIB.get(name)
    if target is None or target not in hashlib.algorithms_available:
        return None
    return target


@dataclass(frozen=True, slots=True)
class HashJob:
    """One digest wanted: ``algorithm`` (asn1crypto name) over the byte ``ranges``."""

    algorithm: str
    ranges: tuple[tuple[int, int], ...]


def _covers(ranges: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in ranges)


def hash_in_one_pass(src: Source, jobs: Sequence[HashJob], *, chunk: int = CHUNK) -> list[bytes]:
    """The digest of every job, in order; the file is read once, front to back."""
    jobs = list(jobs)
    results: list[bytes | None] = [None] * len(jobs)
    size = src.size
    bounds = {0, size}
    shared: list[int] = []
    for i, job in enumerate(jobs):
        flat = [x for r in job.ranges for x in r]
        if flat != sorted(flat):
            # Overlapping or out-of-order ranges (an invalid ByteRange): hash them as given.
            h = hashlib.new(hashlib_name(job.algorithm) or job.algorithm)
            for a, b in job.ranges:
                h.update(src.view[max(0, min(a, size)) : max(0, min(b, size))])
            results[i] = h.digest()
        else:
            shared.append(i)
    for i in shared:
        for a, b in jobs[i].ranges:
            bounds.add(max(0, min(a, size)))
            bounds.add(max(0, min(b, size)))
    points = sorted(bounds)
    # groups: [hash object, set of job indices that have hashed exactly the same bytes]
    groups: list[list] = []
    by_algorithm: dict[str, list[int]] = {}
    for i in shared:
        by_algorithm.setdefault(jobs[i].algorithm, []).append(i)
    for algorithm, members in by_algorithm.items():
        groups.append([hashlib.new(hashlib_name(algorithm) or algorithm), set(members)])

    view = src.view
    for seg_start, seg_end in itertools.pairwise(points):
        if seg_end <= seg_start:
            continue
        active: list = []
        for group in list(groups):
            inside = {i for i in group[1] if _covers(jobs[i].ranges, seg_start, seg_end)}
            if not inside:
                continue
            if inside != group[1]:
                # These jobs part ways here: the others keep a copy of the state so far.
                groups.append([group[0].copy(), group[1] - inside])
                group[1] = inside
            active.append(group[0])
        if not active:
            continue
        for pos in range(seg_start, seg_end, chunk):
            piece = view[pos : min(pos + chunk, seg_end)]
            for h in active:
                h.update(piece)
            src.release(pos, min(pos + chunk, seg_end))
    for h, members in groups:
        value = h.digest()
        for i in members:
            results[i] = value
    return results  # type: ignore[return-value]


class PrecomputedDigests(ContentDigests):
    """Content digests already computed by :func:`hash_in_one_pass`; any other algorithm the
    signer turns out to need is computed over the pieces (a second pass, never needed for
    the algorithms the signer info announces)."""

    __slots__ = ()

    def __init__(self, pieces: Sequence[memoryview], known: dict[str, bytes]) -> None:
        super().__init__(list(pieces))
        self._done.update(known)
