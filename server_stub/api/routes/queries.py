"""一户式查询: ``/declared-commodities`` and ``/declared-details`` (protocol §7).

Both read the lines of the enterprise's alive formal declarations (not withdrawn, refused
or rejected). An enterprise may have a million lines: filtering and paging happen in SQL
on the partial (``formal = 1``) indexes of declaration_lines, and the alive declarations
are a small set the lines are checked against (an IN list SQLite keeps as an ephemeral
index).
"""

from __future__ import annotations

import re
import sqlite3
from typing import Annotated, Any

from fastapi import APIRouter, Query

from server_stub.api.deps import CurrentEnterprise, Db, PageParams, Paging, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import DeclaredCommodityList, DeclaredDetailList, documented
from server_stub.einfo import ALIVE_FORMAL

router = APIRouter(tags=["综合查询"])

# the enterprise's alive formal 免抵退 / 免退税 declarations: their lines are export lines
ALIVE_IDS = (
    f"SELECT d.id FROM declarations d WHERE d.taxpayer_id = ? AND {ALIVE_FORMAL}"
    " AND d.business_code IN ('A0305001', 'A0301001')"
)
PERIOD_RE = re.compile(r"\d{4}(0[1-9]|1[0-2])")


def _text_filter(taxpayer_id: str, q: str | None) -> tuple[str, list[Any]]:
    """q: digits = commodity code prefix (an index range), anything else = name substring:
    the codes whose name matches, then the lines by code (the code index)."""
    if not q:
        return "", []
    if q.isdigit():
        return " AND l.commodity_code >= ? AND l.commodity_code < ?", [q, q + ":"]
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", q) + "%"
    return (
        " AND l.commodity_code IN (SELECT commodity_code FROM declaration_lines"
        " WHERE formal = 1 AND taxpayer_id = ? AND commodity_name LIKE ? ESCAPE '\\')"
        " AND l.commodity_name LIKE ? ESCAPE '\\'",
        [taxpayer_id, pattern, pattern],
    )


def _period(name: str, value: str | None) -> str | None:
    if value is not None and not PERIOD_RE.fullmatch(value):
        raise ApiError(
            422, "VALIDATION", "所属期格式不正确，请输入如 202610 的年月。",
            errors=[{"field": name, "message": "应为 YYYYMM"}],
        )  # fmt: skip
    return value


Q = Annotated[str | None, Query(max_length=50, description="商品代码前缀或商品名称关键字")]


@router.get(
    "/declared-commodities",
    response_model=documented(DeclaredCommodityList),
    summary="已申报过商品查询",
    responses=error_responses(401, 403, 422),
)
def declared_commodities(
    enterprise: CurrentEnterprise, conn: Db, paging: Paging, q: Q = None
) -> dict[str, Any]:
    tid = enterprise.taxpayer_id
    text, text_args = _text_filter(tid, q.strip() if q else None)
    # one pass over the code index; the window counts the groups
    groups = conn.execute(
        "SELECT l.commodity_code, count(*), max(l.period), count(*) OVER ()"
        " FROM declaration_lines l WHERE l.formal = 1 AND l.taxpayer_id = ?"
        f" AND l.declaration_id IN ({ALIVE_IDS}){text}"
        " GROUP BY l.commodity_code ORDER BY l.commodity_code LIMIT ? OFFSET ?",
        [tid, tid, *text_args, paging.page_size, paging.offset],
    ).fetchall()
    total = groups[0][3] if groups else _count_commodities(conn, tid, text, text_args, paging)
    items = []
    for code, times, last_period, _ in groups:
        # name, unit and rate as last declared
        name, unit, rate = conn.execute(
            "SELECT l.commodity_name, l.unit, l.refund_rate FROM declaration_lines l"
            " WHERE l.formal = 1 AND l.taxpayer_id = ? AND l.commodity_code = ? AND l.period = ?"
            f" AND l.declaration_id IN ({ALIVE_IDS}) LIMIT 1",
            (tid, code, last_period, tid),
        ).fetchone()
        items.append(
            {
                "commodity_code": code,
                "commodity_name": name,
                "unit": unit,
                "refund_rate": rate,
                "times_declared": times,
                "last_period": last_period,
            }
        )
    return paged(total, items)


def _count_commodities(
    conn: sqlite3.Connection, tid: str, text: str, args: list[Any], paging: PageParams
) -> int:
    """Number of commodities when the page itself came back empty (past the end)."""
    if paging.page == 1:
        return 0
    return int(
        conn.execute(
            "SELECT count(DISTINCT l.commodity_code) FROM declaration_lines l"
            f" WHERE l.formal = 1 AND l.taxpayer_id = ? AND l.declaration_id IN ({ALIVE_IDS}){text}",
            [tid, tid, *args],
        ).fetchone()[0]
    )


@router.get(
    "/declared-details",
    response_model=documented(DeclaredDetailList),
    summary="申报明细数据查询",
    responses=error_responses(401, 403, 422),
)
def declared_details(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    entry_no: Annotated[
        str | None, Query(pattern=r"^\d{1,21}$", description="报关单号（18位海关编号或其前缀）")
    ] = None,
    q: Q = None,
    period_from: Annotated[str | None, Query(description="所属期起 YYYYMM")] = None,
    period_to: Annotated[str | None, Query(description="所属期止 YYYYMM")] = None,
) -> dict[str, Any]:
    tid = enterprise.taxpayer_id
    p_from, p_to = _period("period_from", period_from), _period("period_to", period_to)
    if p_from and p_to and p_from > p_to:
        raise ApiError(
            422, "VALIDATION", "所属期起不能晚于所属期止。",
            errors=[{"field": "period_from", "message": "不能晚于 period_to"}],
        )  # fmt: skip
    text, args = _text_filter(tid, q.strip() if q else None)
    filters = text
    if entry_no:
        entry = entry_no[:18]
        filters += " AND l.entry_no >= ? AND l.entry_no < ?"
        args += [entry, entry + ":"]
    if p_from:
        filters += " AND l.period >= ?"
        args.append(p_from)
    if p_to:
        filters += " AND l.period <= ?"
        args.append(p_to)
    where = (
        f" FROM declaration_lines l WHERE l.formal = 1 AND l.taxpayer_id = ?"
        f" AND l.declaration_id IN ({ALIVE_IDS}){filters}"
    )
    all_args = [tid, tid, *args]
    total = conn.execute(f"SELECT count(*){where}", all_args).fetchone()[0]
    rows = conn.execute(
        "SELECT l.declaration_id, l.period, l.batch, l.seq, l.entry_no, l.item_no,"
        " l.commodity_code, l.commodity_name, l.quantity, l.fob_usd, l.refund_rate,"
        " (SELECT d.status FROM declarations d WHERE d.id = l.declaration_id)"
        f"{where} ORDER BY l.period DESC, l.seq, l.declaration_id LIMIT ? OFFSET ?",
        [*all_args, paging.page_size, paging.offset],
    ).fetchall()
    keys = ("declaration_id", "period", "batch", "seq", "entry_no", "item_no",
            "commodity_code", "commodity_name", "quantity", "fob_usd", "refund_rate", "status")  # fmt: skip
    return paged(total, [dict(zip(keys, r, strict=True)) for r in rows])
