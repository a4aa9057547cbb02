"""The local store: declarations, notices, keyset windows over declared details, rates."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from app.models import Declaration, DeclaredDetail, Notice, RateRow
from app.store import DETAIL_COLUMNS, DetailFilter, LocalStore

CST = timezone(timedelta(hours=8))


def decl(id: str, status: str, sha: str = "AB", stage: str = "pre", minute: int = 0) -> Declaration:
    return Declaration(
        id=id,
        stage=stage,
        business_code="A0305001",
        business_name="生产企业免抵退税申报",
        period="202610",
        batch="001",
        file_name="p.zip",
        size=1,
        sha256=sha,
        uploaded_at=datetime(2026, 11, 5, 10, minute, tzinfo=CST),
        status=status,
        status_text=status,
    )


def details(n: int, seed: int = 1) -> list[DeclaredDetail]:
    rnd = random.Random(seed)
    names = ["数控机床", "齿轮", "轴承", "阀门", "电机"]
    return [
        DeclaredDetail(
            declaration_id=f"d{i % 7}",
            period=f"2026{rnd.randint(1, 9):02d}",
            batch="001",
            seq=f"{i:04d}",
            entry_no=f"1108202600000{rnd.randint(0, 99999):05d}",
            item_no=rnd.randint(1, 9),
            commodity_code=f"84{rnd.randint(0, 99999999):08d}",
            commodity_name=rnd.choice(names),
            quantity=Decimal(rnd.randint(1, 10**6)) / 1000,
            fob_usd=Decimal(rnd.randint(1, 10**8)) / 100,
            refund_rate=Decimal("0.13"),
            status="accepted",
        )
        for i in range(n)
    ]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "local.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def test_declarations_and_duplicates(store: LocalStore) -> None:
    store.upsert_declarations([decl("a", "rejected", "AA"), decl("b", "audited", "BB", minute=5)])
    assert [d.id for d in store.declarations()] == ["b", "a"]
    assert store.find_duplicate("aa", "pre") is None  # rejected: may be sent again
    assert store.find_duplicate("bb", "pre").id == "b"  # type: ignore[union-attr]
    assert store.find_duplicate("bb", "formal") is None
    assert [d.id for d in store.declarations(status="queued,audited")] == ["b"]
    store.delete_declaration("b")
    assert store.declaration("b") is None


def test_notices_unread_counts(store: LocalStore) -> None:
    at = datetime(2026, 11, 1, tzinfo=CST)
    store.upsert_notices(
        Notice(str(i), cat, "t", "b", at + timedelta(hours=i), False)
        for i, cat in enumerate(["daily", "daily", "annual"])
    )
    assert store.unread_counts() == {"daily": 2, "annual": 1}
    store.mark_notice_read("0")
    assert store.unread_counts() == {"daily": 1, "annual": 1}
    assert [n.id for n in store.notices("daily")] == ["1", "0"]
    assert store.notices(unread_only=True, category="daily")[0].id == "1"


@pytest.mark.parametrize(
    ("order_by", "descending"),
    [("rid", False), ("fob_usd", True), ("period", False), ("commodity_name", True)],
)
def test_detail_view_matches_a_plain_sort(
    store: LocalStore, order_by: str, descending: bool
) -> None:
    rows = details(5000)
    assert store.replace_declared_details(rows) == 5000
    flt = DetailFilter(q="轴承")
    expected = [
        (i + 1, d)
        for i, d in enumerate(rows)
        if d.commodity_name == "轴承" or d.commodity_code.startswith("轴承")
    ]
    col = DETAIL_COLUMNS.index(order_by) if order_by != "rid" else None
    expected.sort(
        key=lambda x: ((getattr(x[1], order_by) if col is not None else x[0]), x[0]),
        reverse=descending,
    )
    view = store.detail_view(flt, order_by, descending)
    assert view.count() == len(expected)
    # jump to the end, into the middle, then scroll both ways
    positions = [len(expected) - 1, len(expected) // 2, 0, 1, 700, 699, 256, 255, 1000, 3]
    for pos in positions:
        got = view.row_at(pos)
        assert got[DETAIL_COLUMNS.index("seq")] == expected[pos][1].seq, pos
        assert got[DETAIL_COLUMNS.index("fob_usd")] == expected[pos][1].fob_usd
    with pytest.raises(IndexError):
        view.row_at(len(expected))


def test_detail_keyset_windows_chain(store: LocalStore) -> None:
    store.replace_declared_details(details(1000))
    seen = []
    key = None
    while True:
        window = store.declared_detail_rows(DetailFilter(period_from="202603"), "entry_no", key, 97)
        if not window:
            break
        seen += [row for _, row in window]
        key = window[-1][0]
    entry = DETAIL_COLUMNS.index("entry_no")
    assert len(seen) == store.count_declared_details(DetailFilter(period_from="202603"))
    assert [r[entry] for r in seen] == sorted(r[entry] for r in seen)
    assert store.declared_lines() >= {(seen[0][entry][:18], seen[0][5])}


def test_rate_search_by_code_prefix_and_name(store: LocalStore) -> None:
    today = date.today()
    rows = [
        RateRow(
            f"{8400000000 + i}",
            name,
            "机械",
            "台",
            "0.13",
            Decimal("0.13"),
            date(2020, 1, 1),
            date(2099, 12, 31),
        )
        for i, name in enumerate(["数控车床", "车床配件", "齿轮箱"] * 4000)
    ]
    rows.append(
        RateRow(
            "8400000001",
            "旧行",
            "机械",
            "台",
            "0.13",
            Decimal("0.09"),
            date(2010, 1, 1),
            date(2019, 12, 31),
        )
    )
    store.replace_rates(rows, '"v1"', "2026B")
    assert store.rates_etag() == '"v1"' and store.rates_version() == "2026B"
    assert [r.commodity_code for r in store.search_rates("840000000", 50)] == [
        f"{8400000000 + i}" for i in range(10)
    ]
    found = store.search_rates("车床", 20)
    assert len(found) == 20 and all("车床" in r.name for r in found)
    assert store.search_rates("齿", 5)[0].name == "齿轮箱"
    assert all(r.valid_to >= today for r in store.search_rates("8400000001"))
    assert store.search_rates("不存在的商品") == []
