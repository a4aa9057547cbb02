"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

import asyncio
import hmac
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from server_stub import settings as settings_module
from server_stub.api.errors import ApiError
from server_stub.auth import Caller, Sessions

_bearer = HTTPBearer(auto_error=False, description="登录应答中的 token")
_admin_header = APIKeyHeader(
    name="X-Admin-Token", auto_error=False, description="数据目录下 admin-token 文件的内容"
)

TOKEN_INVALID = "登录已失效或未登录，请重新登录。"


# pure dependencies are async: FastAPI runs sync ones in the thread pool, even for async routes
async def _settings(request: Request) -> settings_module.Settings:
    s: settings_module.Settings = request.app.state.settings
    return s


def _db(request: Request) -> Iterator[sqlite3.Connection]:
    pool = request.app.state.pool
    conn = pool.get()
    try:
        yield conn
    finally:
        pool.put(conn)


async def _session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "TOKEN_INVALID", TOKEN_INVALID)
    sessions: Sessions = request.app.state.sessions
    caller = sessions.lookup(credentials.credentials)
    if caller is None:
        raise ApiError(401, "TOKEN_INVALID", TOKEN_INVALID)
    if sessions.needs_store(caller):
        await asyncio.to_thread(sessions.store_seen, caller)
    return caller


async def _enterprise(caller: Annotated[Caller, Depends(_session)]) -> Caller:
    if caller.must_change_password:
        raise ApiError(
            403,
            "PASSWORD_CHANGE_REQUIRED",
            "首次登录或密码被重置后须先修改初始密码，请修改密码后再继续操作。",
        )
    return caller


async def _admin(request: Request, token: Annotated[str | None, Depends(_admin_header)]) -> None:
    expected: str = request.app.state.admin_token
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(
            401, "TOKEN_INVALID", "管理口令无效：请使用数据目录下 admin-token 文件中的口令。"
        )


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def _paging(
    page: Annotated[int, Query(ge=1, le=10_000_000, description="页码，从1开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="每页条数（1–500）")] = 50,
) -> PageParams:
    return PageParams(page, page_size)


def paged(total: int, items: list[Any]) -> dict[str, Any]:
    return {"total": int(total), "items": items}


Settings = Annotated[settings_module.Settings, Depends(_settings)]
Db = Annotated[sqlite3.Connection, Depends(_db)]
CurrentSession = Annotated[Caller, Depends(_session)]  # also while a password change is due
CurrentEnterprise = Annotated[Caller, Depends(_enterprise)]
AdminAuth = Annotated[None, Depends(_admin)]
Paging = Annotated[PageParams, Depends(_paging)]
