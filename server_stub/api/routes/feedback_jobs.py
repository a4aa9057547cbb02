"""反馈下载: ``/feedback-jobs`` — request, follow and download feedback packages (protocol §6)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from server_stub import feedback_jobs
from server_stub.api.deps import CurrentEnterprise, Db, Paging, Settings, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import (
    FeedbackJob,
    FeedbackJobList,
    FeedbackTypeList,
    binary,
    documented,
)
from server_stub.clock import iso, now


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # jobs left assembling by a restart are finished (or failed) without waiting for a call
    feedback_jobs.scheduler.start(app.state.settings.data_dir)
    yield
    feedback_jobs.scheduler.stop()


router = APIRouter(tags=["反馈下载"], lifespan=_lifespan)

PERIOD_RE = re.compile(r"\d{4}(0[1-9]|1[0-2])?")


class FeedbackJobRequest(BaseModel):
    category: str = Field(
        max_length=20, description="audit_result | certificate | peripheral | invoice"
    )
    type: str = Field(max_length=40, description="反馈类型代码，见 GET /feedback-jobs/types")
    period: str = Field(max_length=8, description="申报年月 YYYYMM，或年度 YYYY")


def _invalid(field: str, message: str, detail: str) -> ApiError:
    return ApiError(422, "VALIDATION", detail, errors=[{"field": field, "message": message}])


@router.get(
    "/feedback-jobs/types",
    response_model=documented(FeedbackTypeList),
    summary="本企业可下载的反馈类型",
    responses=error_responses(401, 403),
)
def list_types(enterprise: CurrentEnterprise) -> dict[str, Any]:
    items = [
        {"category": t.category, "type": t.type, "name": t.name}
        for t in feedback_jobs.types_for(enterprise.kind)
    ]
    return {"total": len(items), "items": items}


@router.post(
    "/feedback-jobs",
    status_code=202,
    response_model=documented(FeedbackJob),
    summary="申请反馈下载（组装完成后可下载）",
    responses={
        200: {
            "description": "相同条件的任务正在组装或已可下载：返回该任务",
            "model": documented(FeedbackJob),
        },
        **error_responses(401, 403, 413, 422),
    },
)
def create_job(
    body: FeedbackJobRequest, enterprise: CurrentEnterprise, conn: Db, settings: Settings
) -> Any:
    job_type = feedback_jobs.find_type(body.category, body.type)
    if job_type is None or enterprise.kind not in job_type.kinds:
        raise _invalid(
            "type",
            "可选的反馈类型见 GET /feedback-jobs/types",
            "本企业不能下载该类反馈，请从反馈类型列表中选择。",
        )
    if not PERIOD_RE.fullmatch(body.period) or not 2000 <= int(body.period[:4]) <= 2100:
        raise _invalid(
            "period",
            "应为 YYYYMM 或 YYYY",
            "申报年月格式不正确，请输入如 202610（按月）或 2026（按年）。",
        )
    if body.period > now().strftime("%Y%m")[: len(body.period)]:
        raise _invalid("period", "不能晚于当前月份", "申报年月不能晚于当前月份。")
    job, created = feedback_jobs.create_job(
        conn, enterprise.taxpayer_id, job_type, body.period, settings.assemble_delay
    )
    if created:
        feedback_jobs.scheduler.poke()
        return JSONResponse(job, status_code=202)
    return JSONResponse(job, status_code=200)


@router.get(
    "/feedback-jobs",
    response_model=documented(FeedbackJobList),
    summary="本企业的反馈下载任务（新的在前）",
    responses=error_responses(401, 403, 422),
)
def list_jobs(enterprise: CurrentEnterprise, conn: Db, paging: Paging) -> dict[str, Any]:
    tid = enterprise.taxpayer_id
    total = conn.execute("SELECT count(*) FROM feedback_jobs WHERE taxpayer_id = ?", (tid,))
    rows = conn.execute(
        f"SELECT {feedback_jobs.JOB_COLUMNS} FROM feedback_jobs WHERE taxpayer_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (tid, paging.page_size, paging.offset),
    ).fetchall()
    return paged(total.fetchone()[0], [feedback_jobs.job_dict(r) for r in rows])


def _job_row(conn: Any, taxpayer_id: str, job_id: str) -> Any:
    row = conn.execute(
        f"SELECT {feedback_jobs.JOB_COLUMNS}, file_name FROM feedback_jobs"
        " WHERE id = ? AND taxpayer_id = ?",
        (job_id, taxpayer_id),
    ).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", "该反馈下载任务不存在。")
    return row


@router.get(
    "/feedback-jobs/{job_id}",
    response_model=documented(FeedbackJob),
    summary="一个反馈下载任务",
    responses=error_responses(401, 403, 404),
)
def get_job(job_id: str, enterprise: CurrentEnterprise, conn: Db) -> dict[str, Any]:
    return feedback_jobs.job_dict(_job_row(conn, enterprise.taxpayer_id, job_id)[:-1])


@router.get(
    "/feedback-jobs/{job_id}/download",
    summary="下载反馈包（AES-256 加密的 ZIP）",
    response_class=Response,
    responses={
        **binary("加密的反馈包", "application/zip"),
        **error_responses(401, 403, 404, 409, 410),
    },
)
def download_job(
    job_id: str, enterprise: CurrentEnterprise, conn: Db, settings: Settings
) -> FileResponse:
    row = _job_row(conn, enterprise.taxpayer_id, job_id)
    job, file_name = feedback_jobs.job_dict(row[:-1]), row[-1]
    expired = job["status"] == "expired" or (
        job["status"] == "ready" and job["expires_at"] <= iso()
    )
    if expired:
        raise ApiError(410, "EXPIRED", "该反馈包已超过7天保留期，请重新申请反馈下载。")
    if job["status"] != "ready":
        detail = (
            "反馈数据仍在组装中，请稍后再下载；组装完成后会通知您。"
            if job["status"] == "assembling"
            else f"该反馈下载任务失败：{job['reason']}"
        )
        raise ApiError(409, "NOT_READY", detail)
    period = job["period"]
    return FileResponse(
        feedback_jobs.jobs_dir(settings.data_dir) / file_name,
        media_type="application/zip",
        filename=f"{enterprise.taxpayer_id}_{job['type']}_{period}_反馈.zip",
    )
