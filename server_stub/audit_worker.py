"""审核: worker processes that take packages off the queue, FIFO across all enterprises.

Workers are processes (the GIL would serialise threads), niced so the API stays
responsive, and they exit when the server goes away (their pipe to it closes). A worker
commits an audit's whole outcome in one transaction, which also takes its next
declaration; an audit interrupted by a restart is taken again first (its queue row
keeps ``state = 'auditing'``).

An audit reads first (the e-info of the package's 报关单 in a few set-based queries) and
builds every row it will write; only then does it take the write lock, for the inserts
alone. Workers never checkpoint the WAL: the server does, off the queue's path.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import sqlite3
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from app.declaration.audit import AuditResult, LineResult, audit_package
from app.declaration.package import Package, PackageError
from server_stub import clock, db, einfo
from server_stub import declarations as decls
from server_stub.changes import record_change
from server_stub.settings import Settings

log = logging.getLogger(__name__)

IDLE_POLL = 1.0  # seconds between queue checks when nobody pokes the worker
CHECKPOINT_EVERY = 1.0  # seconds between the server's WAL checkpoints
WORKER_CACHE_KIB = 64 * 1024  # page cache of a worker's connection
UNREADABLE = "审核时数据包无法读取，请重新生成数据包后上传。"
FAILED = "平台审核出错，请稍后重新上传；如持续出现请联系主管税务机关。"


class ServerGone(Exception):
    """The server process ended: the worker stops."""


def _wait(pipe: Connection, seconds: float, *, full: bool = False) -> None:
    """Sleep up to ``seconds`` (all of them when ``full``, else until a poke); raise
    ServerGone if the server died."""
    deadline = time.monotonic() + seconds
    while True:
        left = max(0.0, deadline - time.monotonic())
        if pipe.poll(left):
            try:
                while pipe.poll(0):  # several pokes count as one
                    pipe.recv_bytes()
            except (EOFError, OSError):
                raise ServerGone from None
            if not full:
                return
        if time.monotonic() >= deadline:
            return


def claim(conn: sqlite3.Connection, worker: str) -> sqlite3.Row | None:
    """Take the next declaration: interrupted audits first, then the oldest queued."""
    with db.transaction(conn):
        return _take(conn, worker)


def _take(conn: sqlite3.Connection, worker: str) -> sqlite3.Row | None:
    """``claim`` in the caller's transaction."""
    q = conn.execute(
        "SELECT seq, declaration_id, state FROM queue WHERE worker IS NULL"
        " ORDER BY state = 'auditing' DESC, seq LIMIT 1"
    ).fetchone()
    if q is None:
        return None
    conn.execute("UPDATE queue SET worker = ?, state = 'auditing' WHERE seq = ?", (worker, q[0]))
    conn.execute(
        "UPDATE declarations SET status = 'auditing', audit_started_at = ? WHERE id = ?",
        (clock.iso(), q[1]),
    )
    row: sqlite3.Row = conn.execute("SELECT * FROM declarations WHERE id = ?", (q[1],)).fetchone()
    record_change(conn, row["taxpayer_id"], "declaration", row["id"])
    return row


# 出口报关单号 + 项号 on a row of the main table: 18-digit 海关编号, "0", 2-digit 项号
_ENTRY_LINE = re.compile(rb"<ckbgdh>\s*(\d{18})0\d\d\s*</ckbgdh>")


def package_entries(pkg: Package) -> set[str]:
    """The 报关单号 the package's main table names, read straight from its XML: the audit
    fetches their customs lines up front. A hint only (what it misses is fetched when
    the audit asks), so the bytes are searched, not parsed."""
    ref = next((t for t in pkg.manifest.tables if t.name == pkg.business.main_table), None)
    if ref is None:
        return set()
    with zipfile.ZipFile(pkg.path) as zf:
        data = zf.read(ref.file)
    return {m.decode("ascii") for m in _ENTRY_LINE.findall(data)}


def audit_one(
    conn: sqlite3.Connection,
    data_dir: Path,
    decl: sqlite3.Row,
    min_seconds: float,
    pipe: Connection,
    worker: str | None = None,
) -> sqlite3.Row | None:
    """Audit ``decl`` and store the outcome; with ``worker``, that worker's next
    declaration is taken in the same transaction and returned."""
    started = time.monotonic()
    lines: list[LineResult] = []
    claims: list[tuple[str, str]] = []
    try:
        pkg = decls.stored_package(data_dir, decl)
        ref = einfo.reference_data(
            conn, decl["taxpayer_id"], decl["period"], clock.today(), package_entries(pkg)
        )
        result = audit_package(pkg, ref, stage=decl["stage"], on_line=lines.append)
        if pkg.business.main_table == "mts_ckmx":
            claims = decls.invoice_claims(pkg)
    except (PackageError, OSError) as exc:
        log.warning("declaration %s could not be audited: %s", decl["id"], exc)
        result = AuditResult(None, None, UNREADABLE, [], None, decl["record_count"])
        lines, claims = [], []
    except Exception:  # a fault of ours must not stall the queue behind this package
        log.exception("auditing declaration %s failed", decl["id"])
        result = AuditResult(None, None, FAILED, [], None, decl["record_count"])
        lines, claims = [], []
    _wait(pipe, min_seconds - (time.monotonic() - started), full=True)
    status = "rejected" if result.result is None else decls.final_status(decl["stage"], result)
    rows = decls.result_rows(
        decl, result, lines, claims, status=status, audit_seconds=time.monotonic() - started
    )
    with db.transaction(conn):
        decls.write_result(conn, rows)
        conn.execute("DELETE FROM queue WHERE declaration_id = ?", (decl["id"],))
        # the next one in the same transaction: one write lock per audit, not two
        return _take(conn, worker) if worker else None


def run(
    data_dir: str, clock_offset: float, min_seconds: float, name: str, pipe: Connection
) -> None:
    """A worker process's main loop."""
    if hasattr(os, "nice"):
        os.nice(5)
    clock.set_offset_seconds(clock_offset)
    logging.basicConfig(
        filename=str(Path(data_dir) / "logs" / "audit.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )
    conn = db.connect(Path(data_dir), checkpoints=False)
    # an audit inserts ~1,000 lines into four indexes of declaration_lines at scattered
    # places: with SQLite's default 2 MiB cache most of the write is re-reading pages
    conn.execute(f"PRAGMA cache_size = -{WORKER_CACHE_KIB}")
    try:
        while True:
            try:
                _wait(pipe, 0.0)  # gone already? then stop before taking more
                decl = claim(conn, name)
                if decl is None:
                    _wait(pipe, IDLE_POLL)
                    continue
                while decl is not None:
                    decl = audit_one(conn, Path(data_dir), decl, min_seconds, pipe, name)
            except sqlite3.Error:
                # e.g. a long lock: let the row go back to the queue and try again
                log.exception("audit worker %s: database error", name)
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("UPDATE queue SET worker = NULL WHERE worker = ?", (name,))
                _wait(pipe, IDLE_POLL)
    except (ServerGone, KeyboardInterrupt):
        pass
    finally:
        conn.close()


def _exit_with_server(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()  # nothing is ever sent: this returns when the server is gone
    os._exit(0)


def _checker_init(clock_offset: float, lifeline: Connection) -> None:
    if hasattr(os, "nice"):
        os.nice(5)
    clock.set_offset_seconds(clock_offset)
    threading.Thread(target=_exit_with_server, args=(lifeline,), daemon=True).start()


class Checker:
    """Processes that check uploaded packages (CPU-bound parsing) off the server's GIL;
    like the audit workers they exit when the server goes away."""

    def __init__(self, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        lifeline, self._keep = ctx.Pipe(duplex=False)
        self.pool = ProcessPoolExecutor(
            max_workers=max(1, workers),
            mp_context=ctx,
            initializer=_checker_init,
            initargs=(clock.offset_seconds(), lifeline),
        )
        self.pool.submit(os.getpid)  # start one now, not on the first upload

    def shutdown(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self._keep.close()


def _checkpoint_loop(data_dir: Path, stop: threading.Event) -> None:
    """Checkpoint the WAL the workers write (they never do) until ``stop`` is set."""
    conn = db.connect(data_dir)
    try:
        while not stop.wait(CHECKPOINT_EVERY):
            try:
                db.checkpoint(conn)
            except sqlite3.Error:  # busy now: the next round tries again
                log.warning("WAL checkpoint failed", exc_info=True)
    finally:
        conn.close()


class WorkerPool:
    """The audit worker processes of one server, and the thread that checkpoints the WAL
    they write."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._procs: list[BaseProcess] = []
        self._pipes: list[Connection] = []
        self._stop_checkpoints = threading.Event()
        self._checkpointer: threading.Thread | None = None

    def start(self) -> None:
        conn = db.connect(self.settings.data_dir)
        try:
            # whoever held a row before a restart is gone: its audit starts again, first
            conn.execute("UPDATE queue SET worker = NULL")
        finally:
            conn.close()
        (Path(self.settings.data_dir) / "logs").mkdir(parents=True, exist_ok=True)
        ctx = multiprocessing.get_context("spawn")
        run_id = os.getpid()
        for i in range(self.settings.audit_workers):  # 0: uploads wait (demos, benchmarks)
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=run,
                args=(str(self.settings.data_dir), clock.offset_seconds(),
                      self.settings.audit_delay, f"{run_id}-{i + 1}", theirs),
                name=f"audit-worker-{i + 1}",
                daemon=True,
            )  # fmt: skip
            proc.start()
            theirs.close()
            self._procs.append(proc)
            self._pipes.append(ours)
        if self._procs:
            self._stop_checkpoints.clear()
            self._checkpointer = threading.Thread(
                target=_checkpoint_loop,
                args=(Path(self.settings.data_dir), self._stop_checkpoints),
                name="wal-checkpoint",
                daemon=True,
            )
            self._checkpointer.start()

    def poke(self) -> None:
        """Tell idle workers that the queue has something."""
        for pipe in self._pipes:
            with contextlib.suppress(OSError):  # a worker that died is restarted by no one
                pipe.send_bytes(b"")

    def stop(self) -> None:
        for pipe in self._pipes:
            pipe.close()
        for proc in self._procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        self._procs.clear()
        self._pipes.clear()
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._checkpointer.join(5)
            self._checkpointer = None
