"""Two small inline SVG pictures: a signature's timeline and a PDF's byte-range coverage.

Plain SVG text (no JavaScript, no external fonts, styles or images), so a notebook keeps
rendering it offline and nbviewer/GitHub show it as it is. Every piece of text that comes from
the input — a certificate's name, a field name — goes through :func:`esc`; the rest are
numbers this module formats itself.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sigmail.verdict.vocabulary import RevocationState

if TYPE_CHECKING:  # the model renders itself through this module (Verdict._repr_html_)
    from sigmail.verdict.model import SignatureReport

__all__ = ["coverage_svg", "esc", "timeline_svg"]

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:11px"
_STATE_COLOURS = {
    RevocationState.GOOD: "#8fd19e",
    RevocationState.REVOKED: "#ff8182",
    RevocationState.ON_HOLD: "#ffb77c",
    RevocationState.UNKNOWN: "#d0d7de",
    RevocationState.NOT_CHECKED: "#d0d7de",
}


def esc(value: object) -> str:
    """Text for HTML or SVG, element content and quoted attributes alike."""
    return html.escape(str(value), quote=True)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


@dataclass(frozen=True, slots=True)
class _Marker:
    when: datetime
    label: str
    colour: str
    dashed: bool = False


@dataclass(frozen=True, slots=True)
class _Row:
    label: str
    start: datetime
    end: datetime
    colour: str
    title: str
    revoked_at: datetime | None = None
    evidence: tuple[datetime, datetime] | None = None  # thisUpdate … nextUpdate


def _rows(sig: SignatureReport) -> list[_Row]:
    rows = []
    for n, element in enumerate(sig.chain):
        cert = element.certificate
        rev = element.revocation
        state = rev.state if rev is not None else RevocationState.NOT_CHECKED
        name = cert.common_name or cert.subject
        title = (
            f"chain[{n}] {element.role}: {cert.subject}\nvalid {_stamp(cert.not_before)} – "
            f"{_stamp(cert.not_after)}\nrevocation: {state.value}"
        )
        evidence = None
        if rev is not None:
            title += f" ({rev.source or '?'}, {rev.origin or '?'})"
            if rev.revoked_at is not None:
                title += f", revoked {_stamp(rev.revoked_at)}"
                if rev.revocation_reason:
                    title += f" ({rev.revocation_reason})"
            if rev.this_update is not None and rev.next_update is not None:
                evidence = (rev.this_update, rev.next_update)
                title += f"\nevidence {_stamp(rev.this_update)} – {_stamp(rev.next_update)}"
        rows.append(
            _Row(
                label=f"{element.role}: {_short(name)}",
                start=cert.not_before,
                end=cert.not_after,
                colour=_STATE_COLOURS[state],
                title=title,
                revoked_at=rev.revoked_at if rev is not None else None,
                evidence=evidence,
            )
        )
    stamp = sig.timestamp
    if stamp is not None and stamp.tsa is not None:
        tsa = stamp.tsa
        rows.append(
            _Row(
                label=f"TSA: {_short(tsa.common_name or tsa.subject)}",
                start=tsa.not_before,
                end=tsa.not_after,
                colour="#c297ff",
                title=f"timestamp authority: {tsa.subject}\nvalid {_stamp(tsa.not_before)} – "
                f"{_stamp(tsa.not_after)}",
            )
        )
    return rows


def _markers(sig: SignatureReport, validation_time: datetime | None) -> list[_Marker]:
    out = []
    if sig.claimed_signing_time is not None:
        out.append(_Marker(sig.claimed_signing_time, "claimed", "#6e7781", dashed=True))
    stamp = sig.timestamp
    if (
        stamp is not None
        and stamp.gen_time is not None
        and stamp.gen_time != sig.proven_signing_time
    ):
        out.append(_Marker(stamp.gen_time, "timestamp", "#8250df", dashed=True))
    if sig.proven_signing_time is not None:
        how = sig.proven_by.value if sig.proven_by is not None else "?"
        out.append(_Marker(sig.proven_signing_time, f"proven ({how})", "#0969da"))
    when = validation_time or sig.checked_at
    if when is not None:
        out.append(_Marker(when, "validation", "#24292f"))
    return out


def _ticks(lo: datetime, hi: datetime, count: int = 5) -> list[datetime]:
    step = (hi - lo) / count
    return [lo + step * (i + 0.5) for i in range(count)]


def timeline_svg(
    sig: SignatureReport, *, validation_time: datetime | None = None, width: int = 720
) -> str:
    """The signature's certificates as validity bars (coloured by revocation state, with the
    revocation time and the evidence's thisUpdate–nextUpdate window), against the claimed and
    proven signing times and the validation time. Empty when there is nothing to draw."""
    rows = _rows(sig)
    markers = _markers(sig, validation_time)
    if not rows:
        return ""
    focus = rows[0]  # the signer: the axis is its validity plus every event
    times = [focus.start, focus.end, *(m.when for m in markers)]
    times += [r.revoked_at for r in rows if r.revoked_at is not None]
    lo, hi = min(times), max(times)
    if hi - lo < timedelta(days=2):
        lo, hi = lo - timedelta(days=1), hi + timedelta(days=1)
    pad = (hi - lo) * 0.04
    lo, hi = lo - pad, hi + pad
    left, right = 250, width - 12
    lanes, lane_h, row_h = 3, 12, 20
    top = lanes * lane_h + 8
    height = top + len(rows) * row_h + 26

    def x(when: datetime) -> float:
        when = min(max(when, lo), hi)
        return left + (when - lo) / (hi - lo) * (right - left)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sigmail-timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" style="{FONT}">',
        f"<title>{esc('timeline of ' + sig.locator)}</title>",
        f'<rect x="{left}" y="{top - 4}" width="{right - left}" height="{len(rows) * row_h + 4}" '
        'fill="#f6f8fa"/>',
    ]
    for n, row in enumerate(rows):
        y = top + n * row_h
        x0, x1 = x(row.start), x(row.end)
        out.append(f'<text x="4" y="{y + 12}" fill="#24292f">{esc(row.label)}</text>')
        out.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="12" rx="2" '
            f'fill="{row.colour}"><title>{esc(row.title)}</title></rect>'
        )
        if row.start < lo:
            out.append(f'<path d="M{left + 6},{y + 3} l-6,5 l6,5 z" fill="#57606a"/>')
        if row.end > hi:
            out.append(f'<path d="M{right - 6},{y + 3} l6,5 l-6,5 z" fill="#57606a"/>')
        if row.evidence is not None:
            e0, e1 = x(row.evidence[0]), x(row.evidence[1])
            out.append(
                f'<rect x="{e0:.1f}" y="{y + 11}" width="{max(e1 - e0, 2):.1f}" height="3" '
                'fill="#1a7f37"><title>revocation evidence: thisUpdate – nextUpdate</title></rect>'
            )
        if row.revoked_at is not None:
            xr = x(row.revoked_at)
            out.append(
                f'<rect x="{xr:.1f}" y="{y + 2}" width="{max(x1 - xr, 2):.1f}" height="12" '
                f'fill="#cf222e" opacity="0.75"><title>{esc("revoked " + _stamp(row.revoked_at))}'
                "</title></rect>"
            )
    # vertical markers, labels spread over a few lanes so that close events stay readable
    last_in_lane = [-1e9] * lanes
    bottom = top + len(rows) * row_h
    for marker in sorted(markers, key=lambda m: m.when):
        xm = x(marker.when)
        lane = next((i for i in range(lanes) if xm - last_in_lane[i] > 95), lanes - 1)
        last_in_lane[lane] = xm
        ly = 10 + lane * lane_h
        dash = ' stroke-dasharray="4 3"' if marker.dashed else ""
        out.append(
            f'<line x1="{xm:.1f}" y1="{ly + 2}" x2="{xm:.1f}" y2="{bottom}" '
            f'stroke="{marker.colour}" stroke-width="1.5"{dash}>'
            f"<title>{esc(marker.label + ': ' + _stamp(marker.when))}</title></line>"
        )
        anchor = "end" if xm > right - 80 else "start"
        out.append(
            f'<text x="{xm + (-3 if anchor == "end" else 3):.1f}" y="{ly}" '
            f'text-anchor="{anchor}" fill="{marker.colour}">{esc(marker.label)}</text>'
        )
    for tick in _ticks(lo, hi):
        xt = x(tick)
        out.append(
            f'<line x1="{xt:.1f}" y1="{bottom}" x2="{xt:.1f}" y2="{bottom + 4}" stroke="#57606a"/>'
        )
        out.append(
            f'<text x="{xt:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#57606a">'
            f"{esc(_day(tick))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _ranges(byte_range: Sequence[int], size: int) -> list[tuple[int, int]]:
    """(start, end) pairs of a ByteRange, clipped to the file; nonsense pairs are dropped."""
    out = []
    values = list(byte_range)
    for i in range(0, len(values) - 1, 2):
        start, length = values[i], values[i + 1]
        if not isinstance(start, int) or not isinstance(length, int) or start < 0 or length < 0:
            continue
        end = min(start + length, size)
        if start < end:
            out.append((start, end))
    return sorted(out)


def coverage_svg(
    signatures: Sequence[SignatureReport], size: int | None, *, width: int = 720
) -> str:
    """One bar per PDF signature: the file from byte 0 to its size, the signed ranges in
    green, the gap that holds the signature itself in grey, and what the signature does not
    cover (later revisions, or bytes a partial signature leaves out) in amber."""
    rows = [s for s in signatures if s.byte_range]
    if not rows or not size or size <= 0:
        return ""
    left, right, row_h = 250, width - 150, 22
    height = len(rows) * row_h + 24
    scale = (right - left) / size

    def x(offset: int) -> float:
        return left + offset * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sigmail-coverage" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" style="{FONT}">',
        "<title>byte-range coverage of the PDF's signatures</title>",
    ]
    for n, sig in enumerate(rows):
        y = 4 + n * row_h
        ranges = _ranges(sig.byte_range, size)
        label = f"{sig.index}"
        if sig.field:
            label += f" {sig.field}"
        if sig.revision is not None:
            label += f" (rev {sig.revision})"
        if sig.kind == "doc_timestamp":
            label += " timestamp"
        out.append(f'<text x="4" y="{y + 12}" fill="#24292f">{esc(_short(label))}</text>')
        out.append(
            f'<rect x="{left}" y="{y}" width="{right - left}" height="14" fill="#f0b429" '
            f'opacity="0.55"><title>not covered by signature {sig.index}</title></rect>'
        )
        if ranges:
            first, last = ranges[0][0], ranges[-1][1]
            out.append(
                f'<rect x="{x(first):.1f}" y="{y}" width="{max(x(last) - x(first), 1):.1f}" '
                'height="14" fill="#afb8c1"><title>inside the signed span but not signed: '
                "the signature value (/Contents)</title></rect>"
            )
        for a, b in ranges:
            out.append(
                f'<rect x="{x(a):.1f}" y="{y}" width="{max(x(b) - x(a), 1):.1f}" height="14" '
                f'fill="#2da44e"><title>{esc(f"signed bytes {a}–{b - 1}")}</title></rect>'
            )
        span = (ranges[-1][1] - ranges[0][0]) if ranges else 0
        note = f"{span / size * 100:.1f}% of file · {sig.coverage or '?'}"
        out.append(f'<text x="{right + 6}" y="{y + 12}" fill="#24292f">{esc(note)}</text>')
    y = 4 + len(rows) * row_h
    out.append(f'<text x="{left}" y="{y + 12}" fill="#57606a">0</text>')
    out.append(
        f'<text x="{right}" y="{y + 12}" text-anchor="end" fill="#57606a">'
        f"{esc(f'{size:,} bytes')}</text>"
    )
    out.append("</svg>")
    return "".join(out)
