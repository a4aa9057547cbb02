"""退税申报: upload, queue, audit results, convert, confirm, withdraw, attachments,
受理文书 and the 预审核反馈 (protocol §5)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from app.declaration.audit import LineResult, audit_package
from app.declaration.package import Package, PackageError, open_package, owner_problem
from server_stub import clock, db, einfo
from server_stub import declarations as decls
from server_stub.api.deps import CurrentEnterprise, Db, Paging, Settings, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import (
    Attachment,
    AttachmentList,
    Declaration,
    DeclarationList,
    DeclarationWithMessage,
    DoubtList,
    binary,
    documented,
)
from server_stub.auth import Caller
from server_stub.changes import record_change
from server_stub.feedback import (
    PRE_AUDIT_CSV,
    PRE_AUDIT_HEADER,
    pre_audit_payload,
    write_feedback_zip,
)
from server_stub.uploads import Upload, receive

router = APIRouter(tags=["退税申报"])

ATTACHMENT_MAX = 20 * 1024 * 1024
ATTACHMENT_CATEGORIES = ("采购合同", "仓单", "提单", "其他")
ATTACHMENT_STATES = ("queued", "auditing", "pending_confirm", "confirmed")
_MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
          (b"\xff\xd8\xff", "image/jpeg"))  # fmt: skip
NOT_FOUND = "该申报不存在。"


def _upload_body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "required": required, "properties": fields}
                }
            },
        }
    }


def _row(conn: sqlite3.Connection, caller: Caller, decl_id: str) -> sqlite3.Row:
    row = decls.get_row(conn, caller.taxpayer_id, decl_id)
    if row is None:
        raise ApiError(404, "NOT_FOUND", NOT_FOUND)
    return row


def _dict(request: Request, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    return decls.to_dict(conn, row, request.app.state.settings.audit_workers)


def _fresh(request: Request, conn: sqlite3.Connection, decl_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM declarations WHERE id = ?", (decl_id,)).fetchone()
    return _dict(request, conn, row)


def _invalid_state(detail: str, **extra: Any) -> ApiError:
    return ApiError(409, "INVALID_STATE", detail, **extra)


# ---------------------------------------------------------------- upload


def check_package(path: Path) -> Package | dict[str, Any]:
    """Open (fully check) an uploaded package: the Package, or the refusal as a dict.

    Runs in a checker process (see audit_worker.checker), so a burst of big uploads does
    not hold the server's GIL; hence plain picklable results instead of exceptions.
    """
    try:
        return open_package(path)
    except PackageError as exc:
        return {"status": 422, "code": exc.code, "detail": exc.detail,
                "problems": [p.to_dict() for p in exc.problems],
                "problem_count": exc.problem_count}  # fmt: skip


def _admit(
    conn: sqlite3.Connection, data_dir: Path, caller: Caller, stage: str, pkg: Package,
    got: Upload,
) -> str:  # fmt: skip
    """The checks of §5.1 after the package itself; stores it and queues it."""
    m = pkg.manifest
    customs_code = conn.execute(
        "SELECT customs_code FROM enterprises WHERE taxpayer_id = ?", (caller.taxpayer_id,)
    ).fetchone()[0]
    mismatch = owner_problem(m, caller.taxpayer_id, customs_code)
    if mismatch:
        raise ApiError(422, "PACKAGE_OWNER_MISMATCH", mismatch)
    if stage == "formal" and pkg.business.pre_audit_required:
        raise ApiError(
            422, "PRE_AUDIT_REQUIRED",
            f"{pkg.business.name}须先预申报：请先以预申报上传，审核无不可挑过疑点后再转正式申报。",
        )  # fmt: skip
    decl_id = decls.new_id()
    stored = f"{decl_id}.zip"
    with db.transaction(conn):
        dup = conn.execute(
            "SELECT id FROM declarations WHERE taxpayer_id = ? AND sha256 = ? AND stage = ?"
            " AND status NOT IN ('rejected', 'withdrawn')",
            (caller.taxpayer_id, pkg.sha256, stage),
        ).fetchone()
        if dup is not None:
            raise ApiError(
                409, "PACKAGE_DUPLICATE",
                "该数据包已上传过，无需重复上传；请在申报列表中查看其状态。", existing_id=dup[0],
            )  # fmt: skip
        if stage == "formal":
            existing = decls.alive_formal(conn, caller.taxpayer_id, m.sbywbm, m.ssq, m.sbpc)
            if existing:
                raise _invalid_state(
                    f"所属期{m.ssq}批次{m.sbpc}的{pkg.business.name}已有正式申报，"
                    "如需重报请更换批次或先撤回原申报。",
                    existing_id=existing,
                )
        got.commit_to(decls.packages_dir(data_dir) / stored)  # on disk before the row commits
        decls.insert(
            conn, decl_id=decl_id, taxpayer_id=caller.taxpayer_id, stage=stage, pkg=pkg,
            file_name=got.file_name, stored_name=stored, status="queued", uploaded_at=clock.iso(),
        )  # fmt: skip
        decls.enqueue(conn, decl_id)
    return decl_id


@router.post(
    "/declarations",
    status_code=202,
    response_model=documented(Declaration),
    summary="上传申报数据包（预申报或正式申报）",
    responses=error_responses(401, 403, 409, 413, 422),
    openapi_extra=_upload_body(
        {
            "file": {"type": "string", "format": "binary", "description": "申报数据包 .zip"},
            "stage": {"type": "string", "enum": ["pre", "formal"]},
        },
        ["file", "stage"],
    ),
)
async def upload(request: Request, caller: CurrentEnterprise, settings: Settings) -> JSONResponse:
    data_dir = Path(settings.data_dir)
    too_large = ApiError(
        413, "PACKAGE_TOO_LARGE",
        f"数据包超过{settings.max_upload_mb} MiB，请按所属期或批次拆分后分别上传。",
    )  # fmt: skip
    got = await receive(
        request, decls.packages_dir(data_dir), "file", settings.max_upload_bytes, too_large
    )
    try:
        stage = got.fields.get("stage", "")
        if stage not in ("pre", "formal"):
            raise ApiError(
                422, "VALIDATION", "请选择申报类型：预申报（pre）或正式申报（formal）。",
                errors=[{"field": "stage", "message": "应为 pre 或 formal"}],
            )  # fmt: skip
        if got.path is None:
            raise ApiError(
                422, "VALIDATION", "请选择要上传的申报数据包文件。",
                errors=[{"field": "file", "message": "缺少文件"}],
            )  # fmt: skip
        loop = asyncio.get_running_loop()
        pkg = await loop.run_in_executor(request.app.state.checker.pool, check_package, got.path)
        if isinstance(pkg, dict):
            raise ApiError(pkg.pop("status"), pkg.pop("code"), pkg.pop("detail"), **pkg)

        def admit() -> dict[str, Any]:
            pool = request.app.state.pool
            conn = pool.get()
            try:
                decl_id = _admit(conn, data_dir, caller, stage, pkg, got)
                return _fresh(request, conn, decl_id)
            finally:
                pool.put(conn)

        body = await asyncio.to_thread(admit)
    finally:
        got.discard()  # gone already when it was admitted
    request.app.state.workers.poke()
    return JSONResponse(body, status_code=202)


# ---------------------------------------------------------------- reading

Stage = Literal["pre", "formal"]


@router.get(
    "/declarations",
    response_model=documented(DeclarationList),
    summary="申报列表（新的在前）",
    responses=error_responses(401, 403, 422),
)
def list_declarations(
    request: Request,
    caller: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    stage: Annotated[Stage | None, Query(description="pre | formal")] = None,
    status: Annotated[
        str | None, Query(max_length=300, description="状态，可用逗号分隔多个")
    ] = None,
    period: Annotated[str | None, Query(pattern=r"^\d{6}$", description="所属期 YYYYMM")] = None,
) -> dict[str, Any]:
    where, args = ["taxpayer_id = ?"], [caller.taxpayer_id]
    if stage:
        where.append("stage = ?")
        args.append(stage)
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in decls.STATUS_TEXT]
        if unknown or not wanted:
            raise ApiError(
                422, "VALIDATION", f"状态[{'、'.join(unknown)}]不存在，请检查筛选条件。",
                errors=[{"field": "status", "message": "未知状态"}],
            )  # fmt: skip
        where.append(f"status IN ({','.join('?' * len(wanted))})")
        args += wanted
    if period:
        where.append("period = ?")
        args.append(period)
    sql_where = " WHERE " + " AND ".join(where)
    total = conn.execute("SELECT count(*) FROM declarations" + sql_where, args).fetchone()[0]
    rows = conn.execute(
        "SELECT * FROM declarations" + sql_where + " ORDER BY uploaded_at DESC, id DESC"
        " LIMIT ? OFFSET ?",
        [*args, paging.page_size, paging.offset],
    ).fetchall()
    return paged(total, [_dict(request, conn, r) for r in rows])


@router.get(
    "/declarations/{decl_id}",
    response_model=documented(Declaration),
    summary="一个申报",
    responses=error_responses(401, 403, 404),
)
def get_declaration(
    request: Request, caller: CurrentEnterprise, conn: Db, decl_id: str
) -> dict[str, Any]:
    return _dict(request, conn, _row(conn, caller, decl_id))


def _doubt_dict(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "seq": r["seq"], "table": r["tbl"], "code": r["code"], "level": r["level"],
        "passable": bool(r["passable"]), "object": r["object"], "field": r["field"],
        "message": r["message"], "hint": r["hint"],
    }  # fmt: skip


def _require_audited(row: sqlite3.Row) -> None:
    if row["audited_at"] is None:
        raise ApiError(
            409, "NOT_READY",
            f"该申报尚未审核完成（当前：{decls.STATUS_TEXT[row['status']]}），请稍后再查看。",
        )  # fmt: skip


@router.get(
    "/declarations/{decl_id}/doubts",
    response_model=documented(DoubtList),
    summary="疑点（审核完成后）",
    responses=error_responses(401, 403, 404, 409, 422),
)
def list_doubts(
    caller: CurrentEnterprise, conn: Db, paging: Paging, decl_id: str
) -> dict[str, Any]:
    row = _row(conn, caller, decl_id)
    _require_audited(row)
    total = conn.execute(
        "SELECT count(*) FROM doubts WHERE declaration_id = ?", (decl_id,)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT * FROM doubts WHERE declaration_id = ? ORDER BY ord LIMIT ? OFFSET ?",
        (decl_id, paging.page_size, paging.offset),
    ).fetchall()
    return paged(total, [_doubt_dict(r) for r in rows])


@router.get(
    "/declarations/{decl_id}/feedback",
    summary="预审核反馈包（AES-256 加密的 ZIP）",
    response_class=Response,
    responses={
        **binary("加密的反馈包", "application/zip"),
        **error_responses(401, 403, 404, 409),
    },
)
def get_feedback(
    request: Request, caller: CurrentEnterprise, conn: Db, settings: Settings, decl_id: str
) -> FileResponse:
    row = _row(conn, caller, decl_id)
    _require_audited(row)
    folder = Path(settings.data_dir) / "feedback"
    path = folder / f"{decl_id}.zip"
    if row["feedback_name"] is None or not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        name, key_id, key = conn.execute(
            "SELECT name, feedback_key_id, feedback_key FROM enterprises WHERE taxpayer_id = ?",
            (caller.taxpayer_id,),
        ).fetchone()
        doubts = [
            _doubt_dict(r)
            for r in conn.execute(
                "SELECT * FROM doubts WHERE declaration_id = ? ORDER BY ord", (decl_id,)
            )
        ]
        payload, csv_rows = pre_audit_payload(
            {"taxpayer_id": caller.taxpayer_id, "name": name}, _dict(request, conn, row), doubts
        )
        write_feedback_zip(
            path, key=key, key_id=key_id, kind="pre_audit", taxpayer_id=caller.taxpayer_id,
            created_at=row["audited_at"], payload=payload, csv_name=PRE_AUDIT_CSV,
            csv_header=PRE_AUDIT_HEADER, csv_rows=csv_rows,
        )  # fmt: skip
        conn.execute("UPDATE declarations SET feedback_name = ? WHERE id = ?", (path.name, decl_id))
    stem = Path(row["file_name"]).stem
    return FileResponse(path, media_type="application/zip", filename=f"{stem}_预审核反馈.zip")


# ---------------------------------------------------------------- lifecycle


def _not_convertible(detail: str, **extra: Any) -> ApiError:
    return ApiError(409, "NOT_CONVERTIBLE", detail, **extra)


@router.post(
    "/declarations/{decl_id}/convert",
    status_code=201,
    response_model=documented(Declaration),
    summary="转正式申报",
    responses=error_responses(401, 403, 404, 409),
)
def convert(
    request: Request, caller: CurrentEnterprise, conn: Db, settings: Settings, decl_id: str
) -> JSONResponse:
    pre = _row(conn, caller, decl_id)
    if pre["stage"] != "pre":
        raise _not_convertible("只有预申报可以转正式申报。")
    if pre["status"] == "converted":
        raise _not_convertible("该预申报已转正式申报，不能重复转换。", existing_id=pre["formal_id"])
    if pre["status"] != "audited" or pre["result"] not in (0, 1):
        reason = (
            "存在不可挑过疑点，请修正数据后重新预申报。" if pre["result"] == 2
            else f"该预申报当前为“{decls.STATUS_TEXT[pre['status']]}”，审核完成且无不可挑过疑点后才能转正式申报。"
        )  # fmt: skip
        raise _not_convertible(reason)
    key = (caller.taxpayer_id, pre["business_code"], pre["period"], pre["batch"])
    existing = decls.alive_formal(conn, *key)
    if existing:
        raise _not_convertible(
            f"所属期{pre['period']}批次{pre['batch']}已有正式申报，不能重复申报；"
            "如需重报请更换批次或先撤回原申报。",
            existing_id=existing,
        )
    # the checks that depend on other declarations run again, now
    data_dir = Path(settings.data_dir)
    pkg = decls.stored_package(data_dir, pre)
    ref = einfo.reference_data(conn, caller.taxpayer_id, pre["period"], clock.today())
    lines: list[LineResult] = []
    result = audit_package(pkg, ref, stage="formal", on_line=lines.append)
    if result.reject_code:
        raise _not_convertible(f"不能转正式申报：{result.reject_text}（{result.reject_code}）。")
    if result.result == 2:
        codes = sorted({d.code for d in result.doubts if not d.passable})
        raise _not_convertible(
            f"转正式申报前复核发现不可挑过疑点（{'、'.join(codes)}），"
            "可能已有其他正式申报使用了相同的报关单或发票，请核对后修正重报。"
        )
    claims = decls.invoice_claims(pkg) if pkg.business.main_table == "mts_ckmx" else []
    formal_id = decls.new_id()
    with db.transaction(conn):
        existing = decls.alive_formal(conn, *key)
        current = conn.execute("SELECT status FROM declarations WHERE id = ?", (decl_id,))
        if existing or current.fetchone()[0] != "audited":
            raise _not_convertible("该预申报刚刚已被转换或已有正式申报。", existing_id=existing)
        decls.insert(
            conn, decl_id=formal_id, taxpayer_id=caller.taxpayer_id, stage="formal", pkg=pkg,
            file_name=pre["file_name"], stored_name=pre["stored_name"], status="pending_confirm",
            uploaded_at=clock.iso(), source_id=decl_id,
        )  # fmt: skip
        formal = conn.execute("SELECT * FROM declarations WHERE id = ?", (formal_id,)).fetchone()
        decls.store_result(
            conn, formal, result, lines, claims, status="pending_confirm", audit_seconds=None
        )
        conn.execute(
            "UPDATE declarations SET status = 'converted', formal_id = ? WHERE id = ?",
            (formal_id, decl_id),
        )
        record_change(conn, caller.taxpayer_id, "declaration", decl_id)
    return JSONResponse(_fresh(request, conn, formal_id), status_code=201)


@router.delete(
    "/declarations/{decl_id}",
    status_code=204,
    summary="删除排队中的申报",
    responses=error_responses(401, 403, 404, 409),
)
def delete(caller: CurrentEnterprise, conn: Db, settings: Settings, decl_id: str) -> Response:
    with db.transaction(conn):
        row = _row(conn, caller, decl_id)
        if row["status"] != "queued":
            raise _invalid_state(
                f"该申报当前为“{decls.STATUS_TEXT[row['status']]}”，只有排队中的申报可以删除。"
            )
        conn.execute("DELETE FROM declarations WHERE id = ?", (decl_id,))
        record_change(conn, caller.taxpayer_id, "declaration", decl_id, op="deleted")
    decls.package_path(Path(settings.data_dir), row).unlink(missing_ok=True)
    return Response(status_code=204)


@router.post(
    "/declarations/{decl_id}/confirm",
    response_model=documented(DeclarationWithMessage),
    summary="确认申报",
    responses=error_responses(401, 403, 404, 409),
)
def confirm(request: Request, caller: CurrentEnterprise, conn: Db, decl_id: str) -> dict[str, Any]:
    with db.transaction(conn):
        row = _row(conn, caller, decl_id)
        if row["stage"] != "formal" or row["status"] != "pending_confirm":
            raise _invalid_state(
                f"该申报当前为“{decls.STATUS_TEXT[row['status']]}”，只有待确认的正式申报可以确认。"
            )
        if row["result"] == 2:
            raise _invalid_state("存在不可挑过疑点，不能确认申报：请撤回后修正数据重新申报。")
        conn.execute(
            "UPDATE declarations SET status = 'confirmed', confirmed_at = ? WHERE id = ?",
            (clock.iso(), decl_id),
        )
        record_change(conn, caller.taxpayer_id, "declaration", decl_id)
        record_change(conn, caller.taxpayer_id, "progress", decl_id)
    return {**_fresh(request, conn, decl_id), "message": "申报数据确认成功"}


@router.post(
    "/declarations/{decl_id}/withdraw",
    response_model=documented(DeclarationWithMessage),
    summary="撤回正式申报（确认前）",
    responses=error_responses(401, 403, 404, 409),
)
def withdraw(request: Request, caller: CurrentEnterprise, conn: Db, decl_id: str) -> dict[str, Any]:
    with db.transaction(conn):
        row = _row(conn, caller, decl_id)
        if row["stage"] == "formal" and row["status"] in ("confirmed", "accepted", "approved",
                                                          "refused"):  # fmt: skip
            raise _invalid_state("已确认的申报数据无法撤回")
        if row["stage"] != "formal" or row["status"] != "pending_confirm":
            raise _invalid_state(
                f"该申报当前为“{decls.STATUS_TEXT[row['status']]}”，只有待确认的正式申报可以撤回。"
            )
        decls.withdraw(conn, row)
    return {**_fresh(request, conn, decl_id), "message": "正式申报数据已撤回"}


# ---------------------------------------------------------------- attachments


def _attachment_dict(r: sqlite3.Row) -> dict[str, Any]:
    return {"id": r["id"], "category": r["category"], "file_name": r["file_name"],
            "size": r["size"], "sha256": r["sha256"]}  # fmt: skip


def _attachments_dir(settings: Any) -> Path:
    return Path(settings.data_dir) / "attachments"


def _require_open_formal(row: sqlite3.Row) -> None:
    if row["stage"] != "formal" or row["status"] not in ATTACHMENT_STATES:
        raise _invalid_state("只有受理前的正式申报可以添加或删除附列资料。")


@router.post(
    "/declarations/{decl_id}/attachments",
    status_code=201,
    response_model=documented(Attachment),
    summary="上传附列资料（PDF、JPG 或 PNG，≤ 20 MiB）",
    responses=error_responses(401, 403, 404, 409, 413, 422),
    openapi_extra=_upload_body(
        {
            "file": {"type": "string", "format": "binary"},
            "category": {"type": "string", "enum": list(ATTACHMENT_CATEGORIES)},
        },
        ["file", "category"],
    ),
)
async def add_attachment(
    request: Request, caller: CurrentEnterprise, settings: Settings, decl_id: str
) -> JSONResponse:
    pool = request.app.state.pool

    def current() -> sqlite3.Row:
        conn = pool.get()
        try:
            row = _row(conn, caller, decl_id)
        finally:
            pool.put(conn)
        _require_open_formal(row)
        return row

    await asyncio.to_thread(current)
    folder = _attachments_dir(settings)
    too_large = ApiError(413, "REQUEST_TOO_LARGE", "附列资料不能超过20 MiB，请压缩后重新上传。")
    got = await receive(request, folder, "file", ATTACHMENT_MAX, too_large)
    try:
        category = got.fields.get("category", "")
        if category not in ATTACHMENT_CATEGORIES:
            raise ApiError(
                422, "VALIDATION", "附列资料类别应为采购合同、仓单、提单或其他。",
                errors=[{"field": "category", "message": "未知类别"}],
            )  # fmt: skip
        if got.path is None:
            raise ApiError(
                422, "VALIDATION", "请选择要上传的附列资料文件。",
                errors=[{"field": "file", "message": "缺少文件"}],
            )  # fmt: skip
        with got.path.open("rb") as fh:
            head = fh.read(16)
        content_type = next((t for magic, t in _MAGIC if head.startswith(magic)), None)
        if content_type is None:
            raise ApiError(
                422, "VALIDATION", "附列资料只能是PDF、JPG或PNG文件（按文件内容判断），请转换后上传。",
                errors=[{"field": "file", "message": "不是 PDF、JPG 或 PNG"}],
            )  # fmt: skip

        def store() -> dict[str, Any]:
            conn = pool.get()
            try:
                aid = decls.new_id()
                with db.transaction(conn):
                    _require_open_formal(_row(conn, caller, decl_id))
                    got.commit_to(folder / aid)
                    conn.execute(
                        "INSERT INTO attachments (id, declaration_id, category, file_name,"
                        " content_type, size, sha256, stored_name, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (aid, decl_id, category, got.file_name, content_type, got.size,
                         got.sha256, aid, clock.iso()),
                    )  # fmt: skip
                    record_change(conn, caller.taxpayer_id, "declaration", decl_id)
                row = conn.execute("SELECT * FROM attachments WHERE id = ?", (aid,)).fetchone()
                return _attachment_dict(row)
            finally:
                pool.put(conn)

        body = await asyncio.to_thread(store)
    finally:
        got.discard()
    return JSONResponse(body, status_code=201)


@router.get(
    "/declarations/{decl_id}/attachments",
    response_model=documented(AttachmentList),
    summary="附列资料列表",
    responses=error_responses(401, 403, 404),
)
def list_attachments(caller: CurrentEnterprise, conn: Db, decl_id: str) -> dict[str, Any]:
    _row(conn, caller, decl_id)
    rows = conn.execute(
        "SELECT * FROM attachments WHERE declaration_id = ? ORDER BY created_at, id", (decl_id,)
    ).fetchall()
    return paged(len(rows), [_attachment_dict(r) for r in rows])


def _attachment(conn: sqlite3.Connection, caller: Caller, decl_id: str, aid: str) -> sqlite3.Row:
    _row(conn, caller, decl_id)
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM attachments WHERE id = ? AND declaration_id = ?", (aid, decl_id)
    ).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", "该附列资料不存在。")
    return row


@router.get(
    "/declarations/{decl_id}/attachments/{aid}",
    summary="下载附列资料",
    response_class=Response,
    responses={
        **binary("附列资料文件", "application/pdf", "image/png", "image/jpeg"),
        **error_responses(401, 403, 404),
    },
)  # fmt: skip
def get_attachment(
    caller: CurrentEnterprise, conn: Db, settings: Settings, decl_id: str, aid: str
) -> FileResponse:
    row = _attachment(conn, caller, decl_id, aid)
    return FileResponse(
        _attachments_dir(settings) / row["stored_name"],
        media_type=row["content_type"],
        filename=row["file_name"],
    )


@router.delete(
    "/declarations/{decl_id}/attachments/{aid}",
    status_code=204,
    summary="删除附列资料（受理前）",
    responses=error_responses(401, 403, 404, 409),
)
def delete_attachment(
    caller: CurrentEnterprise, conn: Db, settings: Settings, decl_id: str, aid: str
) -> Response:
    with db.transaction(conn):
        row = _attachment(conn, caller, decl_id, aid)
        _require_open_formal(_row(conn, caller, decl_id))
        conn.execute("DELETE FROM attachments WHERE id = ?", (aid,))
        record_change(conn, caller.taxpayer_id, "declaration", decl_id)
    (_attachments_dir(settings) / row["stored_name"]).unlink(missing_ok=True)
    return Response(status_code=204)


# ---------------------------------------------------------------- 受理文书


@router.get(
    "/declarations/{decl_id}/acceptance.pdf",
    summary="受理文书（税务事项通知书）",
    response_class=Response,
    responses={
        **binary("受理文书 PDF", "application/pdf"),
        **error_responses(401, 403, 404, 409),
    },
)
def acceptance_pdf(caller: CurrentEnterprise, conn: Db, decl_id: str) -> Response:
    from server_stub.documents import render_acceptance_notice

    row = _row(conn, caller, decl_id)
    if row["accepted_at"] is None:
        raise ApiError(409, "NOT_READY", "该申报尚未受理，受理后才能查看受理文书。")
    name, office = conn.execute(
        "SELECT name, tax_office FROM enterprises WHERE taxpayer_id = ?", (caller.taxpayer_id,)
    ).fetchone()
    pdf = render_acceptance_notice(
        declaration_id=decl_id, taxpayer_id=caller.taxpayer_id, name=name,
        business_code=row["business_code"], business_name=row["business_name"],
        period=row["period"], batch=row["batch"], record_count=row["record_count"],
        accepted_at=datetime.fromisoformat(row["accepted_at"]),
        declared_refund=Decimal(row["declared_refund"] or "0"), tax_office=office,
    )  # fmt: skip
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename=acceptance-{decl_id}.pdf",
                 "ETag": hashlib.sha256(pdf).hexdigest()[:32]},
    )  # fmt: skip
