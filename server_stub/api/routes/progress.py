"""退税进度: ``GET /progress?year=`` — the enterprise's submitted formal declarations (§7)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server_stub.api.deps import CurrentEnterprise, Db, Paging, paged
from server_stub.api.errors import error_responses
from server_stub.api.schemas import ProgressList, documented
from server_stub.clock import today
from server_stub.declarations import STATUS_TEXT
from server_stub.feedback_rows import SUBMITTED

router = APIRouter(tags=["退税进度"])


@router.get(
    "/progress",
    response_model=documented(ProgressList),
    summary="退税审核进度（按所属期年度）",
    responses=error_responses(401, 403, 422),
)
def list_progress(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="所属期年度，默认今年")] = None,
) -> dict[str, Any]:
    prefix = str(year or today().year)
    where = (
        f" FROM declarations WHERE taxpayer_id = ? AND stage = 'formal' AND status IN {SUBMITTED}"
        " AND period >= ? AND period <= ?"
    )
    args = [enterprise.taxpayer_id, prefix + "01", prefix + "12"]
    total = conn.execute("SELECT count(*)" + where, args).fetchone()[0]
    rows = conn.execute(
        "SELECT id, business_name, period, batch, status, confirmed_at, accepted_at,"
        " approved_at, declared_refund, approved_refund"
        + where
        + " ORDER BY confirmed_at DESC, id DESC LIMIT ? OFFSET ?",
        [*args, paging.page_size, paging.offset],
    ).fetchall()
    items = [
        {
            "declaration_id": r["id"],
            "business_name": r["business_name"],
            "period": r["period"],
            "batch": r["batch"],
            "status": r["status"],
            "status_text": STATUS_TEXT[r["status"]],
            "confirmed_at": r["confirmed_at"],
            "accepted_at": r["accepted_at"],
            "approved_at": r["approved_at"],
            "declared_refund": r["declared_refund"],
            "approved_refund": r["approved_refund"],
        }
        for r in rows
    ]
    return paged(total, items)
