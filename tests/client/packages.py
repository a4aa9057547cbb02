"""Real declaration packages for the live tests, built from the e-info the platform
holds — read through the client, as an enterprise's own software would."""

from __future__ import annotations

import random
import socket
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from app.declaration.package import write_package
from app.declaration.reference import RateLibrary
from app.models import CustomsEInfo
from app.session import Session, _library_rows, _month_add


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_lines(session: Session, lines: int) -> tuple[str, list[CustomsEInfo], Decimal]:
    """A filed month with ``lines`` customs lines nobody declared yet (no 进料加工)."""
    session.refresh_rates()
    session.refresh_declared_details()
    library = RateLibrary(_library_rows(session.store.rate_rows()))
    used = {entry for entry, _ in session.store.declared_lines()}
    this_month = date.today().strftime("%Y%m")
    for back in range(1, 7):
        month = _month_add(this_month, -back)
        if not session.client.vat_return(month).filed:
            continue
        good = [
            c
            for c in session.client.customs_einfo(month, month).items
            if c.trade_mode not in ("0615", "0715")
            and not c.declared_quantity_so_far
            and c.entry_no not in used
            and library.lookup(c.commodity_code, c.export_date) is not None
        ]
        if len(good) >= lines:
            return month, good[:lines], session.client.exchange_rate(month).usd_cny
    raise AssertionError("the seed has no month with enough clean customs lines")


def manufacturer_package(
    session: Session,
    dest: Path,
    *,
    lines: int = 3,
    unknown_entries: int = 0,
    batch: str = "001",
    taxpayer_id: str | None = None,
    skip: int = 0,
) -> Path:
    """A 生产企业免抵退税申报 (A0305001) package; ``unknown_entries`` rows cite customs
    entries that do not exist (doubt BGD_WDZXX, not passable)."""
    month, found, usd_cny = clean_lines(session, lines + skip)
    found = found[skip:]
    library = RateLibrary(_library_rows(session.store.rate_rows()))
    rows = []
    for i, c in enumerate(found, start=1):
        rate = library.lookup(c.commodity_code, c.export_date)
        assert rate is not None
        rows.append(_row(i, c.entry_no, c.item_no, c, usd_cny, rate.vat_rates[0], rate.refund_rate))
    rnd = random.Random(dest.name)
    for j in range(unknown_entries):
        c = found[0]
        entry = f"1108{month[:4]}0{rnd.randint(10**8, 10**9 - 1)}"
        rate = library.lookup(c.commodity_code, c.export_date)
        assert rate is not None
        rows.append(
            _row(len(rows) + 1 + j, entry, 1, c, usd_cny, rate.vat_rates[0], rate.refund_rate)
        )
    info = session.enterprise
    assert info is not None
    manifest = {
        "version": "2.0",
        "nsrsbh": taxpayer_id or info.taxpayer_id,
        "hgdm": info.customs_code if taxpayer_id is None else "1105466789",
        "qymc": info.name,
        "sbywbm": "A0305001",
        "ssq": month,
        "sbpc": batch,
        "scrj": "出口退税申报系统 99.0.0",
        "scsj": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    return write_package(dest, manifest, {"mdt_ckmx": rows})


def _row(
    seq: int,
    entry: str,
    item: int,
    c: CustomsEInfo,
    usd_cny: Decimal,
    vat: Decimal,
    refund: Decimal,
) -> dict[str, str]:
    return {
        "sbxh": f"{seq:04d}",
        "ckbgdh": f"{entry}0{item:02d}",
        "ckrq": c.export_date.strftime("%Y%m%d"),
        "cksp_dm": c.commodity_code,
        "sbhgspmc": c.commodity_name,
        "hgjldwmc": c.unit,
        "cksl": str(c.quantity),
        "mylaj": str(c.fob_usd),
        "rmblaj": str((c.fob_usd * usd_cny).quantize(Decimal("0.01"))),
        "zssl": str(vat),
        "tsl": str(refund),
    }
