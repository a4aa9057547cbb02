"""文书开具: ``/documents`` — issue and fetch the PDFs of protocol §7."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from server_stub import db, documents
from server_stub.api.deps import CurrentEnterprise, Db, Paging, Settings, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import Document, DocumentList, DocumentTypeList, binary, documented
from server_stub.changes import record_change, sortable_id
from server_stub.clock import iso, now
from server_stub.declarations import STATUS_TEXT

router = APIRouter(tags=["文书开具"])

PERIOD_RE = re.compile(r"\d{4}(0[1-9]|1[0-2])")
_COLUMNS = "id, type, name, period, created_at, sha256"
MDT, MTS = ("A0305001",), ("A0301001",)  # 免抵退, 免退税: the businesses with a refund


@dataclass(frozen=True)
class DocumentType:
    type: str
    name: str
    needs_period: bool
    kinds: frozenset[str]
    render: Callable[[sqlite3.Connection, str, str, str], bytes]


def _taxpayer(conn: sqlite3.Connection, taxpayer_id: str) -> documents.Taxpayer:
    name, office = conn.execute(
        "SELECT name, tax_office FROM enterprises WHERE taxpayer_id = ?", (taxpayer_id,)
    ).fetchone()
    return documents.Taxpayer(taxpayer_id, name, office)


def _marks(values: tuple[str, ...]) -> str:
    return ",".join("?" * len(values))


def _facts(
    conn: sqlite3.Connection,
    taxpayer_id: str,
    start: str,
    end: str,
    businesses: tuple[str, ...],
    statuses: tuple[str, ...],
) -> list[documents.DeclarationFacts]:
    """The formal declarations of ``businesses`` in periods start..end, in ``statuses``."""
    rows = conn.execute(
        "SELECT id, business_code, business_name, period, batch, status, record_count,"
        " declared_refund, approved_refund, approved_at, amounts FROM declarations"
        f" WHERE taxpayer_id = ? AND stage = 'formal' AND status IN ({_marks(statuses)})"
        f" AND business_code IN ({_marks(businesses)}) AND period BETWEEN ? AND ?"
        " ORDER BY period, batch",
        (taxpayer_id, *statuses, *businesses, start, end),
    ).fetchall()
    out = []
    for r in rows:
        counts = dict(
            conn.execute(
                "SELECT approved, count(*) FROM declaration_lines WHERE declaration_id = ?"
                " AND approved IS NOT NULL GROUP BY approved",
                (r["id"],),
            ).fetchall()
        )
        out.append(
            documents.DeclarationFacts(
                business_code=r["business_code"],
                business_name=r["business_name"],
                period=r["period"],
                batch=r["batch"],
                status_text=STATUS_TEXT.get(r["status"], r["status"]),
                record_count=r["record_count"],
                declared_refund=Decimal(r["declared_refund"] or "0"),
                approved_refund=(
                    Decimal(r["approved_refund"]) if r["approved_refund"] is not None else None
                ),
                approved_at=(
                    datetime.fromisoformat(r["approved_at"]) if r["approved_at"] else None
                ),
                amounts=json.loads(r["amounts"]) if r["amounts"] else {},
                lines_approved=counts.get(1, 0),
                lines_refused=counts.get(0, 0),
            )
        )
    return out


def _mdt_summary(conn: sqlite3.Connection, taxpayer_id: str, period: str, doc_id: str) -> bytes:
    counted = ("confirmed", "accepted", "approved")
    credit = conn.execute(
        "SELECT closing_credit FROM vat_returns WHERE taxpayer_id = ? AND period = ?",
        (taxpayer_id, period),
    ).fetchone()
    return documents.render_mdt_summary(
        document_id=doc_id,
        taxpayer=_taxpayer(conn, taxpayer_id),
        period=period,
        declarations=_facts(conn, taxpayer_id, period, period, MDT, counted),
        year_declarations=_facts(conn, taxpayer_id, period[:4] + "01", period, MDT, counted),
        closing_credit=None if credit is None else Decimal(credit[0]),
        issued_on=now().date(),
    )


def _mts_approval(conn: sqlite3.Connection, taxpayer_id: str, period: str, doc_id: str) -> bytes:
    submitted = ("confirmed", "accepted", "approved", "refused")
    return documents.render_mts_approval(
        document_id=doc_id,
        taxpayer=_taxpayer(conn, taxpayer_id),
        period=period,
        declarations=_facts(conn, taxpayer_id, period, period, MTS, submitted),
        issued_on=now().date(),
    )


def _approval_notice(conn: sqlite3.Connection, taxpayer_id: str, period: str, doc_id: str) -> bytes:
    return documents.render_approval_notice(
        document_id=doc_id,
        taxpayer=_taxpayer(conn, taxpayer_id),
        period=period,
        declarations=_facts(conn, taxpayer_id, period, period, MDT + MTS, ("approved",)),
        issued_on=now().date(),
    )


DOCUMENT_TYPES = (
    DocumentType("mdt_summary", "生产企业免抵退税汇总表", True, frozenset({"manufacturer"}),
                 _mdt_summary),
    DocumentType("mts_approval", "外贸企业出口退税审批情况反馈表", True, frozenset({"trader"}),
                 _mts_approval),
    DocumentType("approval_notice", "税务事项通知书（出口退税审批）", True,
                 frozenset({"manufacturer", "trader"}), _approval_notice),
)  # fmt: skip


class DocumentRequest(BaseModel):
    type: str = Field(max_length=40, description="文书类型，见 GET /documents/types")
    period: str | None = Field(default=None, max_length=8, description="所属期 YYYYMM（需要时）")


def _invalid(field: str, message: str, detail: str) -> ApiError:
    return ApiError(422, "VALIDATION", detail, errors=[{"field": field, "message": message}])


def _item(row: sqlite3.Row) -> dict[str, Any]:
    return dict(zip(row.keys(), row, strict=True))


@router.get(
    "/documents/types",
    response_model=documented(DocumentTypeList),
    summary="可开具的文书",
    responses=error_responses(401, 403),
)
def list_types(enterprise: CurrentEnterprise) -> dict[str, Any]:
    items = [
        {"type": t.type, "name": t.name, "needs_period": t.needs_period}
        for t in DOCUMENT_TYPES
        if enterprise.kind in t.kinds
    ]
    return {"total": len(items), "items": items}


@router.post(
    "/documents",
    status_code=201,
    response_model=documented(Document),
    summary="开具文书（生成 PDF）",
    responses=error_responses(401, 403, 413, 422),
)
def issue_document(
    body: DocumentRequest, enterprise: CurrentEnterprise, conn: Db, settings: Settings
) -> dict[str, Any]:
    doc_type = next((t for t in DOCUMENT_TYPES if t.type == body.type), None)
    if doc_type is None or enterprise.kind not in doc_type.kinds:
        raise _invalid(
            "type",
            "可选的文书类型见 GET /documents/types",
            "本企业不能开具该文书，请从文书列表中选择。",
        )
    period = body.period
    if doc_type.needs_period and (period is None or not PERIOD_RE.fullmatch(period)):
        raise _invalid("period", "应为 YYYYMM", "请输入所属期，如 202610。")
    if not doc_type.needs_period:
        period = None
    doc_id = sortable_id()
    pdf = doc_type.render(conn, enterprise.taxpayer_id, period or "", doc_id)
    # on disk (whole) before the row commits: a crash in between leaves an orphan file
    # that start-up recovery removes at the next start
    documents.store_pdf(documents.documents_dir(settings.data_dir), f"{doc_id}.pdf", pdf)
    with db.transaction(conn):
        conn.execute(
            "INSERT INTO documents (id, taxpayer_id, type, name, period, created_at, sha256, size,"
            " file_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, enterprise.taxpayer_id, doc_type.type, doc_type.name, period, iso(),
             hashlib.sha256(pdf).hexdigest(), len(pdf), f"{doc_id}.pdf"),
        )  # fmt: skip
        record_change(conn, enterprise.taxpayer_id, "document", doc_id)
    row = conn.execute(f"SELECT {_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
    return _item(row)


@router.get(
    "/documents",
    response_model=documented(DocumentList),
    summary="已开具的文书（新的在前）",
    responses=error_responses(401, 403, 422),
)
def list_documents(enterprise: CurrentEnterprise, conn: Db, paging: Paging) -> dict[str, Any]:
    tid = enterprise.taxpayer_id
    total = conn.execute("SELECT count(*) FROM documents WHERE taxpayer_id = ?", (tid,))
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM documents WHERE taxpayer_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (tid, paging.page_size, paging.offset),
    ).fetchall()
    return paged(total.fetchone()[0], [_item(r) for r in rows])


@router.get(
    "/documents/{document_id}/pdf",
    summary="文书 PDF",
    response_class=Response,
    responses={**binary("文书 PDF", "application/pdf"), **error_responses(401, 403, 404)},
)
def document_pdf(
    document_id: str, enterprise: CurrentEnterprise, conn: Db, settings: Settings
) -> FileResponse:
    row = conn.execute(
        "SELECT file_name, name, period FROM documents WHERE id = ? AND taxpayer_id = ?",
        (document_id, enterprise.taxpayer_id),
    ).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", "该文书不存在。")
    suffix = f"_{row['period']}" if row["period"] else ""
    return FileResponse(
        documents.documents_dir(settings.data_dir) / row["file_name"],
        media_type="application/pdf",
        filename=f"{row['name']}{suffix}.pdf",
    )
