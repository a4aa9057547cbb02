"""The tax officer's side of the services (protocol §10): notices, rate library, downloads."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from app.declaration.reference import RateRow
from server_stub import db
from server_stub.api.deps import AdminAuth, Db, Settings
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.routes.rates import export_cache
from server_stub.api.schemas import Created, PublishedLibrary, documented
from server_stub.clock import iso
from server_stub.downloads import SOFTWARE_NAME, DownloadKind, add_download
from server_stub.notices import add_notice
from server_stub.ratelib import rate_row_from_dict, rate_row_to_dict

router = APIRouter(tags=["税务机关（管理）"])

VERSION_RE = re.compile(r"\d{4}[A-Z]")
MAX_LIBRARY_BYTES = 64 * 1024 * 1024


class NoticeIn(BaseModel):
    category: Literal["announcement", "daily", "annual", "progress", "policy"]
    subcategory: str = Field(default="", max_length=50)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    taxpayer_id: str | None = Field(default=None, max_length=20, description="省略 = 发给所有企业")


@router.post(
    "/notices",
    status_code=201,
    response_model=documented(Created),
    summary="发布提醒（省略 taxpayer_id = 所有企业）",
    responses=error_responses(401, 404, 413, 422),
)
def post_notice(body: NoticeIn, admin: AdminAuth, conn: Db) -> dict[str, Any]:
    if body.taxpayer_id is not None:
        known = conn.execute(
            "SELECT 1 FROM enterprises WHERE taxpayer_id = ?", (body.taxpayer_id,)
        ).fetchone()
        if known is None:
            raise ApiError(404, "NOT_FOUND", "该纳税人识别号的企业不存在。")
    with db.transaction(conn):
        notice_id = add_notice(
            conn,
            taxpayer_id=body.taxpayer_id,
            category=body.category,
            subcategory=body.subcategory,
            title=body.title,
            body=body.body,
        )
    return {"id": notice_id}


@router.post(
    "/rates/publish",
    status_code=201,
    response_model=documented(PublishedLibrary),
    summary="发布新版退税率文库（请求体为 NDJSON，每行一条记录）",
    responses=error_responses(401, 413, 422),
    openapi_extra={
        "parameters": [
            {"name": "version", "in": "query", "required": True, "schema": {"type": "string"},
             "description": "文库版本，如 2026C"},
            {"name": "commodity_code_version", "in": "query", "required": False,
             "schema": {"type": "string"}},
        ],
        "requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
    },
)  # fmt: skip
async def publish_rates(request: Request, admin: AdminAuth, settings: Settings) -> dict[str, Any]:
    version = request.query_params.get("version", "")
    code_version = request.query_params.get("commodity_code_version") or version[:4]
    if not VERSION_RE.fullmatch(version):
        raise ApiError(
            422, "VALIDATION", "文库版本应为年份加一个大写字母，如 2026C。",
            errors=[{"field": "version", "message": "应为 YYYY + 大写字母"}],
        )  # fmt: skip
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_LIBRARY_BYTES:
            raise ApiError(413, "REQUEST_TOO_LARGE", "文库文件过大（上限64 MiB）。")
    rows, errors = [], []
    for n, line in enumerate(bytes(raw).decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(rate_row_from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            errors.append({"field": f"line {n}", "message": str(exc) or "格式不正确"})
    if errors or not rows:
        raise ApiError(
            422, "VALIDATION", "文库数据有误，未发布。请按 errors 中的行号更正。",
            errors=errors[:1000] or [{"field": "body", "message": "没有任何记录"}],
        )  # fmt: skip
    await asyncio.to_thread(_replace_library, settings.data_dir, rows, version, code_version)
    return {"version": version, "count": len(rows)}


def _replace_library(data_dir: Path, rows: list[RateRow], version: str, code_version: str) -> None:
    conn = db.connect(data_dir)
    try:
        with db.transaction(conn):
            _publish(conn, data_dir, rows, version, code_version)
    finally:
        conn.close()


def _publish(
    conn: sqlite3.Connection, data_dir: Path, rows: list[RateRow], version: str, code_version: str
) -> None:
    """Replace the library, tell everyone (政策通知), offer the new export for download."""
    published = iso()
    conn.execute("DELETE FROM rate_rows")
    conn.executemany(
        "INSERT INTO rate_rows (commodity_code, name, category, unit, vat_rate, refund_rate,"
        " valid_from, valid_to, special_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [tuple(rate_row_to_dict(r).values()) for r in rows],
    )
    conn.execute(
        "UPDATE rate_meta SET version = ?, published_at = ?, commodity_code_version = ?",
        (version, published, code_version),
    )
    add_notice(
        conn,
        taxpayer_id=None,
        category="policy",
        subcategory="退税率文库升级",
        title=f"出口退税审核系统升级退税率文库（{version}）",
        body=(
            f"出口退税率文库已升级到{version}版本，共{len(rows)}条记录。请在申报系统中更新"
            "退税率文库后再生成申报数据，避免出现退税率不符的疑点。"
        ),
        published_at=published,
    )
    _, chunks = export_cache.get(conn)
    add_download(
        conn, name=f"出口退税率文库（{version}，NDJSON）", version=version, kind="rate_library",
        data_dir=data_dir, file_name=f"出口退税率文库_{version}.ndjson",
        content=b"".join(chunks), published_at=published,
    )  # fmt: skip


@router.post(
    "/downloads",
    status_code=201,
    response_model=documented(Created),
    summary="发布下载专区文件（新的申报系统版本会发政策通知）",
    responses=error_responses(401, 413, 422),
)
def post_download(
    admin: AdminAuth,
    conn: Db,
    settings: Settings,
    file: Annotated[UploadFile, File(description="文件")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    version: Annotated[str, Form(min_length=1, max_length=40)],
    kind: Annotated[DownloadKind, Form()] = "declaration_software",
) -> dict[str, Any]:
    content = file.file.read()
    with db.transaction(conn):
        download_id = add_download(
            conn, name=name or SOFTWARE_NAME, version=version, kind=kind,
            data_dir=settings.data_dir, file_name=file.filename or "file", content=content,
        )  # fmt: skip
    return {"id": download_id}
