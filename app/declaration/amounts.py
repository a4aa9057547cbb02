"""Refund formulas (docs/domain.md §4): Decimal, each line rounded half up to 0.01,
totals as sums of the rounded lines."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def money(x: Decimal | int | str) -> str:
    """A money string with exactly two decimals, as on the wire ("63900.00")."""
    value = round_money(Decimal(x))
    return str(value if value else ZERO)


class MdtLine(NamedTuple):
    """One 免抵退 detail line: 人民币离岸价, 征税率, 退税率, 计划分配率 (进料加工 only)."""

    fob_cny: Decimal
    vat_rate: Decimal
    refund_rate: Decimal
    plan_ratio: Decimal | None = None


class MdtTotals:
    """Sums 免抵退 lines one at a time, so a streaming audit keeps no line in memory."""

    def __init__(self) -> None:
        self.fob_cny = ZERO
        self.not_exempt = ZERO  # 免抵退税不得免征和抵扣税额
        self.mdt = ZERO  # 免抵退税额

    def add(
        self, fob_cny: Decimal, vat_rate: Decimal, refund_rate: Decimal, plan_ratio: Decimal | None
    ) -> Decimal:
        """Add a line (see ``MdtLine``); returns the line's 免抵退税额."""
        diff = vat_rate - refund_rate
        # quantize inlined (= round_money): this runs once per line of a 100,000-line package
        not_exempt = (fob_cny * diff).quantize(CENT, ROUND_HALF_UP)
        mdt = (fob_cny * refund_rate).quantize(CENT, ROUND_HALF_UP)
        if plan_ratio:
            materials = round_money(fob_cny * plan_ratio)  # 免税购进原材料价格
            not_exempt -= round_money(materials * diff)
            mdt -= round_money(materials * refund_rate)
        self.fob_cny += fob_cny
        self.not_exempt += not_exempt
        self.mdt += mdt
        return mdt

    def result(self, closing_credit: Decimal) -> dict[str, str]:
        """Protocol §5.4 amounts against the 期末留抵税额 available to this declaration."""
        credit = max(closing_credit, ZERO)
        refund = credit if credit <= self.mdt else self.mdt  # 应退税额
        return {
            "fob_cny": money(self.fob_cny),
            "mdt_amount": money(self.mdt),
            "not_exempt_amount": money(self.not_exempt),
            "closing_credit": money(closing_credit),
            "refund": money(refund),
            "exempt_offset": money(self.mdt - refund),  # 免抵税额
        }


def mdt_amounts(lines: Iterable[MdtLine], closing_credit_available: Decimal) -> dict[str, str]:
    totals = MdtTotals()
    for line in lines:
        totals.add(*line)
    return totals.result(closing_credit_available)


def mts_line_refund(amount: Decimal, library_rate: Decimal, invoice_rate: Decimal) -> Decimal:
    """可退税额 of a purchase line: 计税金额 × min(文库退税率, 发票税率或征收率)."""
    return round_money(amount * min(library_rate, invoice_rate))


def mts_amounts(taxable_amount: Decimal, refund: Decimal) -> dict[str, str]:
    return {"taxable_amount": money(taxable_amount), "refund": money(refund)}
