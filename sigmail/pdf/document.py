"""A PDF file as its revisions, with objects read on demand *as of* any revision.

``doc.get(ref, revision)`` answers "what was object ``ref`` in revision ``revision``" from
that revision's cross-reference data; only the objects asked for are parsed (and object
streams only when one of their objects is). This is what lets the modification analysis
compare a signed revision with the later ones object by object.
"""

from __future__ import annotations

from typing import Any

from sigmail.limits import Budget
from sigmail.pdf.filters import DecodeAllowance, decode_stream_data
from sigmail.pdf.objects import PdfDict, Ref, Stream
from sigmail.pdf.parser import ObjectParser, PdfSyntaxError
from sigmail.pdf.source import Source
from sigmail.pdf.xref import Entry, Revision, read_revisions

__all__ = ["PdfDocument"]

_MAX_OBJSTM_OBJECTS = 100_000


class PdfDocument:
    """Revisions, and objects as of a revision. Not thread-safe (one per verification)."""

    def __init__(self, data: Any, budget: Budget) -> None:
        self.src = data if isinstance(data, Source) else Source(data)
        self.budget = budget
        self.max_decoded = budget.limits.max_input_bytes
        # One account for every stream the document decodes, xref streams included.
        self.allowance = DecodeAllowance(budget.limits, self.src.size)
        self.revisions: list[Revision] = read_revisions(self.src, budget, self.allowance)
        self._objects: dict[tuple, Any] = {}
        self._objstms: dict[tuple, tuple[bytes, list[tuple[int, int]], int]] = {}
        # Decoded data by where the stream's data is and how it is encoded: a stream that
        # many objects refer to (a /DSS /Certs array naming one stream 64 times) is decoded
        # once and held once. The allowance bounds what this holds.
        self._decoded: dict[tuple, bytes] = {}

    @property
    def last(self) -> int:
        """The number of the last revision."""
        return len(self.revisions)

    def revision(self, number: int) -> Revision:
        return self.revisions[number - 1]

    # -- cross-reference lookups -----------------------------------------------------------

    def entry(self, num: int, revision: int) -> Entry | None:
        """The xref entry in force for object ``num`` in ``revision`` (None: never defined)."""
        for r in range(revision - 1, -1, -1):
            e = self.revisions[r].entries.get(num)
            if e is not None:
                return e
        return None

    def defined_in(self, num: int, revision: int) -> int | None:
        """The revision whose xref data gives object ``num``'s entry in ``revision``."""
        for r in range(revision - 1, -1, -1):
            if num in self.revisions[r].entries:
                return r + 1
        return None

    def exists(self, num: int, revision: int) -> bool:
        e = self.entry(num, revision)
        return e is not None and e[0] != 0

    # -- objects ---------------------------------------------------------------------------

    def get(self, ref: Ref | int, revision: int) -> Any:
        """Object ``ref`` as of ``revision``; ``None`` when free or undefined (§7.3.10)."""
        num = ref.num if isinstance(ref, Ref) else ref
        e = self.entry(num, revision)
        if e is None or e[0] == 0:
            return None
        if e[0] == 1:
            key: tuple = (num, e)
            if key in self._objects:
                return self._objects[key]
            value = self._parse_at(num, e[1], revision)
        else:
            stm_entry = self.entry(e[1], revision)
            key = (num, e, stm_entry)
            if key in self._objects:
                return self._objects[key]
            value = self._from_objstm(num, e[1], e[2], revision)
        self._objects[key] = value
        return value

    def resolve(self, value: Any, revision: int) -> Any:
        """``value`` itself, or what it refers to (one level, as §7.3.10 defines)."""
        return self.get(value, revision) if isinstance(value, Ref) else value

    def location(self, num: int, revision: int) -> int | None:
        """The file offset of object ``num``'s ``obj`` header, if it is not compressed."""
        e = self.entry(num, revision)
        return e[1] if e is not None and e[0] == 1 else None

    def _parse_at(self, num: int, offset: int, revision: int) -> Any:
        if not 0 <= offset < self.src.size:
            raise PdfSyntaxError(f"object {num} points outside the file", offset)
        self.budget.check_time()
        parser = ObjectParser(
            self.src.buf,
            end=self.src.size,
            length_of=lambda r: self._length(r, revision),
            max_string=self.max_decoded,
        )
        _ref, value, _end = parser.indirect(offset, expect=Ref(num))
        return value

    def parse_span(self, num: int, revision: int) -> tuple[int, int] | None:
        """``(start, end)`` of object ``num``'s ``obj … endobj`` in the file, if uncompressed."""
        e = self.entry(num, revision)
        if e is None or e[0] != 1:
            return None
        parser = ObjectParser(
            self.src.buf,
            end=self.src.size,
            length_of=lambda r: self._length(r, revision),
            max_string=self.max_decoded,
        )
        _ref, _value, end = parser.indirect(e[1], expect=Ref(num))
        return e[1], end

    def _length(self, ref: Ref, revision: int) -> Any:
        e = self.entry(ref.num, revision)
        if e is None or e[0] != 1:
            return None
        parser = ObjectParser(self.src.buf, end=self.src.size)
        try:
            _ref, value, _end = parser.indirect(e[1], expect=ref)
        except PdfSyntaxError:
            return None
        return value if isinstance(value, int) else None

    def _from_objstm(self, num: int, stm_num: int, index: int, revision: int) -> Any:
        stm_entry = self.entry(stm_num, revision)
        key = (stm_num, stm_entry)
        cached = self._objstms.get(key)
        if cached is None:
            if stm_entry is None or stm_entry[0] != 1:
                # A stream is never inside an object stream (ISO 32000-1 §7.5.7), so an object
                # stream is one step from the file: an entry pointing into itself, or two
                # pointing at each other, is malformed here instead of a RecursionError.
                raise PdfSyntaxError(
                    f"object {num} is in object {stm_num}, which is not an object in the file"
                )
            stream = self.get(stm_num, revision)
            if not isinstance(stream, Stream) or stream.dict.get("Type") != "ObjStm":
                raise PdfSyntaxError(f"object {num} is in object {stm_num}, not an object stream")
            data = self.decoded(stream)
            n, first = stream.dict.get("N"), stream.dict.get("First")
            if not (isinstance(n, int) and isinstance(first, int)) or not (
                0 <= n <= _MAX_OBJSTM_OBJECTS and 0 <= first <= len(data)
            ):
                raise PdfSyntaxError(f"object stream {stm_num} has bad /N or /First")
            header = ObjectParser(data, base=None, end=first, tokens=self.allowance)
            pairs: list[tuple[int, int]] = []
            pos = 0
            for _ in range(n):
                obj_num, pos = header.parse(pos)
                offset, pos = header.parse(pos)
                if not (isinstance(obj_num, int) and isinstance(offset, int)):
                    raise PdfSyntaxError(f"object stream {stm_num} has a bad header")
                pairs.append((obj_num, offset))
            cached = (data, pairs, first)
            self._objstms[key] = cached
        data, pairs, first = cached
        if not 0 <= index < len(pairs) or pairs[index][0] != num:
            # Some writers get /Index wrong; fall back to finding the number in the header.
            found = [i for i, (n, _o) in enumerate(pairs) if n == num]
            if not found:
                raise PdfSyntaxError(f"object {num} is not in object stream {stm_num}")
            index = found[0]
        start = first + pairs[index][1]
        stop = first + pairs[index + 1][1] if index + 1 < len(pairs) else len(data)
        if not first <= start <= len(data):
            raise PdfSyntaxError(f"object {num} lies outside object stream {stm_num}")
        parser = ObjectParser(
            data, base=None, end=max(start, min(stop, len(data))), tokens=self.allowance
        )
        value, _end = parser.value(start)
        return value

    # -- streams ---------------------------------------------------------------------------

    def raw(self, stream: Stream) -> bytes:
        if stream.inline is not None:
            return stream.inline
        return self.src.bytes(stream.data_start, stream.data_start + stream.data_length)

    def decoded(self, stream: Stream) -> bytes:
        if stream.inline is not None:
            return self._decode(stream)
        key = (
            stream.data_start,
            stream.data_length,
            repr(stream.dict.get("Filter")),
            repr(stream.dict.get("DecodeParms")),
        )
        data = self._decoded.get(key)
        if data is None:
            data = self._decode(stream)
            self._decoded[key] = data
        return data

    def _decode(self, stream: Stream) -> bytes:
        return decode_stream_data(
            self.raw(stream), stream.dict, max_output=self.max_decoded, allowance=self.allowance
        )

    # -- convenience -----------------------------------------------------------------------

    def catalog(self, revision: int) -> PdfDict | None:
        root = self.revision(revision).trailer.get("Root")
        if revision > 1 and root is None:
            root = self.revisions[revision - 2].trailer.get("Root")
        value = self.resolve(root, revision)
        return value if isinstance(value, PdfDict) else None

    def dict_at(self, value: Any, revision: int) -> PdfDict | None:
        """``value`` resolved, if it is a dictionary (a stream's dictionary counts)."""
        value = self.resolve(value, revision)
        if isinstance(value, Stream):
            return value.dict
        return value if isinstance(value, PdfDict) else None
