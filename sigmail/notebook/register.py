"""The arrival register (``sigmail audit --register``) as a pandas DataFrame.

Reads the register's ``entries`` table read-only — SQLite, or Parquet (``--format parquet``,
which needs pyarrow) — and decodes what is stored as text:
``signers`` (JSON) becomes a list of dicts, ``reasons`` a list of reason codes, the times
(``received_at``, ``validation_time`` …) UTC timestamps, ``doc_date`` a date, and ``verdict``
an ordered categorical (official … indeterminate), so that ``df.groupby("verdict")`` and plots
come out in the verdict order. pandas is imported here only: ``import sigmail`` never needs it
(install ``sigmail[notebook]``).
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from sigmail.errors import UsageError
from sigmail.verdict.vocabulary import VERDICT_ORDER

__all__ = ["VERDICT_ORDER", "register_frame"]


_PARQUET_MAGIC = b"PAR1"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _missing(value: Any) -> bool:
    """SQL NULL, as pandas hands it over (None or NaN), or an empty text."""
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _json_list(value: Any) -> list:
    """A JSON array stored as text; NULL or empty is an empty list."""
    if _missing(value):
        return []
    if isinstance(value, list):
        return value
    decoded = json.loads(value)
    return decoded if isinstance(decoded, list) else [decoded]


def _reasons(value: Any) -> list[str]:
    """Reason codes stored as a JSON array, or as text separated by commas or spaces."""
    if _missing(value):
        return []
    text = str(value).strip()
    if text.startswith("["):
        return [str(code) for code in json.loads(text)]
    return [code for code in re.split(r"[,\s]+", text) if code]


def register_frame(path: str | os.PathLike[str], *, table: str = "entries"):
    """The register at ``path`` as a :class:`pandas.DataFrame`, one row per register entry
    (a message or a document). Raises :class:`~sigmail.errors.UsageError` if the file is not
    a register."""

    if not _IDENTIFIER.match(table):
        raise UsageError(f"not a table name: {table!r}")
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{file}: no such register file")
    with file.open("rb") as fh:
        parquet = fh.read(4) == _PARQUET_MAGIC
    frame = _read_parquet(file, table) if parquet else _read_sqlite(file, table)
    return _decoded(frame)


def _read_sqlite(file: Path, table: str):
    import pandas as pd

    try:
        con = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"{file}: cannot open the register: {exc}") from exc
    try:
        return pd.read_sql_query(f"SELECT * FROM {table}", con)  # table: checked above
    except (sqlite3.Error, pd.errors.DatabaseError) as exc:
        raise UsageError(f"{file}: not a sigmail register ({exc})") from exc
    finally:
        con.close()


def _read_parquet(file: Path, table: str):
    """A Parquet register is one table, ``entries``; its values are stored as in SQLite (text),
    so the same decoding applies."""
    if table != "entries":
        raise UsageError(f"{file}: a Parquet register holds only the table entries")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise UsageError(
            "reading a Parquet register needs pyarrow: pip install 'sigmail[audit]'"
        ) from exc
    try:
        return pq.read_table(file).to_pandas()
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise UsageError(f"{file}: not a sigmail register ({exc})") from exc


def _decoded(frame):
    import pandas as pd

    if "signers" in frame:
        frame["signers"] = frame["signers"].map(_json_list)
    if "reasons" in frame:
        frame["reasons"] = frame["reasons"].map(_reasons)
    for column in ("received_at", "receipt_time", "validation_time", "retry_after", "audited_at"):
        if column in frame:
            frame[column] = pd.to_datetime(
                frame[column], utc=True, errors="coerce", format="ISO8601"
            )
    if "doc_date" in frame:
        frame["doc_date"] = pd.to_datetime(frame["doc_date"], errors="coerce", format="ISO8601")
    if "verdict" in frame:
        extra = sorted(set(frame["verdict"].dropna()) - set(VERDICT_ORDER))
        frame["verdict"] = pd.Categorical(
            frame["verdict"], categories=[*VERDICT_ORDER, *extra], ordered=True
        )
    return frame
