"""The synthesised rate library: size, structure, determinism and the dated changes."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from decimal import Decimal

from app.declaration.reference import RateLibrary
from server_stub.ratelib import (
    chapter_name,
    rate_row_from_dict,
    rate_row_to_dict,
    synthesize_rate_rows,
)


def test_library_is_large_deterministic_and_well_formed() -> None:
    rows = synthesize_rate_rows()
    assert len(rows) >= 10_000
    assert rows == synthesize_rate_rows()
    assert all(len(r.commodity_code) == 10 and r.commodity_code.isdigit() for r in rows)
    chapters = {int(r.commodity_code[:2]) for r in rows}
    assert chapters == set(range(1, 98)) - {77}
    assert chapter_name(84).startswith("核反应堆")
    refunds = Counter(r.refund_rate for r in rows)
    assert refunds[Decimal("0.13")] > refunds[Decimal("0.09")] > refunds[Decimal("0.06")] > 0
    assert refunds[Decimal("0")] > 0
    assert {"千克", "台", "件", "套", "个", "米", "双"} <= {r.unit for r in rows}
    # dated windows of one code never overlap and cover up to the open end
    by_code: dict[str, list[tuple[date, date]]] = {}
    for r in rows:
        by_code.setdefault(r.commodity_code, []).append((r.valid_from, r.valid_to))
    for windows in by_code.values():
        for (_, end), (start, _) in itertools.pairwise(windows):
            assert (start - end).days == 1
        assert windows[-1][1] == date(2099, 12, 31)


def test_the_2024_changes_give_codes_two_rows() -> None:
    rows = synthesize_rate_rows()
    lib = RateLibrary(rows)
    aluminium = next(r.commodity_code for r in rows if r.commodity_code.startswith("7606"))
    assert lib.lookup(aluminium, date(2024, 11, 30)).refund_rate == Decimal("0.13")  # type: ignore[union-attr]
    assert lib.lookup(aluminium, date(2024, 12, 1)).refund_rate == Decimal("0")  # type: ignore[union-attr]
    battery = next(r.commodity_code for r in rows if r.commodity_code.startswith("8507"))
    assert lib.lookup(battery, date(2025, 6, 1)).refund_rate == Decimal("0.09")  # type: ignore[union-attr]


def test_adjustment_day_and_round_trip() -> None:
    rows = synthesize_rate_rows(adjusted_on=date(2026, 8, 1))
    changed = [r for r in rows if r.commodity_code.startswith("392690")]
    assert {r.valid_from for r in changed} == {date(2019, 4, 1), date(2026, 8, 1)}
    assert all(rate_row_from_dict(rate_row_to_dict(r)) == r for r in rows[:500])
