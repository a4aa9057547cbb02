"""信息区 and 电子信息 (protocol §3, §4), and the seeded demo data behind them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.stub.conftest import Stub, start_stub
from tests.stub.helpers import Api, months_back, problem


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    s = start_stub(tmp_path_factory.mktemp("stub-einfo"))
    yield s
    s.kill()


@pytest.fixture(scope="module")
def mfr(stub: Stub) -> Api:
    return Api(stub, "manufacturer")


@pytest.fixture(scope="module")
def trader(stub: Stub) -> Api:
    return Api(stub, "trader")


def all_customs(api: Api, **params: str) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    page = 1
    while True:
        r = api.get("/e-info/customs", params={**params, "page": str(page), "page_size": "500"})
        assert r.status_code == 200, r.text
        batch = r.json()["items"]
        if not batch:
            return items
        items += batch
        page += 1


def test_enterprise_contact_and_feedback_key(mfr: Api) -> None:
    e = mfr.get("/enterprise").json()
    assert e["name"] == "北京华辰精密机械有限公司" and e["kind"] == "manufacturer"
    assert e["bank_account_masked"] == "1100 **** **** 2345"
    assert set(e["sections"]) == {"basic", "extended", "config", "collection", "credit"}
    assert all(e["sections"][k] for k in e["sections"])
    assert e["tax_office"].startswith("国家税务总局") and e["tax_office_phone"]

    problem(mfr.put("/enterprise/contact", json={"contact_name": "王丽", "contact_phone": "010-1234"}),
            422, "VALIDATION")  # fmt: skip
    r = mfr.put(
        "/enterprise/contact", json={"contact_name": "周敏", "contact_phone": "13912345678"}
    )
    assert r.status_code == 200 and r.json()["contact_phone"] == "13912345678"
    assert mfr.get("/enterprise").json()["contact_name"] == "周敏"
    problem(mfr.put("/enterprise/contact", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                    headers={"Content-Type": "application/json"}), 413, "REQUEST_TOO_LARGE")  # fmt: skip

    key = mfr.get("/enterprise/feedback-key").json()
    assert len(key["key"]) >= 32 and key["key_id"]


def test_customs_einfo_has_what_every_rule_needs(mfr: Api) -> None:
    lines = all_customs(mfr, period_from=months_back(36), period_to=months_back(0))
    by_month = Counter(line["export_date"][:7].replace("-", "") for line in lines)
    for back in range(1, 7):
        assert by_month[months_back(back)] >= 40, by_month
    assert by_month[months_back(0)] >= 1  # this month's exports, VAT return not yet filed
    assert by_month[months_back(36)] >= 1
    assert {"0615", "0715"} <= {line["trade_mode"] for line in lines}
    items = Counter(line["entry_no"] for line in lines)
    assert max(items.values()) >= 3
    assert all(re.fullmatch(r"\d{18}", line["entry_no"]) for line in lines)
    assert any(Decimal(line["declared_quantity_so_far"]) > 0 for line in lines)
    units = {line["unit"] for line in lines}
    assert units <= {"台", "件", "套", "个", "千克"}, units

    # a 37-month-old line is outside the default window and outside any 36-month span
    default = mfr.get("/e-info/customs", params={"page_size": "1"}).json()["total"]
    assert 0 < default <= len(lines)
    problem(mfr.get("/e-info/customs", params={"period_from": months_back(38),
                                                "period_to": months_back(1)}), 422, "VALIDATION")  # fmt: skip
    problem(mfr.get("/e-info/customs", params={"page_size": "501"}), 422, "VALIDATION")
    problem(mfr.get("/e-info/customs", params={"period_from": "202613"}), 422, "VALIDATION")
    past = mfr.get("/e-info/customs", params={"page": "9999"}).json()
    assert past["items"] == [] and past["total"] == default


def test_invoices_vat_returns_and_exchange_rates(mfr: Api, trader: Api) -> None:
    r = trader.get("/e-info/invoices", params={"page_size": "500"})
    invoices = r.json()["items"]
    assert len(invoices) >= 200
    assert any(i["invoice_code"] == "" and len(i["invoice_no"]) == 20 for i in invoices)
    assert any(i["tax_rate"] == "0.03" for i in invoices)
    problem(trader.get("/e-info/vat-returns", params={"period": months_back(1)}), 422, "VALIDATION")

    credits = []
    for back in range(1, 7):
        v = mfr.get("/e-info/vat-returns", params={"period": months_back(back)}).json()
        assert v["filed"] is True and Decimal(v["closing_credit"]) > 0
        credits.append(v["closing_credit"])
    now = mfr.get("/e-info/vat-returns", params={"period": months_back(0)}).json()
    assert now == {"period": months_back(0), "filed": False, "closing_credit": None}

    rate = mfr.get("/e-info/exchange-rates", params={"period": months_back(1)}).json()
    assert re.fullmatch(r"\d\.\d{4}", rate["usd_cny"])
    problem(mfr.get("/e-info/exchange-rates", params={"period": "199001"}), 404, "NOT_FOUND")


def test_trader_cannot_see_manufacturer_einfo(mfr: Api, trader: Api, tmp_path: Path) -> None:
    mine = {line["entry_no"] for line in all_customs(mfr)}
    theirs = {line["entry_no"] for line in all_customs(trader)}
    assert mine and theirs and not mine & theirs
