"""The rows of a feedback job (docs/package-format.md §5), by job category.

- audit_result: one row per declared line of the period's submitted 免抵退 / 免退税
  formal declarations, with the approved refund (from declaration_lines);
- certificate / peripheral: the period's formal declarations of that business, with their
  status and doubts (the CSV lists their lines);
- invoice (certified_invoices): the period's invoice e-info.

``period`` is a month (YYYYMM) or a year (YYYY).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server_stub.declarations import STATUS_TEXT

if TYPE_CHECKING:
    from server_stub.feedback_jobs import JobType

RESULT_CSV = "审核结果.csv"
RESULT_HEADER = [
    "所属期", "批次", "申报序号", "报关单号", "项号", "商品代码", "商品名称",
    "申报退税额", "审批退税额", "审核结果", "审批日期",
]  # fmt: skip
INVOICE_CSV = "认证发票.csv"
INVOICE_HEADER = [
    "发票代码", "发票号码", "开票日期", "销方纳税人识别号", "商品代码", "商品名称",
    "计量单位", "数量", "金额", "税率", "税额",
]  # fmt: skip
INVOICE_KEYS = (
    "invoice_code", "invoice_no", "issue_date", "seller_taxpayer_id", "commodity_code",
    "commodity_name", "unit", "quantity", "amount", "tax_rate", "tax",
)  # fmt: skip
# submitted to the tax office: 已确认 and later
SUBMITTED = "('confirmed', 'accepted', 'approved', 'refused')"


@dataclass
class FeedbackRows:
    json_rows: list[dict[str, Any]]
    csv_name: str
    csv_header: list[str]
    csv_rows: list[list[str]]


def _period_range(period: str) -> tuple[str, str]:
    return (period, period) if len(period) == 6 else (period + "01", period + "12")


def _line_result(approved: int | None, status: str) -> str:
    if approved == 1:
        return "审核通过"
    if approved == 0 or status == "refused":
        return "审核不通过"
    return "未审核"


def _audit_rows(
    conn: sqlite3.Connection, taxpayer_id: str, business_code: str, period: str
) -> FeedbackRows:
    start, end = _period_range(period)
    cur = conn.execute(
        "SELECT l.period, l.batch, l.seq, l.entry_no, l.item_no, l.commodity_code,"
        " l.commodity_name, l.declared_refund, l.approved_refund, l.approved, d.status,"
        " d.approved_at FROM declarations d JOIN declaration_lines l ON l.declaration_id = d.id"
        " WHERE d.taxpayer_id = ? AND d.stage = 'formal' AND d.business_code = ?"
        f" AND d.status IN {SUBMITTED} AND d.period BETWEEN ? AND ?"
        " AND l.tbl IN ('mdt_ckmx', 'mts_ckmx')"
        " ORDER BY l.period, l.batch, l.seq",
        (taxpayer_id, business_code, start, end),
    )
    rows: list[dict[str, Any]] = []
    csv_rows: list[list[str]] = []
    for r in cur:
        result = _line_result(r["approved"], r["status"])
        approved_refund = r["approved_refund"] if result != "未审核" else None
        if result == "审核不通过" and approved_refund is None:
            approved_refund = "0.00"
        approved_at = r["approved_at"] if result != "未审核" else None
        row = {
            "period": r["period"],
            "batch": r["batch"],
            "seq": r["seq"],
            "entry_no": r["entry_no"],
            "item_no": r["item_no"],
            "commodity_code": r["commodity_code"],
            "commodity_name": r["commodity_name"],
            "declared_refund": r["declared_refund"],
            "approved_refund": approved_refund,
            "result": result,
            "approved_at": approved_at,
        }
        rows.append(row)
        csv_rows.append(
            [
                row["period"], row["batch"], row["seq"], row["entry_no"],
                "" if row["item_no"] is None else str(row["item_no"]),
                row["commodity_code"], row["commodity_name"], row["declared_refund"],
                approved_refund or "", result, (approved_at or "")[:10],
            ]
        )  # fmt: skip
    return FeedbackRows(rows, RESULT_CSV, RESULT_HEADER, csv_rows)


def _doubts(conn: sqlite3.Connection, declaration_id: str) -> list[dict[str, Any]]:
    return [
        {
            "seq": d["seq"],
            "table": d["tbl"],
            "code": d["code"],
            "level": d["level"],
            "passable": bool(d["passable"]),
            "object": d["object"],
            "field": d["field"],
            "message": d["message"],
            "hint": d["hint"],
        }
        for d in conn.execute(
            "SELECT seq, tbl, code, level, passable, object, field, message, hint FROM doubts"
            " WHERE declaration_id = ? ORDER BY ord",
            (declaration_id,),
        )
    ]


def _business_rows(
    conn: sqlite3.Connection, taxpayer_id: str, business_code: str, period: str
) -> FeedbackRows:
    start, end = _period_range(period)
    decls = conn.execute(
        "SELECT id, business_code, business_name, period, batch, status, uploaded_at,"
        " accepted_at, approved_at, refused_at, record_count, reject_code, reject_text"
        " FROM declarations WHERE taxpayer_id = ? AND stage = 'formal' AND business_code = ?"
        " AND period BETWEEN ? AND ? ORDER BY period, batch, uploaded_at",
        (taxpayer_id, business_code, start, end),
    ).fetchall()
    rows: list[dict[str, Any]] = []
    csv_rows: list[list[str]] = []
    for d in decls:
        status_text = STATUS_TEXT.get(d["status"], d["status"])
        decided_at = d["approved_at"] or d["refused_at"]
        rows.append(
            {
                "declaration_id": d["id"],
                "business_code": d["business_code"],
                "business_name": d["business_name"],
                "period": d["period"],
                "batch": d["batch"],
                "status": d["status"],
                "status_text": status_text,
                "uploaded_at": d["uploaded_at"],
                "accepted_at": d["accepted_at"],
                "approved_at": d["approved_at"],
                "refused_at": d["refused_at"],
                "record_count": d["record_count"],
                "reject_code": d["reject_code"],
                "reject_text": d["reject_text"],
                "doubts": _doubts(conn, d["id"]),
            }
        )
        lines = conn.execute(
            "SELECT seq, entry_no, item_no, commodity_code, commodity_name FROM declaration_lines"
            " WHERE declaration_id = ? ORDER BY seq",
            (d["id"],),
        ).fetchall()
        for line in lines or [None]:
            csv_rows.append(
                [
                    d["period"], d["batch"],
                    *(("", "", "", "", "") if line is None else (
                        line["seq"], line["entry_no"],
                        "" if line["item_no"] is None else str(line["item_no"]),
                        line["commodity_code"], line["commodity_name"],
                    )),
                    "", "", status_text, (decided_at or "")[:10],
                ]
            )  # fmt: skip
    return FeedbackRows(rows, RESULT_CSV, RESULT_HEADER, csv_rows)


def _invoice_rows(conn: sqlite3.Connection, taxpayer_id: str, period: str) -> FeedbackRows:
    start, end = _period_range(period)
    first_day = f"{start[:4]}-{start[4:]}-01"
    last_day = f"{end[:4]}-{end[4:]}-31"  # ISO dates sort as text: the 31st bounds any month
    cur = conn.execute(
        f"SELECT {', '.join(INVOICE_KEYS)} FROM invoices WHERE taxpayer_id = ?"
        " AND issue_date BETWEEN ? AND ? ORDER BY invoice_code, invoice_no",
        (taxpayer_id, first_day, last_day),
    )
    rows = [dict(zip(INVOICE_KEYS, r, strict=True)) for r in cur]
    csv_rows = [[str(r[k]) for k in INVOICE_KEYS] for r in rows]
    return FeedbackRows(rows, INVOICE_CSV, INVOICE_HEADER, csv_rows)


def rows_for(
    conn: sqlite3.Connection, taxpayer_id: str, job_type: JobType, period: str
) -> FeedbackRows:
    if job_type.business_code is None:
        return _invoice_rows(conn, taxpayer_id, period)
    if job_type.category == "audit_result":
        return _audit_rows(conn, taxpayer_id, job_type.business_code, period)
    return _business_rows(conn, taxpayer_id, job_type.business_code, period)
