"""The whole lifecycle against a live platform: through the core, then through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.cli import EXIT_OK, EXIT_REFUSED, main
from app.errors import LocalError, PlatformError
from app.feedback import FeedbackIndex
from app.paths import app_paths
from app.session import Workspace
from tests.client.conftest import NEW_PASSWORD
from tests.client.packages import manufacturer_package
from tests.conftest import DEMO
from tests.livestub import LiveStub

pytestmark = pytest.mark.slow


def test_lifecycle_through_the_core(
    live_stub: LiveStub, workspace: Workspace, tmp_path: Path
) -> None:
    tid = DEMO["manufacturer"][0]
    initial = DEMO["manufacturer"][2]
    session = workspace.login(live_stub.url, "credit_code", tid, initial, remember=True)
    assert session.must_change_password
    with pytest.raises(PlatformError) as refused:
        session.load_enterprise()
    assert refused.value.code == "PASSWORD_CHANGE_REQUIRED"
    session.change_password(initial, NEW_PASSWORD)
    session.refresh_all()
    assert session.store.declarations(stage="formal"), "the seed has formal declarations"
    assert session.store.rates_version() and session.refresh_rates() is False  # ETag: 304

    # Pre-declaration with doubts: the local check finds what the platform finds.
    with_doubts = manufacturer_package(session, tmp_path / "doubts.zip", unknown_entries=2)
    report = session.check_package(with_doubts)
    assert report.refusal is None and report.result == 2
    assert {d.code for d in report.doubts} >= {"BGD_WDZXX"}
    first = session.upload(with_doubts, "pre")
    assert first.status in ("queued", "auditing", "audited")
    first = session.wait_for_audit(first.id)
    assert (first.status, first.result) == ("audited", 2)
    assert not first.can_convert
    doubts = session.doubts(first.id)
    assert {(d.seq, d.code) for d in doubts} == {(d.seq, d.code) for d in report.doubts}

    folder = session.fetch_feedback(first.id)
    period_dir = session.paths.feedback_dir(tid) / first.period
    assert folder == period_dir / f"pre_audit-{first.id}"
    assert (period_dir / f"pre_audit-{first.id}.zip").is_file()
    assert (folder / "疑点清单.csv").is_file()
    assert FeedbackIndex.read(folder).doubt_count == len(doubts)
    assert session.fetch_feedback(first.id) == folder  # idempotent
    assert sorted(p.name for p in period_dir.iterdir()) == [folder.name, folder.name + ".zip"]

    # The same package again: refused locally, pointing at the first upload.
    with pytest.raises(LocalError) as dup:
        session.upload(with_doubts, "pre")
    assert dup.value.existing_id == first.id
    assert f"上传（编号 {first.id}），请勿重复上传。" in dup.value.detail
    # … and by the platform when the local store does not know it (another computer).
    session.store.delete_declaration(first.id)
    with pytest.raises(PlatformError) as dup2:
        session.upload(with_doubts, "pre")
    assert dup2.value.code == "PACKAGE_DUPLICATE"
    assert dup2.value.detail == dup.value.detail

    # Another enterprise's package: refused locally with the platform's own words.
    foreign = manufacturer_package(session, tmp_path / "foreign.zip", taxpayer_id=DEMO["trader"][0])
    with pytest.raises(PlatformError) as by_server:
        session.client.upload_declaration(foreign, "pre")
    assert by_server.value.code == "PACKAGE_OWNER_MISMATCH"
    with pytest.raises(LocalError) as by_client:
        session.upload(foreign, "pre")
    assert by_client.value.code == "PACKAGE_OWNER_MISMATCH"
    assert by_client.value.detail == by_server.value.detail

    # A clean package: audited without doubts, converted, confirmed, accepted.
    clean = manufacturer_package(session, tmp_path / "clean.zip")
    assert session.check_package(clean).result == 0
    second = session.wait_for_audit(session.upload(clean, "pre").id)
    assert (second.status, second.result, second.can_convert) == ("audited", 0, True)
    formal = session.convert(second.id)
    assert formal.status == "pending_confirm" and formal.source_id == second.id
    assert session.store.declaration(second.id).status == "converted"  # type: ignore[union-attr]
    formal = session.confirm(formal.id)
    assert formal.status == "confirmed" and formal.message == "申报数据确认成功"
    assert live_stub.admin("POST", f"/declarations/{formal.id}/accept").status_code == 200
    assert session.declaration(formal.id).status == "accepted"

    pdf = session.acceptance_document(formal.id)
    assert pdf.is_relative_to(session.paths.documents_dir(tid))
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert tid in "".join(text.split())

    issued = session.issue_document("mdt_summary", formal.period)
    assert issued.is_file() and session.store.documents()[0][1] == issued

    job = session.request_job("audit_result", "mdt_result", formal.period)
    job = session.wait_for_job(job.id)
    assert job.status == "ready"
    job_folder = session.fetch_job(job.id)
    assert job_folder.parent == session.paths.feedback_dir(tid) / formal.period
    assert (job_folder / "feedback.json").is_file()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_lifecycle_through_the_cli(
    live_stub: LiveStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tid, _, initial = DEMO["manufacturer"]
    server = ["--server", live_stub.url]
    code, out = run_cli(
        capsys, "login", *server, "--account", tid, "--password", initial, "--remember"
    )
    assert code == EXIT_OK and out["must_change_password"] is True  # type: ignore[index]
    code, out = run_cli(capsys, "list", *server)
    assert code == EXIT_REFUSED and out["error"]["code"] == "PASSWORD_CHANGE_REQUIRED"  # type: ignore[index]
    assert (
        run_cli(capsys, "password", *server, "--old", initial, "--new", NEW_PASSWORD)[0] == EXIT_OK
    )

    ws = Workspace(app_paths())
    session = ws.resume(ws.accounts()[0])
    session.load_enterprise()
    bad = manufacturer_package(session, tmp_path / "bad.zip", unknown_entries=1)
    clean = manufacturer_package(session, tmp_path / "clean.zip")
    batch_pkg = manufacturer_package(session, tmp_path / "batch.zip", batch="002", lines=2, skip=3)
    ws.close()

    code, out = run_cli(capsys, "check", str(bad), *server)
    assert code == EXIT_OK and out["result"] == 2  # type: ignore[index]
    code, first = run_cli(capsys, "upload", str(bad), "--wait", *server)
    assert code == EXIT_OK and first["status"] == "audited"  # type: ignore[index]
    code, doubts = run_cli(capsys, "doubts", first["id"], *server)  # type: ignore[index]
    assert "BGD_WDZXX" in {d["code"] for d in doubts}  # type: ignore[union-attr]
    code, out = run_cli(capsys, "feedback", first["id"], *server)  # type: ignore[index]
    assert Path(out["folder"], "feedback.json").is_file()  # type: ignore[index]
    code, out = run_cli(capsys, "upload", str(bad), *server)
    assert code == EXIT_REFUSED and out["error"]["existing_id"] == first["id"]  # type: ignore[index]

    code, pre = run_cli(capsys, "upload", str(clean), "--wait", *server)
    assert pre["result"] == 0  # type: ignore[index]
    code, formal = run_cli(capsys, "convert", pre["id"], *server)  # type: ignore[index]
    code, formal = run_cli(capsys, "confirm", formal["id"], *server)  # type: ignore[index]
    assert formal["status"] == "confirmed"  # type: ignore[index]
    code, out = run_cli(capsys, "withdraw", formal["id"], *server)  # type: ignore[index]
    assert code == EXIT_REFUSED and out["error"]["code"] == "INVALID_STATE"  # type: ignore[index]
    live_stub.admin("POST", f"/declarations/{formal['id']}/accept")  # type: ignore[index]
    code, out = run_cli(capsys, "status", formal["id"], *server)  # type: ignore[index]
    assert out["status"] == "accepted"  # type: ignore[index]
    code, out = run_cli(
        capsys, "document", "--type", "mdt_summary", "--period", formal["period"], *server
    )  # type: ignore[index]
    assert code == EXIT_OK and Path(out["path"]).is_file()  # type: ignore[index]
    code, out = run_cli(
        capsys,
        "job",
        "--category",
        "audit_result",
        "--type",
        "mdt_result",
        "--period",
        formal["period"],
        "--wait",
        *server,
    )  # type: ignore[index]
    assert code == EXIT_OK and Path(out["folder"]).is_dir()  # type: ignore[index]
    code, out = run_cli(capsys, "sync", *server)
    assert code == EXIT_OK and isinstance(out, list)
    code, out = run_cli(capsys, "rates", "84", *server)
    assert code == EXIT_OK and out and all(r["commodity_code"].startswith("84") for r in out)  # type: ignore[union-attr]
    code, out = run_cli(capsys, "list", "--stage", "pre", *server)
    assert {first["id"], pre["id"]} <= {d["id"] for d in out}  # type: ignore[index, union-attr]

    # Batch: one row, run twice — the second run resumes and uploads nothing new.
    sheet = tmp_path / "batch.csv"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["account_type", "account", "password", "file", "stage"])
        writer.writerow(["credit_code", tid, "", batch_pkg.name, "pre"])
    code, out = run_cli(capsys, "batch", str(sheet), *server)
    assert code == EXIT_OK and Path(out[0]["folder"]).is_dir()  # type: ignore[index]
    code, again = run_cli(capsys, "batch", str(sheet), *server)
    assert again == out
    code, listed = run_cli(capsys, "list", "--stage", "pre", *server)
    assert len(listed) == len({d["sha256"] for d in listed})  # type: ignore[union-attr, index]

    assert run_cli(capsys, "logout", *server)[0] == EXIT_OK
