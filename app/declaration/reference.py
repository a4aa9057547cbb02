"""Reference data the audit engine checks a package against (参照数据).

The platform builds it from its database; the client from its local cache of the e-info
and the rate library. The engine never fetches anything itself.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

EnterpriseKind = Literal["manufacturer", "trader"]  # 生产企业 | 外贸企业
# 企业状态: normal, suspended (13 退税停权), filing_withdrawn (09 备案已撤回),
# waived (16 放弃退(免)税), exempt_choice (14), tax_choice (15), not_filed (08).
EnterpriseState = str


@dataclass(frozen=True, slots=True)
class Enterprise:
    taxpayer_id: str
    customs_code: str
    name: str
    kind: EnterpriseKind
    management_class: str = "一类"
    state: EnterpriseState = "normal"
    # 放弃退(免)税 periods: (start, end) dates inclusive, end None = open.
    waived_periods: tuple[tuple[date, date | None], ...] = ()


@dataclass(frozen=True, slots=True)
class CustomsLine:
    """出口报关单电子信息, one item (项)."""

    entry_no: str  # 18-digit 海关编号
    item_no: int  # 项号 1–99
    export_date: date
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Decimal
    fob_usd: Decimal
    trade_mode: str = "0110"  # 0615 / 0715 = 进料加工
    transport_mode: str = "2"
    destination_country: str = "美国"
    declared_quantity_so_far: Decimal = Decimal(0)
    declared_fob_usd_so_far: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Invoice:
    """增值税专用发票 / 数电票 electronic information (外贸企业)."""

    invoice_code: str  # 10 digits, or "" for a 数电票
    invoice_no: str  # 8 digits, or 20 for a 数电票
    issue_date: date
    seller_taxpayer_id: str
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    declared_amount_so_far: Decimal = Decimal(0)

    @property
    def voucher_no(self) -> str:
        """进货凭证号 as a package writes it: 发票代码 + 发票号码, or the 数电票 number."""
        return self.invoice_code + self.invoice_no


@dataclass(frozen=True, slots=True)
class RateRow:
    """出口退税率文库, one dated row."""

    commodity_code: str
    name: str
    category: str
    unit: str
    vat_rates: tuple[Decimal, ...]  # 征税率 set
    refund_rate: Decimal
    valid_from: date
    valid_to: date  # inclusive; open end 2099-12-31
    special_flag: str = ""


class RateLibrary:
    """The rate library indexed for ``lookup(code, on_date)`` in O(log n) per call."""

    def __init__(self, rows: Iterable[RateRow], version: str = "") -> None:
        self.version = version
        by_code: dict[str, list[RateRow]] = {}
        for row in rows:
            by_code.setdefault(row.commodity_code, []).append(row)
        for lst in by_code.values():
            lst.sort(key=lambda r: r.valid_from)
        self._rows = by_code
        self._starts = {c: [r.valid_from for r in lst] for c, lst in by_code.items()}
        # most codes never changed rate: their one row without a list to go through
        self._only = {c: lst[0] for c, lst in by_code.items() if len(lst) == 1}

    def __len__(self) -> int:
        return sum(len(v) for v in self._rows.values())

    def __contains__(self, code: object) -> bool:
        return code in self._rows

    def codes(self) -> list[str]:
        """Every commodity code in the library, sorted."""
        return sorted(self._rows)

    def rows(self, code: str) -> list[RateRow]:
        return list(self._rows.get(code, ()))

    def lookup(self, code: str, on: date) -> RateRow | None:
        """The row for exactly ``code`` valid on ``on``, or None."""
        row = self._only.get(code)
        if row is not None:  # no search
            return row if row.valid_from <= on <= row.valid_to else None
        rows = self._rows.get(code)
        if not rows:
            return None
        i = bisect.bisect_right(self._starts[code], on) - 1
        if i >= 0 and rows[i].valid_to >= on:
            return rows[i]
        return None


@dataclass(slots=True)
class ReferenceData:
    """Everything the audit of one package needs to know besides the package itself."""

    enterprise: Enterprise
    today: date
    rates: RateLibrary
    # (18-digit entry_no, item_no) → the customs line
    customs: Mapping[tuple[str, int], CustomsLine] = field(default_factory=dict)
    # 进货凭证号 (code + number, or 数电票 number) → the invoice
    invoices: Mapping[str, Invoice] = field(default_factory=dict)
    # 所属期 YYYYMM → 期末留抵税额 of the filed VAT return; a missing key = not filed
    vat_returns: Mapping[str, Decimal] = field(default_factory=dict)
    # YYYYMM → USD/CNY 折合率
    exchange_rates: Mapping[str, Decimal] = field(default_factory=dict)
    # (entry_no, item_no) in alive formal declarations of this enterprise (BGD_REPEAT)
    declared_lines: Set[tuple[str, int]] = field(default_factory=frozenset)
    # 18-digit entry numbers in alive formal declarations (BGD_HISTORY)
    declared_entries: Set[str] = field(default_factory=frozenset)
    # 应退税额 already claimed by alive formal declarations of the package's 所属期
    # (the part of 期末留抵 that is no longer available)
    credit_used: Decimal = Decimal(0)
    # version of the current 出口退税申报系统 in the 下载专区 (SCRJ_OLD), e.g. "2.1.0"
    current_software_version: str | None = None
