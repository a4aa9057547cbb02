"""The rate library's look-up by commodity code and date (出口退税率文库)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from app.declaration.reference import RateLibrary

from .refdata import rate


def test_lookup_one_row_several_rows_and_unknown_code() -> None:
    lib = RateLibrary(
        [
            rate("8471300000", "0.13", start=date(2020, 1, 1), end=date(2026, 9, 30)),
            rate("7601100000", "0.13", start=date(2020, 1, 1), end=date(2024, 11, 30)),
            rate("7601100000", "0", start=date(2024, 12, 1), end=date(2025, 6, 30)),
            rate("7601100000", "0.09", start=date(2025, 8, 1)),
        ]
    )
    one = lib.lookup("8471300000", date(2026, 9, 30))
    assert one is not None and one.refund_rate == D("0.13")
    assert lib.lookup("8471300000", date(2026, 10, 1)) is None  # after its only row
    assert lib.lookup("8471300000", date(2019, 12, 31)) is None  # before it
    rates = [
        lib.lookup("7601100000", d)
        for d in (date(2024, 11, 30), date(2024, 12, 1), date(2025, 7, 15), date(2025, 8, 1))
    ]
    assert [r.refund_rate if r else None for r in rates] == [D("0.13"), D("0"), None, D("0.09")]
    assert lib.lookup("7601100000", date(2019, 1, 1)) is None
    assert lib.lookup("0000000000", date(2025, 1, 1)) is None
    assert len(lib) == 4 and "7601100000" in lib
