"""The yearly report as one self-contained HTML page: CSS inline, charts as inline SVG, no
script, nothing fetched (it opens offline, in a browser or an e-mail client, and prints)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sigmail.audit.report import (
    COLORS,
    DATE_SOURCES,
    KINDS,
    UNKNOWN,
    VERDICTS,
    Cell,
    YearReport,
    rows_of,
    top_reasons,
)
from sigmail.verdict.svg import esc as _esc

__all__ = ["render_html"]


_WORDS: dict[str, dict[str, Any]] = {
    "vi": {
        "title": "Báo cáo sử dụng thư điện tử năm {year}",
        "lead": "Sổ đăng ký {source} · tháng tính theo UTC{tz} · lập lúc {now}",
        "message": "Thư điện tử",
        "document": "Văn bản đính kèm và tệp văn bản",
        "by_month": "Số lượng theo tháng và kết quả",
        "share": "Tỷ lệ hợp lệ chính thức theo cơ quan",
        "agency": "Cơ quan",
        "month": "Tháng",
        "total": "Tổng",
        "share_col": "Tỷ lệ hợp lệ",
        "reasons": "Lý do thường gặp",
        "per_month": "Chi tiết theo tháng",
        "none": "Không có mục nào trong năm {year}.",
        "policies": "Chính sách",
        "outside": "{n} mục thuộc năm khác không được tính.",
        "unnamed": "Chưa xác định được cơ quan",
        "dated": "Ngày của mục lấy từ: {parts}.",
        "dated_by": {
            "text": "ngày ghi trong văn bản {n}",
            "signing_time": "thời điểm ký {n}",
            "message": "thời điểm nhận thư {n}",
            "file_time": "chỉ có thời điểm sửa tệp {n} (không chắc chắn)",
        },
        "m": "T{m}",
        "verdicts": {
            "official": "hợp lệ chính thức",
            "not_official": "không chính thức",
            "unsigned": "không ký số",
            "invalid": "không hợp lệ",
            "indeterminate": "chưa xác định",
        },
    },
    "en": {
        "title": "E-mail use report {year}",
        "lead": "Register {source} · months in UTC{tz} · made {now}",
        "message": "E-mail messages",
        "document": "Documents (attached or filed)",
        "by_month": "Entries by month and verdict",
        "share": "Share officially valid, by agency",
        "agency": "Agency",
        "month": "Month",
        "total": "Total",
        "share_col": "Officially valid",
        "reasons": "Most frequent reasons",
        "per_month": "By month",
        "none": "No entries in {year}.",
        "policies": "Policies",
        "outside": "{n} entries of other years are not counted.",
        "unnamed": "Agency not identified",
        "dated": "Entries dated by: {parts}.",
        "dated_by": {
            "text": "the date in the document {n}",
            "signing_time": "the signing time {n}",
            "message": "the message's arrival {n}",
            "file_time": "only the file's modification time {n} (uncertain)",
        },
        "m": "{m:02d}",
        "verdicts": {
            "official": "official",
            "not_official": "not official",
            "unsigned": "unsigned",
            "invalid": "invalid",
            "indeterminate": "indeterminate",
        },
    },
}

_CSS = """
body{font-family:"DejaVu Sans","Noto Sans",Arial,sans-serif;margin:24px;color:#212121;
max-width:1180px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 8px;border-bottom:2px solid
#37474f;padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
p.lead{color:#546e7a;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
th,td{border:1px solid #cfd8dc;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#eceff1}td.l,th.l{text-align:left}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0}figcaption{font-size:13px;font-weight:bold;margin-bottom:4px}
svg text{font-family:inherit}
"""


def _nice_step(peak: int) -> int:
    """A whole step for four grid lines that reach at least ``peak``: 1, 2, 5, 10, 20, …"""
    step = 1
    while step * 4 < peak:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if step * 4 >= peak:
                break
    return step


_EMPTY_MONTH = 0.3  # an empty month's width, in full slots, at most
_EMPTY_SHARE = 1 / 3  # and all empty months together take at most this share of the chart


def _month_slots(cells: list[Cell]) -> list[tuple[int, float]]:
    """(month, relative width) for the months drawn: from the first month with entries to
    the last; an empty month in between is a narrow slot (it is still a month with nothing),
    and together they never take more than a third of the chart."""
    busy = [m for m, cell in enumerate(cells, 1) if cell.total]
    if not busy:
        return [(m, 1.0) for m in range(1, 13)]
    months = range(busy[0], busy[-1] + 1)
    empty = len(months) - len(busy)
    # empty · w ≤ share · (busy + empty · w)  ⇔  w ≤ share · busy / (empty · (1 − share))
    narrow = min(_EMPTY_MONTH, _EMPTY_SHARE * len(busy) / (max(empty, 1) * (1 - _EMPTY_SHARE)))
    return [(m, 1.0 if cells[m - 1].total else narrow) for m in months]


def _month_chart(report: YearReport, kind: str, words: dict) -> str:
    """Stacked bars: entries per month, coloured by verdict."""
    width, height = 560, 260
    left, bottom, top_pad = 44, 28, 18
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    cells = [report.cell(kind, None, m) for m in range(1, 13)]
    step = _nice_step(max((c.total for c in cells), default=0))
    peak = step * 4
    slots = _month_slots(cells)
    unit = plot_w / sum(w for _m, w in slots)
    out = [
        f'<svg class="chart" data-chart="months-{kind}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for i in range(5):
        value = step * i
        y = top_pad + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{value}</text>"
        )
    start = float(left)
    for m, weight in slots:
        cell = cells[m - 1]
        slot = unit * weight
        x = start + slot * 0.15
        w = slot * 0.7
        start += slot
        y = top_pad + plot_h
        for verdict in VERDICTS:
            n = cell.verdicts[verdict]
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{COLORS[verdict]}"><title>{_esc(words["m"].format(m=m))}: '
                f"{_esc(words['verdicts'][verdict])} {n}</title></rect>"
            )
        if cell.total:
            out.append(
                f'<text x="{x + w / 2:.1f}" y="{y - 4:.1f}" font-size="11" '
                f'text-anchor="middle">{cell.total}</text>'
            )
        out.append(
            f'<text class="month" x="{x + w / 2:.1f}" y="{height - 10}" font-size="11" '
            f'text-anchor="middle">{_esc(words["m"].format(m=m)) if cell.total else "·"}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{top_pad + plot_h}" y2="{top_pad + plot_h}" '
        'stroke="#424242"/></svg>'
    )
    return "".join(out)


def _share_chart(report: YearReport, kind: str, limit: int = 15) -> str:
    """Horizontal bars: the share officially valid per agency (the busiest ``limit``)."""
    agencies = report.agencies(kind)[:limit]
    row_h, label_w, bar_w = 24, 250, 230
    width, height = label_w + bar_w + 90, max(row_h * len(agencies) + 24, 48)
    out = [
        f'<svg class="chart" data-chart="share-{kind}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for i, agency in enumerate(agencies):
        cell = report.cell(kind, agency)
        share = cell.official_share or 0.0
        y = 8 + i * row_h
        label = agency if len(agency) <= 38 else agency[:37] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">'
            f"{_esc(label)}<title>{_esc(agency)}</title></text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" '
            'fill="#eceff1"/>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar_w * share:.1f}" '
            f'height="{row_h - 8}" fill="{COLORS["official"]}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="12">'
            f"{share:.0%} ({cell.verdicts['official']}/{cell.total})</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _reason_list(reasons: Counter, top: int, lang: str) -> str:
    from sigmail.verdict.reasons import REASONS

    items = []
    for code, n in top_reasons(reasons, top):
        row = REASONS.get(code)
        label = (row.vi if lang == "vi" else row.en) if row is not None else code
        # The reader's words; the stable code (the CSV's) on hover.
        items.append(f'<span title="{_esc(code)}">{_esc(label)}: {n}</span>')
    return "<br>".join(items)


def _table(report: YearReport, kind: str, words: dict, lang: str, top: int) -> str:
    v = words["verdicts"]
    head = "".join(f"<th>{_esc(v[x])}</th>" for x in VERDICTS)
    rows = []
    for agency in [*rows_of(report, kind), None]:
        cell = report.cell(kind, agency)
        share = cell.official_share
        if agency is None:
            name = f"<b>{_esc(words['total'])}</b>"
        elif agency == UNKNOWN:
            name = f"<i>{_esc(words['unnamed'])}</i>"
        else:
            name = _esc(agency)
        rows.append(
            f'<tr><td class="l">{name}</td><td>{cell.total}</td>'
            + "".join(f"<td>{cell.verdicts[x]}</td>" for x in VERDICTS)
            + f"<td>{'' if share is None else f'{share:.1%}'}</td>"
            + f'<td class="l">{_reason_list(cell.reasons, top, lang)}</td></tr>'
        )
    return (
        f'<table class="summary" data-kind="{kind}"><thead><tr><th class="l">'
        f"{_esc(words['agency'])}</th><th>{_esc(words['total'])}</th>{head}"
        f'<th>{_esc(words["share_col"])}</th><th class="l">{_esc(words["reasons"])}</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _month_table(report: YearReport, kind: str, words: dict, lang: str, top: int) -> str:
    v = words["verdicts"]
    head = "".join(f"<th>{_esc(v[x])}</th>" for x in VERDICTS)
    rows = []
    for agency in rows_of(report, kind):
        label = f"<i>{_esc(words['unnamed'])}</i>" if agency == UNKNOWN else _esc(agency)
        for m in range(1, 13):
            cell = report.cell(kind, agency, m)
            if not cell.total:
                continue
            share = cell.official_share
            rows.append(
                f'<tr><td class="l">{label}</td><td>{report.year}-{m:02d}</td>'
                f"<td>{cell.total}</td>"
                + "".join(f"<td>{cell.verdicts[x]}</td>" for x in VERDICTS)
                + f"<td>{share:.1%}</td>"
                + f'<td class="l">{_reason_list(cell.reasons, top, lang)}</td></tr>'
            )
    return (
        f'<table class="months" data-kind="{kind}"><thead><tr><th class="l">'
        f"{_esc(words['agency'])}</th><th>{_esc(words['month'])}</th>"
        f"<th>{_esc(words['total'])}</th>{head}<th>{_esc(words['share_col'])}</th>"
        f'<th class="l">{_esc(words["reasons"])}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_html(
    report: YearReport, *, lang: str = "vi", top: int = 3, now: datetime | None = None
) -> str:
    """The whole report as one HTML page with nothing external."""
    words = _WORDS[lang]
    now = now or datetime.now(UTC)
    offset = report.tz.utcoffset(None)
    minutes = int(offset.total_seconds() // 60)
    tz_text = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    legend = "".join(
        f'<span><i style="background:{COLORS[x]}"></i>{_esc(words["verdicts"][x])}</span>'
        for x in VERDICTS
    )
    body = [
        f"<h1>{_esc(words['title'].format(year=report.year))}</h1>",
        '<p class="lead">'
        + _esc(
            words["lead"].format(
                source=report.source,
                tz=tz_text,
                now=now.astimezone(report.tz).strftime("%d/%m/%Y %H:%M"),
            )
        )
        + "</p>",
    ]
    if report.policies:
        body.append(
            f"<p>{_esc(words['policies'])}: "
            + ", ".join(f"{_esc(p)} ({n})" for p, n in sorted(report.policies.items()))
            + "</p>"
        )
    if report.outside:
        body.append(f"<p>{_esc(words['outside'].format(n=report.outside))}</p>")
    if report.dated:
        parts = [
            words["dated_by"][how].format(n=report.dated[how])
            for how in DATE_SOURCES
            if report.dated[how]
        ]
        body.append(f'<p class="dated">{_esc(words["dated"].format(parts="; ".join(parts)))}</p>')
    for kind in KINDS:
        body.append(f'<section data-kind="{kind}"><h2>{_esc(words[kind])}</h2>')
        if not report.agencies(kind):
            body.append(f"<p>{_esc(words['none'].format(year=report.year))}</p></section>")
            continue
        body.append(
            f'<div class="legend">{legend}</div><div class="charts">'
            f"<figure><figcaption>{_esc(words['by_month'])}</figcaption>"
            f"{_month_chart(report, kind, words)}</figure>"
            f"<figure><figcaption>{_esc(words['share'])}</figcaption>"
            f"{_share_chart(report, kind)}</figure></div>"
            f"{_table(report, kind, words, lang, top)}"
            f"<h3>{_esc(words['per_month'])}</h3>{_month_table(report, kind, words, lang, top)}"
            "</section>"
        )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_esc(words['title'].format(year=report.year))}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
