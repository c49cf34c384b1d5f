"""The arrival register: table ``entries`` in SQLite (default) or Parquet.

**SQLite** (standard library, a single file, nothing to install) is the working format: rows
are committed as items finish (every 500 items or 2 seconds), so an interrupted audit keeps
what it did and the next run goes on from there. The table has a unique index on
``(source, item_sha256, part)`` — the key that makes a re-run skip what is registered — and
indexes on ``received_at``, ``agency`` and ``message_id``. Table ``register_meta`` records the
schema version.

**Parquet** (``--format parquet``, needs pyarrow: ``pip install 'sigmail[audit]'``) is for
analysts. A Parquet file cannot be appended to, so a run writes a new file beside the old one —
the old rows copied batch by batch, then the new rows as they come, in batches — and renames it
over the old file at the end: an interrupted run leaves the old register as it was. The keys
of the old file are read once at the start (two columns).

Both have the same columns (:data:`sigmail.audit.rows.COLUMNS`), in the same order, with the
same values; :func:`read_rows` reads either.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from sigmail.audit.rows import COLUMNS, NAMES
from sigmail.errors import UsageError

__all__ = ["FORMATS", "Register", "detect_format", "open_register", "read_rows"]

FORMATS = ("sqlite", "parquet")
SCHEMA = "sigmail.register/1"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PARQUET_MAGIC = b"PAR1"


def detect_format(path: str | os.PathLike[str], requested: str | None = None) -> str:
    """The register's format: what the existing file is, else ``requested``, else by suffix
    (``.parquet`` → Parquet, anything else SQLite). A mismatch is a usage error."""
    path = Path(path)
    found = None
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as fh:
            head = fh.read(16)
        if head.startswith(_SQLITE_MAGIC):
            found = "sqlite"
        elif head.startswith(_PARQUET_MAGIC):
            found = "parquet"
        else:
            raise UsageError(f"{path}: not a sigmail register (neither SQLite nor Parquet)")
    if found and requested and found != requested:
        raise UsageError(f"{path} is a {found} register, not {requested}")
    return found or requested or ("parquet" if path.suffix.lower() == ".parquet" else "sqlite")


class Register:
    """Where rows go. ``known(source, sha256)`` tells what an earlier run registered."""

    def known(self, source: str, item_sha256: str) -> bool:
        raise NotImplementedError

    def add(self, rows: Sequence[dict]) -> None:
        """Register the rows of one item (all or nothing at the next commit)."""
        raise NotImplementedError

    def close(self, *, keep: bool = True) -> None:
        """Commit (``keep``) or drop what is not committed yet, and close."""
        raise NotImplementedError

    def __enter__(self) -> Register:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # An interruption keeps what was done: every added item is complete.
        self.close(keep=True)


class SqliteRegister(Register):
    COMMIT_ITEMS = 500
    COMMIT_SECONDS = 2.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.closed = False
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        columns = ", ".join(
            f"{c.name} {c.sql} PRIMARY KEY" if c.name == "id" else f"{c.name} {c.sql}"
            for c in COLUMNS
        )
        self.db.execute("BEGIN")
        self.db.execute(f"CREATE TABLE IF NOT EXISTS entries ({columns})")
        self.db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS entries_key ON entries (source, item_sha256, part)"
        )
        for column in ("received_at", "agency", "message_id"):
            self.db.execute(f"CREATE INDEX IF NOT EXISTS entries_{column} ON entries ({column})")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS register_meta (key TEXT PRIMARY KEY, value TEXT)"
        )
        self.db.execute("INSERT OR IGNORE INTO register_meta VALUES ('schema', ?)", (SCHEMA,))
        (schema,) = self.db.execute("SELECT value FROM register_meta WHERE key='schema'").fetchone()
        if schema != SCHEMA:
            self.db.execute("ROLLBACK")
            raise UsageError(f"{path}: register schema {schema}, this sigmail writes {SCHEMA}")
        self.db.execute("COMMIT")
        have = [r[1] for r in self.db.execute("PRAGMA table_info(entries)")]
        if tuple(have) != NAMES:
            raise UsageError(f"{path}: table entries has other columns than {SCHEMA}")
        self._insert = (
            f"INSERT OR IGNORE INTO entries ({', '.join(NAMES[1:])}) "
            f"VALUES ({', '.join('?' for _ in NAMES[1:])})"
        )
        self._rows: list[tuple] = []  # added, not yet inserted: written at the next commit
        self._keys: set[tuple[str, str]] = set()  # their items
        self._last_commit = time.monotonic()

    def known(self, source: str, item_sha256: str) -> bool:
        if (source, item_sha256) in self._keys:
            return True
        return (
            self.db.execute(
                "SELECT 1 FROM entries WHERE source=? AND item_sha256=? AND part='' LIMIT 1",
                (source, item_sha256),
            ).fetchone()
            is not None
        )

    def add(self, rows: Sequence[dict]) -> None:
        if not rows:
            return
        names = NAMES[1:]
        self._rows.extend(tuple(map(r.get, names)) for r in rows)
        self._keys.add((rows[0]["source"], rows[0]["item_sha256"]))
        now = time.monotonic()
        if len(self._keys) >= self.COMMIT_ITEMS or now - self._last_commit >= self.COMMIT_SECONDS:
            self._commit()
            self._last_commit = now

    def _commit(self) -> None:
        """The added rows in one transaction: one statement, one commit."""
        if self._rows:
            self.db.execute("BEGIN")
            try:
                self.db.executemany(self._insert, self._rows)
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        self._rows.clear()
        self._keys.clear()

    def close(self, *, keep: bool = True) -> None:
        if self.closed:
            return
        if keep:
            self._commit()
        self.db.close()
        self.closed = True


class ParquetRegister(Register):
    BATCH_ROWS = 4096

    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise UsageError(
                "the Parquet register needs pyarrow: pip install 'sigmail[audit]'"
            ) from exc
        self.pa, self.pq = pa, pq
        self.path = path
        self.schema = pa.schema(
            [(c.name, pa.int64() if c.arrow == "int64" else pa.string()) for c in COLUMNS]
        )
        self.keys: set[tuple[str, str]] = set()
        self.next_id = 1
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.writer = pq.ParquetWriter(self.tmp, self.schema)
        self.buffer: list[dict] = []
        if path.is_file():
            old = pq.ParquetFile(path)
            if old.schema_arrow.names != list(NAMES):
                self.writer.close()
                self.tmp.unlink(missing_ok=True)
                raise UsageError(f"{path}: columns differ from {SCHEMA}")
            for batch in old.iter_batches(batch_size=65536):
                self.writer.write_batch(batch)
                ids = batch.column("id").to_pylist()
                if ids:
                    self.next_id = max(self.next_id, max(i for i in ids if i is not None) + 1)
                for src, sha, part in zip(
                    batch.column("source").to_pylist(),
                    batch.column("item_sha256").to_pylist(),
                    batch.column("part").to_pylist(),
                    strict=True,
                ):
                    if part == "":
                        self.keys.add((src, sha))

    def known(self, source: str, item_sha256: str) -> bool:
        return (source, item_sha256) in self.keys

    def add(self, rows: Sequence[dict]) -> None:
        if rows and (rows[0]["source"], rows[0]["item_sha256"]) in self.keys:
            return
        for r in rows:
            self.buffer.append({**r, "id": self.next_id})
            self.next_id += 1
        if rows:
            self.keys.add((rows[0]["source"], rows[0]["item_sha256"]))
        if len(self.buffer) >= self.BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            table = self.pa.Table.from_pylist(self.buffer, schema=self.schema)
            self.writer.write_table(table)
            self.buffer = []

    def close(self, *, keep: bool = True) -> None:
        if self.writer is None:
            return
        self._flush()
        self.writer.close()
        self.writer = None
        if keep:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def open_register(path: str | os.PathLike[str], fmt: str | None = None) -> Register:
    path = Path(path)
    fmt = detect_format(path, fmt)
    if fmt not in FORMATS:
        raise UsageError(f"unknown register format {fmt!r} (sqlite, parquet)")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder")
    return SqliteRegister(path) if fmt == "sqlite" else ParquetRegister(path)


def read_rows(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> Iterator[dict]:
    """Every row of a register (SQLite or Parquet), in ``id`` order, as dicts."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such register")
    fmt = detect_format(path)
    wanted = list(columns or NAMES)
    unknown = set(wanted) - set(NAMES)
    if unknown:
        raise UsageError(f"unknown register columns: {', '.join(sorted(unknown))}")
    if fmt == "sqlite":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            cursor = db.execute(f"SELECT {', '.join(wanted)} FROM entries ORDER BY id")
            for values in cursor:
                yield dict(zip(wanted, values, strict=True))
        finally:
            db.close()
    else:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover
            raise UsageError("reading a Parquet register needs pyarrow") from exc
        for batch in pq.ParquetFile(path).iter_batches(columns=wanted, batch_size=65536):
            yield from batch.to_pylist()
