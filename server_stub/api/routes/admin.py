"""税务机关 (the tax officer's side) under /admin/v1: 受理, 审批, 审核不通过, 重置密码,
企业状态 (protocol §10). Every call needs the ``X-Admin-Token`` header."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from server_stub import declarations as decls
from server_stub import taxoffice
from server_stub.api.deps import AdminAuth, Db, Settings
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import Declaration, EnterpriseState, documented

router = APIRouter(tags=["税务机关（模拟）"])


class ApproveRequest(BaseModel):
    refused_seqs: list[str] = Field(default_factory=list, max_length=100_000,
                                    description="不予审批的申报序号")  # fmt: skip


class RefuseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class StateRequest(BaseModel):
    state: str = Field(
        max_length=40, description="normal | suspended | filing_withdrawn | waived | …"
    )


def _declaration(conn: sqlite3.Connection, decl_id: str, request: Request) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM declarations WHERE id = ?", (decl_id,)).fetchone()
    return decls.to_dict(conn, row, request.app.state.settings.audit_workers)


@router.post(
    "/declarations/{decl_id}/accept",
    response_model=documented(Declaration),
    summary="受理",
    responses=error_responses(401, 404, 409),
)
def accept(_: AdminAuth, conn: Db, request: Request, decl_id: str) -> dict[str, Any]:
    taxoffice.accept(conn, decl_id)
    return _declaration(conn, decl_id, request)


@router.post(
    "/declarations/{decl_id}/approve",
    response_model=documented(Declaration),
    summary="审核通过并审批",
    responses=error_responses(401, 404, 409, 413, 422),
)
def approve(
    _: AdminAuth, conn: Db, settings: Settings, request: Request, decl_id: str,
    body: ApproveRequest | None = None,
) -> dict[str, Any]:  # fmt: skip
    refused = body.refused_seqs if body else []
    taxoffice.approve(conn, Path(settings.data_dir), decl_id, refused)
    return _declaration(conn, decl_id, request)


@router.post(
    "/declarations/{decl_id}/refuse",
    response_model=documented(Declaration),
    summary="审核不通过",
    responses=error_responses(401, 404, 409, 413, 422),
)
def refuse(
    _: AdminAuth, conn: Db, request: Request, decl_id: str, body: RefuseRequest
) -> dict[str, Any]:
    taxoffice.refuse(conn, decl_id, body.reason)
    return _declaration(conn, decl_id, request)


@router.post(
    "/enterprises/{taxpayer_id}/reset-password",
    status_code=204,
    summary="重置密码（恢复为银行账号后8位）",
    responses=error_responses(401, 404),
)
def reset_password(_: AdminAuth, conn: Db, request: Request, taxpayer_id: str) -> Response:
    taxoffice.reset_password(conn, request.app.state.sessions, taxpayer_id)
    return Response(status_code=204)


@router.post(
    "/enterprises/{taxpayer_id}/state",
    response_model=documented(EnterpriseState),
    summary="设置企业状态（停权、备案撤回、放弃退税……）",
    responses=error_responses(401, 404, 413, 422),
)
def set_state(_: AdminAuth, conn: Db, taxpayer_id: str, body: StateRequest) -> dict[str, str]:
    if body.state not in taxoffice.STATES:
        raise ApiError(
            422, "VALIDATION", f"企业状态应为：{'、'.join(taxoffice.STATES)}。",
            errors=[{"field": "state", "message": "未知状态"}],
        )  # fmt: skip
    taxoffice.set_state(conn, taxpayer_id, body.state)
    return {"taxpayer_id": taxpayer_id, "state": body.state}
