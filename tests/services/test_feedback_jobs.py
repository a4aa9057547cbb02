"""反馈下载 jobs end to end: assemble → download → decrypt → parse (live stubs)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pyzipper

from server_stub import db, feedback_jobs
from server_stub.clock import today
from tests.livestub import LiveStub
from tests.services.conftest import Api, login, problem


def _wait_for_job(api: Api, job_id: str, cursor: int) -> dict[str, Any]:
    """Follow the sync feed until the job is no longer assembling."""
    for _ in range(20):
        job: dict[str, Any] = api.ok(f"/feedback-jobs/{job_id}")
        if job["status"] != "assembling":
            return job
        cursor = api.ok("/sync", cursor=cursor, wait=10)["cursor"]
    raise AssertionError(f"job {job_id} still assembling")


def _approved_period(api: Api) -> str:
    for year in (today().year, today().year - 1):
        rows = api.ok("/progress", year=year, page_size=500)["items"]
        approved = [r["period"] for r in rows if r["status"] == "approved"]
        if approved:
            return str(approved[0])
    raise AssertionError("the seed has no approved formal declaration")


def _open(content: bytes, key: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(zip comment, feedback.json, names) of an encrypted feedback package."""
    with pyzipper.AESZipFile(io.BytesIO(content)) as z:
        z.setpassword(key.encode("utf-8"))
        comment = json.loads(z.comment.decode("utf-8"))
        payload = json.loads(z.read("feedback.json"))
        return comment, payload, z.namelist()


def test_types_follow_the_enterprise_kind(manufacturer: Api, trader: Api) -> None:
    mine = {(t["category"], t["type"]) for t in manufacturer.ok("/feedback-jobs/types")["items"]}
    theirs = {(t["category"], t["type"]) for t in trader.ok("/feedback-jobs/types")["items"]}
    assert ("audit_result", "mdt_result") in mine and ("audit_result", "mts_result") in theirs
    assert ("invoice", "certified_invoices") in theirs - mine
    for category in ("certificate", "peripheral"):
        assert {t for c, t in mine if c == category} == {t for c, t in theirs if c == category}
    problem(manufacturer.post("/feedback-jobs", json={
        "category": "audit_result", "type": "mts_result", "period": "202610"}),
        422, "VALIDATION")  # fmt: skip
    for period in ("2026-10", "202613", "20261", "209912"):
        problem(manufacturer.post("/feedback-jobs", json={
            "category": "audit_result", "type": "mdt_result", "period": period}),
            422, "VALIDATION")  # fmt: skip


def test_audit_result_end_to_end(manufacturer: Api, trader: Api) -> None:
    period = _approved_period(manufacturer)
    cursor = manufacturer.ok("/sync", cursor=10**9)["cursor"]  # reset → the current end
    request = {"category": "audit_result", "type": "mdt_result", "period": period}
    r = manufacturer.post("/feedback-jobs", json=request)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.json()["status"] == "assembling"
    same = manufacturer.post("/feedback-jobs", json=request)
    assert same.status_code in (200, 202) and same.json()["id"] == job_id
    assert same.status_code == 200
    job = _wait_for_job(manufacturer, job_id, cursor)
    assert job["status"] == "ready" and job["record_count"] > 0 and job["size"] > 0
    assert job["expires_at"] > job["ready_at"]
    assert manufacturer.post("/feedback-jobs", json=request).json()["id"] == job_id
    assert job_id in {j["id"] for j in manufacturer.ok("/feedback-jobs")["items"]}

    first = manufacturer.get(f"/feedback-jobs/{job_id}/download")
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/zip"
    assert len(first.content) == job["size"]
    assert manufacturer.get(f"/feedback-jobs/{job_id}/download").content == first.content

    key = manufacturer.ok("/enterprise/feedback-key")
    comment, payload, names = _open(first.content, key["key"])
    assert comment["key_id"] == key["key_id"] and comment["kind"] == "audit_result"
    assert comment["enterprise"] == manufacturer.taxpayer_id
    assert payload["declaration"] is None and payload["result"] is None
    rows = payload["rows"]
    assert len(rows) == job["record_count"]
    assert {r["period"] for r in rows} == {period}
    assert {r["result"] for r in rows} <= {"审核通过", "审核不通过", "未审核"}
    passed = [r for r in rows if r["result"] == "审核通过"]
    assert passed and all(r["approved_refund"] is not None for r in passed)
    assert sorted(names) == ["feedback.json", "审核结果.csv"]
    with pyzipper.AESZipFile(io.BytesIO(first.content)) as z:
        z.setpassword(key["key"].encode())
        raw = z.read("审核结果.csv")
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    table = list(csv.reader(io.StringIO(raw.decode("gb18030"), newline="")))
    assert table[0] == ["所属期", "批次", "申报序号", "报关单号", "项号", "商品代码",
                        "商品名称", "申报退税额", "审批退税额", "审核结果", "审批日期"]  # fmt: skip
    assert len(table) == len(rows) + 1
    assert table[1][2] == rows[0]["seq"] and table[1][6] == rows[0]["commodity_name"]

    with pytest.raises(RuntimeError):
        _open(first.content, "wrong-key-" * 4)
    problem(trader.get(f"/feedback-jobs/{job_id}"), 404, "NOT_FOUND")
    problem(trader.get(f"/feedback-jobs/{job_id}/download"), 404, "NOT_FOUND")


def test_certified_invoices_and_business_feedback(trader: Api) -> None:
    cursor = trader.ok("/sync", cursor=10**9)["cursor"]
    invoices = trader.ok("/e-info/invoices", page_size=1)["items"]
    period = invoices[0]["issue_date"][:7].replace("-", "")
    r = trader.post("/feedback-jobs", json={"category": "invoice", "type": "certified_invoices",
                                             "period": period[:4]})  # fmt: skip
    assert r.status_code == 202, r.text
    job = _wait_for_job(trader, r.json()["id"], cursor)
    assert job["status"] == "ready"
    content = trader.get(f"/feedback-jobs/{job['id']}/download").content
    _, payload, names = _open(content, trader.ok("/enterprise/feedback-key")["key"])
    assert "认证发票.csv" in names
    assert payload["rows"] and all(row["issue_date"].startswith(period[:4])
                                   for row in payload["rows"])  # fmt: skip
    r = trader.post("/feedback-jobs", json={"category": "peripheral", "type": "babg",
                                             "period": period})  # fmt: skip
    job = _wait_for_job(trader, r.json()["id"], cursor)
    assert job["status"] == "ready" and job["record_count"] == 0


@pytest.fixture
def slow_stub(tmp_path: Path) -> Iterator[LiveStub]:
    """A stub whose feedback assembly takes 300 s a month."""
    stub = LiveStub(
        tmp_path / "slow",
        args=["--accept-after", "0", "--approve-after", "0", "--assemble-delay", "300"],
    ).start()
    yield stub
    stub.kill()


def test_not_ready_failed_and_expired(slow_stub: LiveStub) -> None:
    api = login(slow_stub, "manufacturer")
    month = api.post("/feedback-jobs", json={"category": "audit_result", "type": "mdt_result",
                                             "period": "202601"}).json()  # fmt: skip
    assert month["status"] == "assembling"
    body = problem(api.get(f"/feedback-jobs/{month['id']}/download"), 409, "NOT_READY")
    assert "组装" in body["detail"]
    # a year takes 12 × 300 s, past the 15 minutes: once its time is up it fails
    year = api.post("/feedback-jobs", json={"category": "audit_result", "type": "mdt_result",
                                            "period": "2025"}).json()  # fmt: skip
    conn = db.connect(slow_stub.data_dir)
    try:
        # 15 minutes later: shift the job's times back by its own assembly window
        created, due = conn.execute(
            "SELECT created_at, due_at FROM feedback_jobs WHERE id = ?", (year["id"],)
        ).fetchone()
        window = datetime.fromisoformat(due) - datetime.fromisoformat(created)
        assert window == timedelta(minutes=15)
        conn.execute(
            "UPDATE feedback_jobs SET created_at = ?, due_at = ? WHERE id = ?",
            ((datetime.fromisoformat(created) - window).isoformat(), created, year["id"]),
        )
        feedback_jobs.assemble(conn, slow_stub.data_dir, year["id"])
        failed = api.ok(f"/feedback-jobs/{year['id']}")
        assert failed["status"] == "failed" and "15分钟" in failed["reason"]
        problem(api.get(f"/feedback-jobs/{year['id']}/download"), 409, "NOT_READY")
        # the month job assembled, then left past its 7 days
        feedback_jobs.assemble(conn, slow_stub.data_dir, month["id"])
        assert api.ok(f"/feedback-jobs/{month['id']}")["status"] == "ready"
        assert api.get(f"/feedback-jobs/{month['id']}/download").status_code == 200
        conn.execute(
            "UPDATE feedback_jobs SET expires_at = '2000-01-01T00:00:00+08:00' WHERE id = ?",
            (month["id"],),
        )
    finally:
        conn.close()
    problem(api.get(f"/feedback-jobs/{month['id']}/download"), 410, "EXPIRED")
    again = api.post("/feedback-jobs", json={"category": "audit_result", "type": "mdt_result",
                                             "period": "202601"})  # fmt: skip
    assert again.status_code == 202 and again.json()["id"] != month["id"]
