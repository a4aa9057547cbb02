"""办税服务 and 公众查询: calendar, guides, downloads, the rate library (live stub)."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from app.declaration.audit import RULES
from server_stub.api.routes.guides import CATEGORIES, GUIDES_DIR
from server_stub.clock import today
from tests.services.conftest import Api, problem

PROTECTED = [
    "/calendar", "/guides", "/downloads", "/rates", "/rates/meta", "/rates/export",
    "/notices", "/progress", "/declared-commodities", "/declared-details", "/documents",
    "/documents/types", "/feedback-jobs", "/feedback-jobs/types", "/sync",
]  # fmt: skip
PAGED = [
    "/rates", "/notices", "/progress", "/declared-commodities", "/declared-details",
    "/documents", "/feedback-jobs",
]  # fmt: skip


@pytest.mark.parametrize("path", PROTECTED)
def test_every_route_needs_a_token(manufacturer: Api, path: str) -> None:
    r = requests.get(manufacturer.stub.api + path, timeout=30)
    problem(r, 401, "TOKEN_INVALID")


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize("params", [{"page_size": 0}, {"page_size": 501}, {"page": 0}])
def test_paging_limits(manufacturer: Api, path: str, params: dict[str, int]) -> None:
    body = problem(manufacturer.get(path, params=params), 422, "VALIDATION")
    assert body["errors"][0]["field"] in ("page", "page_size")


def test_a_page_past_the_end_is_empty(manufacturer: Api) -> None:
    body = manufacturer.ok("/rates", page=100000, page_size=500)
    assert body["items"] == [] and body["total"] >= 10_000


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/calendar", {"year": "abc"}),
        ("/calendar", {"year": "1900"}),
        ("/rates", {"date": "2026-13-01"}),
        ("/guides", {"category": "不存在的类别"}),
        ("/notices", {"category": "gossip"}),
        ("/notices", {"unread": "maybe"}),
        ("/declared-details", {"period_from": "202613"}),
        ("/declared-details", {"period_from": "202610", "period_to": "202601"}),
        ("/declared-details", {"entry_no": "abc"}),
        ("/progress", {"year": "20x6"}),
        ("/sync", {"wait": "26"}),
        ("/sync", {"cursor": "-1"}),
    ],
)
def test_bad_parameters_are_validation_problems(
    manufacturer: Api, path: str, params: dict[str, str]
) -> None:
    body = problem(manufacturer.get(path, params=params), 422, "VALIDATION")
    assert body["errors"] and all({"field", "message"} <= set(e) for e in body["errors"])


def test_calendar_this_year_and_next(manufacturer: Api) -> None:
    body = manufacturer.ok("/calendar", year=2026)
    assert body["total"] == 12
    october = body["items"][9]
    assert october["month"] == 10 and october["period_end"] == "2026-10-22"
    assert not october["provisional"]
    assert any(i["title"].startswith("国庆节放假") for i in october["items"])
    april = body["items"][3]
    assert any("年度出口货物退（免）税申报截止" in i["title"] for i in april["items"])
    nxt = manufacturer.ok("/calendar", year=2027)
    assert all(m["provisional"] for m in nxt["items"])
    default = manufacturer.ok("/calendar")
    assert default["items"][0]["period_start"] == f"{today().year}-01-01"


def test_guides_three_per_category_with_markdown_bodies(manufacturer: Api) -> None:
    items = manufacturer.ok("/guides")["items"]
    for category in CATEGORIES:
        in_category = manufacturer.ok("/guides", category=category)["items"]
        assert len(in_category) >= 3, category
        assert all(g["category"] == category for g in in_category)
    guide = manufacturer.ok(f"/guides/{items[0]['id']}")
    assert guide["body"].startswith("# ") and guide["title"] == items[0]["title"]
    problem(manufacturer.get("/guides/no-such-guide"), 404, "NOT_FOUND")


def test_doubt_code_guide_explains_every_rule() -> None:
    text = (GUIDES_DIR / "school-doubt-codes.md").read_text(encoding="utf-8")
    assert [r.code for r in RULES if f"| {r.code} |" not in text] == []


def test_downloads_serve_real_files_with_their_sha256(manufacturer: Api) -> None:
    items = manufacturer.ok("/downloads")["items"]
    kinds = {i["kind"] for i in items}
    assert {"declaration_software", "manual", "rate_library", "sample_package"} <= kinds
    for item in items:
        r = manufacturer.get(f"/downloads/{item['id']}/file")
        assert r.status_code == 200
        assert len(r.content) == item["size"] > 0
        assert hashlib.sha256(r.content).hexdigest() == item["sha256"]
        if item["kind"] == "sample_package":
            assert r.content[:2] == b"PK"
    problem(manufacturer.get("/downloads/nope/file"), 404, "NOT_FOUND")


def test_rate_search_by_prefix_name_and_date(manufacturer: Api) -> None:
    by_code = manufacturer.ok("/rates", q="8507", page_size=500, date="2025-06-01")
    assert by_code["total"] > 0
    assert all(r["commodity_code"].startswith("8507") for r in by_code["items"])
    assert {r["refund_rate"] for r in by_code["items"]} == {"0.09"}
    before = manufacturer.ok("/rates", q="8507", page_size=500, date="2024-06-01")
    assert {r["refund_rate"] for r in before["items"]} == {"0.13"}
    by_name = manufacturer.ok("/rates", q="蓄电池")
    assert by_name["total"] > 0 and all("蓄电池" in r["name"] for r in by_name["items"])
    codes = [r["commodity_code"] for r in manufacturer.ok("/rates", page_size=100)["items"]]
    assert codes == sorted(codes)
    assert manufacturer.ok("/rates", q="100%_")["total"] == 0  # LIKE wildcards are literal


def test_rate_meta_and_export_with_etag(manufacturer: Api) -> None:
    meta = manufacturer.ok("/rates/meta")
    assert meta["version"] and meta["count"] >= 10_000
    r = manufacturer.get("/rates/export")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    lines = r.content.decode("utf-8").splitlines()
    assert len(lines) == meta["count"]
    first = json.loads(lines[0])
    assert set(first) >= {"commodity_code", "vat_rate", "refund_rate", "valid_from", "valid_to"}
    again = manufacturer.get("/rates/export", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.content
    other = manufacturer.get("/rates/export", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
