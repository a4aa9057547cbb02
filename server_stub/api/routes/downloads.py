"""下载专区: ``GET /downloads``, ``GET /downloads/{id}/file`` (protocol §7)."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from server_stub import db
from server_stub.api.deps import CurrentEnterprise, Db, Settings
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import DownloadList, binary, documented
from server_stub.downloads import downloads_dir, ensure_files
from server_stub.services_seed import FILE_MAKERS

router = APIRouter(tags=["办税服务"])

_COLUMNS = "id, name, version, size, sha256, published_at, kind"
_MEDIA = {
    "declaration_software": "text/plain; charset=utf-8",
    "manual": "text/plain; charset=utf-8",
    "rate_library": "application/x-ndjson",
    "sample_package": "application/zip",
}


def _ensure(conn: sqlite3.Connection, settings: Any) -> None:
    with db.transaction(conn):
        ensure_files(conn, settings.data_dir, FILE_MAKERS)


@router.get(
    "/downloads",
    response_model=documented(DownloadList),
    summary="下载专区文件列表",
    responses=error_responses(401, 403),
)
def list_downloads(enterprise: CurrentEnterprise, conn: Db, settings: Settings) -> dict[str, Any]:
    _ensure(conn, settings)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM downloads WHERE file_name IS NOT NULL"
        " ORDER BY published_at DESC, id DESC"
    ).fetchall()
    keys = [c.strip() for c in _COLUMNS.split(",")]
    items = [dict(zip(keys, r, strict=True)) for r in rows]
    return {"total": len(items), "items": items}


@router.get(
    "/downloads/{download_id}/file",
    summary="下载文件",
    response_class=Response,
    responses={
        **binary(
            "文件内容（媒体类型随文件种类）",
            "text/plain",
            "application/x-ndjson",
            "application/zip",
            "application/octet-stream",
        ),
        **error_responses(401, 403, 404),
    },
)
def download_file(
    download_id: str, enterprise: CurrentEnterprise, conn: Db, settings: Settings
) -> FileResponse:
    _ensure(conn, settings)
    row = conn.execute(
        "SELECT file_name, kind FROM downloads WHERE id = ?", (download_id,)
    ).fetchone()
    if row is None or row[0] is None:
        raise ApiError(404, "NOT_FOUND", "该文件不存在或已下架。")
    file_name, kind = row
    return FileResponse(
        downloads_dir(settings.data_dir) / file_name,
        media_type=_MEDIA.get(kind, "application/octet-stream"),
        filename=file_name.split("-", 1)[1],
    )
