"""Content streams as a sequence of operations: ``(operator, operands)``, in order.

Used wherever sigmail reads what a page paints (overlay detection, text for the register).
Inline image data (``BI … ID … EI``) is skipped and reported as one ``BI`` operation; a token
that does not parse drops the operands gathered so far, as viewers do. The work is bounded by
a :class:`OperationCount` shared across a page and the forms it draws.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from sigmail.pdf.parser import ObjectParser, PdfSyntaxError

__all__ = ["OperationCount", "operations"]

_OPERATOR = re.compile(rb"[A-Za-z'\"*]+[0-9]?")
_INLINE_END = re.compile(rb"[\x00\t\n\x0c\r ]EI(?=[\x00\t\n\x0c\r /]|$)")
_OPERAND_START = b"/<[(+-.0123456789"


class OperationCount:
    """Tokens read so far, against a ceiling; ``tick`` is called every 4096 tokens (e.g. the
    verification's time budget)."""

    __slots__ = ("count", "limit", "tick")

    def __init__(self, limit: int, tick: Callable[[], None] | None = None) -> None:
        self.count = 0
        self.limit = limit
        self.tick = tick

    def spend(self) -> None:
        self.count += 1
        if self.count > self.limit:
            raise PdfSyntaxError(f"content has more than {self.limit} tokens")
        if self.tick is not None and self.count % 4096 == 0:
            self.tick()


def operations(data: bytes, count: OperationCount) -> Iterator[tuple[bytes, list[Any]]]:
    parser = ObjectParser(data, base=None)
    operands: list[Any] = []
    pos = 0
    end = len(data)
    while True:
        pos = parser.skip_ws(pos)
        if pos >= end:
            return
        count.spend()
        if data[pos] in _OPERAND_START:
            try:
                value, pos = parser.parse(pos)
            except PdfSyntaxError:
                pos += 1
                operands.clear()
                continue
            operands.append(value)
            continue
        found = _OPERATOR.match(data, pos)
        if found is None:
            pos += 1
            operands.clear()
            continue
        operator = found.group(0)
        pos = found.end()
        args, operands = operands, []
        if operator == b"BI":
            stop = _INLINE_END.search(data, pos)
            pos = stop.end() if stop else end
        yield operator, args
