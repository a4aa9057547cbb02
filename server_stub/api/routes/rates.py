"""出口退税率查询: ``/rates``, ``/rates/meta``, ``/rates/export`` (protocol §7)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from server_stub.api.deps import CurrentEnterprise, Db, Paging, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import RateList, RateMeta, binary, documented
from server_stub.clock import today

router = APIRouter(tags=["综合查询"])

RATE_COLUMNS = (
    "commodity_code, name, category, unit, vat_rate, refund_rate, valid_from, valid_to,"
    " special_flag"
)
_KEYS = tuple(c.strip() for c in RATE_COLUMNS.split(","))
_CHUNK_ROWS = 2000


def rate_item(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(_KEYS, row, strict=True))


def search_clause(q: str | None) -> tuple[str, list[Any]]:
    """WHERE part for q: digits = a code prefix (index range), else a name substring."""
    if not q:
        return "", []
    if q.isdigit():
        # [q, q + ':') is exactly the codes starting with q (':' follows '9')
        return " AND commodity_code >= ? AND commodity_code < ?", [q, q + ":"]
    escaped = re.sub(r"([\\%_])", r"\\\1", q)
    return " AND name LIKE ? ESCAPE '\\'", [f"%{escaped}%"]


def _day(value: str | None) -> str:
    if value is None:
        return today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError(
            422, "VALIDATION", "查询日期格式不正确，请输入如 2026-11-05 的日期。",
            errors=[{"field": "date", "message": "应为 YYYY-MM-DD"}],
        ) from None  # fmt: skip


@router.get(
    "/rates",
    response_model=documented(RateList),
    summary="出口退税率查询（商品代码前缀或名称关键字）",
    responses=error_responses(401, 403, 422),
)
def list_rates(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=50, description="商品代码前缀或名称关键字")] = None,
    on: Annotated[
        str | None, Query(alias="date", description="适用日期 YYYY-MM-DD，默认今天")
    ] = None,
) -> dict[str, Any]:
    day = _day(on)
    clause, args = search_clause(q.strip() if q else None)
    where = " WHERE valid_from <= ? AND valid_to >= ?" + clause
    params = [day, day, *args]
    total = conn.execute("SELECT count(*) FROM rate_rows" + where, params).fetchone()[0]
    rows = conn.execute(
        f"SELECT {RATE_COLUMNS} FROM rate_rows{where} ORDER BY commodity_code, valid_from"
        " LIMIT ? OFFSET ?",
        [*params, paging.page_size, paging.offset],
    ).fetchall()
    return paged(total, [rate_item(r) for r in rows])


def library_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    version, published_at, code_version = conn.execute(
        "SELECT version, published_at, commodity_code_version FROM rate_meta"
    ).fetchone()
    count = conn.execute("SELECT count(*) FROM rate_rows").fetchone()[0]
    return {
        "version": version,
        "published_at": published_at,
        "count": count,
        "commodity_code_version": code_version,
    }


@router.get(
    "/rates/meta",
    response_model=documented(RateMeta),
    summary="退税率文库版本",
    responses=error_responses(401, 403),
)
def rates_meta(enterprise: CurrentEnterprise, conn: Db) -> dict[str, Any]:
    return library_meta(conn)


class _ExportCache:
    """The NDJSON of the current library version, built once per version."""

    def __init__(self) -> None:
        self.key: tuple[str, str] | None = None
        self.etag = ""
        self.chunks: list[bytes] = []

    def get(self, conn: sqlite3.Connection) -> tuple[str, list[bytes]]:
        meta = library_meta(conn)
        key = (str(meta["version"]), str(meta["published_at"]))
        if key != self.key:
            chunks: list[bytes] = []
            digest = hashlib.sha256()
            cur = conn.execute(
                f"SELECT {RATE_COLUMNS} FROM rate_rows ORDER BY commodity_code, valid_from"
            )
            while batch := cur.fetchmany(_CHUNK_ROWS):
                data = "".join(
                    json.dumps(rate_item(r), ensure_ascii=False) + "\n" for r in batch
                ).encode("utf-8")
                digest.update(data)
                chunks.append(data)
            self.key, self.etag, self.chunks = key, f'"{digest.hexdigest()[:40]}"', chunks
        return self.etag, self.chunks


export_cache = _ExportCache()


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/rates/export",
    summary="整个退税率文库（NDJSON，支持 ETag / If-None-Match）",
    response_class=Response,
    responses={
        **binary("每行一条文库记录（JSON）", "application/x-ndjson"),
        304: {"description": "文库未变化"},
        **error_responses(401, 403),
    },
)
def rates_export(
    enterprise: CurrentEnterprise,
    conn: Db,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    etag, chunks = export_cache.get(conn)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)

    def body() -> Iterator[bytes]:
        yield from chunks

    headers["Content-Length"] = str(sum(len(c) for c in chunks))
    return StreamingResponse(body(), media_type="application/x-ndjson", headers=headers)
