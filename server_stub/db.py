"""Storage: one SQLite database per data dir (WAL, foreign keys, busy timeout).

Connections are in autocommit mode; a change that spans several statements runs inside
``transaction(conn)`` (BEGIN IMMEDIATE … COMMIT), so it commits whole or not at all.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_DIR = Path(__file__).parent / "schema"
DB_NAME = "platform.sqlite3"


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def connect(data_dir: Path, *, checkpoints: bool = True) -> sqlite3.Connection:
    """A new connection to the data dir's database (the schema must have been applied).

    ``checkpoints=False``: its commits never copy the WAL back into the database (an
    audit worker's, so that cost stays off the queue); the server runs
    :func:`checkpoint` for them.
    """
    conn = sqlite3.connect(
        db_path(data_dir), timeout=30, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    if not checkpoints:
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the WAL holds back into the database, as far as no reader needs it
    (PASSIVE: never waits for, nor blocks, readers and writers)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def apply_schema(conn: sqlite3.Connection) -> None:
    """Apply server_stub/schema/*.sql in name order (every statement is idempotent),
    after upgrading the tables of a data dir made by an older version."""
    _upgrade(conn)
    for path in sorted(SCHEMA_DIR.glob("*.sql")):
        conn.executescript(path.read_text(encoding="utf-8"))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}


def _upgrade(conn: sqlite3.Connection) -> None:
    """Columns added since a data dir was made (a new database gets them from the schema).

    ``formal`` on the claim tables (declaration_lines, declaration_invoices): set from the
    stage of each row's declaration, which never changes.
    """
    with transaction(conn):
        for table in ("declaration_lines", "declaration_invoices"):
            columns = _columns(conn, table)
            if not columns or "formal" in columns:
                continue  # a new database, or already upgraded
            conn.execute(
                f"ALTER TABLE {table} ADD COLUMN formal INTEGER NOT NULL DEFAULT 0"
                " CHECK (formal IN (0, 1))"
            )
            conn.execute(
                f"UPDATE {table} SET formal = 1 WHERE declaration_id IN"
                " (SELECT id FROM declarations WHERE stage = 'formal')"
            )


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT; rolled back if the block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Pool:
    """Connections reused across requests (one request holds one at a time)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()

    def get(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return connect(self.data_dir)

    def put(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        self._idle.put(conn)
