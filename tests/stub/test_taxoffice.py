"""The simulated tax office: timers, 备案变更 and 撤回申报 taking effect, the CLI tools."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from app.declaration.package import write_package
from tests.conftest import DEMO
from tests.stub.conftest import start_stub
from tests.stub.helpers import Api, months_back, package

TID, CUSTOMS, INITIAL = DEMO["manufacturer"]
NEW_ACCOUNT = "6222000011112222" + "7788"


def peripheral(out: Path, code: str, table: str, rows: list[dict[str, str]], batch: str) -> Path:
    manifest = {"nsrsbh": TID, "hgdm": CUSTOMS, "qymc": "北京华辰精密机械有限公司",
                "sbywbm": code, "ssq": months_back(1), "sbpc": batch,
                "scrj": "出口退税申报系统 2.0.0", "scsj": "2026-11-05T10:20:30+08:00"}  # fmt: skip
    return write_package(out, manifest, {table: rows})


def test_timers_apply_filing_change_and_withdrawal(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub", "--accept-after", "0.5", "--approve-after", "0.5")
    try:
        api = Api(stub)
        # a formal declaration to be withdrawn later by an approved 撤回申报数据申请
        pre = api.upload(package(stub, tmp_path / "p.zip", rows=3))
        pre_id = api.wait_for(pre.json()["id"])["id"]
        target = api.post(f"/declarations/{pre_id}/convert").json()

        change = peripheral(tmp_path / "babg.zip", "A0102001", "zb_babg", [
            {"sbxh": "0001", "bgxm": "联系电话", "bgq": "13910012345", "bgh": "13655556666"},
            {"sbxh": "0002", "bgxm": "退税开户银行账号", "bgq": "", "bgh": NEW_ACCOUNT},
        ], "001")  # fmt: skip
        withdrawal = peripheral(tmp_path / "chsb.zip", "A0410002", "zb_chsb", [
            {"sbxh": "0001", "chsbywbm": "A0305001", "chssq": target["period"],
             "chsbpc": target["batch"], "yy": "报关单数据有误"},
        ], "001")  # fmt: skip
        for pkg in (change, withdrawal):
            d = api.wait_for(api.upload(pkg, "formal").json()["id"])
            assert d["status"] == "pending_confirm" and d["can_confirm"], d
            assert api.post(f"/declarations/{d['id']}/confirm").status_code == 200
            assert api.wait_for(d["id"], done=("approved",), timeout=30)["accepted_at"]

        assert api.declaration(target["id"])["status"] == "withdrawn"
        assert api.declaration(pre_id)["status"] == "audited"
        e = api.get("/enterprise").json()
        assert e["contact_phone"] == "13655556666"
        assert e["bank_account_masked"] == "6222 **** **** 7788"
        daily = api.get("/notices", params={"category": "daily", "page_size": "100"}).json()
        titles = {n["title"] for n in daily["items"]}
        assert "银行账号变更事项办结" in titles and "撤回申报数据事项办结" in titles

        # the next reset goes back to the new account's last 8 characters
        assert stub.admin("POST", f"/enterprises/{TID}/reset-password").status_code == 204
        r = requests.post(stub.api + "/auth/login", timeout=30, json={
            "account_type": "credit_code", "account": TID, "password": NEW_ACCOUNT[-8:]})  # fmt: skip
        assert r.status_code == 200 and r.json()["must_change_password"] is True
    finally:
        stub.kill()


def test_admin_refuse_and_state_from_the_command_line(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub")
    try:
        api = Api(stub)
        d = api.wait_for(api.upload(package(stub, tmp_path / "r.zip", rows=2)).json()["id"])
        formal = api.post(f"/declarations/{d['id']}/convert").json()
        api.post(f"/declarations/{formal['id']}/confirm")

        def admin(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "server_stub", "admin", "--data-dir", str(stub.data_dir),
                 *args], capture_output=True, text=True, timeout=60,
            )  # fmt: skip

        assert admin("refuse", formal["id"], "--reason", "单证不齐").returncode == 0
        refused = api.declaration(formal["id"])
        assert refused["status"] == "refused" and refused["refused_at"]
        assert admin("accept", formal["id"]).returncode == 1  # refused: nothing to accept
        assert admin("state", TID, "normal").returncode == 0
    finally:
        stub.kill()


def test_bulk_seed_for_benchmarks(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "server_stub", "seed", "--data-dir", str(data),
         "--einfo-lines", "3000", "--declared-lines", "25000"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(data / "platform.sqlite3")
    try:
        customs = conn.execute("SELECT count(*) FROM customs WHERE taxpayer_id = ?", (TID,))
        lines = conn.execute("SELECT count(*) FROM declaration_lines WHERE taxpayer_id = ?", (TID,))
        assert customs.fetchone()[0] >= 3000
        assert lines.fetchone()[0] >= 25000
    finally:
        conn.close()
    out = tmp_path / "big.zip"
    gen = subprocess.run(
        [sys.executable, "-m", "server_stub", "generate", "--data-dir", str(data),
         "--taxpayer-id", TID, "--period", months_back(1), "--rows", "2000",
         "--inject", "BGD_WDZXX,TSL_MISMATCH", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    assert out.stat().st_size > 10_000


def test_approved_waiver_rejects_later_periods(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub")
    try:
        api = Api(stub)
        start = months_back(1) + "01"
        waiver = peripheral(tmp_path / "fqts.zip", "A0409004", "zb_fqts",
                            [{"sbxh": "0001", "fqlx": "3", "qsrq": start, "yy": "经营调整"}],
                            "001")  # fmt: skip
        d = api.wait_for(api.upload(waiver, "formal").json()["id"])
        assert api.post(f"/declarations/{d['id']}/confirm").status_code == 200
        assert stub.admin("POST", f"/declarations/{d['id']}/accept").status_code == 200
        assert stub.admin("POST", f"/declarations/{d['id']}/approve").status_code == 200
        late = api.wait_for(api.upload(package(stub, tmp_path / "late.zip", rows=2)).json()["id"])
        assert late["status"] == "rejected" and late["reject_code"] == "16"
        early = package(stub, tmp_path / "early.zip", period=months_back(2), rows=2)
        assert api.wait_for(api.upload(early).json()["id"])["status"] == "audited"
    finally:
        stub.kill()
