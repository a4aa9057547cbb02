"""Real objects of one enterprise on a live stub, by the path parameter that names them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from server_stub.clock import today
from tests.livestub import LiveStub
from tests.stub.helpers import Api, months_back, package

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def items(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _approved_period(api: Api) -> str:
    for year in (today().year, today().year - 1):
        for row in items(api, "/progress", year=year, page_size=500):
            if row["status"] == "approved":
                return str(row["period"])
    raise AssertionError("the seed has no approved formal declaration")


def create_objects(stub: LiveStub, api: Api, tmp: Path) -> dict[str, str]:
    """For ``api``'s enterprise (the demo manufacturer): a declaration uploaded, audited and
    converted to 正式申报, an attachment of it, a document and a feedback job — plus one
    notice, guide and download (broadcast to every enterprise)."""
    pre = api.upload(package(stub, tmp / "f.zip", period=months_back(1)))
    assert pre.status_code == 202, pre.text
    api.wait_for(pre.json()["id"])
    formal = api.post(f"/declarations/{pre.json()['id']}/convert")
    assert formal.status_code == 201, formal.text
    decl_id = api.wait_for(formal.json()["id"])["id"]
    attachment = api.post(
        f"/declarations/{decl_id}/attachments",
        files={"file": ("提单.pdf", PDF)}, data={"category": "提单"},
    )  # fmt: skip
    assert attachment.status_code == 201, attachment.text
    period = _approved_period(api)
    document = api.post("/documents", json={"type": "mdt_summary", "period": period})
    assert document.status_code == 201, document.text
    job = api.post(
        "/feedback-jobs", json={"category": "audit_result", "type": "mdt_result", "period": period}
    )
    assert job.status_code in (200, 202), job.text
    return {
        "decl_id": decl_id,
        "aid": attachment.json()["id"],
        "document_id": document.json()["id"],
        "job_id": job.json()["id"],
        "notice_id": items(api, "/notices")[0]["id"],
        "guide_id": items(api, "/guides")[0]["id"],
        "download_id": items(api, "/downloads")[0]["id"],
    }
