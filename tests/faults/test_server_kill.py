"""``kill -9`` of the platform in the middle of its own work, then a restart on the same
data dir: what it acknowledged is still there and completes, nothing is doubled, no
half-written file is ever served, and no debris is left in the data dir.

The kills land inside a file write: the stub's ``fault_delay_*`` settings hold a feedback
package or a 文书 PDF half written (server_stub/settings.py), and the upload test cuts its
own request body. Each test first checks that the debris really was on disk at the kill.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
import pyzipper
import requests

from server_stub.clock import today
from tests.stub.conftest import DEFAULT_ARGS, Stub
from tests.stub.helpers import Api, months_back, package

pytestmark = pytest.mark.slow

# the data dir's file stores; a name starting with "." in one is a temp file
STORES = ("packages", "attachments", "feedback", "feedback-jobs", "documents", "downloads")
FAULT_PAUSE = "4"  # seconds a file stays half written: time enough to see it and kill


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[Callable[..., Stub]]:
    """Start stubs with extra arguments and environment; every one is killed at the end."""
    started: list[Stub] = []

    def start(*args: str, **env: str) -> Stub:
        stub = Stub(tmp_path / f"stub{len(started)}", args=[*DEFAULT_ARGS, *args], env=env)
        started.append(stub)
        return stub.start()

    yield start
    for stub in started:
        stub.kill()


def restart(stub: Stub, **env: str) -> None:
    """Start the killed stub again on its data dir (with the fault pauses off)."""
    stub.env = {k: "0" for k in stub.env} | env
    stub.output.clear()
    stub.start()


def debris(data_dir: Path) -> list[str]:
    """Temp files in the data dir's stores (names starting with a dot)."""
    return sorted(
        f"{store}/{p.name}"
        for store in STORES
        if (data_dir / store).is_dir()
        for p in (data_dir / store).iterdir()
        if p.name.startswith(".")
    )


def wait_until(found: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := found()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the stub's database directly (also while it is down)."""
    conn = sqlite3.connect(f"file:{data_dir / 'platform.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def in_background(call: Callable[[], requests.Response]) -> tuple[threading.Thread, list[Any]]:
    """Run a request in a thread; the list gets its response or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except requests.RequestException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# ---------------------------------------------------------------- feedback assembly


def approved_formal(stub: Stub, api: Api, tmp_path: Path, period: str) -> str:
    """A declaration taken through 预申报 → 正式申报 → 确认 → 受理 → 审批; its id."""
    pre = api.upload(package(stub, tmp_path / "pre.zip", period=period, rows=6)).json()["id"]
    assert api.wait_for(pre)["status"] == "audited"
    formal = api.post(f"/declarations/{pre}/convert").json()["id"]
    assert api.post(f"/declarations/{formal}/confirm").status_code == 200
    for action in ("accept", "approve"):
        assert stub.admin("POST", f"/declarations/{formal}/{action}").status_code == 200
    assert api.declaration(formal)["status"] == "approved"
    return formal


def open_feedback(content: bytes, key: str) -> dict[str, Any]:
    """feedback.json of an encrypted package (fails on a truncated or corrupt zip)."""
    with pyzipper.AESZipFile(io.BytesIO(content)) as zf:
        zf.setpassword(key.encode("utf-8"))
        for name in zf.namelist():
            zf.read(name)  # checks every entry's CRC and AES authentication code
        return dict(json.loads(zf.read("feedback.json")))


def test_kill_during_feedback_assembly(stubs: Callable[..., Stub], tmp_path: Path) -> None:
    stub = stubs("--audit-workers", "1", TUISHUI_STUB_FAULT_DELAY_FEEDBACK=FAULT_PAUSE)
    api = Api(stub)
    period = months_back(2)
    approved_formal(stub, api, tmp_path, period)
    bodies = [
        {"category": "audit_result", "type": "mdt_result", "period": period},
        {"category": "certificate", "type": "dlck", "period": period},
        {"category": "peripheral", "type": "cksh", "period": period},
    ]
    job_ids = []
    for body in bodies:
        r = api.post("/feedback-jobs", json=body)
        assert r.status_code == 202, r.text  # acknowledged: must survive the kill
        job_ids.append(r.json()["id"])

    # the first job requested is the first written; kill it half written
    jobs_dir = stub.data_dir / "feedback-jobs"
    half = wait_until(lambda: list(jobs_dir.glob(".*.tmp")), "a half-written package")
    assert [p.name.split(".")[1] for p in half] == [job_ids[0]]
    stub.kill()
    assert debris(stub.data_dir) == [f"feedback-jobs/{half[0].name}"]
    statuses = query(stub.data_dir, "SELECT status FROM feedback_jobs WHERE taxpayer_id = ?",
                     api.taxpayer_id)  # fmt: skip
    assert sorted(s for (s,) in statuses) == ["assembling"] * 3

    restart(stub)
    assert not half[0].exists()  # removed before the scheduler started again
    key = api.get("/enterprise/feedback-key").json()["key"]
    jobs = [wait_until(lambda j=j: ready(api, j), f"job {j} ready") for j in job_ids]
    assert debris(stub.data_dir) == []
    # the queue resumed in the order the jobs were asked for
    assert [j["ready_at"] for j in jobs] == sorted(j["ready_at"] for j in jobs)
    listed = api.get("/feedback-jobs", params={"page_size": 500}).json()
    assert sorted(j["id"] for j in listed["items"]) == sorted(job_ids)  # none lost, none doubled
    again = api.post("/feedback-jobs", json=bodies[0])
    assert again.status_code == 200 and again.json()["id"] == job_ids[0]

    for job in jobs:
        content = api.get(f"/feedback-jobs/{job['id']}/download").content
        assert len(content) == job["size"]
        payload = open_feedback(content, key)
        assert payload["period"] == period and len(payload["rows"]) == job["record_count"]
    # the approved declaration's 6 lines, each once, in the 审核结果 package
    ours = open_feedback(api.get(f"/feedback-jobs/{job_ids[0]}/download").content, key)
    assert sorted({r["seq"] for r in ours["rows"]}) == sorted(r["seq"] for r in ours["rows"])
    assert len(ours["rows"]) == 6 and {r["result"] for r in ours["rows"]} == {"审核通过"}
    assert sorted(os.listdir(jobs_dir)) == sorted(f"{j}.zip" for j in job_ids)


def ready(api: Api, job_id: str) -> dict[str, Any] | None:
    job: dict[str, Any] = api.get(f"/feedback-jobs/{job_id}").json()
    assert job["status"] in ("assembling", "ready"), job  # never failed by the crash
    return job if job["status"] == "ready" else None


def test_a_ready_package_lost_from_disk_is_assembled_again(
    stubs: Callable[..., Stub],
) -> None:
    stub = stubs()
    api = Api(stub)
    body = {"category": "audit_result", "type": "mdt_result", "period": approved_period(api)}
    job_id = api.post("/feedback-jobs", json=body).json()["id"]
    job = wait_until(lambda: ready(api, job_id), "the job ready")
    path = stub.data_dir / "feedback-jobs" / f"{job_id}.zip"
    whole = path.read_bytes()
    stub.kill()
    path.write_bytes(whole[: len(whole) // 2])  # what a crash of the machine could leave

    restart(stub)
    again = wait_until(lambda: ready(api, job_id), "the job ready again")
    content = api.get(f"/feedback-jobs/{job_id}/download").content
    assert content == whole and again["size"] == job["size"]  # the same bytes, remade
    assert api.get("/feedback-jobs").json()["total"] == 1


# ---------------------------------------------------------------- document render


def approved_period(api: Api) -> str:
    for year in (today().year, today().year - 1):
        for row in api.get("/progress", params={"year": year, "page_size": 500}).json()["items"]:
            if row["status"] == "approved":
                return str(row["period"])
    raise AssertionError("the seed has no approved declaration")


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_kill_during_document_render(stubs: Callable[..., Stub]) -> None:
    stub = stubs(TUISHUI_STUB_FAULT_DELAY_DOCUMENT=FAULT_PAUSE)
    api = Api(stub)
    body = {"type": "mdt_summary", "period": approved_period(api)}
    first = api.post("/documents", json=body)
    assert first.status_code == 201, first.text  # acknowledged: must survive the kill
    doc = first.json()
    folder = stub.data_dir / "documents"

    thread, outcome = in_background(lambda: api.post("/documents", json=body))
    half = wait_until(lambda: list(folder.glob(".tmp-*")), "a half-written PDF")
    stub.kill()
    thread.join(30)
    assert outcome and isinstance(outcome[0], requests.ConnectionError)  # never answered
    assert debris(stub.data_dir) == [f"documents/{half[0].name}"]
    # a crash after the rename but before the row committed leaves a whole, unnamed PDF
    (folder / "0000-unacknowledged.pdf").write_bytes((folder / f"{doc['id']}.pdf").read_bytes())

    restart(stub)
    assert debris(stub.data_dir) == []
    assert sorted(os.listdir(folder)) == [f"{doc['id']}.pdf"]
    listed = api.get("/documents").json()
    assert [d["id"] for d in listed["items"]] == [doc["id"]]  # kept, and only it
    pdf = api.get(f"/documents/{doc['id']}/pdf").content
    assert hashlib.sha256(pdf).hexdigest() == doc["sha256"]
    assert api.taxpayer_id in pdf_text(pdf)

    # the unanswered request, sent again, makes exactly one document
    retry = api.post("/documents", json=body)
    assert retry.status_code == 201, retry.text
    assert api.get("/documents").json()["total"] == 2
    assert "生产企业免抵退税汇总表" in pdf_text(
        api.get(f"/documents/{retry.json()['id']}/pdf").content
    )


# ---------------------------------------------------------------- upload


def multipart_cut(boundary: str, then: Callable[[], None]) -> Iterator[bytes]:
    """A multipart upload body whose file part calls ``then`` after 4 MiB and goes on."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"stage\"\r\n\r\npre\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.zip\""
           "\r\nContent-Type: application/zip\r\n\r\n").encode()  # fmt: skip
    chunk = os.urandom(1024 * 1024)
    for _ in range(4):
        yield chunk
    then()
    for _ in range(60):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_kill_mid_upload_leaves_no_declaration_and_no_blob(
    stubs: Callable[..., Stub], tmp_path: Path
) -> None:
    stub = stubs("--audit-workers", "1")
    api = Api(stub)
    count = "SELECT count(*) FROM declarations"
    before = query(stub.data_dir, count)
    packages = stub.data_dir / "packages"
    part: list[Path] = []

    def kill_once_on_disk() -> None:
        part.extend(wait_until(lambda: [p for p in packages.glob(".upload-*.part")
                                        if p.stat().st_size > 0], "the upload on disk"))  # fmt: skip
        stub.kill()

    boundary = "tuishui-fault-boundary"
    with pytest.raises(requests.ConnectionError):
        api.post("/declarations", data=multipart_cut(boundary, kill_once_on_disk),
                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
    assert debris(stub.data_dir) == [f"packages/{part[0].name}"]
    # a crash after the package was renamed into place but before its row committed
    orphan = package(stub, tmp_path / "orphan.zip", period=months_back(1), rows=3)
    (packages / "0000-unacknowledged.zip").write_bytes(orphan.read_bytes())

    restart(stub)
    assert debris(stub.data_dir) == []
    assert query(stub.data_dir, count) == before  # no row for the unanswered upload
    stored = {n for (n,) in query(stub.data_dir, "SELECT stored_name FROM declarations")}
    assert set(os.listdir(packages)) <= stored  # no blob without its declaration
    # the platform takes uploads again, and the orphan's content is not a duplicate
    r = api.upload(orphan)
    assert r.status_code == 202, r.text
    assert api.wait_for(r.json()["id"])["status"] == "audited"
    assert query(stub.data_dir, count)[0][0] == before[0][0] + 1


def test_identical_job_bodiesat_once_make_one_job(stubs: Callable[..., Stub]) -> None:
    stub = stubs("--assemble-delay", "30")
    api = Api(stub)
    body = {"category": "audit_result", "type": "mdt_result", "period": approved_period(api)}
    calls = [in_background(lambda: api.post("/feedback-jobs", json=body)) for _ in range(8)]
    answers = []
    for thread, outcome in calls:
        thread.join(30)
        answers.append(outcome[0])
    assert sorted(r.status_code for r in answers) == [200] * 7 + [202]
    assert len({r.json()["id"] for r in answers}) == 1
    assert api.get("/feedback-jobs").json()["total"] == 1
