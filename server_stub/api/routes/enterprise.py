"""信息区: ``/enterprise``, its contact, and the feedback key (protocol §3)."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server_stub import db
from server_stub.api.deps import CurrentEnterprise, Db
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import Enterprise, FeedbackKey, documented
from server_stub.changes import record_change

router = APIRouter(tags=["信息区"])

_MOBILE = re.compile(r"1\d{10}")


class ContactRequest(BaseModel):
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: str = Field(max_length=20)


def mask_account(account: str) -> str:
    return f"{account[:4]} **** **** {account[-4:]}"


def enterprise_dict(conn: sqlite3.Connection, taxpayer_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM enterprises WHERE taxpayer_id = ?", (taxpayer_id,)).fetchone()
    return {
        "taxpayer_id": r["taxpayer_id"],
        "credit_code": r["credit_code"],
        "customs_code": r["customs_code"],
        "name": r["name"],
        "kind": r["kind"],
        "management_class": r["management_class"],
        "tax_office": r["tax_office"],
        "tax_office_phone": r["tax_office_phone"],
        "filing_date": r["filing_date"],
        "bank_name": r["bank_name"],
        "bank_account_masked": mask_account(r["bank_account"]),
        "contact_name": r["contact_name"],
        "contact_phone": r["contact_phone"],
        "sections": json.loads(r["sections"]),
    }


@router.get(
    "/enterprise",
    response_model=documented(Enterprise),
    summary="企业备案信息（信息区）",
    responses=error_responses(401, 403),
)
def get_enterprise(enterprise: CurrentEnterprise, conn: Db) -> dict[str, Any]:
    return enterprise_dict(conn, enterprise.taxpayer_id)


@router.put(
    "/enterprise/contact",
    response_model=documented(Enterprise),
    summary="修改联系人和手机号（接收短信提醒）",
    responses=error_responses(401, 403, 413, 422),
)
def put_contact(body: ContactRequest, enterprise: CurrentEnterprise, conn: Db) -> dict[str, Any]:
    phone = body.contact_phone.strip()
    if not _MOBILE.fullmatch(phone):
        message = "手机号应为以1开头的11位数字"
        raise ApiError(
            422,
            "VALIDATION",
            "联系电话须为大陆手机号（以1开头的11位数字），平台的短信提醒将发送到该号码。",
            errors=[{"field": "contact_phone", "message": message}],
        )
    name = body.contact_name.strip()
    if not name:
        raise ApiError(
            422, "VALIDATION", "请填写联系人姓名。",
            errors=[{"field": "contact_name", "message": "不能为空"}],
        )  # fmt: skip
    with db.transaction(conn):
        conn.execute(
            "UPDATE enterprises SET contact_name = ?, contact_phone = ? WHERE taxpayer_id = ?",
            (name, phone, enterprise.taxpayer_id),
        )
        record_change(conn, enterprise.taxpayer_id, "enterprise", enterprise.taxpayer_id)
    return enterprise_dict(conn, enterprise.taxpayer_id)


@router.get(
    "/enterprise/feedback-key",
    response_model=documented(FeedbackKey),
    summary="反馈包解密密钥",
    responses=error_responses(401, 403),
)
def feedback_key(enterprise: CurrentEnterprise, conn: Db) -> dict[str, str]:
    key_id, key = conn.execute(
        "SELECT feedback_key_id, feedback_key FROM enterprises WHERE taxpayer_id = ?",
        (enterprise.taxpayer_id,),
    ).fetchone()
    return {"key_id": key_id, "key": key}
