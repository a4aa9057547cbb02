"""金额大写 on the documents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server_stub.documents import amount_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("63900.00", "陆万叁仟玖佰元整"),
        ("41600.00", "肆万壹仟陆佰元整"),
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("10", "壹拾元整"),
        ("10.05", "壹拾元零伍分"),
        ("100.50", "壹佰元伍角整"),
        ("1005.30", "壹仟零伍元叁角整"),
        ("22300.00", "贰万贰仟叁佰元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100000001", "壹亿零壹元整"),
        ("1234567890.12", "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
        ("-41600.00", "负肆万壹仟陆佰元整"),
        ("12.345", "壹拾贰元叁角伍分"),  # half up to the 分
    ],
)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words
