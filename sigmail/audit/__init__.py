"""The arrival register: mailboxes and folders → one verdict per message and per document,
kept as rows (``sigmail audit``), and the yearly statistics made from them (``sigmail report``).

A thin front-end around the core, like the CLI and the mail filter: every item becomes one
:meth:`sigmail.Verifier.verify` call and its verdict becomes rows. The modules, in the order
the work flows (docs/audit.md is the reference):

==================  ==========================================================================
``sources``         mbox files, Maildirs, folders → items (where the bytes are, not the bytes)
``received``        the arrival time; the own MTA's ``Received:`` field as proof of existence
``work``            one item → one verifier call → rows (the unit both engines run); the
                    documents a message carries come from that call (``on_document``)
``text``            document number and date from the text (``pdftext``: a PDF's text)
``rows``            a verdict → rows; the columns; the agency rule
``register``        SQLite (default) or Parquet; what a re-run skips
``engine``          listing, skipping, the local process pool or Dask, writing in order
``report``          per agency and month: counts, share official, reasons (``report_csv``,
                    ``report_html``: the CSV and the page)
==================  ==========================================================================

Dask and pyarrow are imported only by the code that needs them (``sigmail[audit]``); nothing
here is imported by ``import sigmail`` or ``sigmail verify``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "run_audit": "sigmail.audit.engine",
    "AuditSummary": "sigmail.audit.engine",
    "Settings": "sigmail.audit.work",
    "read_rows": "sigmail.audit.register",
    "COLUMNS": "sigmail.audit.rows",
    "build_report": "sigmail.audit.report",
    "render_html": "sigmail.audit.report_html",
    "write_csv": "sigmail.audit.report_csv",
}

__all__ = [
    "COLUMNS",
    "AuditSummary",
    "Settings",
    "build_report",
    "read_rows",
    "render_html",
    "run_audit",
    "write_csv",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sigmail.audit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:  # pragma: no cover
    from sigmail.audit.engine import AuditSummary, run_audit
    from sigmail.audit.register import read_rows
    from sigmail.audit.report import build_report
    from sigmail.audit.report_csv import write_csv
    from sigmail.audit.report_html import render_html
    from sigmail.audit.rows import COLUMNS
    from sigmail.audit.work import Settings
