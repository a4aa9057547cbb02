"""Demo data seeded on first start (protocol §10), and bulk data for benchmarks.

Everything is deterministic and relative to the clock's today: the same day gives the
same e-info on every machine.
"""

from __future__ import annotations

import importlib.util
import json
import random
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from app.declaration.audit import LineResult, audit_package
from app.declaration.generator import generate_package
from app.declaration.package import open_package
from app.declaration.reference import (
    CustomsLine,
    Enterprise,
    Invoice,
    RateLibrary,
    RateRow,
    ReferenceData,
)
from app.declaration.validators import credit_code_check_char, org_code_check_char
from server_stub import auth, clock, db, einfo
from server_stub import declarations as decls
from server_stub.ratelib import (
    ADJUSTED_PREFIX,
    COMMODITY_CODE_VERSION,
    RATE_LIBRARY_PUBLISHED_AT,
    RATE_LIBRARY_VERSION,
    synthesize_rate_rows,
)

CENT = Decimal("0.01")
OPEN_END = date(2099, 12, 31)
EINFO_MONTHS = 6
RATE_MONTHS = 40  # exchange rates published for this many months back
_UNITS = ("台", "件", "套", "个", "千克")
_COUNTRIES = (
    "美国",
    "德国",
    "日本",
    "韩国",
    "越南",
    "英国",
    "澳大利亚",
    "荷兰",
    "新加坡",
    "墨西哥",
)
_TRANSPORT = ("2", "2", "2", "5", "4")  # 水路, 航空, 公路


@dataclass(frozen=True)
class Demo:
    taxpayer_id: str
    customs_code: str
    name: str
    kind: str
    management_class: str
    bank_name: str
    bank_account: str
    state: str
    district: str
    office_phone: str
    contact_name: str
    contact_phone: str
    address: str
    legal_person: str
    credit_rating: str
    filing_is_today: bool = False
    chapters: tuple[str, ...] = ()


DEMOS = (
    Demo("91110108MA01HC7K1M", "1108361234", "北京华辰精密机械有限公司", "manufacturer", "一类",
         "中国工商银行北京海淀支行", "11001028700053012345", "normal", "海淀区", "010-82691234",
         "王丽", "13910012345", "北京市海淀区上地信息路26号", "陈志远", "A",
         chapters=("84", "85", "90")),
    Demo("91110105MA02YH3Q27", "1105466789", "北京远航进出口贸易有限公司", "trader", "二类",
         "中国银行北京朝阳支行", "0200004519200088765", "normal", "朝阳区", "010-65093456",
         "李强", "13801098765", "北京市朝阳区建国路88号SOHO现代城B座1203室", "周海涛", "B",
         chapters=("61", "62", "94", "95", "73", "39")),
    Demo("91110115MA03XQ5R3K", "1115362468", "北京新启航科技有限公司", "manufacturer", "三类",
         "招商银行北京亦庄支行", "6222021001116245702", "normal", "大兴区", "010-69241188",
         "张敏", "13520036688", "北京市大兴区经济技术开发区科创十三街18号", "刘建华", "M",
         filing_is_today=True, chapters=("85",)),
    Demo("91110106MA04TQ8W2Y", "1106361357", "北京恒泰五金制品有限公司", "manufacturer", "四类",
         "中国建设银行北京丰台支行", "11050163540000001086", "suspended", "丰台区", "010-63812277",
         "赵刚", "13701112233", "北京市丰台区南四环西路188号十二区5号楼", "孙德明", "C",
         chapters=("73", "82", "83")),
)  # fmt: skip


def _q2(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def _month(today: date, back: int) -> tuple[int, int]:
    i = today.year * 12 + today.month - 1 - back
    return i // 12, i % 12 + 1


def _period(today: date, back: int) -> str:
    y, m = _month(today, back)
    return f"{y:04d}{m:02d}"


def _last_day(y: int, m: int) -> int:
    nxt = date(y + m // 12, m % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _credit_code(area: str, body8: str) -> str:
    org = body8 + org_code_check_char(body8)
    first17 = "91" + area + org
    return first17 + credit_code_check_char(first17)


SELLERS = tuple(
    _credit_code(area, body)
    for area, body in (("320500", "MA1NQ8K2"), ("330200", "MA2AH7L5"), ("440300", "MA5F3R9T"),
                       ("370200", "MA3C6P1W"), ("350200", "MA8RXJ4N"))
)  # fmt: skip


def _sections(d: Demo, today: date) -> dict[str, dict[str, str]]:
    is_mfr = d.kind == "manufacturer"
    filing = today if d.filing_is_today else date(2019, 6, 18)
    return {
        "basic": {
            "纳税人名称": d.name,
            "统一社会信用代码": d.taxpayer_id,
            "海关代码": d.customs_code,
            "企业类型": "生产企业" if is_mfr else "外贸企业",
            "登记注册类型": "有限责任公司",
            "法定代表人": d.legal_person,
            "注册地址": d.address,
            "成立日期": "2016-03-21" if is_mfr else "2017-08-09",
        },
        "extended": {
            "退(免)税方法": "免抵退税" if is_mfr else "免退税",
            "退税开户银行": d.bank_name,
            "退税账号": f"{d.bank_account[:4]} **** **** {d.bank_account[-4:]}",
            "出口退(免)税备案日期": filing.isoformat(),
            "是否有进料加工业务": "是" if is_mfr else "否",
            "是否提供零税率应税服务": "否",
        },
        "config": {
            "出口退(免)税管理类别": d.management_class,
            "申报方式": "网上申报（无纸化）",
            "无纸化申报": "已开通",
            "反馈信息加密": "AES-256",
        },
        "collection": {
            "主管税务机关": _office(d),
            "税收管理员": "郭晓峰" if is_mfr else "马晓燕",
            "纳税人状态": "正常" if d.state == "normal" else "退税停权",
            "增值税纳税人类型": "一般纳税人",
            "出口退(免)税备案状态": "今日办结" if d.filing_is_today else "已备案",
        },
        "credit": {
            "纳税信用级别": d.credit_rating,
            "评价年度": str(today.year - 1),
            "海关信用等级": "一般认证企业" if d.credit_rating in ("A", "B") else "一般信用企业",
        },
    }


def _office(d: Demo) -> str:
    return f"国家税务总局北京市{d.district}税务局"


# ---------------------------------------------------------------- e-info


@dataclass
class EInfo:
    """E-info of one enterprise being built: customs lines and invoices."""

    demo: Demo
    library: RateLibrary
    pool: Sequence[RateRow]
    usd_cny: dict[str, Decimal]
    rng: random.Random
    customs: list[CustomsLine] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    serial: int = 0
    invoice_serial: int = 0

    def entry_no(self, year: int) -> str:
        self.serial += 1
        return f"{self.demo.customs_code[:4]}{year:04d}0{self.serial:09d}"

    def line(
        self, entry_no: str, item_no: int, day: date, rate: RateRow, trade_mode: str = "0110",
        unit: str | None = None, code: str | None = None,
    ) -> CustomsLine:  # fmt: skip
        rng = self.rng
        if rate.unit == "千克":
            qty, price = Decimal(rng.randint(50, 5000)), Decimal(rng.randint(80, 6000)) / 100
        else:
            qty, price = Decimal(rng.randint(2, 300)), Decimal(rng.randint(1000, 150000)) / 100
        line = CustomsLine(
            entry_no, item_no, day, code or rate.commodity_code, rate.name, unit or rate.unit,
            qty, _q2(qty * price), trade_mode, rng.choice(_TRANSPORT), rng.choice(_COUNTRIES),
        )  # fmt: skip
        self.customs.append(line)
        if self.demo.kind == "trader":
            self.invoice_for(line, rate)
        return line

    def invoice_for(
        self, line: CustomsLine, rate: RateRow, tax_rate: Decimal | None = None
    ) -> None:
        self.invoice_serial += 1
        n = self.invoice_serial
        issued = line.export_date - timedelta(days=3 + n % 15)
        rate_cny = self.usd_cny.get(issued.strftime("%Y%m"), Decimal("7.1"))
        amount = _q2(line.fob_usd * rate_cny * Decimal("0.82"))
        tr = tax_rate if tax_rate is not None else max(rate.vat_rates)
        if n % 5 == 0:  # 数电票: one 20-digit number
            code, number = "", f"{issued.year % 100:02d}11{2000000000000000 + n:016d}"
        else:
            code, number = f"1100{issued.year % 100:02d}2130", f"{10000000 + n:08d}"
        self.invoices.append(
            Invoice(code, number, issued, SELLERS[n % len(SELLERS)], line.commodity_code,
                    line.commodity_name, line.unit, line.quantity, amount, tr, _q2(amount * tr))
        )  # fmt: skip

    def month(self, y: int, m: int, entries: int, last_day: int | None = None) -> None:
        """``entries`` customs declarations in the month, with 1–3 items each."""
        top = last_day or _last_day(y, m)
        for e in range(entries):
            entry = self.entry_no(y)
            day = date(y, m, 1 + (e * 7 + self.rng.randint(0, 6)) % top)
            mode = "0110"
            if self.demo.kind == "manufacturer" and e % 6 == 5:
                mode = "0615" if e % 12 == 5 else "0715"  # 进料加工
            for item in range(1, 2 + e % 3):
                self.line(entry, item, day, self.rng.choice(self.pool), mode)


def _pool(
    library: RateLibrary, rows: Sequence[RateRow], chapters: Iterable[str], since: date
) -> list[RateRow]:
    """Library rows valid from before ``since`` to the open end, with a refund, by chapter."""
    wanted = tuple(chapters)
    seen: set[str] = set()
    out: list[RateRow] = []
    for r in rows:
        c = r.commodity_code
        if (
            c[:2] in wanted and c not in seen and r.valid_from <= since
            and r.valid_to == OPEN_END and r.refund_rate > 0 and r.unit in _UNITS
            and len(library.rows(c)) == 1 and not c.startswith(ADJUSTED_PREFIX)
        ):  # fmt: skip
            seen.add(c)
            out.append(r)
    return out[:: max(1, len(out) // 40)]


def _exchange_rates(today: date) -> dict[str, Decimal]:
    out = {}
    for back in range(RATE_MONTHS, -1, -1):
        y, m = _month(today, back)
        out[f"{y:04d}{m:02d}"] = Decimal("7.0500") + Decimal((y * 12 + m) % 9) * Decimal("0.0150")
    return out


def _build_einfo(
    d: Demo, library: RateLibrary, rows: Sequence[RateRow], rates: dict[str, Decimal], today: date
) -> EInfo:
    since = date(today.year - 4, 1, 1)
    b = EInfo(
        d, library, _pool(library, rows, d.chapters, since), rates, random.Random(d.taxpayer_id)
    )
    for back in range(EINFO_MONTHS, 0, -1):
        b.month(*_month(today, back), entries=24)
    # a few lines of the current month (its VAT return is not filed yet)
    entry = b.entry_no(today.year)
    for item in range(1, 4):
        b.line(entry, item, today.replace(day=max(1, today.day - 1)), b.rng.choice(b.pool))
    # a code whose library row changes inside the six months (文库调整)
    adjusted = next(r for r in rows if r.commodity_code.startswith(ADJUSTED_PREFIX))
    for back in range(EINFO_MONTHS, 0, -1):
        y, m = _month(today, back)
        b.line(b.entry_no(y), 1, date(y, m, 12), adjusted)
    # a unit that differs from the library's, and a code the library does not have
    y, m = _month(today, 2)
    rate = b.pool[0]
    b.line(b.entry_no(y), 1, date(y, m, 9), rate, unit="个" if rate.unit != "个" else "台")
    missing = next(c for c in (f"{rate.commodity_code[:6]}{n:04d}" for n in range(9999, 0, -1))
                   if c not in library)  # fmt: skip
    b.line(b.entry_no(y), 1, date(y, m, 10), rate, code=missing)
    if d.kind == "trader":  # a 3% 征收率 invoice (小规模纳税人 supplier)
        b.invoice_for(b.customs[0], rate, Decimal("0.03"))
    # exports of last year not yet declared (年度提醒)
    back = next(k for k in range(10, 24) if _month(today, k)[0] == today.year - 1)
    y, m = _month(today, back)
    entry = b.entry_no(y)
    for item in range(1, 4):
        b.line(entry, item, date(y, m, 20), b.rng.choice(b.pool))
    # lines 34–37 months old: about to expire, and expired (CKRQ_EXPIRED)
    for back in (34, 35, 36, 37):
        y, m = _month(today, back)
        b.line(b.entry_no(y), 1, date(y, m, 15), b.rng.choice(b.pool))
    return b


def _insert_einfo(conn: sqlite3.Connection, tid: str, customs: Iterable[CustomsLine],
                  invoices: Iterable[Invoice]) -> None:  # fmt: skip
    conn.executemany(
        "INSERT INTO customs (taxpayer_id, entry_no, item_no, export_date, commodity_code,"
        " commodity_name, unit, quantity, fob_usd, trade_mode, transport_mode,"
        " destination_country) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (tid, c.entry_no, c.item_no, c.export_date.isoformat(), c.commodity_code,
             c.commodity_name, c.unit, str(c.quantity), f"{c.fob_usd:.2f}", c.trade_mode,
             c.transport_mode, c.destination_country)
            for c in customs
        ),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO invoices (taxpayer_id, invoice_code, invoice_no, issue_date,"
        " seller_taxpayer_id, commodity_code, commodity_name, unit, quantity, amount, tax_rate,"
        " tax) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (tid, i.invoice_code, i.invoice_no, i.issue_date.isoformat(), i.seller_taxpayer_id,
             i.commodity_code, i.commodity_name, i.unit, str(i.quantity), f"{i.amount:.2f}",
             str(i.tax_rate), f"{i.tax:.2f}")
            for i in invoices
        ),
    )  # fmt: skip


def _vat_returns(b: EInfo, today: date) -> dict[str, Decimal]:
    """Filed VAT returns for the twelve months before this one, with a 期末留抵."""
    out: dict[str, Decimal] = {}
    for back in range(1, 13):
        period = _period(today, back)
        rate = b.usd_cny[period]
        mdt = sum(
            (
                c.fob_usd * rate * r.refund_rate
                for c in b.customs
                if c.export_date.strftime("%Y%m") == period
                and (r := b.library.lookup(c.commodity_code, c.export_date)) is not None
            ),
            Decimal(0),
        )
        # one month's credit exceeds its 免抵退税额, another's is smaller
        factor = {1: Decimal("1.5"), 2: Decimal("0.4")}.get(back, Decimal("0.7"))
        out[period] = _q2(max(mdt, Decimal(50000)) * factor)
    return out


# ---------------------------------------------------------------- seeded declarations

# (months back, final state) of the formal declarations seeded per enterprise
_DECLARED = {
    "91110108MA01HC7K1M": ((10, "refused"), (9, "approved"), (8, "accepted"), (7, "confirmed")),
    "91110105MA02YH3Q27": ((9, "approved"), (8, "withdrawn"), (7, "pending_confirm")),
}


def _seed_declarations(
    conn: sqlite3.Connection, data_dir: Path, b: EInfo, library: RateLibrary,
    vat: dict[str, Decimal], now: datetime,
) -> None:  # fmt: skip
    """Formal declarations in several states, each on customs entries of its own."""
    d = b.demo
    ent = Enterprise(d.taxpayer_id, d.customs_code, d.name, d.kind, d.management_class)  # type: ignore[arg-type]
    today = now.date()
    for back, state in _DECLARED.get(d.taxpayer_id, ()):
        y, m = _month(today, back)
        period = f"{y:04d}{m:02d}"
        first, first_invoice = len(b.customs), len(b.invoices)
        entry = b.entry_no(y)
        for item in range(1, 6):
            b.line(entry, item, date(y, m, 6), b.pool[item * 3 % len(b.pool)])
        # the entry's last item stays undeclared: real data for BGD_HISTORY
        own = b.customs[first:-1]
        own_invoices = b.invoices[first_invoice:]
        decl_id = decls.new_id()
        stored = f"{decl_id}.zip"
        path = decls.packages_dir(data_dir) / stored
        generate_package(
            path, enterprise=ent, customs=own, invoices=own_invoices, rates=library,
            exchange_rates=b.usd_cny, vat_returns=vat, period=period, today=today,
        )  # fmt: skip
        pkg = open_package(path)
        ref = ReferenceData(
            ent, today, library, customs={(c.entry_no, c.item_no): c for c in own},
            invoices={i.voucher_no: i for i in own_invoices}, vat_returns=vat,
            exchange_rates=b.usd_cny,
        )  # fmt: skip
        lines: list[LineResult] = []
        result = audit_package(pkg, ref, stage="formal", on_line=lines.append)
        at = now - timedelta(days=30 * back - 20)
        decls.insert(
            conn, decl_id=decl_id, taxpayer_id=d.taxpayer_id, stage="formal", pkg=pkg,
            file_name=f"{d.taxpayer_id}_{pkg.manifest.sbywbm}_{period}_001.zip",
            stored_name=stored, status="pending_confirm",
            uploaded_at=clock.iso(at),
        )  # fmt: skip
        row = conn.execute("SELECT * FROM declarations WHERE id = ?", (decl_id,)).fetchone()
        claims = decls.invoice_claims(pkg) if d.kind == "trader" else []
        decls.store_result(conn, row, result, lines, claims, status=state, audit_seconds=None)
        _set_state_times(conn, decl_id, state, at)


def _set_state_times(conn: sqlite3.Connection, decl_id: str, state: str, at: datetime) -> None:
    hour = timedelta(hours=1)
    times = {
        "confirmed_at": at + hour if state not in ("pending_confirm", "withdrawn") else None,
        "accepted_at": at + 26 * hour if state in ("accepted", "approved", "refused") else None,
        "approved_at": at + 72 * hour if state == "approved" else None,
        "refused_at": at + 72 * hour if state == "refused" else None,
        "withdrawn_at": at + 2 * hour if state == "withdrawn" else None,
    }
    conn.execute(
        "UPDATE declarations SET confirmed_at = ?, accepted_at = ?, approved_at = ?,"
        " refused_at = ?, withdrawn_at = ?, audited_at = ? WHERE id = ?",
        (*(clock.iso(t) if t else None for t in times.values()), clock.iso(at), decl_id),
    )
    if state == "approved":
        conn.execute(
            "UPDATE declaration_lines SET approved = 1 - blocking,"
            " approved_refund = CASE WHEN blocking THEN '0.00' ELSE declared_refund END"
            " WHERE declaration_id = ?",
            (decl_id,),
        )
        conn.execute(
            "UPDATE declarations SET approved_refund = declared_refund WHERE id = ?", (decl_id,)
        )
    if state == "refused":
        conn.execute(
            "UPDATE declarations SET refuse_reason = ? WHERE id = ?",
            ("出口货物报关单电子信息与申报数据不符，经审核不予退税。", decl_id),
        )


# ---------------------------------------------------------------- entry points


def is_seeded(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = 'seeded_at'").fetchone() is not None


def seed(conn: sqlite3.Connection, data_dir: Path, now: datetime) -> None:
    """Seed an empty database with the demo data, in one transaction."""
    today = now.date()
    decls.packages_dir(data_dir).mkdir(parents=True, exist_ok=True)
    y, m = _month(today, 3)
    rows = synthesize_rate_rows(adjusted_on=date(y, m, 1))
    library = RateLibrary(rows, RATE_LIBRARY_VERSION)
    usd_cny = _exchange_rates(today)
    with db.transaction(conn):
        conn.executemany(
            "INSERT INTO rate_rows (commodity_code, name, category, unit, vat_rate, refund_rate,"
            " valid_from, valid_to, special_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (r.commodity_code, r.name, r.category, r.unit,
                 ",".join(str(v) for v in r.vat_rates), str(r.refund_rate),
                 r.valid_from.isoformat(), r.valid_to.isoformat(), r.special_flag)
                for r in rows
            ),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO rate_meta (id, version, published_at, commodity_code_version)"
            " VALUES (1, ?, ?, ?)",
            (RATE_LIBRARY_VERSION, RATE_LIBRARY_PUBLISHED_AT, COMMODITY_CODE_VERSION),
        )
        conn.executemany(
            "INSERT INTO exchange_rates (period, usd_cny) VALUES (?, ?)",
            ((p, f"{r:.4f}") for p, r in usd_cny.items()),
        )
        for d in DEMOS:
            _insert_enterprise(conn, d, today)
            if d.taxpayer_id not in _DECLARED:
                continue
            b = _build_einfo(d, library, rows, usd_cny, today)
            vat = _vat_returns(b, today) if d.kind == "manufacturer" else {}
            conn.executemany(
                "INSERT INTO vat_returns (taxpayer_id, period, closing_credit) VALUES (?, ?, ?)",
                ((d.taxpayer_id, p, f"{c:.2f}") for p, c in vat.items()),
            )
            _seed_declarations(conn, data_dir, b, library, vat, now)
            _insert_einfo(conn, d.taxpayer_id, b.customs, b.invoices)
        if importlib.util.find_spec("server_stub.services_seed") is not None:
            from server_stub import services_seed

            services_seed.seed(conn, now)
        conn.execute("INSERT INTO meta (key, value) VALUES ('seeded_at', ?)", (clock.iso(now),))


def _insert_enterprise(conn: sqlite3.Connection, d: Demo, today: date) -> None:
    conn.execute(
        "INSERT INTO enterprises (taxpayer_id, credit_code, customs_code, name, kind,"
        " management_class, state, filing_date, filing_is_today, tax_office, tax_office_phone,"
        " bank_name, bank_account, contact_name, contact_phone, sections, feedback_key_id,"
        " feedback_key, password_hash, must_change_password)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            d.taxpayer_id, d.taxpayer_id, d.customs_code, d.name, d.kind, d.management_class,
            d.state, None if d.filing_is_today else "2019-06-18", int(d.filing_is_today),
            _office(d), d.office_phone, d.bank_name, d.bank_account, d.contact_name,
            d.contact_phone, json.dumps(_sections(d, today), ensure_ascii=False),
            "k" + secrets.token_hex(6), secrets.token_urlsafe(36),
            auth.hash_password(auth.initial_password(d.bank_account)),
        ),
    )  # fmt: skip


def bulk(conn: sqlite3.Connection, taxpayer_id: str, einfo_lines: int, declared_lines: int) -> None:
    """Bulk e-info (spread over the last six months) and approved declared detail lines."""
    today = clock.today()
    d = next(x for x in DEMOS if x.taxpayer_id == taxpayer_id)
    library = einfo.rate_library(conn)
    rows = [r for code in library.codes() for r in library.rows(code)]
    usd_cny = _exchange_rates(today)
    b = EInfo(d, library, _pool(library, rows, d.chapters, date(today.year - 4, 1, 1)), usd_cny,
              random.Random(f"bulk{taxpayer_id}{einfo_lines}"))  # fmt: skip
    b.serial = 500_000_000 + int(conn.execute("SELECT count(*) FROM customs").fetchone()[0])
    b.invoice_serial = 50_000_000 + int(conn.execute("SELECT count(*) FROM invoices").fetchone()[0])
    per_month = -(-einfo_lines // EINFO_MONTHS)
    for back in range(EINFO_MONTHS, 0, -1):
        y, m = _month(today, back)
        while len(b.customs) < min(einfo_lines, per_month * (EINFO_MONTHS - back + 1)):
            entry = b.entry_no(y)
            day = date(y, m, b.rng.randint(1, _last_day(y, m)))
            for item in range(1, 4):
                if len(b.customs) < einfo_lines:
                    b.line(entry, item, day, b.rng.choice(b.pool))
    with db.transaction(conn):
        _insert_einfo(conn, taxpayer_id, b.customs, b.invoices)
        _bulk_declared(conn, b, declared_lines, today)


BULK_LINES_PER_DECLARATION = 10_000


def _bulk_lines(
    b: EInfo, decl_id: str, period: str, batch: str, first: int, count: int, table: str
) -> tuple[list[tuple[object, ...]], Decimal]:
    """``count`` approved detail lines of one bulk declaration, and their refund total."""
    d, rng = b.demo, b.rng
    out: list[tuple[object, ...]] = []
    total = Decimal(0)
    for i in range(count):
        r = b.pool[(first + i) % len(b.pool)]
        fob = Decimal(rng.randint(1000, 5_000_000)) / 100
        refund = _q2(fob * Decimal("7.1") * r.refund_rate)
        total += refund
        entry = f"{d.customs_code[:4]}{period[:4]}0{700_000_000 + (first + i) // 3:09d}"
        out.append(
            (
                decl_id,
                d.taxpayer_id,
                period,
                batch,
                f"{i + 1:06d}",
                table,
                entry,
                i % 3 + 1,
                r.commodity_code,
                r.name,
                r.unit,
                str(rng.randint(1, 500)),
                f"{fob:.2f}",
                str(r.refund_rate),
                f"{refund:.2f}",
                0,
                1,
                f"{refund:.2f}",
            )
        )
    return out, total


def _bulk_declared(conn: sqlite3.Connection, b: EInfo, total: int, today: date) -> None:
    """Approved formal declarations holding ``total`` detail lines, 13–36 months back."""
    d = b.demo
    code, name, table = (
        ("A0305001", "生产企业免抵退税申报", "mdt_ckmx")
        if d.kind == "manufacturer"
        else ("A0301001", "外贸企业免退税申报", "mts_ckmx")
    )
    made = n = 0
    while made < total:
        count = min(BULK_LINES_PER_DECLARATION, total - made)
        y, m = _month(today, 13 + n % 24)
        period, batch = f"{y:04d}{m:02d}", f"{900 + n // 24:03d}"
        decl_id = decls.new_id()
        at = clock.iso(datetime(y, m, 20, 10, 0, tzinfo=clock.SHANGHAI))
        lines, refund = _bulk_lines(b, decl_id, period, batch, made, count, table)
        conn.execute(
            "INSERT INTO declarations (id, taxpayer_id, stage, business_code, business_name,"
            " period, batch, file_name, size, sha256, stored_name, uploaded_at, record_count,"
            " status, result, doubt_total, doubt_blocking, declared_refund, approved_refund,"
            " confirmed_at, accepted_at, approved_at, audited_at)"
            " VALUES (?, ?, 'formal', ?, ?, ?, ?, ?, 0, ?, '', ?, ?, 'approved', 0, 0, 0, ?, ?,"
            " ?, ?, ?, ?)",
            (
                decl_id,
                d.taxpayer_id,
                code,
                name,
                period,
                batch,
                f"{d.taxpayer_id}_{code}_{period}_{batch}.zip",
                secrets.token_hex(32),
                at,
                count,
                f"{refund:.2f}",
                f"{refund:.2f}",
                at,
                at,
                at,
                at,
            ),
        )
        conn.executemany(
            "INSERT INTO declaration_lines (declaration_id, taxpayer_id, period, batch, seq, tbl,"
            " entry_no, item_no, commodity_code, commodity_name, unit, quantity, fob_usd,"
            " refund_rate, declared_refund, blocking, approved, approved_refund, formal)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            lines,
        )
        made += count
        n += 1


def seed_data_dir(data_dir: Path, now: datetime) -> None:
    """Create the database of ``data_dir`` and seed it unless already seeded."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    conn = db.connect(data_dir)
    try:
        db.apply_schema(conn)
        if not is_seeded(conn):
            seed(conn, data_dir, now)
    finally:
        conn.close()
