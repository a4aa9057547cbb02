"""登录与密码: ``/auth/login``, ``/auth/password``, ``/auth/logout`` (protocol §2)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.declaration.validators import account_problem
from server_stub import auth, clock, db
from server_stub.api.deps import CurrentSession, Db
from server_stub.api.errors import ApiError, error_responses
from server_stub.changes import record_change

router = APIRouter(tags=["登录"])

AccountType = Literal["customs_code", "taxpayer_id", "credit_code"]
_COLUMN = {
    "customs_code": "customs_code",
    "taxpayer_id": "taxpayer_id",
    "credit_code": "credit_code",
}
AUTH_FAILED = "用户名或密码错误"


class LoginRequest(BaseModel):
    account_type: AccountType = Field(description="海关代码 | 纳税人识别号 | 统一社会信用代码")
    account: str = Field(max_length=64)
    password: str = Field(max_length=128)


class LoginEnterprise(BaseModel):
    taxpayer_id: str
    name: str
    kind: Literal["manufacturer", "trader"]
    management_class: str


class LoginResponse(BaseModel):
    token: str
    expires_at: str
    must_change_password: bool
    enterprise: LoginEnterprise


class PasswordRequest(BaseModel):
    old_password: str = Field(max_length=128)
    new_password: str = Field(max_length=128)


def _locked(until: Any) -> ApiError:
    return ApiError(
        423,
        "AUTH_LOCKED",
        f"连续多次密码错误，账号已锁定至{until:%Y-%m-%d %H:%M}，请届时再试，"
        "或联系主管税务机关重置密码。",
        locked_until=clock.iso(until),
    )


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    summary="登录",
    responses=error_responses(401, 403, 422, 423, 429),
)
def login(body: LoginRequest, request: Request, conn: Db) -> Any:
    wait = request.app.state.login_limiter.retry_after(
        request.client.host if request.client else "-"
    )
    if wait:
        error = ApiError(429, "RATE_LIMITED", f"登录请求过于频繁，请{wait}秒后再试。")
        error.headers["Retry-After"] = str(wait)
        raise error
    problem = account_problem(body.account_type, body.account)
    if problem:
        raise ApiError(
            422, "VALIDATION", problem, errors=[{"field": "account", "message": problem}]
        )
    account = body.account.strip().upper()
    row = conn.execute(
        "SELECT taxpayer_id, password_hash, state, filing_date, filing_is_today"
        f" FROM enterprises WHERE {_COLUMN[body.account_type]} = ?",
        (account,),
    ).fetchone()
    subject = auth.failure_subject(row[0] if row else None, body.account_type, account)
    until = auth.locked_until(conn, subject)
    if until is not None:
        raise _locked(until)
    if row is None or not auth.verify_password(body.password, row[1]):
        auth.record_failure(conn, subject)
        raise ApiError(401, "AUTH_FAILED", AUTH_FAILED)
    taxpayer_id = row[0]
    auth.clear_failures(conn, subject)
    filing_date = clock.today().isoformat() if row[4] else row[3]
    if row[2] == "not_filed" or filing_date is None or filing_date >= clock.today().isoformat():
        raise ApiError(
            403,
            "AUTH_NOT_FILED",
            "您单位的出口退(免)税备案尚未完成或今日刚办结，平台次日才能同步备案信息，"
            "请明天再登录。",
        )
    sessions: auth.Sessions = request.app.state.sessions
    token, caller = sessions.create(conn, taxpayer_id)
    return {
        "token": token,
        "expires_at": clock.iso(caller.expires_at),
        "must_change_password": caller.must_change_password,
        "enterprise": {
            "taxpayer_id": caller.taxpayer_id,
            "name": caller.name,
            "kind": caller.kind,
            "management_class": caller.management_class,
        },
    }


@router.post(
    "/auth/password",
    status_code=204,
    summary="修改密码",
    responses=error_responses(401, 422),
)
def change_password(
    body: PasswordRequest, caller: CurrentSession, request: Request, conn: Db
) -> Response:
    stored, bank_account = conn.execute(
        "SELECT password_hash, bank_account FROM enterprises WHERE taxpayer_id = ?",
        (caller.taxpayer_id,),
    ).fetchone()
    if not auth.verify_password(body.old_password, stored):
        raise ApiError(401, "AUTH_FAILED", "原密码错误，请重新输入。")
    problem = auth.password_policy_problem(body.new_password, auth.initial_password(bank_account))
    if problem:
        raise ApiError(
            422, "PASSWORD_POLICY", problem, errors=[{"field": "new_password", "message": problem}]
        )
    sessions: auth.Sessions = request.app.state.sessions
    new_hash = auth.hash_password(body.new_password)
    with db.transaction(conn):
        conn.execute(
            "UPDATE enterprises SET password_hash = ?, must_change_password = 0"
            " WHERE taxpayer_id = ?",
            (new_hash, caller.taxpayer_id),
        )
        sessions.end_all(conn, caller.taxpayer_id, keep=caller.token_hash)
        record_change(conn, caller.taxpayer_id, "enterprise", caller.taxpayer_id)
    sessions.password_changed(caller.taxpayer_id)
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204, summary="退出登录", responses=error_responses(401))
def logout(caller: CurrentSession, request: Request) -> Response:
    request.app.state.sessions.end(caller.token_hash)
    return Response(status_code=204)
