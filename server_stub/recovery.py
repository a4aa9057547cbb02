"""Start-up recovery: undo what a crash (``kill -9``, power loss) left in the data dir.

Every file the platform keeps is written to a temp name and renamed into place before
the database row that names it commits. A crash can therefore leave two kinds of debris,
never a half-written file under a real name:

- temp files (an upload cut mid-body, a package or PDF half written);
- whole files no row names (the crash came after the rename, before the commit: the
  request was never answered, so nothing the client was told about is lost).

Both are removed here, before the server accepts requests or starts its workers. Work
that was acknowledged is kept in the database and resumes by itself: interrupted audits
(audit_worker), feedback jobs still ``assembling`` (feedback_jobs).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from server_stub import db, documents, downloads, feedback_jobs
from server_stub.declarations import packages_dir
from server_stub.feedback import remove_temp_files

log = logging.getLogger(__name__)


def _sweep(folder: Path, known: set[str]) -> int:
    """Remove every file of ``folder`` that no row names: temp files (their names are
    never stored) and whole files whose row never committed."""
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in known:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _names(conn: sqlite3.Connection, sql: str) -> set[str]:
    return {str(r[0]) for r in conn.execute(sql) if r[0]}


def recover_data_dir(data_dir: Path) -> dict[str, int]:
    """Clean the data dir after a crash; returns what was done, by kind (logged too)."""
    data_dir = Path(data_dir)
    conn = db.connect(data_dir)
    try:
        jobs_temp, jobs_requeued = feedback_jobs.recover(conn, data_dir)
        pre_audit = data_dir / "feedback"
        done = {
            "packages": _sweep(
                packages_dir(data_dir), _names(conn, "SELECT stored_name FROM declarations")
            ),
            "attachments": _sweep(
                data_dir / "attachments", _names(conn, "SELECT stored_name FROM attachments")
            ),
            "pre_audit_feedback": remove_temp_files(pre_audit) if pre_audit.is_dir() else 0,
            "feedback_job_files": jobs_temp,
            "feedback_jobs_requeued": jobs_requeued,
            "documents": _sweep(
                documents.documents_dir(data_dir),
                _names(conn, "SELECT file_name FROM documents"),
            ),
            "downloads": _sweep(
                downloads.downloads_dir(data_dir),
                _names(conn, "SELECT file_name FROM downloads"),
            ),
        }
    finally:
        conn.close()
    if any(done.values()):
        log.warning("recovered after an unclean stop: %s", done)
    return done
