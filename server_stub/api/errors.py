"""Errors as ``application/problem+json`` (RFC 9457, protocol §0 and §9)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_TYPE = "application/problem+json"

# code → (status, title); the detail of each answer says what happened in Chinese.
CODES: dict[str, tuple[int, str]] = {
    "VALIDATION": (422, "请求参数不正确"),
    "AUTH_FAILED": (401, "用户名或密码错误"),
    "AUTH_LOCKED": (423, "账号已锁定"),
    "AUTH_NOT_FILED": (403, "出口退(免)税备案未完成"),
    "PASSWORD_CHANGE_REQUIRED": (403, "需要修改初始密码"),
    "PASSWORD_POLICY": (422, "新密码不符合要求"),
    "TOKEN_INVALID": (401, "登录已失效"),
    "NOT_FOUND": (404, "不存在"),
    "PACKAGE_INVALID": (422, "数据包格式不正确"),
    "PACKAGE_UNSAFE": (422, "数据包存在安全风险"),
    "PACKAGE_TOO_LARGE": (413, "数据包过大"),
    "PACKAGE_OWNER_MISMATCH": (422, "数据包不属于本企业"),
    "PACKAGE_DUPLICATE": (409, "数据包重复上传"),
    "PRE_AUDIT_REQUIRED": (422, "需要先预申报"),
    "NOT_CONVERTIBLE": (409, "不能转正式申报"),
    "INVALID_STATE": (409, "当前状态不允许该操作"),
    "NOT_READY": (409, "尚未就绪"),
    "EXPIRED": (410, "已过期"),
    "RATE_LIMITED": (429, "请求过于频繁"),
    "METHOD_NOT_ALLOWED": (405, "不支持该请求方法"),
    "REQUEST_TOO_LARGE": (413, "请求过大"),
    "INTERNAL": (500, "平台内部错误"),
}


class ApiError(Exception):
    """Raise anywhere in a request: answered as problem+json with ``extra`` members."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = {}


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    title = CODES.get(code, (status, code))[1]
    return {
        "type": f"urn:tuishui:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, detail, **extra),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


class FieldError(BaseModel):
    field: str
    message: str


class PackageProblem(BaseModel):
    entry: str | None
    row: str | None
    column: str | None
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457); members beyond the standard ones depend on ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:tuishui:problem:INVALID_STATE"])
    title: str
    status: int
    detail: str = Field(description="中文说明：发生了什么、下一步怎么办")
    code: str = Field(description="错误代码（协议 §9）")
    errors: list[FieldError] | None = Field(None, description="VALIDATION：逐项说明")
    existing_id: str | None = Field(None, description="已存在的对象的 id")
    locked_until: str | None = Field(None, description="AUTH_LOCKED：锁定到何时")
    problems: list[PackageProblem] | None = Field(None, description="数据包问题（前1000处）")
    problem_count: int | None = None
    reason: str | None = None


_DESCRIPTIONS = {
    400: "请求不正确",
    401: "未登录、登录已失效或用户名密码错误",
    403: "需要先修改初始密码，或无权操作",
    404: "对象不存在（或属于其他企业）",
    405: "不支持该请求方法",
    409: "当前状态不允许该操作",
    410: "已过期",
    413: "请求或文件过大",
    422: "参数或数据不正确",
    423: "账号已锁定",
    429: "请求过于频繁",
    500: "平台内部错误",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring problem+json answers with these statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, "错误"),
            "model": Problem,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"description": "多少秒后再试", "schema": {"type": "integer"}}
            }
        out[status] = entry
    return out
