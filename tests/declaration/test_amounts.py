from decimal import Decimal as D

from app.declaration.amounts import MdtLine, mdt_amounts, money, mts_amounts, mts_line_refund


def test_worked_example() -> None:
    line = MdtLine(D("100000") * D("7.10"), D("0.13"), D("0.09"))
    assert mdt_amounts([line], D("41600.00")) == {
        "fob_cny": "710000.00", "mdt_amount": "63900.00", "not_exempt_amount": "28400.00",
        "closing_credit": "41600.00", "refund": "41600.00", "exempt_offset": "22300.00",
    }  # fmt: skip


def test_credit_cases() -> None:
    line = MdtLine(D("710000.00"), D("0.13"), D("0.09"))
    big = mdt_amounts([line], D("70000.00"))
    assert (big["refund"], big["exempt_offset"]) == ("63900.00", "0.00")
    none = mdt_amounts([line], D("-5.00"))
    assert (none["refund"], none["exempt_offset"], none["closing_credit"]) == (
        "0.00",
        "63900.00",
        "-5.00",
    )


def test_per_line_rounding_half_up_then_sum() -> None:
    # each line 0.05 × 0.13 = 0.0065 → 0.01; the sum of rounded lines, not the rounded sum
    lines = [MdtLine(D("0.05"), D("0.13"), D("0.13"))] * 3
    assert mdt_amounts(lines, D("1"))["mdt_amount"] == "0.03"
    # 进料加工: 免税购进原材料价格 rounded per line before it enters the products
    amounts = mdt_amounts([MdtLine(D("1000.00"), D("0.13"), D("0.09"), D("0.3333"))], D("0"))
    # materials 333.30; 不得免征 40.00 − 13.33; 免抵退 90.00 − 30.00
    assert (amounts["not_exempt_amount"], amounts["mdt_amount"]) == ("26.67", "60.00")


def test_mts_line_refund_and_money() -> None:
    assert mts_line_refund(D("10000.00"), D("0.13"), D("0.03")) == D("300.00")
    assert mts_line_refund(D("10000.00"), D("0.09"), D("0.13")) == D("900.00")
    assert mts_line_refund(D("0.50"), D("0.13"), D("0.13")) == D("0.07")  # 0.065 half up
    assert mts_amounts(D("1"), D("0.125")) == {"taxable_amount": "1.00", "refund": "0.13"}
    assert money(D("-0.001")) == "0.00" and money("63900") == "63900.00" and money(5) == "5.00"
