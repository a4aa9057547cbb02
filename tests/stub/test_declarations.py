"""退税申报 (protocol §5) against live stubs: every upload refusal, the whole lifecycle,
withdraw, convert re-checks, delete while queued, attachments, rejects."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
import pyzipper

from app.declaration.package import write_package
from tests.conftest import DEMO
from tests.livestub import LiveStub
from tests.stub.conftest import Stub, start_stub
from tests.stub.helpers import Api, months_back, package, problem

TID, CUSTOMS, _ = DEMO["manufacturer"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def filing_change(out: Path, new_phone: str, batch: str = "001") -> Path:
    """A 备案变更 (A0102001): a business that needs no 预申报, written by hand."""
    manifest = {"nsrsbh": TID, "hgdm": CUSTOMS, "qymc": "北京华辰精密机械有限公司",
                "sbywbm": "A0102001", "ssq": months_back(1), "sbpc": batch,
                "scrj": "出口退税申报系统 2.0.0", "scsj": "2026-11-05T10:20:30+08:00"}  # fmt: skip
    rows = [{"sbxh": "0001", "bgxm": "联系电话", "bgq": "13910012345", "bgh": new_phone}]
    return write_package(out, manifest, {"zb_babg": rows})


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    s = start_stub(tmp_path_factory.mktemp("stub-decl"), "--max-upload-mb", "1")
    yield s
    s.kill()


def test_upload_refusals_in_order(stub: Stub, tmp_path: Path) -> None:
    api = Api(stub)
    big = tmp_path / "big.zip"
    big.write_bytes(b"\0" * (1024 * 1024 + 100))
    problem(api.upload(big), 413, "PACKAGE_TOO_LARGE")

    unsafe = tmp_path / "unsafe.zip"
    with zipfile.ZipFile(unsafe, "w") as zf:
        zf.writestr("manifest.xml", "<sbsjb/>")
        zf.writestr("../evil.xml", "<x/>")
    problem(api.upload(unsafe), 422, "PACKAGE_UNSAFE")

    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"this is not a zip")
    body = problem(api.upload(not_zip), 422, "PACKAGE_INVALID")
    assert body["problem_count"] >= 1 and body["problems"][0]["message"]

    broken = tmp_path / "broken.zip"
    good = package(stub, tmp_path / "good.zip")
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "mdt_ckmx.xml":
                data = data.replace(b"<cksl>", b"<cksl>x", 2)  # malformed, and digest mismatch
            dst.writestr(info.filename, data)
    body = problem(api.upload(broken), 422, "PACKAGE_INVALID")
    assert body["problem_count"] == len(body["problems"]) >= 2

    theirs = package(stub, tmp_path / "theirs.zip", who="trader")
    problem(api.upload(theirs), 422, "PACKAGE_OWNER_MISMATCH")
    problem(api.upload(good, "formal"), 422, "PRE_AUDIT_REQUIRED")
    r = api.upload(good, "sideways")
    problem(r, 422, "VALIDATION")

    first = api.upload(good)
    assert first.status_code == 202, first.text
    dup = problem(api.upload(good), 409, "PACKAGE_DUPLICATE")
    assert dup["existing_id"] == first.json()["id"]

    change = api.upload(filing_change(tmp_path / "babg1.zip", "13900000001"), "formal")
    assert change.status_code == 202 and change.json()["stage"] == "formal"
    again = api.upload(filing_change(tmp_path / "babg2.zip", "13900000002"), "formal")
    assert problem(again, 409, "INVALID_STATE")["existing_id"] == change.json()["id"]
    # a direct formal upload gets the same checks and then waits for 确认申报
    assert api.wait_for(change.json()["id"])["status"] == "pending_confirm"


def test_lifecycle_pre_to_approved(stub: Stub, tmp_path: Path) -> None:
    api = Api(stub)
    pkg = package(
        stub, tmp_path / "pre.zip", period=months_back(2), rows=6, inject=("DW_MISMATCH",)
    )
    r = api.upload(pkg)
    assert r.status_code == 202, r.text
    d = r.json()
    assert d["status"] == "queued" and d["stage"] == "pre" and d["can_delete"]
    assert d["business_code"] == "A0305001" and d["period"] == months_back(2)
    assert d["record_count"] == 6 and d["file_name"] == "pre.zip"
    pre_id = d["id"]

    d = api.wait_for(pre_id)
    assert d["status"] == "audited" and d["result"] == 1 and d["can_convert"]
    assert d["doubt_counts"] == {"total": 1, "blocking": 0, "overridable": 1}
    assert set(d["amounts"]) == {"fob_cny", "mdt_amount", "not_exempt_amount", "closing_credit",
                                 "refund", "exempt_offset"}  # fmt: skip
    doubts = api.get(f"/declarations/{pre_id}/doubts").json()
    assert doubts["total"] == 1
    assert doubts["items"][0]["code"] == "DW_MISMATCH" and doubts["items"][0]["passable"]

    # 预审核反馈: encrypted with the enterprise's key, the same bytes every time
    fb = api.get(f"/declarations/{pre_id}/feedback")
    assert fb.status_code == 200 and fb.headers["content-type"] == "application/zip"
    assert api.get(f"/declarations/{pre_id}/feedback").content == fb.content
    key = api.get("/enterprise/feedback-key").json()
    with pyzipper.AESZipFile(io.BytesIO(fb.content)) as zf:
        comment = json.loads(zf.comment)
        assert comment["enterprise"] == TID and comment["key_id"] == key["key_id"]
        zf.setpassword(key["key"].encode())
        payload = json.loads(zf.read("feedback.json"))
        csv_text = zf.read("疑点清单.csv").decode("gb18030")
    assert payload["kind"] == "pre_audit" and payload["declaration"]["id"] == pre_id
    assert payload["doubts"] == doubts["items"]
    assert csv_text.startswith(
        "申报序号,表名,疑点代码,级别,可否挑过,疑点对象,字段,疑点描述,处理建议\r\n"
    )
    assert "DW_MISMATCH" in csv_text

    r = api.post(f"/declarations/{pre_id}/convert")
    assert r.status_code == 201, r.text
    formal = r.json()
    assert formal["stage"] == "formal" and formal["status"] == "pending_confirm"
    assert formal["source_id"] == pre_id and formal["sha256"] == d["sha256"]
    assert formal["file_name"] == "pre.zip" and formal["can_confirm"] and formal["can_withdraw"]
    pre = api.declaration(pre_id)
    assert pre["status"] == "converted" and pre["formal_id"] == formal["id"]
    problem(api.post(f"/declarations/{pre_id}/convert"), 409, "NOT_CONVERTIBLE")

    problem(api.get(f"/declarations/{formal['id']}/acceptance.pdf"), 409, "NOT_READY")
    r = api.post(f"/declarations/{formal['id']}/confirm")
    assert r.status_code == 200 and r.json()["message"] == "申报数据确认成功"
    assert r.json()["status"] == "confirmed" and r.json()["confirmed_at"]
    body = problem(api.post(f"/declarations/{formal['id']}/withdraw"), 409, "INVALID_STATE")
    assert body["detail"] == "已确认的申报数据无法撤回"

    # 受理 from the command line, as the tax officer would
    done = subprocess.run(
        [sys.executable, "-m", "server_stub", "admin", "--data-dir", str(stub.data_dir),
         "accept", formal["id"]], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert api.declaration(formal["id"])["status"] == "accepted"
    pdf = api.get(f"/declarations/{formal['id']}/acceptance.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "北京华辰精密机械有限公司" in text and TID in text

    r = stub.admin("POST", f"/declarations/{formal['id']}/approve")
    assert r.status_code == 200, r.text
    approved = api.declaration(formal["id"])
    assert approved["status"] == "approved" and approved["approved_at"]
    notices = api.get("/notices", params={"category": "progress", "page_size": "100"}).json()
    mine = [n for n in notices["items"] if months_back(2) in n["body"]]
    assert {n["subcategory"] for n in mine} >= {"受理", "审核通过", "审批"}
    accepted = next(n for n in mine if n["subcategory"] == "受理")
    assert approved["amounts"]["refund"] in accepted["body"] and "受理时间" in accepted["body"]


def test_blocking_doubts_and_convert_rechecks(stub: Stub, tmp_path: Path) -> None:
    api = Api(stub)
    blocked = api.upload(package(stub, tmp_path / "b.zip", period=months_back(3),
                                 inject=("BGD_WDZXX",)))  # fmt: skip
    d = api.wait_for(blocked.json()["id"])
    assert d["result"] == 2 and not d["can_convert"] and d["blocked_reason"]
    problem(api.post(f"/declarations/{d['id']}/convert"), 409, "NOT_CONVERTIBLE")

    # two clean pre-declarations of the same lines: the second one stops at conversion
    one = api.upload(package(stub, tmp_path / "one.zip", period=months_back(4), batch="001"))
    two = api.upload(package(stub, tmp_path / "two.zip", period=months_back(4), batch="002"))
    a, b = api.wait_for(one.json()["id"]), api.wait_for(two.json()["id"])
    assert a["result"] == 0 and b["result"] == 0 and b["can_convert"]
    assert api.post(f"/declarations/{a['id']}/convert").status_code == 201
    body = problem(api.post(f"/declarations/{b['id']}/convert"), 409, "NOT_CONVERTIBLE")
    assert "BGD_REPEAT" in body["detail"]


def test_withdraw_returns_the_pre_declaration(stub: Stub, tmp_path: Path) -> None:
    api = Api(stub, "trader")
    r = api.upload(package(stub, tmp_path / "t.zip", who="trader", period=months_back(2)))
    pre = api.wait_for(r.json()["id"])
    assert pre["result"] in (0, 1), api.get(f"/declarations/{pre['id']}/doubts").text
    assert set(pre["amounts"]) == {"taxable_amount", "refund"}
    formal = api.post(f"/declarations/{pre['id']}/convert").json()
    r = api.post(f"/declarations/{formal['id']}/withdraw")
    assert r.status_code == 200 and r.json()["message"] == "正式申报数据已撤回"
    assert r.json()["status"] == "withdrawn"
    back = api.declaration(pre["id"])
    assert back["status"] == "audited" and back["can_convert"]
    again = api.post(f"/declarations/{pre['id']}/convert")
    assert again.status_code == 201 and again.json()["id"] != formal["id"]


def test_attachments_checked_by_content(stub: Stub, tmp_path: Path) -> None:
    api = Api(stub)
    r = api.upload(filing_change(tmp_path / "c.zip", "13911112222", batch="005"), "formal")
    decl = api.wait_for(r.json()["id"])
    url = f"/declarations/{decl['id']}/attachments"

    def attach(name: str, data: bytes, category: str = "提单") -> object:
        return api.post(url, files={"file": (name, data)}, data={"category": category})

    pdf = attach("提单.pdf", PDF)
    assert pdf.status_code == 201, pdf.text
    assert pdf.json()["category"] == "提单" and pdf.json()["size"] == len(PDF)
    assert attach("scan.png", PNG, "仓单").status_code == 201
    problem(attach("fake.pdf", b"just text, named like a pdf"), 422, "VALIDATION")
    problem(attach("x.pdf", PDF, "发票"), 422, "VALIDATION")
    problem(attach("huge.pdf", PDF + b"\0" * (20 * 1024 * 1024)), 413, "REQUEST_TOO_LARGE")
    listed = api.get(url).json()
    assert listed["total"] == 2
    aid = pdf.json()["id"]
    assert api.get(f"{url}/{aid}").content == PDF
    assert api.delete(f"{url}/{aid}").status_code == 204
    problem(api.get(f"{url}/{aid}"), 404, "NOT_FOUND")

    pre = api.upload(package(stub, tmp_path / "p.zip", period=months_back(5)))
    pre_id = api.wait_for(pre.json()["id"])["id"]
    problem(api.post(f"/declarations/{pre_id}/attachments", files={"file": ("a.pdf", PDF)},
                     data={"category": "其他"}), 409, "INVALID_STATE")  # fmt: skip


def test_suspended_enterprise_is_rejected_13(live_stub: LiveStub, tmp_path: Path) -> None:
    api = Api(live_stub)
    r = live_stub.admin("POST", f"/enterprises/{TID}/state", {"state": "suspended"})
    assert r.status_code == 200, r.text
    up = api.upload(package(live_stub, tmp_path / "s.zip"))
    d = api.wait_for(up.json()["id"])
    assert d["status"] == "rejected" and d["reject_code"] == "13" and d["result"] is None
    fb = api.get(f"/declarations/{d['id']}/feedback")
    key = api.get("/enterprise/feedback-key").json()["key"]
    with pyzipper.AESZipFile(io.BytesIO(fb.content)) as zf:
        zf.setpassword(key.encode())
        payload = json.loads(zf.read("feedback.json"))
    assert payload["reject_code"] == "13" and payload["doubts"] == []
