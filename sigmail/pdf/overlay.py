"""Where a page paints something: the coarse *painted area* of a page, for overlay checks.

An annotation added after signing is harmless when it sits in an empty margin (a sticky
note, a comment box beside the text) and is an attack when it covers what the signer saw
(the "evil annotation" that writes a new amount over the old one). To tell the two apart,
sigmail interprets the page's content stream just enough to know *where* it paints:

* text: each shown string as a box from the baseline's descent to its ascent, its width
  from the font's ``/Widths`` (or half an em per glyph when unknown), through the text and
  current transformation matrices;
* paths: the bounding box of every stroked or filled path (white fills — page backgrounds —
  are ignored), images as their unit square, shadings as the clip or page box;
* form XObjects: their own painted area (recursively, bounded), clipped to their ``/BBox``.

The result is a list of rectangles in default user space. It is deliberately coarse and
errs towards "painted": an area sigmail cannot interpret counts as painted.
"""

from __future__ import annotations

from typing import Any

from sigmail.pdf.content import OperationCount, operations
from sigmail.pdf.document import PdfDocument
from sigmail.pdf.filters import UnsupportedFilter
from sigmail.pdf.objects import PdfDict, Ref, Stream
from sigmail.pdf.parser import PdfSyntaxError
from sigmail.pdf.structure import inherited

__all__ = ["Rect", "overlaps", "painted_area", "rect_of"]

Rect = tuple[float, float, float, float]
Matrix = tuple[float, float, float, float, float, float]

_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_MAX_FORM_DEPTH = 6
_MAX_OPERATORS = 500_000
_MIN_AREA = 0.5  # pt²: touching edges are not an overlap


def rect_of(value: Any) -> Rect | None:
    """A normalised rectangle from a PDF array of four numbers."""
    if not isinstance(value, list) or len(value) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    x0, y0, x1, y1 = (float(v) for v in value)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def overlaps(a: Rect, b: Rect) -> bool:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w > 0 and h > 0 and w * h >= _MIN_AREA


def _matrix(values) -> Matrix:
    """Six PDF numbers as a matrix (the caller checked there are six)."""
    a, b, c, d, e, f = (_num(v) for v in values)
    return (a, b, c, d, e, f)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t,
            e * q + f * s + u)  # fmt: skip


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _box(m: Matrix, r: Rect) -> Rect:
    pts = [_apply(m, x, y) for x in (r[0], r[2]) for y in (r[1], r[3])]
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


class _Font:
    __slots__ = ("default", "first", "two_byte", "widths")

    def __init__(self, doc: PdfDocument, value: Any, revision: int) -> None:
        d = doc.dict_at(value, revision) or PdfDict()
        self.two_byte = d.get("Subtype") == "Type0"
        self.first = d.get("FirstChar", 0) if isinstance(d.get("FirstChar"), int) else 0
        widths = doc.resolve(d.get("Widths"), revision)
        self.widths = [_num(w) for w in widths] if isinstance(widths, list) else None
        self.default = 500.0
        if self.two_byte:
            kids = doc.resolve(d.get("DescendantFonts"), revision)
            kid = doc.dict_at(kids[0], revision) if isinstance(kids, list) and kids else None
            if kid is not None and isinstance(kid.get("DW"), int | float):
                self.default = float(kid["DW"])
            elif kid is not None:
                self.default = 1000.0

    def advance(self, text: bytes) -> float:
        """Width of ``text`` in text space units per unit font size."""
        if self.two_byte:
            return len(text) // 2 * self.default / 1000.0
        if self.widths is None:
            return len(text) * 0.5
        total = 0.0
        for byte in text:
            i = byte - self.first
            total += self.widths[i] if 0 <= i < len(self.widths) else self.default
        return total / 1000.0


class _Painter:
    def __init__(self, doc: PdfDocument, revision: int, page_box: Rect) -> None:
        self.doc = doc
        self.revision = revision
        self.page_box = page_box
        self.rects: list[Rect] = []
        self.count = OperationCount(_MAX_OPERATORS)

    def run(
        self, data: bytes, resources: PdfDict | None, ctm: Matrix, clip: Rect, depth: int
    ) -> None:
        doc, rev = self.doc, self.revision
        gs: list[tuple] = []
        fill_white = False
        tm = tlm = _IDENTITY
        font: _Font | None = None
        size = leading = rise = 0.0
        hscale = 1.0
        path: list[tuple[float, float]] = []
        fonts: dict[str, _Font] = {}
        for op, args in operations(data, self.count):
            if op == b"BI":  # an inline image paints its unit square
                self._add(_box(ctm, (0, 0, 1, 1)), clip)
            elif op == b"q":
                gs.append((ctm, clip, fill_white))
            elif op == b"Q":
                if gs:
                    ctm, clip, fill_white = gs.pop()
            elif op == b"cm" and len(args) == 6:
                ctm = _mul(_matrix(args), ctm)
            elif op in (b"g", b"rg", b"k", b"sc", b"scn"):
                nums = [_num(a) for a in args if isinstance(a, int | float)]
                white = {b"g": [1.0], b"rg": [1.0, 1.0, 1.0], b"k": [0.0, 0.0, 0.0, 0.0]}
                fill_white = op in white and nums == white[op]
            elif op in (b"m", b"l") and len(args) >= 2:
                path.append(_apply(ctm, _num(args[-2]), _num(args[-1])))
            elif op in (b"c", b"v", b"y"):
                nums = [_num(a) for a in args]
                for i in range(0, len(nums) - 1, 2):
                    path.append(_apply(ctm, nums[i], nums[i + 1]))
            elif op == b"re" and len(args) == 4:
                x, y, w, h = (_num(a) for a in args)
                box = _box(ctm, (x, y, x + w, y + h))
                path += [(box[0], box[1]), (box[2], box[3])]
            elif op in (b"S", b"s", b"B", b"B*", b"b", b"b*"):
                self._add_path(path, clip)
                path = []
            elif op in (b"f", b"F", b"f*"):
                if not fill_white:
                    self._add_path(path, clip)
                path = []
            elif op == b"n":
                path = []
            elif op in (b"W", b"W*"):
                if path:
                    xs = [p[0] for p in path]
                    ys = [p[1] for p in path]
                    clip = _intersect(clip, (min(xs), min(ys), max(xs), max(ys))) or clip
            elif op == b"sh":
                self._add(clip, clip)
            elif op == b"BT":
                tm = tlm = _IDENTITY
            elif op == b"Tf" and len(args) == 2:
                key = args[0]
                if isinstance(key, str):
                    if key not in fonts:
                        font_dict = doc.dict_at(resources.get("Font"), rev) if resources else None
                        fonts[key] = _Font(doc, font_dict.get(key) if font_dict else None, rev)
                    font = fonts[key]
                size = _num(args[1])
            elif op == b"TL" and args:
                leading = _num(args[0])
            elif op == b"Tz" and args:
                hscale = _num(args[0]) / 100.0
            elif op == b"Ts" and args:
                rise = _num(args[0])
            elif op in (b"Td", b"TD") and len(args) == 2:
                tx, ty = _num(args[0]), _num(args[1])
                if op == b"TD":
                    leading = -ty
                tlm = tm = _mul((1, 0, 0, 1, tx, ty), tlm)
            elif op == b"Tm" and len(args) == 6:
                tlm = tm = _matrix(args)
            elif op == b"T*":
                tlm = tm = _mul((1, 0, 0, 1, 0, -leading), tlm)
            elif op in (b"Tj", b"TJ", b"'", b'"'):
                if op in (b"'", b'"'):
                    tlm = tm = _mul((1, 0, 0, 1, 0, -leading), tlm)
                pieces = args[-1:] if op != b"TJ" else (args[-1] if args else [])
                if not isinstance(pieces, list):
                    pieces = [pieces]
                width = 0.0
                f = font
                for piece in pieces:
                    if isinstance(piece, bytes):
                        width += (f.advance(piece) if f else len(piece) * 0.5) * size * hscale
                    elif isinstance(piece, int | float):
                        width -= _num(piece) / 1000.0 * size * hscale
                box = (min(0.0, width), rise - 0.25 * size, max(0.0, width), rise + size)
                self._add(_box(_mul(tm, ctm), box), clip)
                tm = _mul((1, 0, 0, 1, width, 0), tm)
            elif op == b"Do" and args and isinstance(args[-1], str):
                self._xobject(str(args[-1]), resources, ctm, clip, depth)

    def _xobject(self, name: str, resources: PdfDict | None, ctm: Matrix, clip: Rect, depth: int):
        doc, rev = self.doc, self.revision
        xobjects = doc.dict_at(resources.get("XObject"), rev) if resources else None
        target = doc.resolve(xobjects.get(name), rev) if xobjects else None
        if not isinstance(target, Stream):
            return
        subtype = target.dict.get("Subtype")
        if subtype == "Form" and depth < _MAX_FORM_DEPTH:
            bbox = rect_of(doc.resolve(target.dict.get("BBox"), rev)) or self.page_box
            matrix = doc.resolve(target.dict.get("Matrix"), rev)
            m = _IDENTITY
            if isinstance(matrix, list) and len(matrix) == 6:
                m = _matrix(matrix)
            inner = _mul(m, ctm)
            inner_clip = _intersect(clip, _box(inner, bbox))
            if inner_clip is None:
                return
            res = doc.dict_at(target.dict.get("Resources"), rev) or resources
            try:
                self.run(doc.decoded(target), res, inner, inner_clip, depth + 1)
            except (UnsupportedFilter, PdfSyntaxError):
                self._add(inner_clip, clip)
        else:
            self._add(_box(ctm, (0, 0, 1, 1)), clip)

    def _add_path(self, path: list[tuple[float, float]], clip: Rect) -> None:
        if path:
            xs = [p[0] for p in path]
            ys = [p[1] for p in path]
            self._add((min(xs), min(ys), max(xs), max(ys)), clip)

    def _add(self, r: Rect, clip: Rect) -> None:
        clipped = _intersect(r, clip)
        if clipped is not None:
            self.rects.append(clipped)


def _intersect(a: Rect, b: Rect) -> Rect | None:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    if x1 < x0 or y1 < y0:
        return None
    return (x0, y0, x1, y1)


def page_box(doc: PdfDocument, page: PdfDict, revision: int) -> Rect:
    node: PdfDict | None = page
    for _ in range(32):
        if node is None:
            break
        box = rect_of(doc.resolve(node.get("CropBox") or node.get("MediaBox"), revision))
        if box is not None:
            return box
        node = doc.dict_at(node.get("Parent"), revision)
    return (0.0, 0.0, 612.0, 792.0)


def painted_area(doc: PdfDocument, page_ref: Ref, revision: int) -> list[Rect]:
    """Rectangles where page ``page_ref`` paints, as of ``revision``; the whole page box when
    its content cannot be interpreted."""
    page = doc.dict_at(page_ref, revision)
    if page is None:
        return []
    box = page_box(doc, page, revision)
    painter = _Painter(doc, revision, box)
    resources = doc.dict_at(inherited(doc, page, "Resources", revision), revision)
    contents = doc.resolve(page.get("Contents"), revision)
    streams = contents if isinstance(contents, list) else [contents]
    try:
        data = b"\n".join(
            doc.decoded(s)
            for s in (doc.resolve(item, revision) for item in streams)
            if isinstance(s, Stream)
        )
        painter.run(data, resources, _IDENTITY, box, 0)
    except (UnsupportedFilter, PdfSyntaxError):
        return [box]
    return painter.rects
