"""Realistic declaration packages from the e-info, for demos, tests and benchmarks.

A generated package audits with result 0 against the same e-info, unless ``inject`` asks
for doubts: each injected code goes on its own row(s). Some injections cannot help
raising a second doubt on the same row; ``CO_OCCURRING`` lists them.

Which lines are taken: lines not declared before (no ``*_so_far``, and no other item of
their entry declared), exported on or before the end of ``period``, not older than 36
months, with a library row on the export date — first the period's own lines, then the
earlier months' newest first. ``rows=None`` takes all of the period's own lines; more
rows than there are lines is an error (the platform seeds enough e-info for big
packages). A 外贸企业's export line is joined (by 关联号) to unused invoices of the same
commodity whose quantities cover it and whose tax rate is not below the refund rate; a
line without such invoices is skipped. A month without an exchange rate computes
人民币离岸价 at ``DEFAULT_USD_CNY`` (the audit skips ``RMB_CALC`` for that month).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from .amounts import money, mts_line_refund, round_money
from .audit import EXPIRY_MONTHS, JLJG_TRADE_MODES, _months_back
from .businesses import Business, get_business
from .package import period_end, write_package
from .reference import CustomsLine, Enterprise, Invoice, RateLibrary, RateRow
from .validators import is_valid_taxpayer_id

DEFAULT_USD_CNY = Decimal("7.1000")
OLD_SOFTWARE = "出口退税申报系统 1.0.0"  # older than any 申报系统 in the 下载专区
AGENT_PRINCIPAL = "91350100M000100Y43"  # 委托方 of generated 代理出口 lines

_EXPORT_CODES = frozenset(
    {
        "BGD_FORMAT", "BGD_WDZXX", "BGD_SPDM", "BGD_CKRQ", "BGD_USD_RANGE", "BGD_CKSL_OVER",
        "BGD_REPEAT", "SPDM_NOT_IN_LIB", "TSL_MISMATCH", "DW_MISMATCH", "CKRQ_EXPIRED",
        "CKRQ_AFTER_SSQ", "FS_NO_HZCJ", "RQ_FUTURE", "SCRJ_OLD",
    }
)  # fmt: skip
APPLICABLE: dict[str, frozenset[str]] = {
    "A0305001": _EXPORT_CODES | {"ZSSL_MISMATCH", "RMB_CALC", "JLJG_NO_SCH", "HZ_QMLDSE_DIFF"},
    "A0301001": _EXPORT_CODES
    | {"FP_NOT_FOUND", "FP_SELLER", "FP_AMOUNT_OVER", "TSE_CALC", "GLH_ORPHAN", "SL_EXCEEDS_JH"},
    "A0201001": frozenset({"BGD_FORMAT", "BGD_WDZXX", "FS_NO_HZCJ", "WTF_NSRSBH", "SCRJ_OLD"}),
    "A0201004": frozenset({"BGD_FORMAT", "BGD_WDZXX", "FS_NO_HZCJ", "SCRJ_OLD"}),
    "A0202001": frozenset({"BGD_FORMAT", "BGD_WDZXX", "FS_NO_HZCJ", "SCRJ_OLD"}),
    "A0404001": frozenset({"BGD_FORMAT", "BGD_WDZXX", "FS_NO_HZCJ", "RQ_FUTURE", "SCRJ_OLD"}),
    "A0404002": frozenset({"BGD_FORMAT", "BGD_WDZXX", "SCRJ_OLD"}),
    # peripheral businesses whose rows do not come from the e-info (see _free_row)
    "A0409004": frozenset({"RQ_FUTURE", "SCRJ_OLD"}),
    "A0102001": frozenset({"SCRJ_OLD"}),
    "A0410002": frozenset({"SCRJ_OLD"}),
}
INJECTABLE: frozenset[str] = frozenset().union(*APPLICABLE.values())
# The other doubts an injected code brings with it, by business: a code on the other
# columns changes what the e-info comparison sees.
CO_OCCURRING: dict[tuple[str, str], frozenset[str]] = {
    ("A0305001", "SPDM_NOT_IN_LIB"): frozenset({"BGD_SPDM"}),
    ("A0301001", "SPDM_NOT_IN_LIB"): frozenset({"BGD_SPDM"}),
    ("A0305001", "RQ_FUTURE"): frozenset({"BGD_CKRQ", "CKRQ_AFTER_SSQ"}),
}


@dataclass
class _Group:
    """One export line and, for a 外贸企业, the invoices that cover it."""

    line: CustomsLine
    invoices: list[Invoice] = field(default_factory=list)


@dataclass
class _Ctx:
    enterprise: Enterprise
    business: Business
    rates: RateLibrary
    exchange_rates: Mapping[str, Decimal]
    customs_keys: set[tuple[str, int]]
    invoice_keys: set[str]
    period: str
    today: date


def _fmt(x: Decimal) -> str:
    return format(x.normalize(), "f") if x == x.to_integral() else format(x, "f")


def _rate_str(x: Decimal) -> str:
    return format(x.normalize(), "f")


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def _ckbgdh(line: CustomsLine) -> str:
    return f"{line.entry_no}0{line.item_no:02d}"


def _library(ctx: _Ctx, line: CustomsLine) -> RateRow:
    row = ctx.rates.lookup(line.commodity_code, line.export_date)
    assert row is not None  # pools only hold lines with a library row
    return row


def _usd_cny(ctx: _Ctx, d: date) -> Decimal:
    return ctx.exchange_rates.get(d.strftime("%Y%m"), DEFAULT_USD_CNY)


# ------------------------------------------------------------------ rows


def _export_row(ctx: _Ctx, seq: int, g: _Group, glh: str) -> dict[str, str]:
    line = g.line
    lib = _library(ctx, line)
    row = {"sbxh": f"{seq:04d}"}
    if ctx.business.main_table == "mdt_ckmx":
        jljg = line.trade_mode in JLJG_TRADE_MODES
        row.update(
            ckfph=f"{ctx.period}{seq:06d}",
            ckbgdh=_ckbgdh(line),
            ckrq=_ymd(line.export_date),
            cksp_dm=line.commodity_code,
            sbhgspmc=line.commodity_name,
            hgjldwmc=line.unit,
            cksl=_fmt(line.quantity),
            mylaj=money(line.fob_usd),
            rmblaj=money(line.fob_usd * _usd_cny(ctx, line.export_date)),
            zssl=_rate_str(lib.vat_rates[0]),
            tsl=_rate_str(lib.refund_rate),
            jljgszch=f"C{int(line.entry_no[-11:]):011d}" if jljg else "",
            tzhjhfpl=f"0.{3 + line.item_no % 4}" if jljg else "",
            cktmsywlxdmjh="",
            bz="",
        )
    else:
        row.update(
            glh=glh,
            ckbgdh=_ckbgdh(line),
            ckrq=_ymd(line.export_date),
            cksp_dm=line.commodity_code,
            sbhgspmc=line.commodity_name,
            hgjldwmc=line.unit,
            cksl=_fmt(line.quantity),
            mylaj=money(line.fob_usd),
            tsl=_rate_str(lib.refund_rate),
            bz="",
        )
    return row


def _purchase_row(ctx: _Ctx, seq: int, glh: str, inv: Invoice, lib: RateRow) -> dict[str, str]:
    amount = inv.amount - inv.declared_amount_so_far
    return {
        "sbxh": f"{seq:04d}",
        "glh": glh,
        "jhpzh": inv.voucher_no,
        "kprq": _ymd(inv.issue_date),
        "ghfnsrsbh": inv.seller_taxpayer_id,
        "cksp_dm": inv.commodity_code,
        "spmc": inv.commodity_name,
        "jldw": inv.unit,
        "sl": _fmt(inv.quantity),
        "jsje": money(amount),
        "zssl": _rate_str(inv.tax_rate),
        "tsl": _rate_str(lib.refund_rate),
        "tse": money(mts_line_refund(amount, lib.refund_rate, inv.tax_rate)),
    }


def _certificate_row(ctx: _Ctx, seq: int, g: _Group) -> dict[str, str]:
    line = g.line
    common = {"sbxh": f"{seq:04d}", "ckbgdh": _ckbgdh(line)}
    table = ctx.business.main_table
    if table == "dz_dlck":
        return {
            **common,
            "wtfnsrsbh": AGENT_PRINCIPAL,
            "wtfmc": "委托出口企业",
            "cksp_dm": line.commodity_code,
            "cksl": _fmt(line.quantity),
            "mylaj": money(line.fob_usd),
            "bz": "",
        }
    if table in ("dz_znx", "dz_bb"):
        return {**common, "cksp_dm": line.commodity_code, "cksl": _fmt(line.quantity)}
    if table == "zb_cksh":
        received = min(line.export_date + timedelta(days=30), ctx.today)
        return {**common, "shrq": _ymd(received), "bz_dm": "USD", "shje": money(line.fob_usd)}
    return {**common, "yydm": "01", "zmcl": "", "bz": ""}  # zb_bnsh


_CHANGES = (  # 备案变更: (变更项目, 变更前, 变更后)
    ("联系电话", "010-62345678", "010-62349999"),
    ("退税开户银行账号", "0200001009200012345", "0200001009200067890"),
    ("办税人员", "张明", "李华"),
)


def _free_row(ctx: _Ctx, seq: int) -> dict[str, str]:
    """A row of a peripheral business that does not come from the e-info."""
    table = ctx.business.main_table
    row = {"sbxh": f"{seq:04d}"}
    if table == "zb_babg":
        item, before, after = _CHANGES[(seq - 1) % len(_CHANGES)]
        row.update(bgxm=item, bgq=before, bgh=after)
    elif table == "zb_chsb":
        own = "A0305001" if ctx.enterprise.kind == "manufacturer" else "A0301001"
        row.update(
            chsbywbm=own, chssq=ctx.period, chsbpc=f"{seq:03d}", yy="申报数据有误，撤回后重新申报"
        )
    else:  # zb_fqts: 放弃退(免)税 from the first day of the period
        row.update(fqlx="3", qsrq=f"{ctx.period}01", yy="企业经营调整，放弃出口退(免)税")
    return row


def _free_rows(ctx: _Ctx, n: int, inject: Collection[str]) -> Iterator[dict[str, str]]:
    for seq in range(1, n + 1):
        row = _free_row(ctx, seq)
        if seq == 1 and "RQ_FUTURE" in inject:
            _set_future(ctx, row, None)
        yield row


_FREE_TABLES = frozenset({"zb_babg", "zb_chsb", "zb_fqts"})


# ------------------------------------------------------------------ picking lines


def _eligible(
    ctx: _Ctx, customs: Sequence[CustomsLine]
) -> tuple[list[CustomsLine], list[CustomsLine], list[CustomsLine]]:
    """(usable lines in preference order, expired lines, lines exported after the period)."""
    declared = {
        c.entry_no for c in customs if c.declared_quantity_so_far or c.declared_fob_usd_so_far
    }
    end = period_end(ctx.period)
    cutoff = _months_back(ctx.today, EXPIRY_MONTHS)
    usable: list[CustomsLine] = []
    expired: list[CustomsLine] = []
    after: list[CustomsLine] = []
    for c in customs:
        if c.entry_no in declared or c.export_date > ctx.today:
            continue
        if ctx.rates.lookup(c.commodity_code, c.export_date) is None:
            continue
        if c.export_date > end:
            after.append(c)
        elif c.export_date < cutoff:
            expired.append(c)
        else:
            usable.append(c)

    def order(c: CustomsLine) -> tuple[int, int, str, int]:
        own = c.export_date.strftime("%Y%m") == ctx.period
        return (
            0 if own else 1,
            -c.export_date.toordinal() if not own else 0,
            c.entry_no,
            c.item_no,
        )

    usable.sort(key=order)
    expired.sort(key=lambda c: (c.export_date, c.entry_no, c.item_no))
    after.sort(key=lambda c: (c.export_date, c.entry_no, c.item_no))
    return usable, expired, after


class _Matcher:
    """Joins export lines to unused invoices of the same commodity (外贸企业)."""

    def __init__(self, ctx: _Ctx, invoices: Sequence[Invoice]) -> None:
        self.ctx = ctx
        self.by_code: dict[str, list[Invoice]] = {}
        for inv in sorted(invoices, key=lambda i: (i.issue_date, i.voucher_no)):
            if inv.amount - inv.declared_amount_so_far > 0 and inv.quantity > 0:
                self.by_code.setdefault(inv.commodity_code, []).append(inv)
        self.used: set[str] = set()

    def group(self, line: CustomsLine) -> _Group | None:
        lib = _library(self.ctx, line)
        chosen: list[Invoice] = []
        qty = Decimal(0)
        for inv in self.by_code.get(line.commodity_code, ()):
            if inv.voucher_no in self.used or inv.tax_rate < lib.refund_rate:
                continue
            chosen.append(inv)
            qty += inv.quantity
            if qty >= line.quantity:
                self.used.update(i.voucher_no for i in chosen)
                return _Group(line, chosen)
        return None


def _groups(
    ctx: _Ctx, lines: list[CustomsLine], n: int | None, matcher: _Matcher | None
) -> list[_Group]:
    out: list[_Group] = []
    for line in lines:
        if n is not None and len(out) >= n:
            break
        g = _Group(line) if matcher is None else matcher.group(line)
        if g is not None:
            out.append(g)
    return out


# ------------------------------------------------------------------ injections

Patch = Callable[["_Ctx", dict[str, str], _Group], None]


def _set_entry_format(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["ckbgdh"] = row["ckbgdh"][:18] + "1" + row["ckbgdh"][19:]


def _set_no_einfo(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    item = next(i for i in range(99, 0, -1) if (g.line.entry_no, i) not in ctx.customs_keys)
    row["ckbgdh"] = f"{g.line.entry_no}0{item:02d}"


def _set_other_code(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    lib = _library(ctx, g.line)
    for code in ctx.rates.codes():
        other = ctx.rates.lookup(code, g.line.export_date)
        if (
            code != g.line.commodity_code
            and len(code) == 10
            and other is not None
            and other.refund_rate == lib.refund_rate
            and lib.vat_rates[0] in other.vat_rates
        ):
            row["cksp_dm"] = code
            return
    raise ValueError("退税率文库中找不到可替换的商品代码，无法注入BGD_SPDM")


def _set_other_date(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    d, lib = g.line.export_date, _library(ctx, g.line)
    for delta in (-1, 1, -2, 2, -3, 3):
        new = d + timedelta(days=delta)
        if (
            new.month == d.month
            and new <= min(ctx.today, period_end(ctx.period))
            and ctx.rates.lookup(g.line.commodity_code, new) is lib
        ):
            row["ckrq"] = _ymd(new)
            return
    raise ValueError("无法为BGD_CKRQ找到合适的出口日期")


def _set_usd(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    fob = round_money(g.line.fob_usd * Decimal("1.1") + 2)
    row["mylaj"] = money(fob)
    if "rmblaj" in row:
        row["rmblaj"] = money(fob * _usd_cny(ctx, g.line.export_date))


def _set_qty_over(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["cksl"] = _fmt(g.line.quantity + 1)


def _set_not_in_lib(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["cksp_dm"] = next(
        c for c in (f"99{n:08d}" for n in range(99999999, 0, -1)) if c not in ctx.rates
    )


def _set_tsl(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    current = _library(ctx, g.line).refund_rate
    row["tsl"] = next(r for r in ("0.05", "0.06") if Decimal(r) != current)


def _set_zssl(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    vat = _library(ctx, g.line).vat_rates
    row["zssl"] = next(r for r in ("0.17", "0.16") if Decimal(r) not in vat)


def _set_unit(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["hgjldwmc"] = "千克" if g.line.unit != "千克" else "个"


def _set_rmb(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["rmblaj"] = money(Decimal(row["rmblaj"]) * Decimal("1.05") + 1)


def _set_no_manual(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["jljgszch"] = row["tzhjhfpl"] = ""


def _set_negative(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    for col in ("cksl", "mylaj", "rmblaj", "shje"):
        if col in row:
            row[col] = "-" + row[col]


def _set_future(ctx: _Ctx, row: dict[str, str], g: _Group | None) -> None:
    for col in ("kprq", "ckrq", "shrq", "qsrq"):
        if col in row:
            row[col] = _ymd(ctx.today + timedelta(days=1))
            return


def _set_voucher(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    prefix = row["jhpzh"][:-8]
    row["jhpzh"] = next(
        v for v in (f"{prefix}{n:08d}" for n in range(99999999, 0, -1)) if v not in ctx.invoice_keys
    )


def _set_seller(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["ghfnsrsbh"] = next(
        s for s in ("91350100M000100Y43", "9144030071526726XG") if s != row["ghfnsrsbh"]
    )


def _set_amount_over(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    amount = Decimal(row["jsje"]) + 100
    row["jsje"] = money(amount)
    row["tse"] = money(mts_line_refund(amount, Decimal(row["tsl"]), Decimal(row["zssl"])))


def _set_tse(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["tse"] = money(Decimal(row["tse"]) + 1)


def _set_principal(ctx: _Ctx, row: dict[str, str], g: _Group) -> None:
    row["wtfnsrsbh"] = "91310000MA1FL5LK2B"
    assert not is_valid_taxpayer_id(row["wtfnsrsbh"])


# code → (which row of the group it patches: "export" | "purchase", the patch)
_PATCHES: dict[str, tuple[str, Patch]] = {
    "BGD_FORMAT": ("export", _set_entry_format),
    "BGD_WDZXX": ("export", _set_no_einfo),
    "BGD_SPDM": ("export", _set_other_code),
    "BGD_CKRQ": ("export", _set_other_date),
    "BGD_USD_RANGE": ("export", _set_usd),
    "BGD_CKSL_OVER": ("export", _set_qty_over),
    "SPDM_NOT_IN_LIB": ("export", _set_not_in_lib),
    "TSL_MISMATCH": ("export", _set_tsl),
    "ZSSL_MISMATCH": ("export", _set_zssl),
    "DW_MISMATCH": ("export", _set_unit),
    "RMB_CALC": ("export", _set_rmb),
    "JLJG_NO_SCH": ("export", _set_no_manual),
    "FS_NO_HZCJ": ("export", _set_negative),
    "RQ_FUTURE": ("export", _set_future),
    "FP_NOT_FOUND": ("purchase", _set_voucher),
    "FP_SELLER": ("purchase", _set_seller),
    "FP_AMOUNT_OVER": ("purchase", _set_amount_over),
    "TSE_CALC": ("purchase", _set_tse),
    "WTF_NSRSBH": ("export", _set_principal),
}
_TRADER_PURCHASE_SIDE = frozenset({"RQ_FUTURE"})  # a future 开票日期 raises nothing else
# Codes handled by the whole group rather than a column patch.
_GROUP_CODES = frozenset(
    {"BGD_REPEAT", "CKRQ_EXPIRED", "CKRQ_AFTER_SSQ", "GLH_ORPHAN", "SL_EXCEEDS_JH"}
)


def _repeat_pair(ctx: _Ctx, groups: list[_Group], free: list[int]) -> tuple[int, int]:
    """(source, later target) for BGD_REPEAT. A 外贸企业's target keeps its invoices,
    so the source's refund rate must not exceed their tax rates (else FP_RATE_LOW)."""
    ordered = sorted(free)
    for t in reversed(ordered):
        lowest = min((i.tax_rate for i in groups[t].invoices), default=None)
        for s in ordered:
            if s >= t:
                break
            if lowest is None or _library(ctx, groups[s].line).refund_rate <= lowest:
                return s, t
    raise ValueError("找不到可用于注入BGD_REPEAT的两行")


@dataclass
class _Plan:
    """Which group index gets which injected code."""

    codes: dict[int, str] = field(default_factory=dict)
    repeat_source: int | None = None


def _plan(
    ctx: _Ctx,
    groups: list[_Group],
    row_codes: list[str],
    rng: random.Random,
    special: Mapping[str, list[_Group]],
) -> _Plan:
    plan = _Plan()
    need = len(row_codes) + (1 if "BGD_REPEAT" in row_codes else 0)
    if need > len(groups):
        raise ValueError(f"行数{len(groups)}不足以注入{len(row_codes)}种疑点，请增加行数")
    free = list(range(len(groups)))
    rng.shuffle(free)
    if "JLJG_NO_SCH" in row_codes:
        target = next((i for i in free if groups[i].line.trade_mode in JLJG_TRADE_MODES), None)
        if target is None:
            if not special["JLJG_NO_SCH"]:
                raise ValueError("电子信息中没有进料加工的报关单，无法注入JLJG_NO_SCH")
            target = free[0]
            groups[target] = special["JLJG_NO_SCH"][0]
        free.remove(target)
        plan.codes[target] = "JLJG_NO_SCH"
    for code in row_codes:
        if code == "JLJG_NO_SCH":
            continue
        target = free.pop()
        if code == "BGD_REPEAT":
            pool = [*free, target]
            source, target = _repeat_pair(ctx, groups, pool)
            free = [i for i in pool if i not in (source, target)]
            plan.repeat_source = source
        elif code in ("CKRQ_EXPIRED", "CKRQ_AFTER_SSQ"):
            if not special[code]:
                raise ValueError(f"电子信息中没有可用于注入{code}的报关单")
            groups[target] = special[code][0]
        plan.codes[target] = code
    return plan


# ------------------------------------------------------------------ the generator


def generate_package(
    out: Path,
    *,
    enterprise: Enterprise,
    customs: Sequence[CustomsLine],
    invoices: Sequence[Invoice],
    rates: RateLibrary,
    exchange_rates: Mapping[str, Decimal],
    vat_returns: Mapping[str, Decimal],
    period: str,
    rows: int | None = None,
    inject: Collection[str] = (),
    batch: str = "001",
    business_code: str | None = None,
    software: str = "出口退税申报系统 2.0.0",
    today: date | None = None,
    seed: int = 0,
    summary: bool = False,
) -> Path:
    """Write a package of ``enterprise``'s kind from the e-info of ``period``.

    ``out`` is the file, or a folder to put ``{nsrsbh}_{sbywbm}_{ssq}_{sbpc}.zip`` in.
    ``summary`` adds the optional 汇总 table ``mdt_hz`` (injecting HZ_QMLDSE_DIFF does too).
    """
    code = business_code or ("A0305001" if enterprise.kind == "manufacturer" else "A0301001")
    business = get_business(code)
    if business is None or code not in APPLICABLE:
        raise ValueError(f"不支持生成业务{code}的数据包")
    if enterprise.kind not in business.kinds:
        raise ValueError(f"{enterprise.name}不能申报业务{code}")
    unknown = set(inject) - APPLICABLE[code]
    if unknown:
        raise ValueError(f"业务{code}无法注入疑点：{'、'.join(sorted(unknown))}")
    today = today or date.today()
    ctx = _Ctx(
        enterprise, business, rates, exchange_rates,
        {(c.entry_no, c.item_no) for c in customs}, {i.voucher_no for i in invoices},
        period, today,
    )  # fmt: skip
    if Path(out).is_dir():
        out = Path(out) / f"{enterprise.taxpayer_id}_{code}_{period}_{batch}.zip"
    manifest = {
        "nsrsbh": enterprise.taxpayer_id,
        "hgdm": enterprise.customs_code,
        "qymc": enterprise.name,
        "sbywbm": code,
        "ssq": period,
        "sbpc": batch,
        "scrj": OLD_SOFTWARE if "SCRJ_OLD" in inject else software,
        "scsj": f"{today.isoformat()}T09:30:00+08:00",
    }
    if business.main_table in _FREE_TABLES:
        free = {business.main_table: _free_rows(ctx, rows or 1, inject)}
        return write_package(Path(out), manifest, free)
    rng = random.Random(seed)
    usable, expired, after = _eligible(ctx, customs)
    if rows is None:
        usable = [c for c in usable if c.export_date.strftime("%Y%m") == period]
    matcher = _Matcher(ctx, invoices) if business.main_table == "mts_ckmx" else None
    groups = _groups(ctx, usable, rows, matcher)
    if rows is not None and len(groups) < rows:
        raise ValueError(f"所属期{period}及以前可申报的电子信息只有{len(groups)}条，不足{rows}行")
    spare_jljg = [c for c in usable[len(groups) :] if c.trade_mode in JLJG_TRADE_MODES]
    special = {
        "CKRQ_EXPIRED": _groups(ctx, expired, 1, matcher) if "CKRQ_EXPIRED" in inject else [],
        "CKRQ_AFTER_SSQ": _groups(ctx, after, 1, matcher) if "CKRQ_AFTER_SSQ" in inject else [],
        "JLJG_NO_SCH": [_Group(c) for c in spare_jljg[:1]],  # 免抵退 only: no invoices
    }
    row_codes = sorted(set(inject) - {"SCRJ_OLD", "HZ_QMLDSE_DIFF"})
    plan = _plan(ctx, groups, row_codes, rng, special)
    n = len(groups)
    tables: dict[str, Iterator[dict[str, str]]]
    if business.main_table == "mdt_ckmx":
        tables = {"mdt_ckmx": _main_rows(ctx, groups, plan)}
        if summary or "HZ_QMLDSE_DIFF" in inject:
            closing = vat_returns.get(period, Decimal(0))
            if "HZ_QMLDSE_DIFF" in inject:
                closing += 100
            tables["mdt_hz"] = iter([{"sbxh": f"{n + 1:04d}", "qmldse": money(closing)}])
    elif business.main_table == "mts_ckmx":
        tables = {
            "mts_ckmx": _main_rows(ctx, groups, plan),
            "mts_jhmx": _purchase_rows(ctx, groups, plan),
        }
    else:
        tables = {business.main_table: _main_rows(ctx, groups, plan)}
    return write_package(Path(out), manifest, tables)


def _glh(ctx: _Ctx, i: int) -> str:
    return f"{ctx.period}{i + 1:06d}"


def _main_rows(ctx: _Ctx, groups: list[_Group], plan: _Plan) -> Iterator[dict[str, str]]:
    trader = ctx.business.main_table == "mts_ckmx"
    for i, g in enumerate(groups):
        seq = i + 1
        if ctx.business.main_table in ("mdt_ckmx", "mts_ckmx"):
            row = _export_row(ctx, seq, g, _glh(ctx, i))
        else:
            row = _certificate_row(ctx, seq, g)
        code = plan.codes.get(i)
        if code == "BGD_REPEAT":
            assert plan.repeat_source is not None
            source = groups[plan.repeat_source]
            row = {**_export_row(ctx, seq, source, _glh(ctx, i)), "sbxh": row["sbxh"]}
        elif (
            code in _PATCHES
            and _PATCHES[code][0] == "export"
            and not (trader and code in _TRADER_PURCHASE_SIDE)
        ):
            _PATCHES[code][1](ctx, row, g)
        yield row


def _purchase_rows(ctx: _Ctx, groups: list[_Group], plan: _Plan) -> Iterator[dict[str, str]]:
    seq = len(groups)
    for i, g in enumerate(groups):
        code = plan.codes.get(i)
        # a repeated export line carries the source's commodity: price purchases by it
        source = plan.repeat_source
        priced_by = groups[source] if code == "BGD_REPEAT" and source is not None else g
        lib = _library(ctx, priced_by.line)
        glh = _glh(ctx, i) + ("X" if code == "GLH_ORPHAN" else "")
        rows = []
        for inv in g.invoices:
            seq += 1
            row = _purchase_row(ctx, seq, glh, inv, lib)
            row["cksp_dm"] = priced_by.line.commodity_code
            rows.append(row)
        export_qty = g.line.quantity
        if code == "BGD_REPEAT":
            assert plan.repeat_source is not None
            export_qty = groups[plan.repeat_source].line.quantity
        elif code == "BGD_CKSL_OVER":
            export_qty += 1
        _cover(rows, export_qty, code)
        if code in _PATCHES and (_PATCHES[code][0] == "purchase" or code in _TRADER_PURCHASE_SIDE):
            _PATCHES[code][1](ctx, rows[0], g)
        yield from rows


def _cover(rows: list[dict[str, str]], export_qty: Decimal, code: str | None) -> None:
    """Make the purchase quantities cover ``export_qty`` (or fall one short: SL_EXCEEDS_JH)."""
    total = sum((Decimal(r["sl"]) for r in rows), Decimal(0))
    if code == "SL_EXCEEDS_JH":
        short = max(export_qty - 1, Decimal(0))
        rows[0]["sl"] = _fmt(short)
        for r in rows[1:]:
            r["sl"] = "0"
    elif total < export_qty:
        rows[-1]["sl"] = _fmt(Decimal(rows[-1]["sl"]) + export_qty - total)
