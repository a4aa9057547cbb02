"""退税日历: the 申报期 rules of docs/domain.md §6 on known months."""

from __future__ import annotations

from datetime import date

import pytest

from server_stub import calendar


@pytest.mark.parametrize(
    ("year", "month", "end"),
    [
        (2026, 10, date(2026, 10, 22)),  # 国庆 7 days in 1–15: 15 + 7 = 22 (Thu)
        (2026, 5, date(2026, 5, 20)),  # 劳动节 5 days: 15 + 5
        (2026, 4, date(2026, 4, 20)),  # 清明 3 days → 18th is a Saturday → Monday
        (2026, 2, date(2026, 2, 24)),  # 春节 Feb 15–23: one day inside → 16th, in the break
        (2026, 3, date(2026, 3, 16)),  # no holiday; the 15th is a Sunday
        (2026, 7, date(2026, 7, 15)),  # plain working day
        (2026, 6, date(2026, 6, 15)),  # 端午 after the 15th does not count
        (2027, 9, date(2027, 9, 16)),  # provisional 中秋 on the 15th (one day) → next day
    ],
)
def test_period_end_follows_the_rules(year: int, month: int, end: date) -> None:
    assert calendar.period_end(year, month) == end


def test_make_up_days_are_working_days() -> None:
    assert not calendar.is_rest_day(date(2026, 10, 10))  # Saturday 调休上班
    assert calendar.is_rest_day(date(2026, 10, 3))
    assert calendar.is_rest_day(date(2026, 11, 28))  # ordinary Saturday
    assert calendar.next_working_day(date(2026, 10, 4)) == date(2026, 10, 8)


def test_year_calendar_marks_next_year_provisional_and_the_annual_deadline() -> None:
    this_year = calendar.year_calendar(2026)
    assert [m.month for m in this_year] == list(range(1, 13))
    assert not any(m.provisional for m in this_year)
    assert all(m.provisional for m in calendar.year_calendar(2027))
    april = this_year[3]
    titles = [i.title for i in april.items]
    assert any("2025年度出口货物退（免）税申报截止" in t for t in titles)
    assert any(i.day == date(2026, 4, 30) and "收汇" in i.title for i in april.items)
    october = this_year[9]
    assert any(i.title.startswith("国庆节放假") for i in october.items)
    assert calendar.annual_deadline(2025) == date(2026, 4, 20)
