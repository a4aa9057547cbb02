"""The FastAPI application: routers, problem+json for every error, background services."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

import server_stub
from server_stub import clock, db
from server_stub.api import routes
from server_stub.api.errors import ApiError, problem_response
from server_stub.api.schemas import Health, documented
from server_stub.auth import RateLimiter, Sessions
from server_stub.settings import Settings

log = logging.getLogger(__name__)

MAX_JSON_BODY = 1024 * 1024
API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/admin/v1"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class JsonBodyLimit:
    """A JSON request body over 1 MiB answers 413 REQUEST_TOO_LARGE before the route runs.

    A body sent without a Content-Type (``curl -d``, bare scripts) is taken as JSON.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        ctype = headers.get("content-type", "").lower()
        if not ctype and scope["method"] in ("POST", "PUT", "PATCH"):
            scope["headers"] = [*scope["headers"], (b"content-type", b"application/json")]
            ctype = "application/json"
        if "json" not in ctype or "ndjson" in ctype:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        declared = headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > MAX_JSON_BODY
        more = not too_large
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_JSON_BODY:
                too_large = True
                break
        if too_large:
            response = problem_response(
                413, "REQUEST_TOO_LARGE", "请求内容超过1 MiB，请精简后重试。"
            )
            await response(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _validation_problem(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        errors.append({"field": ".".join(loc) or "body", "message": str(e.get("msg", ""))})
    fields = "、".join(dict.fromkeys(e["field"] for e in errors))
    return problem_response(
        422, "VALIDATION", f"请求参数不正确（{fields}），请检查后重试。", errors=errors
    )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method the path supports: Starlette's own 405 names only the first route that
    matched the path, though several routes (GET and POST /documents) may share it."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, exc.headers or None, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem_response(404, "NOT_FOUND", "请求的地址不存在，请检查后重试。")
        if exc.status_code == 405:
            return problem_response(
                405, "METHOD_NOT_ALLOWED", "该地址不支持此请求方法。",
                {"Allow": _allowed_methods(request)},
            )  # fmt: skip
        if exc.status_code == 413:
            return problem_response(413, "REQUEST_TOO_LARGE", "请求内容过大，请精简后重试。")
        if exc.status_code in (401, 403):
            return problem_response(401, "TOKEN_INVALID", "登录已失效或未登录，请重新登录。")
        # e.g. 400 for a body that is not valid JSON: a validation problem like any other
        return problem_response(
            422, "VALIDATION", "请求内容无法解析，请检查后重试。",
            errors=[{"field": "body", "message": str(exc.detail)}],
        )  # fmt: skip

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "INTERNAL", "平台内部错误，请稍后重试；如持续出现请联系主管税务机关。"
        )


def _include_routers(app: FastAPI) -> None:
    """Every module of server_stub/api/routes with a ``router``; admin* under /admin/v1."""
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is None:
            continue
        prefix = ADMIN_PREFIX if info.name.startswith("admin") else API_PREFIX
        app.include_router(router, prefix=prefix)


def _problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with every error answer as problem+json (FastAPI's own 422
    shape is never sent: validation errors are problems too)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for ops in spec["paths"].values():
            for op in ops.values():
                for code, response in op["responses"].items():
                    if code[0] in "45":
                        response["content"] = problem
                        if code == "422":
                            response["description"] = _VALIDATION_DESCRIPTION
        schemas = spec.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = spec
        return spec

    return openapi


_VALIDATION_DESCRIPTION = "参数或数据不正确"


def read_admin_token(data_dir: Path) -> str:
    """The admin token of the data dir, created (random) on first use."""
    path = Path(data_dir) / "admin-token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(token, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return token


def create_app(settings: Settings) -> FastAPI:
    """The platform for the data dir in ``settings`` (seeded and migrated beforehand)."""
    from server_stub import audit_worker, taxoffice

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workers = audit_worker.WorkerPool(settings)
        workers.start()
        office = taxoffice.Timers(settings)
        office.start()
        app.state.workers = workers
        app.state.checker = audit_worker.Checker(settings.audit_workers)
        try:
            yield
        finally:
            await office.stop()
            workers.stop()
            app.state.checker.shutdown()
            # uvicorn ends the process by re-raising the stop signal: clean up here
            (Path(settings.data_dir) / "server.json").unlink(missing_ok=True)

    app = FastAPI(
        title="出口退税综合服务平台（内置演示平台）",
        version=server_stub.__version__,
        description="客户端与平台之间的协议 v1。所有错误均为 application/problem+json。",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.pool = db.Pool(settings.data_dir)
    app.state.sessions = Sessions(app.state.pool)
    app.state.admin_token = read_admin_token(settings.data_dir)
    app.state.login_limiter = RateLimiter(settings.login_rate)
    _install_error_handlers(app)
    app.add_middleware(JsonBodyLimit)

    @app.get(
        API_PREFIX + "/health",
        response_model=documented(Health),
        tags=["平台"],
        summary="健康检查",
    )
    def health() -> dict[str, str]:
        return {"status": "ok", "version": server_stub.__version__, "time": clock.iso()}

    _include_routers(app)
    app.openapi = _problem_openapi(app)  # type: ignore[method-assign]
    return app
