"""反馈下载 jobs (protocol §6): assembled in the background, encrypted, kept 7 days.

Assembly takes ``--assemble-delay`` seconds per month the job covers (a year = 12×), like
the real platform's queries; a job that would take longer than 15 minutes ends ``failed``
when the 15 minutes are up, saying to download month by month. One scheduler task per
server process wakes when the next job is due and assembles it in a worker thread, so the
event loop never waits on it. A job's package is written to a temp file and renamed into
place before the job turns ``ready``, so a crash at any point leaves the job ``assembling``
(picked up again after the restart, see :func:`recover`) or ``ready`` with a whole file.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from server_stub import clock, db
from server_stub.changes import record_change, sortable_id
from server_stub.feedback import remove_temp_files, write_feedback_zip
from server_stub.feedback_rows import FeedbackRows, rows_for

FAIL_AFTER = timedelta(minutes=15)
KEEP_FOR = timedelta(days=7)
FAILED_REASON = (
    "反馈数据组装超过15分钟仍未完成，任务已终止。请按申报年月（逐月）重新申请，按月下载更快。"
)


@dataclass(frozen=True)
class JobType:
    category: str
    type: str
    name: str
    kinds: frozenset[str]
    business_code: str | None  # the business whose declarations it reports


_BOTH = frozenset({"manufacturer", "trader"})
JOB_TYPES: tuple[JobType, ...] = (
    JobType(
        "audit_result", "mdt_result", "免抵退审核结果", frozenset({"manufacturer"}), "A0305001"
    ),
    JobType("audit_result", "mts_result", "免退税审核结果", frozenset({"trader"}), "A0301001"),
    JobType("certificate", "dlck", "代理出口货物证明反馈", _BOTH, "A0201001"),
    JobType("certificate", "znx", "出口货物转内销证明反馈", _BOTH, "A0201004"),
    JobType("certificate", "bb", "补办出口退(免)税有关证明反馈", _BOTH, "A0202001"),
    JobType("peripheral", "cksh", "出口收汇审核结果", _BOTH, "A0404001"),
    JobType("peripheral", "babg", "备案变更审核结果", _BOTH, "A0102001"),
    JobType("peripheral", "chsb", "撤回申报数据审核结果", _BOTH, "A0410002"),
    JobType("invoice", "certified_invoices", "认证发票数据", frozenset({"trader"}), None),
)


def types_for(kind: str) -> list[JobType]:
    return [t for t in JOB_TYPES if kind in t.kinds]


def find_type(category: str, type_code: str) -> JobType | None:
    for t in JOB_TYPES:
        if t.category == category and t.type == type_code:
            return t
    return None


def months_covered(period: str) -> int:
    return 12 if len(period) == 4 else 1


def _iso(value: datetime) -> str:
    return clock.iso(value)


def job_dict(row: sqlite3.Row | Sequence[Any]) -> dict[str, Any]:
    keys = ("id", "category", "type", "period", "status", "size", "record_count", "ready_at",
            "expires_at", "reason", "created_at")  # fmt: skip
    return dict(zip(keys, row, strict=True))


JOB_COLUMNS = (
    "id, category, type, period, status, size, record_count, ready_at, expires_at, reason,"
    " created_at"
)


def create_job(
    conn: sqlite3.Connection, taxpayer_id: str, job_type: JobType, period: str, delay: float
) -> tuple[dict[str, Any], bool]:
    """The job for this request: an identical assembling/ready one, or a new one.

    The look-up and the insert share one write transaction, so two identical requests
    arriving together still make one job. Returns (job, created).
    """
    now = clock.now()
    with db.transaction(conn):
        existing = conn.execute(
            f"SELECT {JOB_COLUMNS} FROM feedback_jobs WHERE taxpayer_id = ? AND category = ?"
            " AND type = ? AND period = ? AND (status = 'assembling'"
            " OR (status = 'ready' AND expires_at > ?)) ORDER BY created_at DESC LIMIT 1",
            (taxpayer_id, job_type.category, job_type.type, period, clock.iso(now)),
        ).fetchone()
        if existing is not None:
            return job_dict(existing), False
        due = now + timedelta(seconds=delay * months_covered(period))
        job_id = sortable_id()
        conn.execute(
            "INSERT INTO feedback_jobs (id, taxpayer_id, category, type, period, status,"
            " created_at, due_at) VALUES (?, ?, ?, ?, ?, 'assembling', ?, ?)",
            (job_id, taxpayer_id, job_type.category, job_type.type, period, _iso(now),
             _iso(min(due, now + FAIL_AFTER))),
        )  # fmt: skip
        record_change(conn, taxpayer_id, "feedback_job", job_id)
    row = conn.execute(f"SELECT {JOB_COLUMNS} FROM feedback_jobs WHERE id = ?", (job_id,))
    return job_dict(row.fetchone()), True


def jobs_dir(data_dir: Path) -> Path:
    path = Path(data_dir) / "feedback-jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def assemble(conn: sqlite3.Connection, data_dir: Path, job_id: str) -> None:
    """Assemble one due job: write its encrypted zip, or fail it past the 15 minutes."""
    job = conn.execute(
        "SELECT taxpayer_id, category, type, period, created_at, due_at FROM feedback_jobs"
        " WHERE id = ? AND status = 'assembling'",
        (job_id,),
    ).fetchone()
    if job is None:
        return
    taxpayer_id, category, type_code, period, created_at, due_at = job
    now = clock.now()
    job_type = find_type(category, type_code)
    assert job_type is not None, "jobs are created with a known type"
    took = datetime.fromisoformat(due_at) - datetime.fromisoformat(created_at)
    if took >= FAIL_AFTER:
        with db.transaction(conn):
            conn.execute(
                "UPDATE feedback_jobs SET status = 'failed', reason = ? WHERE id = ?",
                (FAILED_REASON, job_id),
            )
            record_change(conn, taxpayer_id, "feedback_job", job_id)
        return
    rows: FeedbackRows = rows_for(conn, taxpayer_id, job_type, period)
    key_id, key, name = conn.execute(
        "SELECT feedback_key_id, feedback_key, name FROM enterprises WHERE taxpayer_id = ?",
        (taxpayer_id,),
    ).fetchone()
    payload = {
        "kind": category,
        "type": type_code,
        "period": period,
        "enterprise": {"taxpayer_id": taxpayer_id, "name": name},
        "declaration": None,
        "result": None,
        "doubts": None,
        "amounts": None,
        "rows": rows.json_rows,
    }
    path = jobs_dir(data_dir) / f"{job_id}.zip"
    write_feedback_zip(
        path,
        key=key,
        key_id=key_id,
        kind=category,
        taxpayer_id=taxpayer_id,
        created_at=created_at,
        payload=payload,
        csv_name=rows.csv_name,
        csv_header=rows.csv_header,
        csv_rows=rows.csv_rows,
    )
    with db.transaction(conn):
        conn.execute(
            "UPDATE feedback_jobs SET status = 'ready', size = ?, record_count = ?, ready_at = ?,"
            " expires_at = ?, file_name = ? WHERE id = ?",
            (path.stat().st_size, len(rows.json_rows), _iso(now), _iso(now + KEEP_FOR),
             path.name, job_id),
        )  # fmt: skip
        record_change(conn, taxpayer_id, "feedback_job", job_id)


def expire_jobs(conn: sqlite3.Connection, data_dir: Path) -> None:
    """Ready jobs past their 7 days become ``expired``; their files are removed."""
    now = _iso(clock.now())
    expired = conn.execute(
        "SELECT id, taxpayer_id, file_name FROM feedback_jobs"
        " WHERE status = 'ready' AND expires_at <= ?",
        (now,),
    ).fetchall()
    for job_id, taxpayer_id, file_name in expired:
        with db.transaction(conn):
            conn.execute("UPDATE feedback_jobs SET status = 'expired' WHERE id = ?", (job_id,))
            record_change(conn, taxpayer_id, "feedback_job", job_id)
        if file_name:
            (jobs_dir(data_dir) / file_name).unlink(missing_ok=True)


def recover(conn: sqlite3.Connection, data_dir: Path) -> tuple[int, int]:
    """At start-up, before the scheduler runs: undo what a crash left behind.

    Packages half written when the server died are removed (their jobs are still
    ``assembling`` and are assembled again, giving the same bytes); a ``ready`` job whose
    file is missing or not its recorded size goes back to ``assembling``, so no broken
    package is ever served. Returns (temp files removed, jobs re-queued).
    """
    folder = jobs_dir(data_dir)
    removed = remove_temp_files(folder)
    broken = [
        (str(job_id), str(taxpayer_id))
        for job_id, taxpayer_id, file_name, size in conn.execute(
            "SELECT id, taxpayer_id, file_name, size FROM feedback_jobs WHERE status = 'ready'"
        ).fetchall()
        if not _file_intact(folder / (file_name or ""), size)
    ]
    for job_id, taxpayer_id in broken:
        with db.transaction(conn):
            conn.execute(
                "UPDATE feedback_jobs SET status = 'assembling', size = NULL, record_count = NULL,"
                " ready_at = NULL, expires_at = NULL, file_name = NULL WHERE id = ?",
                (job_id,),
            )
            record_change(conn, taxpayer_id, "feedback_job", job_id)
    return removed, len(broken)


def _file_intact(path: Path, size: int | None) -> bool:
    try:
        return path.is_file() and path.stat().st_size == size
    except OSError:
        return False


def _due_work(conn: sqlite3.Connection) -> tuple[list[str], float]:
    """(ids of jobs due now, seconds until the next job is due or a ready one expires)."""
    now = clock.now()
    due = [
        str(r[0])
        for r in conn.execute(
            "SELECT id FROM feedback_jobs WHERE status = 'assembling' AND due_at <= ?"
            " ORDER BY due_at",
            (_iso(now),),
        )
    ]
    nxt = conn.execute(
        "SELECT min(t) FROM (SELECT min(due_at) AS t FROM feedback_jobs"
        " WHERE status = 'assembling' UNION ALL"
        " SELECT min(expires_at) FROM feedback_jobs WHERE status = 'ready')"
    ).fetchone()[0]
    wait = 60.0 if nxt is None else (datetime.fromisoformat(nxt) - now).total_seconds()
    return due, wait


class Scheduler:
    """Runs due assemblies and expiries; :meth:`poke` wakes it for a new job."""

    def __init__(self) -> None:
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, data_dir: Path) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(Path(data_dir)))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def poke(self) -> None:
        """Wake the scheduler (from any thread: the routes run in the thread pool)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self, data_dir: Path) -> None:
        assert self._wake is not None
        while True:
            # cleared before the step: a job created during it pokes the next round
            self._wake.clear()
            _, wait = await asyncio.to_thread(_in_thread, data_dir, _step)
            # at least 0.05 s: the clock's resolution; at most a minute: a missed poke
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(max(wait, 0.05), 60.0))


def _step(conn: sqlite3.Connection, data_dir: Path) -> tuple[list[str], float]:
    due, _ = _due_work(conn)
    for job_id in due:
        assemble(conn, data_dir, job_id)
    expire_jobs(conn, data_dir)
    return _due_work(conn)


def _in_thread(
    data_dir: Path, fn: Callable[[sqlite3.Connection, Path], tuple[list[str], float]]
) -> tuple[list[str], float]:
    conn = db.connect(data_dir)
    try:
        return fn(conn, data_dir)
    finally:
        conn.close()


scheduler = Scheduler()
