"""申报: declarations as stored, their JSON form (protocol §5), audit results and the queue."""

from __future__ import annotations

import json
import math
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.declaration.audit import AuditResult, LineResult
from app.declaration.package import Package, reopen_package
from server_stub import clock
from server_stub.changes import record_change

STATUS_TEXT = {
    "queued": "排队中",
    "auditing": "审核中",
    "audited": "审核完成",
    "rejected": "不予受理",
    "converted": "已转正式申报",
    "pending_confirm": "待确认",
    "confirmed": "已确认",
    "accepted": "已受理",
    "approved": "审核通过",
    "refused": "审核不通过",
    "withdrawn": "已撤回",
}
ETA_SAMPLE = 20
DEFAULT_AUDIT_SECONDS = 1.0


def new_id() -> str:
    return uuid.uuid4().hex


def packages_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "packages"


def package_path(data_dir: Path, row: sqlite3.Row) -> Path:
    return packages_dir(data_dir) / str(row["stored_name"])


def stored_package(data_dir: Path, row: sqlite3.Row) -> Package:
    """The declaration's package as checked at upload (re-checked in full only if its
    bytes changed since); raises PackageError or OSError."""
    return reopen_package(package_path(data_dir, row), str(row["sha256"]))


def get_row(conn: sqlite3.Connection, taxpayer_id: str, decl_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM declarations WHERE id = ? AND taxpayer_id = ?", (decl_id, taxpayer_id)
    ).fetchone()
    return row


def alive_formal(
    conn: sqlite3.Connection, taxpayer_id: str, business: str, period: str, batch: str
) -> str | None:
    """Id of the alive formal declaration with this business + 所属期 + 批次, if any."""
    row = conn.execute(
        "SELECT id FROM declarations WHERE taxpayer_id = ? AND business_code = ? AND period = ?"
        " AND batch = ? AND stage = 'formal' AND status NOT IN ('withdrawn', 'refused', 'rejected')",
        (taxpayer_id, business, period, batch),
    ).fetchone()
    return None if row is None else str(row[0])


# ---------------------------------------------------------------- JSON form


def queue_rank(conn: sqlite3.Connection, decl_id: str) -> int | None:
    row = conn.execute(
        "SELECT seq, state FROM queue WHERE declaration_id = ?", (decl_id,)
    ).fetchone()
    if row is None or row[1] != "waiting":
        return None
    return int(
        conn.execute(
            "SELECT count(*) FROM queue WHERE state = 'waiting' AND seq <= ?", (row[0],)
        ).fetchone()[0]
    )


def queue_eta(conn: sqlite3.Connection, rank: int, workers: int) -> int:
    """Seconds until an audit at ``rank`` is done, from the recent audits' durations."""
    avg = conn.execute(
        "SELECT avg(audit_seconds) FROM (SELECT audit_seconds FROM declarations"
        " WHERE audited_at IS NOT NULL AND audit_seconds IS NOT NULL"
        " ORDER BY audited_at DESC LIMIT ?)",
        (ETA_SAMPLE,),
    ).fetchone()[0]
    per_audit = float(avg) if avg is not None else DEFAULT_AUDIT_SECONDS
    return math.ceil(rank * per_audit / max(1, workers))


def _blocked_reason(conn: sqlite3.Connection, r: sqlite3.Row) -> str | None:
    status, stage = r["status"], r["stage"]
    if stage == "pre" and status == "audited":
        if r["result"] == 2:
            return "存在不可挑过疑点，不能转正式申报：请按疑点修正数据后重新预申报。"
        existing = alive_formal(conn, r["taxpayer_id"], r["business_code"], r["period"], r["batch"])
        if existing:
            return (
                f"所属期{r['period']}批次{r['batch']}已有正式申报，不能重复转正式申报；"
                "如需重报请更换批次或先撤回原正式申报。"
            )
    if stage == "formal" and status == "pending_confirm" and r["result"] == 2:
        return "存在不可挑过疑点，不能确认申报：请撤回后修正数据重新申报。"
    return None


def to_dict(conn: sqlite3.Connection, r: sqlite3.Row, workers: int) -> dict[str, Any]:
    """The Declaration object of protocol §5."""
    status, stage = r["status"], r["stage"]
    rank = queue_rank(conn, r["id"]) if status == "queued" else None
    blocked = _blocked_reason(conn, r)
    audited = r["result"] is not None
    doubt_counts = None
    if audited:
        doubt_counts = {
            "total": r["doubt_total"],
            "blocking": r["doubt_blocking"],
            "overridable": r["doubt_total"] - r["doubt_blocking"],
        }
    return {
        "id": r["id"],
        "stage": stage,
        "business_code": r["business_code"],
        "business_name": r["business_name"],
        "period": r["period"],
        "batch": r["batch"],
        "file_name": r["file_name"],
        "size": r["size"],
        "sha256": r["sha256"],
        "uploaded_at": r["uploaded_at"],
        "record_count": r["record_count"],
        "status": status,
        "status_text": STATUS_TEXT[status],
        "queue_position": rank,
        "result": r["result"],
        "doubt_counts": doubt_counts,
        "amounts": json.loads(r["amounts"]) if r["amounts"] else None,
        "reject_code": r["reject_code"],
        "reject_text": r["reject_text"],
        "source_id": r["source_id"],
        "formal_id": r["formal_id"],
        "can_convert": stage == "pre" and status == "audited" and blocked is None,
        "can_confirm": stage == "formal" and status == "pending_confirm" and blocked is None,
        "can_withdraw": stage == "formal" and status == "pending_confirm",
        "can_delete": status == "queued",
        "blocked_reason": blocked,
        "queue_eta_seconds": None if rank is None else queue_eta(conn, rank, workers),
        "confirmed_at": r["confirmed_at"],
        "accepted_at": r["accepted_at"],
        "approved_at": r["approved_at"],
        "refused_at": r["refused_at"],
    }


# ---------------------------------------------------------------- audit results


def final_status(stage: str, result: AuditResult) -> str:
    if result.reject_code:
        return "rejected"
    return "audited" if stage == "pre" else "pending_confirm"


def invoice_claims(pkg: Package) -> list[tuple[str, str]]:
    """(进货凭证号, 计税金额) of a 外贸企业 package's purchase lines."""
    return [(v["jhpzh"], v["jsje"]) for v in pkg.rows("mts_jhmx")]


@dataclass(frozen=True, slots=True)
class StoredResult:
    """An audit's outcome as the rows to write: built before the write transaction, so
    the write lock is held only for the inserts."""

    decl_id: str
    taxpayer_id: str
    doubts: list[tuple[Any, ...]]
    lines: list[tuple[Any, ...]]
    claims: list[tuple[str, str, str, str, int]]
    update: tuple[Any, ...]


def result_rows(
    decl: sqlite3.Row,
    result: AuditResult,
    lines: Iterable[LineResult],
    claims: Iterable[tuple[str, str]],
    *,
    status: str,
    audit_seconds: float | None,
) -> StoredResult:
    """The rows that record an audit's outcome: doubts, lines, claims and amounts."""
    decl_id, tid = decl["id"], decl["taxpayer_id"]
    period, batch = decl["period"], decl["batch"]
    formal = int(decl["stage"] == "formal")
    counts = result.doubt_counts if result.result is not None else None
    amounts = result.amounts
    return StoredResult(
        decl_id,
        tid,
        [
            (decl_id, i, d.seq, d.table, d.code, d.level, int(d.passable), d.object, d.field,
             d.message, d.hint)
            for i, d in enumerate(result.doubts)
        ],
        [
            (decl_id, tid, period, batch, ln.seq, ln.table, ln.entry_no, ln.item_no,
             ln.commodity_code, ln.commodity_name, ln.unit, str(ln.quantity), f"{ln.fob_usd:.2f}",
             str(ln.refund_rate), f"{ln.line_refund:.2f}", int(ln.blocking), formal)
            for ln in lines
        ],
        [(decl_id, tid, voucher, amount, formal) for voucher, amount in claims],
        (
            status,
            result.result,
            counts["total"] if counts else None,
            counts["blocking"] if counts else None,
            json.dumps(amounts, ensure_ascii=False) if amounts else None,
            amounts.get("refund") if amounts else None,
            result.reject_code,
            result.reject_text,
            result.record_count,
            clock.iso(),
            audit_seconds,
            decl_id,
        ),
    )  # fmt: skip


def write_result(conn: sqlite3.Connection, rows: StoredResult) -> None:
    """Write an audit's outcome (in the caller's transaction), replacing any earlier one."""
    decl_id = rows.decl_id
    conn.execute("DELETE FROM doubts WHERE declaration_id = ?", (decl_id,))
    conn.execute("DELETE FROM declaration_lines WHERE declaration_id = ?", (decl_id,))
    conn.execute("DELETE FROM declaration_invoices WHERE declaration_id = ?", (decl_id,))
    conn.executemany(
        "INSERT INTO doubts (declaration_id, ord, seq, tbl, code, level, passable, object,"
        " field, message, hint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows.doubts,
    )
    conn.executemany(
        "INSERT INTO declaration_lines (declaration_id, taxpayer_id, period, batch, seq, tbl,"
        " entry_no, item_no, commodity_code, commodity_name, unit, quantity, fob_usd,"
        " refund_rate, declared_refund, blocking, formal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?, ?, ?, ?, ?, ?)",
        rows.lines,
    )
    conn.executemany(
        "INSERT INTO declaration_invoices (declaration_id, taxpayer_id, voucher_no, amount,"
        " formal) VALUES (?, ?, ?, ?, ?)",
        rows.claims,
    )
    conn.execute(
        "UPDATE declarations SET status = ?, result = ?, doubt_total = ?, doubt_blocking = ?,"
        " amounts = ?, declared_refund = ?, reject_code = ?, reject_text = ?, record_count = ?,"
        " audited_at = ?, audit_seconds = ? WHERE id = ?",
        rows.update,
    )
    record_change(conn, rows.taxpayer_id, "declaration", decl_id)


def store_result(
    conn: sqlite3.Connection,
    decl: sqlite3.Row,
    result: AuditResult,
    lines: Iterable[LineResult],
    claims: Iterable[tuple[str, str]],
    *,
    status: str,
    audit_seconds: float | None,
) -> None:
    """Write an audit's outcome (in the caller's transaction): doubts, lines, amounts."""
    rows = result_rows(decl, result, lines, claims, status=status, audit_seconds=audit_seconds)
    write_result(conn, rows)


def insert(
    conn: sqlite3.Connection,
    *,
    decl_id: str,
    taxpayer_id: str,
    stage: str,
    pkg: Package,
    file_name: str,
    stored_name: str,
    status: str,
    uploaded_at: str,
    source_id: str | None = None,
) -> None:
    """A new declaration row (in the caller's transaction) and its change."""
    m = pkg.manifest
    conn.execute(
        "INSERT INTO declarations (id, taxpayer_id, stage, business_code, business_name,"
        " period, batch, file_name, size, sha256, stored_name, uploaded_at, record_count,"
        " status, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            decl_id, taxpayer_id, stage, m.sbywbm, pkg.business.name, m.ssq, m.sbpc, file_name,
            pkg.size, pkg.sha256, stored_name, uploaded_at, pkg.record_count, status, source_id,
        ),
    )  # fmt: skip
    record_change(conn, taxpayer_id, "declaration", decl_id)


def enqueue(conn: sqlite3.Connection, decl_id: str) -> None:
    conn.execute("INSERT INTO queue (declaration_id) VALUES (?)", (decl_id,))


def withdraw(conn: sqlite3.Connection, decl: sqlite3.Row) -> None:
    """撤回 a formal declaration (in the caller's transaction); its source pre-declaration
    returns to ``audited`` so it may be converted again."""
    conn.execute(
        "UPDATE declarations SET status = 'withdrawn', withdrawn_at = ? WHERE id = ?",
        (clock.iso(), decl["id"]),
    )
    record_change(conn, decl["taxpayer_id"], "declaration", decl["id"])
    if decl["source_id"]:
        conn.execute(
            "UPDATE declarations SET status = 'audited', formal_id = NULL"
            " WHERE id = ? AND status = 'converted'",
            (decl["source_id"],),
        )
        record_change(conn, decl["taxpayer_id"], "declaration", decl["source_id"])
