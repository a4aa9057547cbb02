"""退税提醒: ``GET /notices``, ``POST /notices/{id}/read`` (protocol §7).

Read marks are per enterprise, also for notices sent to everyone. 年度提醒 are computed
from the enterprise's own data when it first lists its notices on a day.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from server_stub import annual, db
from server_stub.api.deps import CurrentEnterprise, Db, Paging, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import NoticeList, documented
from server_stub.changes import record_change
from server_stub.clock import iso

router = APIRouter(tags=["退税提醒"])

Category = Literal["announcement", "daily", "annual", "progress", "policy"]


@router.get(
    "/notices",
    response_model=documented(NoticeList),
    summary="退税提醒：通知公告、日常提醒、年度提醒、办理进度、政策通知",
    responses=error_responses(401, 403, 422),
)
def list_notices(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    category: Annotated[Category | None, Query(description="类别")] = None,
    unread: Annotated[bool | None, Query(description="true 只看未读，false 只看已读")] = None,
) -> dict[str, Any]:
    tid = enterprise.taxpayer_id
    annual.refresh(conn, tid)
    where = ["(n.taxpayer_id = ? OR n.taxpayer_id IS NULL)"]
    args: list[Any] = [tid]
    if category is not None:
        where.append("n.category = ?")
        args.append(category)
    if unread is not None:
        where.append("r.notice_id IS NULL" if unread else "r.notice_id IS NOT NULL")
    sql_from = (
        " FROM notices n LEFT JOIN notice_reads r ON r.notice_id = n.id AND r.taxpayer_id = ?"
        " WHERE " + " AND ".join(where)
    )
    total = conn.execute("SELECT count(*)" + sql_from, [tid, *args]).fetchone()[0]
    rows = conn.execute(
        "SELECT n.id, n.category, n.subcategory, n.title, n.body, n.published_at,"
        " r.notice_id IS NOT NULL" + sql_from + " ORDER BY n.published_at DESC, n.id DESC"
        " LIMIT ? OFFSET ?",
        [tid, *args, paging.page_size, paging.offset],
    ).fetchall()
    items = [
        {
            "id": r[0],
            "category": r[1],
            "subcategory": r[2],
            "title": r[3],
            "body": r[4],
            "published_at": r[5],
            "read": bool(r[6]),
        }
        for r in rows
    ]
    return paged(total, items)


@router.post(
    "/notices/{notice_id}/read",
    status_code=204,
    summary="标记为已读",
    responses=error_responses(401, 403, 404),
)
def mark_read(enterprise: CurrentEnterprise, conn: Db, notice_id: str) -> Response:
    tid = enterprise.taxpayer_id
    visible = conn.execute(
        "SELECT 1 FROM notices WHERE id = ? AND (taxpayer_id = ? OR taxpayer_id IS NULL)",
        (notice_id, tid),
    ).fetchone()
    if visible is None:
        raise ApiError(404, "NOT_FOUND", "该提醒不存在。")
    with db.transaction(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO notice_reads (notice_id, taxpayer_id, read_at) VALUES (?, ?, ?)",
            (notice_id, tid, iso()),
        )
        if cur.rowcount:
            # the enterprise's other sessions update their unread counts
            record_change(conn, tid, "notice", notice_id)
    return Response(status_code=204)
