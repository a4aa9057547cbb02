from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from app.declaration.audit import audit_package
from app.declaration.businesses import BUSINESSES
from app.declaration.generator import APPLICABLE, CO_OCCURRING, INJECTABLE, generate_package
from app.declaration.package import open_package
from app.declaration.reference import CustomsLine, Invoice, RateLibrary, ReferenceData

from .refdata import LIBRARY, MANUFACTURER, SELLER, TODAY, TRADER, rate

LIB = RateLibrary(
    [*(LIBRARY.rows(c)[0] for c in LIBRARY.codes()), rate("8501200000", "0.09", ("0.13", "0.09"))]
)
CODES = ["8471300000", "8471410000", "8501100000", "8501200000"]
RATES = {"202609": D("7.1200"), "202610": D("7.1000"), "202611": D("7.0900")}
VAT = {"202610": D("41600.00"), "202609": D("100.00")}


def _line(n: int, item: int, day: date, code: str, **kw: object) -> CustomsLine:
    entry = f"1108{day.year}0{n:09d}"
    base = CustomsLine(
        entry,
        item,
        day,
        code,
        f"商品{code[-4:]}",
        "台",
        D(10 + n % 5),
        D(1000 + 37 * n) + D("0.25"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def einfo() -> list[CustomsLine]:
    lines = []
    for n in range(1, 31):  # 202610: 30 entries, every third with two items
        day = date(2026, 10, 1 + n % 28)
        mode = "0615" if n % 7 == 0 else "0110"
        lines.append(_line(n, 1, day, CODES[n % 4], trade_mode=mode))
        if n % 3 == 0:
            lines.append(_line(n, 2, day, CODES[(n + 1) % 4], unit="千克"))
    lines += [_line(100 + n, 1, date(2026, 9, 10 + n), CODES[n % 4]) for n in range(5)]
    lines.append(_line(200, 1, date(2023, 10, 20), "8471300000"))  # 37 months old
    lines.append(_line(201, 1, date(2026, 11, 2), "8471300000"))  # after the period
    lines.append(_line(202, 1, date(2026, 10, 9), "9999999999"))  # not in the library
    lines.append(_line(203, 1, date(2026, 10, 9), "8471300000", declared_quantity_so_far=D(1)))
    return lines


def invoices(lines: list[CustomsLine]) -> list[Invoice]:
    out = []
    for k, c in enumerate(lines):
        amount = (c.fob_usd * 6).quantize(D("0.01"))
        code, no = ("", f"2611200000{k:010d}") if k % 4 == 0 else ("1100262130", f"{k:08d}")
        out.append(
            Invoice(
                code,
                no,
                c.export_date - timedelta(days=20),
                SELLER,
                c.commodity_code,
                "商品",
                c.unit,
                c.quantity,
                amount,
                D("0.13"),
                amount * D("0.13"),
            )
        )
    out.append(
        replace(out[1], invoice_no="99000001", tax_rate=D("0.03"))
    )  # a 3% invoice, never matched to a 13% line
    return out


LINES = einfo()
INVOICES = invoices(LINES)


def ref(enterprise=MANUFACTURER) -> ReferenceData:  # type: ignore[no-untyped-def]
    return ReferenceData(
        enterprise, TODAY, LIB,
        customs={(c.entry_no, c.item_no): c for c in LINES},
        invoices={i.voucher_no: i for i in INVOICES},
        vat_returns=VAT, exchange_rates=RATES, current_software_version="2.0.0",
    )  # fmt: skip


def gen(tmp: Path, enterprise=MANUFACTURER, **kw):  # type: ignore[no-untyped-def]
    args = dict(
        enterprise=enterprise,
        customs=LINES,
        invoices=INVOICES,
        rates=LIB,
        exchange_rates=RATES,
        vat_returns=VAT,
        period="202610",
        today=TODAY,
    )
    args.update(kw)
    return open_package(generate_package(tmp, **args))


@pytest.mark.parametrize("enterprise", [MANUFACTURER, TRADER], ids=["mdt", "mts"])
def test_clean_package_audits_with_result_0(tmp_path: Path, enterprise) -> None:  # type: ignore[no-untyped-def]
    pkg = gen(tmp_path, enterprise, rows=36, summary=True)
    assert pkg.path.name == f"{enterprise.taxpayer_id}_{pkg.business.code}_202610_001.zip"
    assert pkg.record_count == 36
    res = audit_package(pkg, ref(enterprise))
    assert (res.result, res.doubts) == (0, [])
    assert res.amounts is not None and res.amounts["refund"] != "0.00"
    seqs = [int(r["sbxh"]) for t in pkg.tables() for r in pkg.rows(t)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_rows_none_takes_the_period_and_more_rows_than_einfo_fails(tmp_path: Path) -> None:
    pkg = gen(tmp_path)
    assert (
        pkg.record_count == 40
    )  # 202610 lines but the one not in the library and the declared one
    assert all(r["ckrq"].startswith("202610") for r in pkg.rows("mdt_ckmx"))
    with pytest.raises(ValueError, match="不足"):
        gen(tmp_path / "x", rows=1000)


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = list(gen(tmp_path / "a.zip", rows=20, inject={"TSL_MISMATCH"}, seed=7).rows("mdt_ckmx"))
    b = list(gen(tmp_path / "b.zip", rows=20, inject={"TSL_MISMATCH"}, seed=7).rows("mdt_ckmx"))
    c = list(gen(tmp_path / "c.zip", rows=20, inject={"TSL_MISMATCH"}, seed=8).rows("mdt_ckmx"))
    assert a == b and a != c


CASES = [("A0305001", MANUFACTURER, c) for c in sorted(APPLICABLE["A0305001"])] + [
    ("A0301001", TRADER, c) for c in sorted(APPLICABLE["A0301001"])
]


@pytest.mark.parametrize(
    ("business", "enterprise", "code"), CASES, ids=[f"{b}-{c}" for b, _, c in CASES]
)
def test_inject_each_code(tmp_path: Path, business: str, enterprise, code: str) -> None:  # type: ignore[no-untyped-def]
    pkg = gen(tmp_path, enterprise, rows=30, inject={code})
    res = audit_package(pkg, ref(enterprise))
    got = {d.code for d in res.doubts}
    assert got == {code} | CO_OCCURRING.get((business, code), frozenset()), res.doubts
    seqs = {d.seq for d in res.doubts if d.code == code}
    if code in ("SCRJ_OLD", "HZ_QMLDSE_DIFF"):
        assert seqs == {None}
    elif code != "GLH_ORPHAN":
        assert len(seqs) == 1


def test_inject_several_at_once_each_on_its_own_row(tmp_path: Path) -> None:
    codes = {"BGD_WDZXX", "TSL_MISMATCH", "RMB_CALC", "DW_MISMATCH", "BGD_REPEAT", "SCRJ_OLD"}
    res = audit_package(gen(tmp_path, rows=30, inject=codes), ref())
    assert {d.code for d in res.doubts} == codes
    row_doubts = [d.seq for d in res.doubts if d.seq]
    assert len(row_doubts) == len(set(row_doubts)) == 5
    assert res.result == 2


def test_agent_certificate_package(tmp_path: Path) -> None:
    pkg = gen(tmp_path, business_code="A0201001", rows=10, inject={"WTF_NSRSBH"})
    res = audit_package(pkg, ref())
    assert [d.code for d in res.doubts] == ["WTF_NSRSBH"] and pkg.record_count == 10


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ZSSL_MISMATCH"):
        gen(tmp_path, TRADER, inject={"ZSSL_MISMATCH"})
    with pytest.raises(ValueError, match="A0301001"):
        gen(tmp_path, business_code="A0301001")
    with pytest.raises(ValueError, match="行数"):
        gen(tmp_path, rows=2, inject={"TSL_MISMATCH", "DW_MISMATCH", "RMB_CALC"})
    assert {"BGD_HISTORY", "FP_RATE_LOW", "VAT_NOT_FILED"}.isdisjoint(INJECTABLE)


OTHER = {"A0201004", "A0202001", "A0404001", "A0404002", "A0409004", "A0102001", "A0410002"}
OTHER_CASES = [(b, c) for b in sorted(OTHER) for c in [None, *sorted(APPLICABLE[b])]]


@pytest.mark.parametrize(
    ("business", "code"), OTHER_CASES, ids=[f"{b}-{c}" for b, c in OTHER_CASES]
)
def test_every_other_business(tmp_path: Path, business: str, code: str | None) -> None:
    inject = {code} if code else set()
    pkg = gen(tmp_path, business_code=business, rows=6, inject=inject)
    assert pkg.business.code == business and pkg.record_count == 6
    res = audit_package(pkg, ref())
    assert {d.code for d in res.doubts} == inject, res.doubts
    assert res.result == (0 if not code else 1 if code == "SCRJ_OLD" else 2)


def test_generator_covers_every_business() -> None:
    assert set(APPLICABLE) == set(BUSINESSES)
