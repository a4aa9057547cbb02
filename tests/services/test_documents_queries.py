"""文书开具 (PDFs with an embedded CJK font), 退税进度 and the 一户式 queries (live stub)."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal
from typing import Any

import pypdf

from server_stub.clock import today
from server_stub.documents import amount_in_words, period_text
from tests.services.conftest import Api, problem


def _pdf_text_and_fonts(content: bytes) -> tuple[str, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    text = "".join(page.extract_text() for page in reader.pages)
    files = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                files += [k for k in descriptor if k.startswith("/FontFile")]
    return text, files


def _formal(api: Api, period: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.ok("/declarations", stage="formal", period=period,
                                         page_size=500)["items"]  # fmt: skip
    return items


def _period_with(api: Api, status: str) -> str:
    for year in (today().year, today().year - 1):
        for row in api.ok("/progress", year=year, page_size=500)["items"]:
            if row["status"] == status:
                return str(row["period"])
    raise AssertionError(f"the seed has no {status} declaration")


def _issue(api: Api, doc_type: str, period: str) -> tuple[dict[str, Any], str, bytes]:
    r = api.post("/documents", json={"type": doc_type, "period": period})
    assert r.status_code == 201, r.text
    doc = r.json()
    pdf = api.get(f"/documents/{doc['id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == doc["sha256"]
    text, fonts = _pdf_text_and_fonts(pdf.content)
    assert fonts and set(fonts) <= {"/FontFile2", "/FontFile3"}  # the font travels along
    return doc, text, pdf.content


def test_document_types_follow_the_kind(manufacturer: Api, trader: Api) -> None:
    mine = {t["type"] for t in manufacturer.ok("/documents/types")["items"]}
    theirs = {t["type"] for t in trader.ok("/documents/types")["items"]}
    assert mine == {"mdt_summary", "approval_notice"}
    assert theirs == {"mts_approval", "approval_notice"}
    problem(manufacturer.post("/documents", json={"type": "mts_approval", "period": "202610"}),
            422, "VALIDATION")  # fmt: skip
    problem(manufacturer.post("/documents", json={"type": "mdt_summary"}), 422, "VALIDATION")
    problem(manufacturer.post("/documents", json={"type": "mdt_summary", "period": "2026-10"}),
            422, "VALIDATION")  # fmt: skip


def test_mdt_summary_states_the_period_and_the_refund_in_capitals(manufacturer: Api) -> None:
    period = _period_with(manufacturer, "approved")
    counted = [d for d in _formal(manufacturer, period)
               if d["status"] in ("confirmed", "accepted", "approved")]  # fmt: skip
    refund = sum((Decimal(d["amounts"]["refund"]) for d in counted), Decimal(0))
    doc, text, _ = _issue(manufacturer, "mdt_summary", period)
    assert doc["name"] == "生产企业免抵退税汇总表" and doc["period"] == period
    for expected in ("生产企业免抵退税汇总表", manufacturer.taxpayer_id, "北京华辰精密机械有限公司",
                     period_text(period), "免抵退税额", "期末留抵税额", amount_in_words(refund)):  # fmt: skip
        assert expected in text, expected
    listed = manufacturer.ok("/documents")["items"]
    assert listed[0]["id"] == doc["id"]


def test_trader_documents_and_an_empty_period(trader: Api, manufacturer: Api) -> None:
    period = _period_with(trader, "approved")
    doc, text, _ = _issue(trader, "mts_approval", period)
    assert "外贸企业出口退税审批情况反馈表" in text and "北京远航进出口贸易有限公司" in text
    assert "审批退税额合计（大写）" in text
    _, notice, _ = _issue(trader, "approval_notice", period)
    assert "税务事项通知书" in notice and "核准退（免）税额" in notice
    _, empty, _ = _issue(trader, "mts_approval", "200001")
    assert "本所属期无申报数据" in empty and "零元整" in empty
    problem(manufacturer.get(f"/documents/{doc['id']}/pdf"), 404, "NOT_FOUND")
    assert doc["id"] not in {d["id"] for d in manufacturer.ok("/documents")["items"]}


def test_progress_by_year(manufacturer: Api) -> None:
    period = _period_with(manufacturer, "approved")
    year = period[:4]
    rows = manufacturer.ok("/progress", year=year)["items"]
    assert rows and all(r["period"].startswith(year) for r in rows)
    approved = next(r for r in rows if r["status"] == "approved")
    assert approved["status_text"] == "审核通过"
    assert approved["confirmed_at"] <= approved["accepted_at"] <= approved["approved_at"]
    assert approved["declared_refund"] and approved["approved_refund"]
    assert manufacturer.ok("/progress", year=2001) == {"total": 0, "items": []}


def test_declared_details_filters_and_order(manufacturer: Api, trader: Api) -> None:
    body = manufacturer.ok("/declared-details", page_size=500)
    items = body["items"]
    assert body["total"] >= len(items) > 0
    keys = [(-int(i["period"]), i["seq"]) for i in items]
    assert keys == sorted(keys)
    alive = {"pending_confirm", "confirmed", "accepted", "approved"}
    assert {i["status"] for i in items} <= alive
    first = items[0]
    by_entry = manufacturer.ok("/declared-details", entry_no=first["entry_no"])["items"]
    assert by_entry and all(i["entry_no"] == first["entry_no"] for i in by_entry)
    code = first["commodity_code"][:4]
    assert all(i["commodity_code"].startswith(code)
               for i in manufacturer.ok("/declared-details", q=code)["items"])  # fmt: skip
    word = first["commodity_name"][:2]
    assert all(word in i["commodity_name"]
               for i in manufacturer.ok("/declared-details", q=word)["items"])  # fmt: skip
    one = manufacturer.ok("/declared-details", period_from=first["period"],
                          period_to=first["period"], page_size=500)  # fmt: skip
    assert {i["period"] for i in one["items"]} == {first["period"]}
    theirs = {i["declaration_id"] for i in trader.ok("/declared-details", page_size=500)["items"]}
    assert not theirs & {i["declaration_id"] for i in items}


def test_declared_commodities_count_the_declared_lines(manufacturer: Api) -> None:
    details = manufacturer.ok("/declared-details", page_size=1)["total"]
    commodities = manufacturer.ok("/declared-commodities", page_size=500)
    assert commodities["total"] == len(commodities["items"]) > 0
    assert sum(c["times_declared"] for c in commodities["items"]) == details
    codes = [c["commodity_code"] for c in commodities["items"]]
    assert codes == sorted(codes)
    prefix = codes[0][:4]
    narrowed = manufacturer.ok("/declared-commodities", q=prefix)["items"]
    assert narrowed and all(c["commodity_code"].startswith(prefix) for c in narrowed)
    assert manufacturer.ok("/declared-commodities", q="不存在的商品名称")["total"] == 0
