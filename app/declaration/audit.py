"""The audit engine (package-format §4): whole-declaration rejects, doubts, amounts.

Every doubt rule is one row of ``RULES``. The engine streams each table once (外贸企业:
the export table a second time, for the rules that need the purchase side) and keeps per
row only the keys the repeat and 关联号 rules need, so memory does not grow with the rows'
content. Reference data (e-info, rate library, VAT returns, earlier declarations) is
passed in, so the client runs the same engine locally.

``LineResult.line_refund`` is a line's contribution to 应退税额 (0 when it carries a
not-passable doubt): for 免抵退 the line's 免抵退税额; for 免退税 the 可退税额 of the
关联号's purchase lines, split onto its export lines in proportion to 美元离岸价 (the last
line takes the rounding remainder, so lines add up to the 关联号's total).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

from .amounts import ZERO, MdtTotals, money, mts_amounts, mts_line_refund, round_money
from .columns import TABLE_COLUMNS
from .package import Package, parse_date, period_end
from .reference import CustomsLine, Invoice, RateRow, ReferenceData
from .validators import is_valid_export_entry_line, is_valid_taxpayer_id

REJECT_CODES: dict[str, str] = {
    "05": "申报所属时期超出合理范围",
    "07": "申报数据为空",
    "08": "企业未进行出口退(免)税备案",
    "09": "备案已撤回",
    "13": "退税停权期间",
    "14": "放弃退(免)税权期间（选择免税）",
    "15": "放弃退(免)税权期间（选择征税）",
    "16": "放弃退(免)税权期间（放弃退(免)税）",
    "20": "业务类型与企业类型不符",
    "52": "发票自检出错",
}
# 企业状态 → reject code (reference.EnterpriseState)
STATE_REJECTS: dict[str, str] = {
    "not_filed": "08",
    "filing_withdrawn": "09",
    "suspended": "13",
    "exempt_choice": "14",
    "tax_choice": "15",
    "waived": "16",
}
JLJG_TRADE_MODES = frozenset({"0615", "0715"})  # 进料加工
EXPIRY_MONTHS = 36
USD_TOLERANCE = Decimal(1)
USD_RATIO = Decimal("0.05")
RMB_RATIO = Decimal("0.01")
DECLARATION = "manifest"  # the pseudo-table of declaration-level doubts

Args = dict[str, str]


# ------------------------------------------------------------------ results


@dataclass
class Doubt:
    seq: str | None
    table: str
    code: str
    level: str
    passable: bool
    object: str
    field: str
    message: str
    hint: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "table": self.table,
            "code": self.code,
            "level": self.level,
            "passable": self.passable,
            "object": self.object,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class LineResult:
    seq: str
    table: str
    entry_no: str
    item_no: int | None
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Decimal
    fob_usd: Decimal
    refund_rate: Decimal
    line_refund: Decimal
    blocking: bool


@dataclass
class AuditResult:
    result: int | None  # 0 无疑点, 1 仅可挑过疑点, 2 有不可挑过疑点; None when rejected
    reject_code: str | None
    reject_text: str | None
    doubts: list[Doubt]
    amounts: dict[str, str] | None
    record_count: int

    @property
    def doubt_counts(self) -> dict[str, int]:
        blocking = sum(1 for d in self.doubts if not d.passable)
        return {
            "total": len(self.doubts),
            "blocking": blocking,
            "overridable": len(self.doubts) - blocking,
        }


# ------------------------------------------------------------------ the row under audit


class _Row:
    """One row and what the rules look at, prepared once."""

    __slots__ = (
        "ckrq", "customs", "entry_no", "entry_ok", "fob", "glh", "hzcj", "invoice", "item_no",
        "line", "qty", "rate", "rate_date", "rmb", "run", "seq", "table", "tsl", "v", "zssl",
    )  # fmt: skip

    def __init__(self, run: _Run, table: str, values: dict[str, str], seq: str = "") -> None:
        self.run = run
        self.table = table
        self.v = values
        self.seq = seq
        self.hzcj = False
        self.entry_ok = False
        self.entry_no = ""
        self.item_no: int | None = None
        self.line: tuple[str, int] | None = None  # (entry_no, item_no) when entry_ok
        self.customs: CustomsLine | None = None
        self.ckrq: date | None = None
        self.rate_date: date | None = None  # the date the library row is picked for
        self.rate: RateRow | None = None
        self.qty: Decimal | None = None
        self.fob: Decimal | None = None
        self.rmb: Decimal | None = None  # 人民币离岸价 (mdt_ckmx)
        self.tsl: Decimal | None = None  # 退税率 (export tables)
        self.zssl: Decimal | None = None  # 征税率 (mdt_ckmx)
        self.invoice: Invoice | None = None
        self.glh: _Glh | None = None


class _Glh:
    """What one 关联号 adds up to on both sides (外贸企业)."""

    __slots__ = (
        "allocated",
        "blocked",
        "export_date",
        "export_fob",
        "export_lines",
        "export_qty",
        "left",
        "purchase_qty",
        "purchases",
        "refund",
        "taxable",
    )  # fmt: skip

    def __init__(self) -> None:
        self.export_date: date | None = None
        self.export_fob = ZERO
        self.export_qty = ZERO
        self.export_lines = 0
        self.blocked = False  # an export line carries a not-passable doubt
        self.purchase_qty = ZERO
        self.purchases = 0
        self.refund = ZERO  # 可退税额 of its purchase lines without not-passable doubts
        self.taxable = ZERO
        self.allocated = ZERO  # refund already split onto export lines
        self.left = 0  # export lines not yet given their share


# ------------------------------------------------------------------ checks


def _bgd_format(r: _Row) -> Args | None:
    return None if r.entry_ok else {"value": r.v["ckbgdh"]}


def _bgd_wdzxx(r: _Row) -> Args | None:
    return {"value": r.v["ckbgdh"]} if r.customs is None else None


def _differs(r: _Row, column: str, expected: str) -> Args:
    return {"entry": r.v["ckbgdh"], "value": r.v[column], "expected": expected}


def _bgd_spdm(r: _Row) -> Args | None:
    c = r.customs
    if c is None or c.commodity_code == r.v["cksp_dm"]:
        return None
    return _differs(r, "cksp_dm", c.commodity_code)


def _bgd_ckrq(r: _Row) -> Args | None:
    c = r.customs
    if c is None or c.export_date == r.ckrq:
        return None
    return _differs(r, "ckrq", c.export_date.strftime("%Y%m%d"))


def _bgd_usd_range(r: _Row) -> Args | None:
    c, fob = r.customs, r.fob
    if c is None or fob is None or fob == c.fob_usd:
        return None
    gap = abs(abs(fob) - c.fob_usd)  # a 红字冲减 row repeats the line's value negated
    if gap > USD_TOLERANCE and gap > c.fob_usd * USD_RATIO:
        return {"entry": r.v["ckbgdh"], "value": r.v["mylaj"], "expected": money(c.fob_usd)}
    return None


def _bgd_cksl_over(r: _Row) -> Args | None:
    c, qty = r.customs, r.qty
    if c is None or qty is None:
        return None
    left = c.quantity - c.declared_quantity_so_far
    return (
        {"entry": r.v["ckbgdh"], "value": r.v["cksl"], "expected": str(left)}
        if qty > left
        else None
    )


def _bgd_repeat(r: _Row) -> Args | None:
    if r.hzcj or not r.entry_ok:
        return None
    run = r.run
    seen = run.seen_lines
    key = int(r.v["ckbgdh"])  # an int is the smallest key to keep per row
    where = None
    if r.line in run.declared_lines:
        where = "已正式申报的数据中"
    elif key in seen:
        where = "本数据包前面的明细中"
    seen.add(key)
    return {"value": r.v["ckbgdh"], "where": where} if where else None


def _bgd_history(r: _Row) -> Args | None:
    ref = r.run.ref  # a 红字冲减 row corrects a declared line on purpose: nothing to confirm
    if r.hzcj or r.entry_no not in ref.declared_entries:
        return None
    return None if r.line in ref.declared_lines else {"value": r.entry_no}


def _spdm_not_in_lib(r: _Row) -> Args | None:
    if r.rate is not None or r.rate_date is None:
        return None
    return {"value": r.v["cksp_dm"], "date": r.rate_date.strftime("%Y%m%d")}


def _tsl_mismatch(r: _Row) -> Args | None:
    rate = r.rate
    if rate is None or r.tsl == rate.refund_rate:
        return None
    return {"code": r.v["cksp_dm"], "value": r.v["tsl"], "expected": str(rate.refund_rate)}


def _zssl_mismatch(r: _Row) -> Args | None:
    rate = r.rate
    if rate is None or r.zssl in rate.vat_rates:
        return None
    expected = ",".join(str(x) for x in rate.vat_rates)
    return {"code": r.v["cksp_dm"], "value": r.v["zssl"], "expected": expected}


def _dw_mismatch(r: _Row) -> Args | None:
    c = r.customs
    if c is None or c.unit == r.v["hgjldwmc"]:
        return None
    return _differs(r, "hgjldwmc", c.unit)


def _ckrq_expired(r: _Row) -> Args | None:
    d = r.ckrq
    return {"value": r.v["ckrq"]} if d is not None and d < r.run.expiry_cutoff else None


def _ckrq_after_ssq(r: _Row) -> Args | None:
    d = r.ckrq
    if d is None or d <= r.run.ssq_end:
        return None
    return {"value": r.v["ckrq"], "ssq": r.run.pkg.manifest.ssq}


def _rmb_calc(r: _Row) -> Args | None:
    fob, rmb = r.fob, r.rmb
    if r.ckrq is None or fob is None or rmb is None:
        return None
    usd_cny = r.run.usd_cny(r.v["ckrq"][:6])
    if usd_cny is None:
        return None  # a month without a rate is not checked
    expected = fob * usd_cny
    if abs(rmb - expected) <= abs(expected) * RMB_RATIO:
        return None
    return {"value": r.v["rmblaj"], "rate": str(usd_cny), "expected": money(expected)}


def _jljg_no_sch(r: _Row) -> Args | None:
    c = r.customs
    if c is None or c.trade_mode not in JLJG_TRADE_MODES or r.v["jljgszch"]:
        return None
    return {"value": r.v["ckbgdh"], "mode": c.trade_mode}


def _fs_no_hzcj(r: _Row) -> Args | None:
    # a checked number can hold "-" only as its sign: one look at the joined values
    if r.hzcj or "-" not in "".join(_NUMBER_VALUES[r.table](r.v)):
        return None
    for col in _NUMBER_COLUMNS[r.table]:
        value = r.v[col]
        if value.startswith("-") and Decimal(value) < 0:
            return {"field": col, "name": _COLUMN_NAMES[r.table][col], "value": value}
    return None


def _rq_future(r: _Row) -> Args | None:
    # open_package let only real YYYYMMDD dates (or "") through: strings order as dates
    today = r.run.today
    for col in _DATE_COLUMNS[r.table]:
        value = r.v[col]
        if value > today:
            return {"field": col, "name": _COLUMN_NAMES[r.table][col], "value": value}
    return None


def _fp_not_found(r: _Row) -> Args | None:
    return {"value": r.v["jhpzh"]} if r.invoice is None else None


def _fp_seller(r: _Row) -> Args | None:
    inv = r.invoice
    if inv is None or inv.seller_taxpayer_id == r.v["ghfnsrsbh"]:
        return None
    return {"voucher": r.v["jhpzh"], "value": r.v["ghfnsrsbh"], "expected": inv.seller_taxpayer_id}


def _fp_amount_over(r: _Row) -> Args | None:
    inv = r.invoice
    if inv is None:
        return None
    used = r.run.invoice_used
    voucher, amount = r.v["jhpzh"], Decimal(r.v["jsje"])
    earlier = used.get(voucher, ZERO)
    used[voucher] = earlier + amount
    left = inv.amount - inv.declared_amount_so_far - earlier
    return (
        {"value": voucher, "amount": r.v["jsje"], "expected": money(left)}
        if amount > left
        else None
    )


def _fp_rate_low(r: _Row) -> Args | None:
    inv = r.invoice
    if inv is None or Decimal(r.v["tsl"]) <= inv.tax_rate:
        return None
    return {"value": r.v["tsl"], "voucher": r.v["jhpzh"], "expected": str(inv.tax_rate)}


def _tse_calc(r: _Row) -> Args | None:
    inv = r.invoice
    if inv is None:
        return None
    expected = mts_line_refund(Decimal(r.v["jsje"]), Decimal(r.v["tsl"]), inv.tax_rate)
    if abs(Decimal(r.v["tse"]) - expected) <= Decimal("0.01"):
        return None
    return {"value": r.v["tse"], "expected": money(expected)}


def _glh_orphan(r: _Row) -> Args | None:
    g = r.glh
    if g is None:
        return None
    if r.table == "mts_ckmx":
        return {"value": r.v["glh"], "side": "出口", "other": "进货"} if not g.purchases else None
    return {"value": r.v["glh"], "side": "进货", "other": "出口"} if not g.export_lines else None


def _sl_exceeds_jh(r: _Row) -> Args | None:
    g = r.glh
    if g is None or not g.purchases or g.export_qty <= g.purchase_qty:
        return None
    return {"value": r.v["glh"], "qty": str(g.export_qty), "expected": str(g.purchase_qty)}


def _vat_not_filed(r: _Row) -> Args | None:
    run = r.run
    if run.pkg.business.code != "A0305001" or run.pkg.manifest.ssq in run.ref.vat_returns:
        return None
    return {"value": run.pkg.manifest.ssq}


def _hz_qmldse_diff(r: _Row) -> Args | None:
    closing = r.run.ref.vat_returns.get(r.run.pkg.manifest.ssq)
    if closing is None or Decimal(r.v["qmldse"]) == closing:
        return None
    return {"value": r.v["qmldse"], "expected": money(closing)}


_VERSION = re.compile(r"(\d+(?:\.\d+)*)\s*$")


def _version(text: str) -> tuple[int, ...] | None:
    m = _VERSION.search(text)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def _scrj_old(r: _Row) -> Args | None:
    current = r.run.ref.current_software_version
    if not current:
        return None
    scrj = r.run.pkg.manifest.scrj
    ours, theirs = _version(scrj), _version(current)
    if theirs is None or (ours is not None and ours >= theirs):
        return None
    return {"value": scrj or "未注明", "expected": current}


def _wtf_nsrsbh(r: _Row) -> Args | None:
    value = r.v["wtfnsrsbh"]
    return None if is_valid_taxpayer_id(value) else {"value": value}


# ------------------------------------------------------------------ the rule table

CheckFn = Callable[[_Row], Args | None]


def _values_of(columns: tuple[str, ...]) -> Callable[[Args], tuple[str, ...]]:
    """A getter of these columns' values as a tuple (itemgetter returns a bare value for one)."""
    if len(columns) == 1:
        return lambda v: (v[columns[0]],)
    return itemgetter(*columns) if columns else lambda v: ()


EXPORT = frozenset({"mdt_ckmx", "mts_ckmx"})
MDT = frozenset({"mdt_ckmx"})
JH = frozenset({"mts_jhmx"})
ENTRY_TABLES = frozenset(
    {"mdt_ckmx", "mts_ckmx", "dz_dlck", "dz_znx", "dz_bb", "zb_cksh", "zb_bnsh"}
)
_NUMBER_COLUMNS = {
    t: tuple(c.code for c in cols if c.kind in ("amount", "quantity"))
    for t, cols in TABLE_COLUMNS.items()
}
_NUMBER_VALUES = {t: _values_of(cols) for t, cols in _NUMBER_COLUMNS.items()}
_DATE_COLUMNS = {
    t: tuple(c.code for c in cols if c.kind == "date") for t, cols in TABLE_COLUMNS.items()
}
_COLUMN_NAMES = {t: {c.code: c.name for c in cols} for t, cols in TABLE_COLUMNS.items()}
_EINFO_RANGE = frozenset(
    {
        "BGD_SPDM", "BGD_CKRQ", "BGD_USD_RANGE", "BGD_CKSL_OVER", "BGD_REPEAT", "BGD_HISTORY",
        "SPDM_NOT_IN_LIB", "TSL_MISMATCH", "ZSSL_MISMATCH", "DW_MISMATCH",
    }
)  # fmt: skip
_WAIT = "电子信息可能尚未传到税务机关，请等待数日后在“出口退税电子信息查询”中确认已到达再申报；"


@dataclass(frozen=True)
class Rule:
    code: str
    level: str  # E 错误 | I 提示
    passable: bool  # 可挑过
    object: str  # 疑点对象
    field: str  # column code; a check may name another in its args ("field")
    message: str  # template over the check's args
    hint: str  # 处理建议
    tables: frozenset[str]
    check: CheckFn
    redundant: frozenset[str] = frozenset()  # later rules of the same row it makes moot
    joined: bool = False  # mts_ckmx: needs the purchase side, checked on a second pass
    declaration: bool = False  # seq null

    @property
    def blocking(self) -> bool:
        return not self.passable


def _rule(
    code: str, level: str, obj: str, field: str, message: str, hint: str,
    tables: frozenset[str], check: CheckFn, **kw: Any,
) -> Rule:  # fmt: skip
    return Rule(code, level, level == "I", obj, field, message, hint, tables, check, **kw)


RULES: tuple[Rule, ...] = (
    _rule(
        "BGD_FORMAT",
        "E",
        "出口报关单",
        "ckbgdh",
        "出口货物报关单号[{value}]格式不正确，应为18位海关编号+0+2位项号（第9位和第19位为0）",
        "请按报关单上的海关编号和项号更正报关单号。",
        ENTRY_TABLES,
        _bgd_format,
        redundant=_EINFO_RANGE | {"BGD_WDZXX"},
    ),
    _rule(
        "BGD_WDZXX",
        "E",
        "出口报关单",
        "ckbgdh",
        "出口货物报关单号[{value}]无电子信息",
        _WAIT + "如报关单号录入有误，请更正后重新申报。",
        ENTRY_TABLES,
        _bgd_wdzxx,
        redundant=_EINFO_RANGE,
    ),
    _rule(
        "BGD_SPDM",
        "E",
        "出口商品",
        "cksp_dm",
        "报关单[{entry}]的商品代码[{value}]与报关单电子信息[{expected}]不符",
        "请按报关单电子信息更正商品代码。",
        EXPORT,
        _bgd_spdm,
    ),
    _rule(
        "BGD_CKRQ",
        "E",
        "出口日期",
        "ckrq",
        "报关单[{entry}]的出口日期[{value}]与报关单电子信息[{expected}]不符",
        "请按报关单电子信息更正出口日期。",
        EXPORT,
        _bgd_ckrq,
    ),
    _rule(
        "BGD_USD_RANGE",
        "E",
        "美元离岸价",
        "mylaj",
        "报关单[{entry}]的美元离岸价[{value}]与报关单电子信息[{expected}]相差超过1美元且超过5%",
        "请按报关单电子信息更正美元离岸价。",
        EXPORT,
        _bgd_usd_range,
    ),
    _rule(
        "BGD_CKSL_OVER",
        "I",
        "出口数量",
        "cksl",
        "报关单[{entry}]的出口数量[{value}]超过电子信息尚可申报的数量[{expected}]",
        "请核对出口数量，已申报过的数量不能重复申报；确认无误可挑过。",
        EXPORT,
        _bgd_cksl_over,
    ),
    _rule(
        "BGD_REPEAT",
        "E",
        "出口报关单",
        "ckbgdh",
        "出口货物报关单号[{value}]已在{where}申报，不能重复申报",
        "请删除重复的明细；如需更正已申报的数据，请用红字冲减（业务类型HZCJ）申报。",
        EXPORT,
        _bgd_repeat,
    ),
    _rule(
        "BGD_HISTORY",
        "I",
        "出口报关单",
        "ckbgdh",
        "报关单[{value}]的其他项号已正式申报，请确认是否重复",
        "请核对该报关单各项号的申报情况；确认不重复可挑过。",
        EXPORT,
        _bgd_history,
    ),
    _rule(
        "SPDM_NOT_IN_LIB",
        "E",
        "出口商品",
        "cksp_dm",
        "商品代码[{value}]在{date}适用的出口退税率文库中不存在",
        "请核对商品代码；如退税率文库不是最新版本，请先更新文库再检查。",
        EXPORT | JH,
        _spdm_not_in_lib,
        redundant=frozenset({"TSL_MISMATCH", "ZSSL_MISMATCH"}),
    ),
    _rule(
        "TSL_MISMATCH",
        "E",
        "退税率",
        "tsl",
        "商品代码[{code}]的退税率[{value}]与出口退税率文库[{expected}]不符",
        "请按出口日期适用的退税率文库更正退税率。",
        EXPORT | JH,
        _tsl_mismatch,
    ),
    _rule(
        "ZSSL_MISMATCH",
        "E",
        "征税率",
        "zssl",
        "商品代码[{code}]的征税率[{value}]不在出口退税率文库的征税率[{expected}]中",
        "请按退税率文库更正征税率。",
        MDT,
        _zssl_mismatch,
    ),
    _rule(
        "DW_MISMATCH",
        "I",
        "计量单位",
        "hgjldwmc",
        "报关单[{entry}]的计量单位[{value}]与报关单电子信息[{expected}]不符",
        "请按报关单的计量单位申报数量；确认无误可挑过。",
        EXPORT,
        _dw_mismatch,
    ),
    _rule(
        "CKRQ_EXPIRED",
        "E",
        "出口日期",
        "ckrq",
        "出口日期[{value}]距今已超过36个月，超过退(免)税申报期限",
        "超过期限的出口货物不能申报退(免)税，请删除该明细。",
        EXPORT,
        _ckrq_expired,
    ),
    _rule(
        "CKRQ_AFTER_SSQ",
        "E",
        "出口日期",
        "ckrq",
        "出口日期[{value}]晚于所属期[{ssq}]",
        "请在出口日期所在月份或以后的所属期申报，或更正出口日期。",
        EXPORT,
        _ckrq_after_ssq,
    ),
    _rule(
        "RMB_CALC",
        "I",
        "人民币离岸价",
        "rmblaj",
        "人民币离岸价[{value}]与美元离岸价按汇率{rate}折算的[{expected}]相差超过1%",
        "请按出口日期当月的外汇人民币折合率重新计算人民币离岸价；确认无误可挑过。",
        MDT,
        _rmb_calc,
    ),
    _rule(
        "JLJG_NO_SCH",
        "E",
        "进料加工手(账)册",
        "jljgszch",
        "报关单[{value}]的贸易方式为进料加工（{mode}），但进料加工手(账)册号为空",
        "请填写进料加工手(账)册号和计划分配率。",
        MDT,
        _jljg_no_sch,
    ),
    _rule(
        "FS_NO_HZCJ",
        "E",
        "红字冲减",
        "cktmsywlxdmjh",
        "{name}[{value}]为负数，但未标记红字冲减（HZCJ）",
        "负数明细须在业务类型代码集合中标记HZCJ；如不是冲减，请更正为正数。",
        frozenset(t for t, cols in _NUMBER_COLUMNS.items() if cols and t != "mdt_hz"),
        _fs_no_hzcj,
    ),
    _rule(
        "RQ_FUTURE",
        "E",
        "日期",
        "ckrq",
        "{name}[{value}]晚于今天",
        "请核对并更正日期。",
        frozenset(t for t, cols in _DATE_COLUMNS.items() if cols),
        _rq_future,
    ),
    _rule(
        "FP_NOT_FOUND",
        "E",
        "进货凭证",
        "jhpzh",
        "进货凭证号[{value}]无发票电子信息",
        _WAIT + "如凭证号录入有误，请更正后重新申报。",
        JH,
        _fp_not_found,
        # the other invoice rules compare with the invoice: without one they say nothing
        redundant=frozenset({"FP_SELLER", "FP_AMOUNT_OVER", "FP_RATE_LOW", "TSE_CALC"}),
    ),
    _rule(
        "FP_SELLER",
        "E",
        "进货凭证",
        "ghfnsrsbh",
        "进货凭证[{voucher}]的供货方纳税人识别号[{value}]与发票电子信息[{expected}]不符",
        "请按发票更正供货方纳税人识别号。",
        JH,
        _fp_seller,
    ),
    _rule(
        "FP_AMOUNT_OVER",
        "E",
        "进货凭证",
        "jsje",
        "进货凭证[{value}]的计税金额[{amount}]超过该发票尚可申报的金额[{expected}]",
        "请核对计税金额：同一发票各次申报的合计不能超过发票金额。",
        JH,
        _fp_amount_over,
    ),
    _rule(
        "FP_RATE_LOW",
        "I",
        "退税率",
        "tsl",
        "退税率[{value}]高于进货凭证[{voucher}]的税率（征收率）[{expected}]，按较低者计算可退税额",
        "可退税额应按发票税率（征收率）与退税率中较低者计算；确认无误可挑过。",
        JH,
        _fp_rate_low,
    ),
    _rule(
        "TSE_CALC",
        "E",
        "可退税额",
        "tse",
        "可退税额[{value}]与计税金额×适用退税率计算的[{expected}]不符",
        "请按计税金额×（退税率与发票税率中较低者）重新计算可退税额。",
        JH,
        _tse_calc,
    ),
    _rule(
        "GLH_ORPHAN",
        "E",
        "关联号",
        "glh",
        "关联号[{value}]只有{side}明细，没有对应的{other}明细",
        "请补齐该关联号的出口或进货明细，或更正关联号。",
        frozenset({"mts_ckmx", "mts_jhmx"}),
        _glh_orphan,
        joined=True,
    ),
    _rule(
        "SL_EXCEEDS_JH",
        "I",
        "出口数量",
        "cksl",
        "关联号[{value}]的出口数量[{qty}]大于进货数量[{expected}]",
        "请核对出口数量与进货数量；确认无误可挑过。",
        frozenset({"mts_ckmx"}),
        _sl_exceeds_jh,
        joined=True,
    ),
    _rule(
        "VAT_NOT_FILED",
        "E",
        "增值税纳税申报",
        "ssq",
        "所属期[{value}]增值税纳税申报表未申报",
        "请先完成当期增值税纳税申报，再进行免抵退税申报。",
        frozenset({DECLARATION}),
        _vat_not_filed,
        declaration=True,
    ),
    _rule(
        "HZ_QMLDSE_DIFF",
        "I",
        "期末留抵税额",
        "qmldse",
        "申报的期末留抵税额[{value}]与增值税纳税申报表的[{expected}]不一致",
        "审核以增值税纳税申报表的期末留抵税额为准；确认无误可挑过。",
        frozenset({"mdt_hz"}),
        _hz_qmldse_diff,
        declaration=True,
    ),
    _rule(
        "SCRJ_OLD",
        "I",
        "申报系统",
        "scrj",
        "生成数据包的申报系统版本[{value}]低于最新版本[{expected}]，请升级申报系统",
        "请在下载专区下载最新的出口退税申报系统，升级后重新生成数据包。",
        frozenset({DECLARATION}),
        _scrj_old,
        declaration=True,
    ),
    _rule(
        "WTF_NSRSBH",
        "E",
        "委托方",
        "wtfnsrsbh",
        "委托方纳税人识别号[{value}]不是有效的纳税人识别号",
        "请核对委托方的纳税人识别号（15、18或20位）。",
        frozenset({"dz_dlck"}),
        _wtf_nsrsbh,
    ),
)
RULE_INDEX: dict[str, Rule] = {r.code: r for r in RULES}
_ORDER = {r.code: i for i, r in enumerate(RULES)}
_Pass = tuple[tuple[Rule, CheckFn], ...]  # bound checks: one attribute look-up less per rule


def _bind(rules: Iterable[Rule]) -> _Pass:
    return tuple((r, r.check) for r in rules)


_PASS1 = {
    t: _bind(r for r in RULES if t in r.tables and not (r.joined and t == "mts_ckmx"))
    for t in (*TABLE_COLUMNS, DECLARATION)
}
_JOINED = _bind(r for r in RULES if r.joined and "mts_ckmx" in r.tables)


# ------------------------------------------------------------------ the run


def _months_back(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 - months
    year, month = divmod(index, 12)
    end = period_end(f"{year:04d}{month + 1:02d}")
    return date(year, month + 1, min(d.day, end.day))


class _Run:
    """State of one audit: caches and the keys the cross-row rules need."""

    def __init__(self, pkg: Package, ref: ReferenceData) -> None:
        self.pkg = pkg
        self.ref = ref
        self.ssq_end = period_end(pkg.manifest.ssq)
        self.expiry_cutoff = _months_back(ref.today, EXPIRY_MONTHS)
        self.today = ref.today.strftime("%Y%m%d")
        self.doubts: list[Doubt] = []
        self.seen_lines: set[int] = set()
        self.invoice_used: dict[str, Decimal] = {}
        self.glhs: dict[str, _Glh] = {}
        self.blocking_seqs: set[int] = set()
        self._dates: dict[str, date | None] = {}
        self._decs: dict[str, Decimal] = {}
        # bound once: prepare() and the rules use them for every row
        self._customs = ref.customs.get
        self._lookup = ref.rates.lookup
        self.usd_cny = ref.exchange_rates.get
        self.declared_lines = ref.declared_lines

    def dec(self, value: str) -> Decimal:
        """A rate as Decimal; rates repeat, so each is parsed once."""
        try:
            return self._decs[value]
        except KeyError:
            d = self._decs[value] = Decimal(value) if value else ZERO
            return d

    def day(self, value: str) -> date | None:
        try:
            return self._dates[value]
        except KeyError:
            d = self._dates[value] = parse_date(value)
            return d

    def prepare(self, table: str, values: dict[str, str]) -> _Row:
        """Look up once what several rules (and the amounts) read: e-info, library row,
        dates, and the numbers as Decimal (rates through the cache: they repeat)."""
        r = _Row(self, table, values, values["sbxh"].zfill(4))
        flags = values.get("cktmsywlxdmjh")
        if flags:
            r.hzcj = "HZCJ" in flags.upper().split(",")
        ckbgdh = values.get("ckbgdh")
        if ckbgdh is not None and is_valid_export_entry_line(ckbgdh):
            r.entry_ok = True
            r.entry_no = entry = ckbgdh[:18]
            r.item_no = item = int(ckbgdh[19:])
            r.line = line = (entry, item)
            r.customs = self._customs(line)
        decs = self._decs  # rates repeat: the cache answers nearly every row
        if table in EXPORT:
            ckrq = values["ckrq"]
            d = self._dates.get(ckrq) or self.day(ckrq)
            r.ckrq = r.rate_date = d
            if d is not None:
                r.rate = self._lookup(values["cksp_dm"], d)
            r.qty = Decimal(values["cksl"])
            r.fob = Decimal(values["mylaj"])
            if table == "mdt_ckmx":
                r.rmb = Decimal(values["rmblaj"])
                zssl = values["zssl"]
                r.zssl = decs.get(zssl) or self.dec(zssl)
        tsl = values.get("tsl")
        if tsl is not None:
            r.tsl = decs.get(tsl) or self.dec(tsl)
        if table in ("mts_ckmx", "mts_jhmx"):
            r.glh = self.glhs.get(values["glh"])
        if table == "mts_jhmx":
            r.invoice = self.ref.invoices.get(values["jhpzh"])
            if r.glh is not None and r.glh.export_date is not None:
                r.rate_date = r.glh.export_date
                r.rate = self.ref.rates.lookup(values["cksp_dm"], r.glh.export_date)
        return r

    def check(self, r: _Row, rules: _Pass) -> bool:
        """Run ``rules`` on a row (skipping the redundant ones); True if any blocks."""
        # most rows carry no doubt: nothing to skip until the first one; on a doubt the
        # iterator goes on from the next rule
        rest = iter(rules)
        for rule, check in rest:
            args = check(r)
            if args is not None:
                return self._record(r, rule, args, rest)
        return False

    def _record(
        self, r: _Row, rule: Rule, args: Args, rest: Iterator[tuple[Rule, CheckFn]]
    ) -> bool:
        """Record ``rule``'s doubt, then run the ``rest`` it (or a later doubt) leaves."""
        skip: frozenset[str] = frozenset()
        blocking = False
        while True:
            self.doubts.append(
                Doubt(
                    None if rule.declaration else r.seq,
                    r.table,
                    rule.code,
                    rule.level,
                    rule.passable,
                    rule.object,
                    args.get("field", rule.field),
                    rule.message.format_map(args),
                    rule.hint,
                )
            )
            blocking = blocking or not rule.passable
            skip = skip | rule.redundant
            for rule, check in rest:
                if rule.code not in skip and (found := check(r)) is not None:
                    args = found
                    break
            else:
                return blocking


# ------------------------------------------------------------------ rejects


def reject_code(pkg: Package, ref: ReferenceData) -> str | None:
    """The whole-declaration reject (domain.md §3) that applies, or None."""
    ent = ref.enterprise
    code = STATE_REJECTS.get(ent.state)
    if code:
        return code
    ssq = pkg.manifest.ssq
    start, end = date(int(ssq[:4]), int(ssq[4:]), 1), period_end(ssq)
    for w_start, w_end in ent.waived_periods:
        if w_start <= end and (w_end is None or w_end >= start):
            return "16"
    months_back = (ref.today.year * 12 + ref.today.month) - (start.year * 12 + start.month)
    if months_back < 0 or months_back > EXPIRY_MONTHS:
        return "05"
    if pkg.record_count == 0:
        return "07"
    if ent.kind not in pkg.business.kinds:
        return "20"
    return None


# ------------------------------------------------------------------ the audit


def audit_package(
    pkg: Package,
    ref: ReferenceData,
    *,
    stage: str = "pre",
    on_line: Callable[[LineResult], None] | None = None,
) -> AuditResult:
    """Audit an opened package against ``ref``.

    The rules are the same at both stages (protocol §5.1: a direct formal upload gets the
    same checks); what differs is the caller's reference data — which declarations are
    alive and formal, and how much 期末留抵 they already used.
    """
    if stage not in ("pre", "formal"):
        raise ValueError(f"unknown stage {stage!r}")
    code = reject_code(pkg, ref)
    if code:
        return AuditResult(None, code, REJECT_CODES[code], [], None, pkg.record_count)
    run = _Run(pkg, ref)
    run.check(_Row(run, DECLARATION, {}), _PASS1[DECLARATION])
    cls = pkg.business.cls
    amounts: dict[str, str] | None = None
    if cls == "免抵退":
        amounts = _audit_mdt(run, on_line)
    elif cls == "免退税":
        amounts = _audit_mts(run, on_line)
    else:
        for table in pkg.tables():
            for values in pkg.rows(table):
                run.check(run.prepare(table, values), _PASS1[table])
    doubts = sorted(run.doubts, key=lambda d: (d.seq is not None, int(d.seq or 0), _ORDER[d.code]))
    result = 2 if any(not d.passable for d in doubts) else 1 if doubts else 0
    return AuditResult(result, None, None, doubts, amounts, pkg.record_count)


def _line(r: _Row, refund_rate: Decimal, refund: Decimal, blocking: bool) -> LineResult:
    v = r.v
    return LineResult(
        r.seq, r.table, r.entry_no or v["ckbgdh"][:18], r.item_no, v["cksp_dm"], v["sbhgspmc"],
        v["hgjldwmc"], r.qty or ZERO, r.fob or ZERO, refund_rate, refund, blocking,
    )  # fmt: skip


def _audit_mdt(run: _Run, on_line: Callable[[LineResult], None] | None) -> dict[str, str]:
    totals = MdtTotals()
    rules = _PASS1["mdt_ckmx"]
    prepare, check, add = run.prepare, run.check, totals.add  # the loop runs per row
    for values in run.pkg.rows("mdt_ckmx"):
        r = prepare("mdt_ckmx", values)
        blocking = check(r, rules)
        refund = ZERO
        tsl = r.tsl
        assert tsl is not None and r.rmb is not None and r.zssl is not None
        if not blocking:
            ratio = run.dec(values["tzhjhfpl"]) if values["jljgszch"] else None
            refund = add(r.rmb, r.zssl, tsl, ratio)
        if on_line is not None:
            on_line(_line(r, tsl, refund, blocking))
    for values in run.pkg.rows("mdt_hz"):
        run.check(run.prepare("mdt_hz", values), _PASS1["mdt_hz"])
    closing = run.ref.vat_returns.get(run.pkg.manifest.ssq, ZERO) - run.ref.credit_used
    return totals.result(closing)


def _audit_mts(run: _Run, on_line: Callable[[LineResult], None] | None) -> dict[str, str]:
    pkg, glhs = run.pkg, run.glhs
    for values in pkg.rows("mts_ckmx"):
        g = glhs.get(values["glh"])
        if g is None:
            g = glhs[values["glh"]] = _Glh()
        r = run.prepare("mts_ckmx", values)
        if run.check(r, _PASS1["mts_ckmx"]):
            g.blocked = True
            run.blocking_seqs.add(int(r.seq))
        if g.export_date is None:
            g.export_date = r.ckrq
        g.export_qty += r.qty or ZERO
        g.export_fob += r.fob or ZERO
        g.export_lines += 1
        g.left += 1
    for values in pkg.rows("mts_jhmx"):
        g = glhs.get(values["glh"])
        if g is None:  # no export line: GLH_ORPHAN
            g = glhs[values["glh"]] = _Glh()
        r = run.prepare("mts_jhmx", values)
        blocking = run.check(r, _PASS1["mts_jhmx"])
        g.purchases += 1
        g.purchase_qty += Decimal(values["sl"])
        if not blocking and r.rate is not None and r.invoice is not None:
            amount = Decimal(values["jsje"])
            g.taxable += amount
            g.refund += mts_line_refund(amount, r.rate.refund_rate, r.invoice.tax_rate)
    taxable = refund = ZERO
    for g in glhs.values():
        if g.export_lines and not g.blocked:
            taxable += g.taxable
            refund += g.refund
    for values in pkg.rows("mts_ckmx"):
        r = run.prepare("mts_ckmx", values)
        g = r.glh
        assert g is not None
        blocking = run.check(r, _JOINED) or int(r.seq) in run.blocking_seqs
        share = ZERO
        if not g.blocked:
            g.left -= 1
            if g.left == 0:
                share = g.refund - g.allocated
            elif g.export_fob:
                share = round_money(g.refund * (r.fob or ZERO) / g.export_fob)
            g.allocated += share
        if on_line is not None:
            on_line(_line(r, r.tsl or ZERO, share, blocking))
    return mts_amounts(taxable, refund)
