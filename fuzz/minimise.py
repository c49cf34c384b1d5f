"""Delta debugging (Zeller's ddmin) over bytes, with a cap on how often the test may run.

``still_fails(candidate)`` says whether a smaller input still shows the same finding (same
kind, same exception type at the same place). Chunks are removed at ever finer granularity;
then single bytes are simplified towards ``0x00``/``"0"`` where that keeps the finding.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ddmin"]


def ddmin(data: bytes, still_fails: Callable[[bytes], bool], *, max_tests: int = 2000) -> bytes:
    """A locally minimal input (every chunk at the final granularity is needed) or, when the
    test budget runs out, the smallest found so far."""
    tests = 0

    def test(candidate: bytes) -> bool:
        nonlocal tests
        tests += 1
        return still_fails(candidate)

    n = 2
    while len(data) >= 2 and tests < max_tests:
        chunk = max(1, len(data) // n)
        starts = range(0, len(data), chunk)
        reduced = False
        for start in starts:
            if tests >= max_tests:
                break
            complement = data[:start] + data[start + chunk :]
            if complement and test(complement):
                data = complement
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if chunk == 1:
                break
            n = min(n * 2, len(data))
    return data


def asn1_min(data: bytes, still_fails: Callable[[bytes], bool], *, max_tests: int = 2000) -> bytes:
    """Structure-aware reduction of DER/BER: drop whole TLV nodes (every enclosing length
    rewritten), then cut primitive contents in half, while the finding stays the same; then
    :func:`ddmin` over what is left. Byte-level deletion alone breaks the outer lengths at
    once and so never reaches the inner node that matters."""
    from fuzz import asn1

    tests = 0

    def test(candidate: bytes) -> bool:
        nonlocal tests
        tests += 1
        return still_fails(candidate)

    # Pre-order: the biggest subtrees are tried first (a whole certificate set at once);
    # after a removal the walk goes on at the same number in the new tree.
    for _round in range(3):
        before = data
        i = 0
        while tests < max_tests:
            trees = asn1.parse(data)
            nodes = asn1.flatten(trees)
            if i >= len(nodes):
                break
            node = nodes[i]
            options = [b""]
            if node.children is None and len(node.content) > 1 and node.ident:
                half = node.content[: len(node.content) // 2]
                options.append(node.ident + asn1.encode_length(len(half)) + half)
            for option in options:
                candidate = asn1.encode(trees, {i: option})
                if candidate and candidate != data and test(candidate):
                    data = candidate
                    break
            else:
                i += 1
        if data == before:
            break
    return ddmin(data, still_fails, max_tests=max(0, max_tests - tests))
