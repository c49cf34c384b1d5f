"""The yearly report as CSV: one row per kind × agency × month, and a total per agency."""

from __future__ import annotations

import csv
import io

from sigmail.audit.report import (
    KINDS,
    VERDICTS,
    YearReport,
    rows_of,
    top_reasons,
)

__all__ = ["csv_text", "write_csv"]


def write_csv(report: YearReport, out, *, top: int = 3) -> None:
    """One row per kind × agency × month with entries, and a ``total`` row per kind × agency.
    Entries no rule could count under an agency have an empty ``agency``;
    ``dated_by_file_time`` counts the entries dated only by a file's modification time."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "year",
            "kind",
            "agency",
            "month",
            "total",
            *VERDICTS,
            "official_share",
            "top_reasons",
            "dated_by_file_time",
        ]
    )
    for kind in KINDS:
        for agency in rows_of(report, kind):
            months = [m for m in range(1, 13) if report.cell(kind, agency, m).total]
            for month in [*months, None]:
                cell = report.cell(kind, agency, month)
                share = cell.official_share
                writer.writerow(
                    [
                        report.year,
                        kind,
                        agency,
                        f"{report.year}-{month:02d}" if month else "total",
                        cell.total,
                        *(cell.verdicts[v] for v in VERDICTS),
                        f"{share:.4f}" if share is not None else "",
                        "; ".join(f"{code}:{n}" for code, n in top_reasons(cell.reasons, top)),
                        cell.dated_by_file_time,
                    ]
                )


# -- HTML --------------------------------------------------------------------------------------


def csv_text(report: YearReport, *, top: int = 3) -> str:
    out = io.StringIO()
    write_csv(report, out, top=top)
    return out.getvalue()
