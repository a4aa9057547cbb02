"""退税提醒, the sync feed (long polling) and the admin side of both (live stub)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests

from tests.livestub import LiveStub
from tests.services.conftest import Api, admin, login, problem

CATEGORIES = {"announcement", "daily", "annual", "progress", "policy"}


def _admin_notice(stub: LiveStub, taxpayer_id: str | None = None, **kw: Any) -> str:
    body = {"category": "announcement", "subcategory": "日常通知",
            "title": kw.get("title", f"测试通知{uuid.uuid4().hex[:6]}"), "body": "正文"}  # fmt: skip
    if taxpayer_id:
        body["taxpayer_id"] = taxpayer_id
    r = admin(stub, "POST", "/notices", body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _cursor(api: Api) -> int:
    """The current end of the feed for this enterprise."""
    body = api.ok("/sync", cursor=0)
    while body["more"]:
        body = api.ok("/sync", cursor=body["cursor"])
    return int(body["cursor"])


def test_notices_of_every_category(manufacturer: Api) -> None:
    items = manufacturer.ok("/notices", page_size=500)["items"]
    assert {n["category"] for n in items} >= CATEGORIES - {"progress"}
    for category in CATEGORIES:
        got = manufacturer.ok("/notices", category=category)["items"]
        assert all(n["category"] == category for n in got)
    times = [(n["published_at"], n["id"]) for n in items]
    assert times == sorted(times, reverse=True)
    annual = manufacturer.ok("/notices", category="annual")["items"]
    assert any("未申报" in n["title"] or "36个月" in n["title"] for n in annual)


def test_read_marks_are_per_enterprise_even_for_broadcasts(manufacturer: Api, trader: Api) -> None:
    notice_id = _admin_notice(manufacturer.stub)
    for api in (manufacturer, trader):
        unread = api.ok("/notices", unread="true", page_size=500)["items"]
        assert notice_id in {n["id"] for n in unread}
    assert manufacturer.post(f"/notices/{notice_id}/read").status_code == 204
    assert manufacturer.post(f"/notices/{notice_id}/read").status_code == 204  # idempotent
    mine = manufacturer.ok("/notices", page_size=500)["items"]
    assert next(n for n in mine if n["id"] == notice_id)["read"] is True
    assert notice_id not in {
        n["id"] for n in manufacturer.ok("/notices", unread="true", page_size=500)["items"]
    }
    assert notice_id in {n["id"] for n in manufacturer.ok("/notices", unread="false")["items"]}
    theirs = trader.ok("/notices", unread="true", page_size=500)["items"]
    assert notice_id in {n["id"] for n in theirs}


def test_a_notice_for_one_enterprise_is_invisible_to_others(manufacturer: Api, trader: Api) -> None:
    notice_id = _admin_notice(manufacturer.stub, manufacturer.taxpayer_id)
    assert notice_id in {n["id"] for n in manufacturer.ok("/notices", page_size=500)["items"]}
    assert notice_id not in {n["id"] for n in trader.ok("/notices", page_size=500)["items"]}
    problem(trader.post(f"/notices/{notice_id}/read"), 404, "NOT_FOUND")
    problem(manufacturer.post("/notices/does-not-exist/read"), 404, "NOT_FOUND")


def test_admin_notice_needs_the_admin_token_and_a_known_enterprise(manufacturer: Api) -> None:
    stub = manufacturer.stub
    r = requests.post(stub.url + "/admin/v1/notices", json={}, timeout=30)
    problem(r, 401, "TOKEN_INVALID")
    body = {"category": "daily", "title": "x", "body": "y", "taxpayer_id": "91350100M000100Y43"}
    problem(admin(stub, "POST", "/notices", body), 404, "NOT_FOUND")
    problem(admin(stub, "POST", "/notices", {"category": "gossip", "title": "x", "body": "y"}),
            422, "VALIDATION")  # fmt: skip


def test_sync_pages_and_reset(manufacturer: Api) -> None:
    first = manufacturer.ok("/sync", cursor=0)
    assert first["reset"] is False and first["changes"]
    assert len(first["changes"]) <= 500
    change = first["changes"][0]
    assert set(change) == {"kind", "id", "op", "at"} and change["op"] in ("upsert", "deleted")
    end = _cursor(manufacturer)
    assert manufacturer.ok("/sync", cursor=end) == {
        "cursor": end, "more": False, "reset": False, "changes": []
    }  # fmt: skip
    future = manufacturer.ok("/sync", cursor=end + 1_000_000)
    assert future["reset"] is True and end <= future["cursor"] < end + 1_000_000


def test_marking_read_and_admin_notices_appear_in_the_feed(manufacturer: Api, trader: Api) -> None:
    start_m, start_t = _cursor(manufacturer), _cursor(trader)
    mine = _admin_notice(manufacturer.stub, manufacturer.taxpayer_id)
    everyone = _admin_notice(manufacturer.stub)
    got = manufacturer.ok("/sync", cursor=start_m)["changes"]
    assert [(c["kind"], c["id"]) for c in got] == [("notice", mine), ("notice", everyone)]
    theirs = trader.ok("/sync", cursor=start_t)["changes"]
    assert [c["id"] for c in theirs] == [everyone]
    after_m, after_t = _cursor(manufacturer), _cursor(trader)
    assert manufacturer.post(f"/notices/{everyone}/read").status_code == 204
    assert [c["id"] for c in manufacturer.ok("/sync", cursor=after_m)["changes"]] == [everyone]
    assert trader.ok("/sync", cursor=after_t)["changes"] == []  # a read mark is private


def test_long_poll_returns_early_on_a_change(manufacturer: Api, trader: Api) -> None:
    cursor = _cursor(trader)
    result: dict[str, Any] = {}

    def poll() -> None:
        t0 = time.monotonic()
        result["body"] = trader.ok("/sync", cursor=cursor, wait=20)
        result["elapsed"] = time.monotonic() - t0

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.5)  # let the poll reach the server and wait there
    # a notice for someone else does not wake this enterprise ...
    _admin_notice(manufacturer.stub, manufacturer.taxpayer_id)
    # ... one for it does
    notice_id = _admin_notice(manufacturer.stub, trader.taxpayer_id)
    waiter.join(30)
    assert [c["id"] for c in result["body"]["changes"]] == [notice_id]
    assert result["elapsed"] < 15  # well before the 20 s the poll was allowed


def test_long_poll_ends_on_time_without_changes(trader: Api) -> None:
    cursor = _cursor(trader)
    t0 = time.monotonic()
    body = trader.ok("/sync", cursor=cursor, wait=1)
    assert time.monotonic() - t0 >= 0.9
    assert body["changes"] == [] and body["reset"] is False and body["cursor"] >= cursor


def test_other_sessions_of_the_enterprise_see_a_read_mark(session_stub: LiveStub) -> None:
    first = login(session_stub, "manufacturer")
    second = login(session_stub, "manufacturer")
    notice_id = _admin_notice(session_stub, first.taxpayer_id)
    cursor = _cursor(second)
    assert first.post(f"/notices/{notice_id}/read").status_code == 204
    assert [c["id"] for c in second.ok("/sync", cursor=cursor, wait=5)["changes"]] == [notice_id]


def test_publishing_a_rate_library_and_a_software_version(live_stub: LiveStub) -> None:
    api = login(live_stub, "trader")
    old_meta = api.ok("/rates/meta")
    old_etag = api.get("/rates/export").headers["ETag"]
    cursor = _cursor(api)
    rows = [
        '{"commodity_code": "8501100010", "name": "电动机，功率不超过37.5瓦", "category": "机电产品",'
        ' "unit": "台", "vat_rate": "0.13", "refund_rate": "0.13", "valid_from": "2019-04-01",'
        ' "valid_to": "2099-12-31", "special_flag": ""}',
        '{"commodity_code": "7606100010", "name": "铝板", "category": "贱金属及制品", "unit": "千克",'
        ' "vat_rate": "0.13", "refund_rate": "0", "valid_from": "2024-12-01"}',
    ]
    url = live_stub.url + "/admin/v1/rates/publish"
    headers = {"X-Admin-Token": live_stub.admin_token, "Content-Type": "application/x-ndjson"}
    bad = requests.post(url, params={"version": "2026C"}, headers=headers,
                        data="\n".join([*rows, '{"commodity_code": "x"}']).encode(), timeout=30)  # fmt: skip
    assert problem(bad, 422, "VALIDATION")["errors"][0]["field"] == "line 3"
    problem(requests.post(url, params={"version": "latest"}, headers=headers, data=b"",
                          timeout=30), 422, "VALIDATION")  # fmt: skip
    r = requests.post(url, params={"version": "2026C"}, headers=headers,
                      data="\n".join(rows).encode(), timeout=30)  # fmt: skip
    assert r.status_code == 201, r.text
    meta = api.ok("/rates/meta")
    assert (
        (meta["version"], meta["count"]) == ("2026C", 2) != (old_meta["version"], old_meta["count"])
    )
    export = api.get("/rates/export", headers={"If-None-Match": old_etag})
    assert export.status_code == 200 and len(export.content.splitlines()) == 2
    policy = api.ok("/notices", category="policy")["items"]
    assert "2026C" in policy[0]["title"]
    assert any(c["kind"] == "notice" for c in api.ok("/sync", cursor=cursor)["changes"])
    assert any(d["version"] == "2026C" for d in api.ok("/downloads")["items"])

    r = requests.post(
        live_stub.url + "/admin/v1/downloads",
        headers={"X-Admin-Token": live_stub.admin_token},
        data={"name": "出口退税申报系统", "version": "2.1.0", "kind": "declaration_software"},
        files={"file": ("setup.exe", b"MZ-installer-bytes")},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    software = [d for d in api.ok("/downloads")["items"] if d["kind"] == "declaration_software"]
    assert software[0]["version"] == "2.1.0"
    assert api.get(f"/downloads/{software[0]['id']}/file").content == b"MZ-installer-bytes"
    assert "2.1.0" in api.ok("/notices", category="policy")["items"][0]["title"]


def test_an_empty_published_file_is_still_a_download(live_stub: LiveStub) -> None:
    """An empty upload is a file of 0 bytes, not a file still to be made from a recipe."""
    api = login(live_stub, "manufacturer")
    r = requests.post(
        live_stub.url + "/admin/v1/downloads",
        headers={"X-Admin-Token": live_stub.admin_token},
        data={"name": "空白示例", "version": "1", "kind": "sample_package"},
        files={"file": ("empty.zip", b"")},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    listed = {d["id"]: d for d in api.ok("/downloads")["items"]}
    assert listed[r.json()["id"]]["size"] == 0
    assert api.get(f"/downloads/{r.json()['id']}/file").content == b""
