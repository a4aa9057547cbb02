"""The package generator fed from a platform: this stub's data dir, or any server over the
protocol (``--server``), so it also works against a platform that is not ours."""

from __future__ import annotations

import argparse
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.declaration.generator import generate_package
from app.declaration.reference import (
    CustomsLine,
    Enterprise,
    Invoice,
    RateLibrary,
)
from server_stub import clock, db, einfo


def from_data_dir(
    data_dir: Path,
    *,
    taxpayer_id: str,
    period: str,
    out: Path,
    rows: int | None = None,
    inject: tuple[str, ...] = (),
    batch: str = "001",
    business_code: str | None = None,
    seed: int = 0,
    summary: bool = False,
) -> Path:
    """Write a package from the e-info in a stub's data dir (today = the stub's today)."""
    from server_stub.__main__ import load_clock

    load_clock(Path(data_dir))
    conn = db.connect(Path(data_dir))
    try:
        return generate_package(
            out,
            enterprise=einfo.enterprise(conn, taxpayer_id),
            customs=einfo.customs_lines(conn, taxpayer_id),
            invoices=einfo.invoices(conn, taxpayer_id),
            rates=einfo.rate_library(conn),
            exchange_rates=einfo.exchange_rates(conn),
            vat_returns=einfo.vat_returns(conn, taxpayer_id),
            period=period, rows=rows, inject=inject, batch=batch,
            business_code=business_code, today=clock.today(), seed=seed, summary=summary,
        )  # fmt: skip
    finally:
        conn.close()


def _all_pages(session: Any, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        r = session.get(url, params={**params, "page": page, "page_size": 500}, timeout=60)
        r.raise_for_status()
        data = r.json()
        items += data["items"]
        if not data["items"] or len(items) >= data["total"]:
            return items
        page += 1


def from_server(
    server: str, account_type: str, account: str, password: str, *, period: str, out: Path,
    **options: Any,
) -> Path:  # fmt: skip
    """Write a package from the e-info a platform serves through the protocol."""
    import requests

    from server_stub.ratelib import rate_row_from_dict

    api = server.rstrip("/") + "/api/v1"
    s = requests.Session()
    r = s.post(api + "/auth/login", json={"account_type": account_type, "account": account,
                                          "password": password}, timeout=60)  # fmt: skip
    if r.status_code != 200:
        raise SystemExit(f"登录失败：{r.text}")
    login = r.json()
    if login["must_change_password"]:
        raise SystemExit("该账号须先修改初始密码，请先登录客户端修改密码。")
    s.headers["Authorization"] = f"Bearer {login['token']}"
    ent = s.get(api + "/enterprise", timeout=60).json()
    today = date.fromisoformat(s.get(api + "/health", timeout=60).json()["time"][:10])
    now = clock.month_index(today.strftime("%Y%m"))
    months = [clock.period_of(i) for i in range(now - 36, now + 1)]
    span = {"period_from": months[0], "period_to": months[-1]}
    customs = [
        CustomsLine(
            c["entry_no"],
            int(c["item_no"]),
            date.fromisoformat(c["export_date"]),
            c["commodity_code"],
            c["commodity_name"],
            c["unit"],
            Decimal(c["quantity"]),
            Decimal(c["fob_usd"]),
            c["trade_mode"],
            c["transport_mode"],
            c["destination_country"],
            Decimal(c["declared_quantity_so_far"]),
            Decimal(c["declared_fob_usd_so_far"]),
        )
        for c in _all_pages(s, api + "/e-info/customs", span)
    ]
    invoices: list[Invoice] = []
    vat: dict[str, Decimal] = {}
    if ent["kind"] == "trader":
        invoices = [
            Invoice(
                i["invoice_code"],
                i["invoice_no"],
                date.fromisoformat(i["issue_date"]),
                i["seller_taxpayer_id"],
                i["commodity_code"],
                i["commodity_name"],
                i["unit"],
                Decimal(i["quantity"]),
                Decimal(i["amount"]),
                Decimal(i["tax_rate"]),
                Decimal(i["tax"]),
                Decimal(i["declared_amount_so_far"]),
            )
            for i in _all_pages(s, api + "/e-info/invoices", span)
        ]
    rates: dict[str, Decimal] = {}
    for m in months:
        r = s.get(api + "/e-info/exchange-rates", params={"period": m}, timeout=60)
        if r.status_code == 200:
            rates[m] = Decimal(r.json()["usd_cny"])
        if ent["kind"] == "manufacturer":
            v = s.get(api + "/e-info/vat-returns", params={"period": m}, timeout=60).json()
            if v["filed"]:
                vat[m] = Decimal(v["closing_credit"])
    export = s.get(api + "/rates/export", timeout=300)
    export.raise_for_status()
    library = RateLibrary(
        rate_row_from_dict(json.loads(line)) for line in export.text.splitlines() if line.strip()
    )
    enterprise = Enterprise(ent["taxpayer_id"], ent["customs_code"], ent["name"], ent["kind"],
                            ent["management_class"])  # fmt: skip
    return generate_package(
        out, enterprise=enterprise, customs=customs, invoices=invoices, rates=library,
        exchange_rates=rates, vat_returns=vat, period=period, today=today, **options,
    )  # fmt: skip


def generate_from_args(args: argparse.Namespace) -> Path:
    options: dict[str, Any] = {
        "rows": args.rows,
        "inject": tuple(c.strip() for c in args.inject.split(",") if c.strip()),
        "batch": args.batch,
        "business_code": args.business_code,
        "seed": args.seed,
        "summary": args.summary,
    }
    if args.data_dir is not None:
        return from_data_dir(
            args.data_dir, taxpayer_id=args.taxpayer_id, period=args.period, out=args.out,
            **options,
        )  # fmt: skip
    if not (args.account and args.password):
        raise SystemExit("--server 需要同时给出 --account 和 --password")
    return from_server(
        args.server, args.account_type, args.account, args.password,
        period=args.period, out=args.out, **options,
    )  # fmt: skip
