"""Hand-built reference data matching helpers.mdt_row / mts rows, for audit tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

from app.declaration.audit import AuditResult, audit_package
from app.declaration.package import open_package, write_package
from app.declaration.reference import (
    CustomsLine,
    Enterprise,
    Invoice,
    RateLibrary,
    RateRow,
    ReferenceData,
)

from .helpers import MANIFEST_FIELDS

TODAY = date(2026, 11, 10)
MANUFACTURER = Enterprise(
    "91110108MA01HC7K1M", "1108361234", "北京华辰精密机械有限公司", "manufacturer"
)
TRADER = Enterprise("91110105MA02YH3Q27", "1105466789", "北京远航进出口贸易有限公司", "trader")
SELLER = "91350100M000100Y43"
OPEN_END = date(2099, 12, 31)


def rate(
    code: str,
    refund: str,
    vat: tuple[str, ...] = ("0.13",),
    start: date = date(2020, 1, 1),
    end: date = OPEN_END,
) -> RateRow:
    return RateRow(code, "商品", "类别", "台", tuple(D(v) for v in vat), D(refund), start, end)


LIBRARY = RateLibrary(
    [
        rate("8471300000", "0.13"),
        rate("8471410000", "0.13"),
        rate("8501100000", "0.09", ("0.13", "0.09")),
        rate("7601100000", "0.13", end=date(2026, 9, 30)),  # no row valid in 202610
    ],
    "2026B",
)


def entry(i: int) -> str:
    return f"110820260{i:09d}"


def customs(i: int, **kw: object) -> CustomsLine:
    base = CustomsLine(
        entry(i), 1, date(2026, 10, 5), "8471300000", "笔记本电脑", "台", D(10), D("1000.00")
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def invoice(no: str, **kw: object) -> Invoice:
    base = Invoice(
        "1100262130",
        no,
        date(2026, 9, 20),
        SELLER,
        "8471300000",
        "笔记本电脑",
        "台",
        D(10),
        D("10000.00"),
        D("0.13"),
        D("1300.00"),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def reference(
    lines: list[CustomsLine] = (),
    invoices: list[Invoice] = (),
    enterprise: Enterprise = MANUFACTURER,
    **kw: object,
) -> ReferenceData:  # type: ignore[assignment]
    args: dict[str, object] = {
        "vat_returns": {"202610": D("41600.00")},
        "exchange_rates": {"202610": D("7.1000")},
        "current_software_version": "2.0.0",
    }
    args.update(kw)
    return ReferenceData(
        enterprise,
        TODAY,
        LIBRARY,
        customs={(c.entry_no, c.item_no): c for c in lines},
        invoices={i.voucher_no: i for i in invoices},
        **args,  # type: ignore[arg-type]
    )


def audit(
    tmp: Path,
    tables: dict[str, list[dict[str, str]]],
    ref: ReferenceData,
    on_line=None,
    **fields: str,
) -> AuditResult:  # type: ignore[no-untyped-def]
    manifest = {**MANIFEST_FIELDS, **fields}
    if "mts_ckmx" in tables and "sbywbm" not in fields:
        manifest.update(sbywbm="A0301001", nsrsbh=TRADER.taxpayer_id, hgdm=TRADER.customs_code)
    path = write_package(tmp / f"p{len(list(tmp.iterdir()))}.zip", manifest, tables)
    return audit_package(open_package(path), ref, on_line=on_line)
