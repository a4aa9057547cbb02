"""The local store (本地数据): one SQLite file per enterprise, in WAL mode.

It holds what the platform last said — enterprise, declarations, doubts, notices,
progress, documents, feedback jobs, the feedback index, the e-info cache, the rate
library with its ETag, the declared details and the sync cursor — so the app opens at
once and reads offline. Objects are kept as their wire JSON plus the columns queries
need; the declared details are real columns (money as scaled integers, so they sort).

Table models call the query methods here; they are built for big tables: declared
details are read in keyset windows (:class:`DeclaredDetailView`), never with a growing
``OFFSET`` from the top, and the rate search uses an in-memory index built once.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from app.errors import is_disk_full, local_write_error
from app.models import (
    RELEASED_STATUSES,
    Declaration,
    DeclaredDetail,
    Document,
    Doubt,
    EnterpriseInfo,
    FeedbackJob,
    Notice,
    ProgressRow,
    RateRow,
    from_wire,
    to_wire,
)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS declarations (
    id TEXT PRIMARY KEY, stage TEXT NOT NULL, status TEXT NOT NULL, period TEXT NOT NULL,
    sha256 TEXT NOT NULL, uploaded_at TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS declarations_by_stage ON declarations (stage, uploaded_at);
CREATE INDEX IF NOT EXISTS declarations_by_sha ON declarations (sha256);
CREATE TABLE IF NOT EXISTS doubts (
    declaration_id TEXT NOT NULL, pos INTEGER NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (declaration_id, pos));
CREATE TABLE IF NOT EXISTS notices (
    id TEXT PRIMARY KEY, category TEXT NOT NULL, read INTEGER NOT NULL,
    published_at TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (
    declaration_id TEXT PRIMARY KEY, year TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, json TEXT NOT NULL, path TEXT);
CREATE TABLE IF NOT EXISTS feedback_jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    source_id TEXT PRIMARY KEY, kind TEXT NOT NULL, period TEXT NOT NULL,
    folder TEXT NOT NULL, zip TEXT NOT NULL, result INTEGER, doubt_count INTEGER NOT NULL,
    row_count INTEGER NOT NULL, saved_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS einfo (
    kind TEXT NOT NULL, period TEXT NOT NULL, fetched_at TEXT NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (kind, period));
CREATE TABLE IF NOT EXISTS rates (
    commodity_code TEXT NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
    unit TEXT NOT NULL, vat_rate TEXT NOT NULL, refund_rate TEXT NOT NULL,
    valid_from TEXT NOT NULL, valid_to TEXT NOT NULL, special_flag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rates_by_code ON rates (commodity_code, valid_from);
CREATE TABLE IF NOT EXISTS declared_details (
    rid INTEGER PRIMARY KEY, declaration_id TEXT NOT NULL, period TEXT NOT NULL,
    batch TEXT NOT NULL, seq TEXT NOT NULL, entry_no TEXT NOT NULL, item_no INTEGER NOT NULL,
    commodity_code TEXT NOT NULL, commodity_name TEXT NOT NULL,
    quantity INTEGER NOT NULL, fob_usd INTEGER NOT NULL, refund_rate INTEGER NOT NULL,
    status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS details_by_declaration ON declared_details (declaration_id);
"""

# Declared-detail columns, in the order rows are returned, and how money is scaled.
DETAIL_COLUMNS = (
    "declaration_id",
    "period",
    "batch",
    "seq",
    "entry_no",
    "item_no",
    "commodity_code",
    "commodity_name",
    "quantity",
    "fob_usd",
    "refund_rate",
    "status",
)
_SCALE = {"quantity": 5, "fob_usd": 2, "refund_rate": 6}
# Columns a view may sort by; each has an index (its key ends with rid, as SQLite's do).
SORTABLE_DETAIL_COLUMNS = (
    "rid",
    "period",
    "entry_no",
    "commodity_code",
    "commodity_name",
    "quantity",
    "fob_usd",
)
_DETAIL_INDEXES = [c for c in SORTABLE_DETAIL_COLUMNS if c != "rid"]

DetailRow = tuple[Any, ...]
"""One declared detail: the values of :data:`DETAIL_COLUMNS` (Decimal for money)."""


@dataclass(frozen=True, slots=True)
class DetailFilter:
    """Filter of the 申报明细数据 window (protocol §7's query fields)."""

    entry_no: str = ""  # 报关单号 prefix
    q: str = ""  # commodity code prefix or name substring
    period_from: str = ""
    period_to: str = ""

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.entry_no:
            clauses.append("entry_no LIKE ? ESCAPE '\\'")
            args.append(_like_prefix(self.entry_no))
        if self.q:
            clauses.append("(commodity_code LIKE ? ESCAPE '\\' OR instr(commodity_name, ?) > 0)")
            args += [_like_prefix(self.q), self.q]
        if self.period_from:
            clauses.append("period >= ?")
            args.append(self.period_from)
        if self.period_to:
            clauses.append("period <= ?")
            args.append(self.period_to)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """反馈 index: one decrypted feedback folder."""

    source_id: str  # the declaration's or the feedback job's id
    kind: str
    period: str
    folder: Path
    zip: Path
    result: int | None
    doubt_count: int
    row_count: int
    saved_at: datetime


class LocalStore:
    """One enterprise's local database. Thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            with _disk_full_as_local_error():
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                for col in _DETAIL_INDEXES:
                    self._db.execute(
                        f"CREATE INDEX IF NOT EXISTS details_by_{col} ON declared_details ({col}, rid)"
                    )
        except BaseException:
            self._db.close()
            raise
        self._rate_index: _RateIndex | None = None
        # counts of declared details per filter, valid while the table is unchanged
        self._detail_counts: dict[DetailFilter, int] = {}
        self._counted_version: int | None = None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it or nothing. A full disk (SQLITE_FULL) rolls it
        back and becomes LocalError ``DISK_FULL``; what was stored before stays intact."""
        with self._lock, _disk_full_as_local_error():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _objects(self, cls: type[T], sql: str, args: Sequence[Any] = ()) -> list[T]:
        return [from_wire(cls, json.loads(row[0])) for row in self._all(sql, args)]

    # -- meta -------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def sync_cursor(self) -> int:
        return int(self.meta("sync_cursor") or 0)

    def set_sync_cursor(self, cursor: int) -> None:
        self.set_meta("sync_cursor", str(cursor))

    # -- enterprise -------------------------------------------------------------------------

    def enterprise(self) -> EnterpriseInfo | None:
        raw = self.meta("enterprise")
        return from_wire(EnterpriseInfo, json.loads(raw)) if raw else None

    def set_enterprise(self, info: EnterpriseInfo) -> None:
        self.set_meta("enterprise", _dump(info))

    # -- declarations and doubts ------------------------------------------------------------

    def upsert_declarations(self, items: Iterable[Declaration]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO declarations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.id,
                        d.stage,
                        d.status,
                        d.period,
                        d.sha256.lower(),
                        d.uploaded_at.isoformat(),
                        _dump(d),
                    )
                    for d in items
                ],
            )

    def replace_declarations(self, items: Iterable[Declaration]) -> None:
        """Exactly these declarations (a full reload): the ones gone elsewhere go here too."""
        items = list(items)
        keep = {d.id for d in items}
        gone = [i for (i,) in self._all("SELECT id FROM declarations") if i not in keep]
        for declaration_id in gone:
            self.delete_declaration(declaration_id)
        self.upsert_declarations(items)

    def delete_declaration(self, declaration_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM declarations WHERE id = ?", (declaration_id,))
            db.execute("DELETE FROM doubts WHERE declaration_id = ?", (declaration_id,))

    def declaration(self, declaration_id: str) -> Declaration | None:
        found = self._objects(
            Declaration, "SELECT json FROM declarations WHERE id = ?", (declaration_id,)
        )
        return found[0] if found else None

    def declarations(
        self, stage: str | None = None, status: str | None = None
    ) -> list[Declaration]:
        """Newest first, as the platform lists them."""
        sql = "SELECT json FROM declarations WHERE 1=1"
        args: list[Any] = []
        if stage:
            sql += " AND stage = ?"
            args.append(stage)
        if status:
            statuses = status.split(",")
            sql += f" AND status IN ({','.join('?' * len(statuses))})"
            args += statuses
        return self._objects(Declaration, sql + " ORDER BY uploaded_at DESC, id DESC", args)

    def find_duplicate(self, sha256: str, stage: str) -> Declaration | None:
        """A declaration of this stage holding the same package that still blocks it."""
        for d in self._objects(
            Declaration,
            "SELECT json FROM declarations WHERE sha256 = ? AND stage = ?",
            (sha256.lower(), stage),
        ):
            if d.status not in RELEASED_STATUSES:
                return d
        return None

    def replace_doubts(self, declaration_id: str, doubts: Iterable[Doubt]) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM doubts WHERE declaration_id = ?", (declaration_id,))
            db.executemany(
                "INSERT INTO doubts VALUES (?, ?, ?)",
                [(declaration_id, i, _dump(d)) for i, d in enumerate(doubts)],
            )

    def doubts(self, declaration_id: str) -> list[Doubt]:
        return self._objects(
            Doubt,
            "SELECT json FROM doubts WHERE declaration_id = ? ORDER BY pos",
            (declaration_id,),
        )

    # -- notices, progress, documents, jobs -------------------------------------------------

    def upsert_notices(self, items: Iterable[Notice]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO notices VALUES (?, ?, ?, ?, ?)",
                [
                    (n.id, n.category, int(n.read), n.published_at.isoformat(), _dump(n))
                    for n in items
                ],
            )

    def notices(self, category: str | None = None, unread_only: bool = False) -> list[Notice]:
        sql = "SELECT json FROM notices WHERE 1=1"
        args: list[Any] = []
        if category:
            sql += " AND category = ?"
            args.append(category)
        if unread_only:
            sql += " AND read = 0"
        return self._objects(Notice, sql + " ORDER BY published_at DESC, id DESC", args)

    def unread_counts(self) -> dict[str, int]:
        """Unread notices per category (退税提醒's badges)."""
        return dict(self._all("SELECT category, count(*) FROM notices WHERE read = 0 GROUP BY 1"))

    def mark_notice_read(self, notice_id: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT json FROM notices WHERE id = ?", (notice_id,)).fetchone()
            if row:
                data = json.loads(row[0]) | {"read": True}
                db.execute(
                    "UPDATE notices SET read = 1, json = ? WHERE id = ?",
                    (json.dumps(data, ensure_ascii=False), notice_id),
                )

    def replace_progress(self, year: str, rows: Iterable[ProgressRow]) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM progress WHERE year = ?", (year,))
            db.executemany(
                "INSERT OR REPLACE INTO progress VALUES (?, ?, ?)",
                [(r.declaration_id, year, _dump(r)) for r in rows],
            )

    def progress(self, year: str | None = None) -> list[ProgressRow]:
        if year:
            return self._objects(
                ProgressRow, "SELECT json FROM progress WHERE year = ? ORDER BY rowid", (year,)
            )
        return self._objects(ProgressRow, "SELECT json FROM progress ORDER BY year DESC, rowid")

    def upsert_documents(self, items: Iterable[Document]) -> None:
        with self._tx() as db:
            for doc in items:
                db.execute(
                    "INSERT INTO documents VALUES (?, ?, ?, NULL) ON CONFLICT (id) "
                    "DO UPDATE SET json = excluded.json",
                    (doc.id, doc.created_at.isoformat(), _dump(doc)),
                )

    def set_document_path(self, document_id: str, path: Path) -> None:
        with self._tx() as db:
            db.execute("UPDATE documents SET path = ? WHERE id = ?", (str(path), document_id))

    def documents(self) -> list[tuple[Document, Path | None]]:
        """Issued documents, newest first, with the saved PDF when there is one."""
        return [
            (from_wire(Document, json.loads(raw)), Path(path) if path else None)
            for raw, path in self._all(
                "SELECT json, path FROM documents ORDER BY created_at DESC, id DESC"
            )
        ]

    def upsert_feedback_jobs(self, items: Iterable[FeedbackJob]) -> None:
        with self._tx() as db:
            for job in items:
                db.execute(
                    "INSERT INTO feedback_jobs VALUES (?, ?, ?) ON CONFLICT (id) "
                    "DO UPDATE SET json = excluded.json",
                    (job.id, datetime.now().astimezone().isoformat(), _dump(job)),
                )

    def feedback_jobs(self) -> list[FeedbackJob]:
        return self._objects(FeedbackJob, "SELECT json FROM feedback_jobs ORDER BY created DESC")

    # -- feedback index ---------------------------------------------------------------------

    def record_feedback(self, entry: FeedbackEntry) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.source_id,
                    entry.kind,
                    entry.period,
                    str(entry.folder),
                    str(entry.zip),
                    entry.result,
                    entry.doubt_count,
                    entry.row_count,
                    entry.saved_at.isoformat(),
                ),
            )

    def feedback(self, source_id: str | None = None) -> list[FeedbackEntry]:
        sql = "SELECT * FROM feedback"
        rows = (
            self._all(sql + " WHERE source_id = ?", (source_id,))
            if source_id
            else self._all(sql + " ORDER BY saved_at DESC")
        )
        return [
            FeedbackEntry(
                r[0],
                r[1],
                r[2],
                Path(r[3]),
                Path(r[4]),
                r[5],
                r[6],
                r[7],
                datetime.fromisoformat(r[8]),
            )
            for r in rows
        ]

    # -- e-info cache (per period) ----------------------------------------------------------

    def einfo(self, kind: str, period: str) -> list[dict[str, Any]] | None:
        """Cached e-info items (wire JSON) of ``kind`` for ``period``, or None."""
        rows = self._all("SELECT json FROM einfo WHERE kind = ? AND period = ?", (kind, period))
        return json.loads(rows[0][0]) if rows else None

    def set_einfo(self, kind: str, period: str, items: list[dict[str, Any]]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO einfo VALUES (?, ?, ?, ?)",
                (
                    kind,
                    period,
                    datetime.now().astimezone().isoformat(),
                    json.dumps(items, ensure_ascii=False),
                ),
            )

    # -- rate library -----------------------------------------------------------------------

    def replace_rates(self, rows: Iterable[RateRow], etag: str | None, version: str) -> int:
        with self._tx() as db:
            db.execute("DELETE FROM rates")
            db.executemany(
                "INSERT INTO rates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        r.commodity_code,
                        r.name,
                        r.category,
                        r.unit,
                        r.vat_rate,
                        str(r.refund_rate),
                        r.valid_from.isoformat(),
                        r.valid_to.isoformat(),
                        r.special_flag,
                    )
                    for r in rows
                ),
            )
            count = int(db.execute("SELECT count(*) FROM rates").fetchone()[0])
            for key, value in (("rates_etag", etag or ""), ("rates_version", version)):
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self._rate_index = None
        return count

    def rates_etag(self) -> str | None:
        return self.meta("rates_etag") or None

    def rates_version(self) -> str | None:
        """出口退税率文库 version held locally (e.g. "2026B")."""
        return self.meta("rates_version") or None

    def rate_rows(self) -> list[RateRow]:
        """Every dated row of the library (for the local audit)."""
        return [_rate(r) for r in self._all("SELECT * FROM rates ORDER BY commodity_code")]

    def search_rates(self, q: str, limit: int = 200, on: date | None = None) -> list[RateRow]:
        """出口退税率查询 per keystroke: code prefix (digits) or name substring, rows valid
        ``on`` (default today). Served from an in-memory index built on first use."""
        on = on or date.today()
        if self._rate_index is None or self._rate_index.day != on:
            with self._lock:
                rows = self._db.execute(
                    "SELECT * FROM rates WHERE valid_from <= ?1 AND valid_to >= ?1 "
                    "ORDER BY commodity_code",
                    (on.isoformat(),),
                ).fetchall()
            self._rate_index = _RateIndex(on, [_rate(r) for r in rows])
        return self._rate_index.search(q.strip(), limit)

    # -- declared details (申报明细数据) ------------------------------------------------------

    def replace_declared_details(
        self, rows: Iterable[DeclaredDetail], period: str | None = None
    ) -> int:
        """Replace every declared detail, or those of one 所属期, by ``rows`` (in the
        platform's order, which becomes the rid order). Returns how many there are now."""
        with self._tx() as db:
            if period is None:
                db.execute("DELETE FROM declared_details")
            else:
                db.execute("DELETE FROM declared_details WHERE period = ?", (period,))
            db.executemany(
                f"INSERT INTO declared_details ({','.join(DETAIL_COLUMNS)}) "
                f"VALUES ({','.join('?' * len(DETAIL_COLUMNS))})",
                (
                    (
                        d.declaration_id,
                        d.period,
                        d.batch,
                        d.seq,
                        d.entry_no,
                        d.item_no,
                        d.commodity_code,
                        d.commodity_name,
                        _scaled(d.quantity, 5),
                        _scaled(d.fob_usd, 2),
                        _scaled(d.refund_rate, 6),
                        d.status,
                    )
                    for d in rows
                ),
            )
            self._detail_counts.clear()
            return int(db.execute("SELECT count(*) FROM declared_details").fetchone()[0])

    def count_declared_details(self, flt: DetailFilter = DetailFilter()) -> int:
        """Rows matching ``flt``. Remembered until the details change: re-sorting a view, or
        showing a view counted in the background, must not count a million rows again (a
        name filter scans them all)."""
        with self._lock:
            # data_version moves when another connection (e.g. tuishui-cli) commits
            version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            if version != self._counted_version or len(self._detail_counts) > 64:
                self._detail_counts.clear()
                self._counted_version = version
            count = self._detail_counts.get(flt)
            if count is None:
                where, args = flt.where()
                sql = "SELECT count(*) FROM declared_details" + where
                count = int(self._db.execute(sql, args).fetchone()[0])
                self._detail_counts[flt] = count
            return count

    def declared_detail_rows(
        self,
        flt: DetailFilter = DetailFilter(),
        order_by: str = "rid",
        after_key: tuple[Any, int] | None = None,
        limit: int = 200,
        *,
        descending: bool = False,
        offset: int = 0,
    ) -> list[tuple[tuple[Any, int], DetailRow]]:
        """A keyset window: up to ``limit`` rows after ``after_key`` (the ``(value, rid)`` of
        the previous window's last row) in the order ``order_by`` [desc], skipping ``offset``.
        Each row comes with its key, so the next window starts where this one ended."""
        if order_by not in SORTABLE_DETAIL_COLUMNS:
            raise ValueError(f"cannot sort declared details by {order_by!r}")
        where, args = flt.where()
        direction = "DESC" if descending else "ASC"
        if after_key is not None:
            op = "<" if descending else ">"
            key_clause = f"({order_by}, rid) {op} (?, ?)" if order_by != "rid" else f"rid {op} ?"
            where += (" AND " if where else " WHERE ") + key_clause
            args += list(after_key) if order_by != "rid" else [after_key[1]]
        order = (
            f"{order_by} {direction}, rid {direction}" if order_by != "rid" else f"rid {direction}"
        )
        sql = (
            f"SELECT {order_by}, rid, {','.join(DETAIL_COLUMNS)} FROM declared_details{where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return [((r[0], r[1]), _detail(r[2:])) for r in self._all(sql, [*args, limit, offset])]

    def declared_lines(self) -> frozenset[tuple[str, int]]:
        """(18-digit 报关单号, 项号) of every declared detail (for the local BGD_REPEAT)."""
        return frozenset(
            (e[:18], int(i))
            for e, i in self._all("SELECT DISTINCT entry_no, item_no FROM declared_details")
        )

    def detail_view(
        self, flt: DetailFilter = DetailFilter(), order_by: str = "rid", descending: bool = False
    ) -> DeclaredDetailView:
        return DeclaredDetailView(self, flt, order_by, descending)


class DeclaredDetailView:
    """Random access by row number over a filtered, sorted declared-detail table — what a
    lazy ``QAbstractTableModel`` needs: :meth:`count` and :meth:`row_at`.

    Rows are fetched in pages; each fetched page leaves its first and last keys behind, so
    scrolling either way is a keyset query, and a jump goes from the nearest known page (or
    from the end, in reverse order), keeping any ``OFFSET`` short.
    """

    PAGE = 256
    CACHED_PAGES = 64

    def __init__(
        self, store: LocalStore, flt: DetailFilter, order_by: str, descending: bool
    ) -> None:
        self._store = store
        self._filter = flt
        self._order_by = order_by
        self._descending = descending
        self._count: int | None = None
        self._pages: OrderedDict[int, list[DetailRow]] = OrderedDict()
        self._first_key: dict[int, tuple[Any, int]] = {}
        self._last_key: dict[int, tuple[Any, int]] = {}

    def count(self) -> int:
        if self._count is None:
            self._count = self._store.count_declared_details(self._filter)
        return self._count

    def row_at(self, position: int) -> DetailRow:
        if not 0 <= position < self.count():
            raise IndexError(position)
        page, index = divmod(position, self.PAGE)
        rows = self._pages.get(page)
        if rows is None:
            rows = self._fetch(page)
            self._pages[page] = rows
            if len(self._pages) > self.CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows[index]

    def _fetch(self, page: int) -> list[DetailRow]:
        start = page * self.PAGE
        size = min(self.PAGE, self.count() - start)
        before = max((p for p in self._last_key if p < page), default=None)
        after = min((p for p in self._first_key if p > page), default=None)
        # Rows to skip when reading forward from the nearest page before, or backward
        # from the nearest page after (or from the very end).
        fwd_skip = start - (before + 1) * self.PAGE if before is not None else start
        back_from = after * self.PAGE if after is not None else self.count()
        back_skip = back_from - (start + size)
        if fwd_skip <= back_skip:
            found = self._store.declared_detail_rows(
                self._filter,
                self._order_by,
                self._last_key[before] if before is not None else None,
                size,
                descending=self._descending,
                offset=fwd_skip,
            )
        else:
            found = self._store.declared_detail_rows(
                self._filter,
                self._order_by,
                self._first_key[after] if after is not None else None,
                size,
                descending=not self._descending,
                offset=back_skip,
            )
            found.reverse()
        if not found:
            raise IndexError(start)
        self._first_key[page] = found[0][0]
        self._last_key[page] = found[-1][0]
        return [row for _, row in found]


class _RateIndex:
    """The rate rows valid on one day, sorted by code: prefix by bisect, names by scan."""

    def __init__(self, day: date, rows: list[RateRow]) -> None:
        self.day = day
        self._rows = rows
        self._codes = [r.commodity_code for r in rows]
        self._names = [r.name for r in rows]

    def search(self, q: str, limit: int) -> list[RateRow]:
        if not q:
            return self._rows[:limit]
        start = bisect.bisect_left(self._codes, q)
        end = bisect.bisect_left(self._codes, q + "\uffff", lo=start)
        found = self._rows[start : min(end, start + limit)]
        if q.isdigit() or len(found) >= limit:
            return found
        for i, name in enumerate(self._names):
            if q in name:
                found.append(self._rows[i])
                if len(found) >= limit:
                    break
        return found


@contextmanager
def _disk_full_as_local_error() -> Iterator[None]:
    """SQLite's "database or disk is full" (or ENOSPC) → LocalError ``DISK_FULL``."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        if is_disk_full(exc):
            raise local_write_error(exc, "本地数据") from exc
        raise


def _dump(obj: Any) -> str:
    return json.dumps(to_wire(obj), ensure_ascii=False)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _scaled(value: Decimal, places: int) -> int:
    return int(value.scaleb(places).to_integral_value())


def _detail(values: Sequence[Any]) -> DetailRow:
    return tuple(
        Decimal(v).scaleb(-_SCALE[col]) if col in _SCALE else v
        for col, v in zip(DETAIL_COLUMNS, values, strict=True)
    )


def _rate(r: Sequence[Any]) -> RateRow:
    return RateRow(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        Decimal(r[5]),
        date.fromisoformat(r[6]),
        date.fromisoformat(r[7]),
        r[8],
    )
