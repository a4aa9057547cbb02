"""退税日历: the monthly 申报期 from the holiday table (data/holidays.json), docs/domain.md §6.

The 申报期 is the VAT filing period, the 1st to the 15th. If a holiday block of 3 or more
days overlaps days 1–15, the end moves later by the number of that block's days within
1–15 (weekend days inside the block count); then, if the end is a rest day, it moves to
the next working day (调休 make-up days are working days). Next year's table stays
provisional until the State Council publishes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

HOLIDAYS_PATH = Path(__file__).parent / "data" / "holidays.json"
BASE_END_DAY = 15
MIN_BLOCK_DAYS = 3


@dataclass(frozen=True)
class Holiday:
    name: str
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class YearTable:
    official: bool
    holidays: tuple[Holiday, ...]
    workdays: frozenset[date]  # 调休上班


@cache
def _tables() -> dict[int, YearTable]:
    raw: dict[str, Any] = json.loads(HOLIDAYS_PATH.read_text(encoding="utf-8"))
    return {
        int(year): YearTable(
            official=bool(t["official"]),
            holidays=tuple(
                Holiday(h["name"], date.fromisoformat(h["start"]), date.fromisoformat(h["end"]))
                for h in t["holidays"]
            ),
            workdays=frozenset(date.fromisoformat(d) for d in t["workdays"]),
        )
        for year, t in raw.items()
    }


def _table(year: int) -> YearTable:
    """The year's table; a year without one has only weekends, and is provisional."""
    return _tables().get(year, YearTable(False, (), frozenset()))


def _holidays_around(year: int) -> list[Holiday]:
    return [h for y in (year - 1, year, year + 1) for h in _table(y).holidays]


def is_rest_day(day: date) -> bool:
    table = _table(day.year)
    if day in table.workdays:
        return False
    if any(h.start <= day <= h.end for h in table.holidays):
        return True
    return day.weekday() >= 5


def next_working_day(day: date) -> date:
    while is_rest_day(day):
        day += timedelta(1)
    return day


def period_end(year: int, month: int) -> date:
    """Last day of the month's 申报期."""
    first = date(year, month, 1)
    window_end = date(year, month, BASE_END_DAY)
    end = window_end
    for h in _holidays_around(year):
        if len(h.days) < MIN_BLOCK_DAYS:
            continue
        inside = sum(1 for d in h.days if first <= d <= window_end)
        end += timedelta(inside)
    return next_working_day(end)


@dataclass(frozen=True)
class CalendarItem:
    day: date
    title: str


@dataclass(frozen=True)
class Month:
    month: int
    period_start: date
    period_end: date
    provisional: bool
    items: tuple[CalendarItem, ...]


def _chinese_date(d: date) -> str:
    return f"{d.month}月{d.day}日"


def year_calendar(year: int) -> list[Month]:
    """One entry a month: the 申报期, holidays, make-up days and the annual deadlines."""
    table = _table(year)
    months: list[Month] = []
    for month in range(1, 13):
        start, end = date(year, month, 1), period_end(year, month)
        items = [CalendarItem(start, f"{month}月申报期开始")]
        for h in table.holidays:
            if h.start.month == month:
                span = f"{_chinese_date(h.start)}至{_chinese_date(h.end)}"
                items.append(CalendarItem(h.start, f"{h.name}放假（{span}，共{len(h.days)}天）"))
        for w in sorted(table.workdays):
            if w.month == month:
                items.append(CalendarItem(w, "调休上班"))
        items.append(
            CalendarItem(
                end, f"{month}月增值税纳税申报及出口退（免）税申报截止（{_chinese_date(end)}）"
            )
        )
        if month == 4:
            items.append(
                CalendarItem(
                    end,
                    f"{year - 1}年度出口货物退（免）税申报截止：{year - 1}年出口的货物"
                    "须在本申报期结束前申报",
                )
            )
            items.append(
                CalendarItem(
                    date(year, 4, 30),
                    f"{year - 1}年度出口货物收汇截止：未收汇的须在此前办理不能收汇申报",
                )
            )
        items.sort(key=lambda i: i.day)
        months.append(Month(month, start, end, not table.official, tuple(items)))
    return months


def annual_deadline(export_year: int) -> date:
    """The "4月30日" rule: exports of ``export_year`` are declared by the end of the next
    April's 申报期."""
    return period_end(export_year + 1, 4)


def has_table(year: int) -> bool:
    return year in _tables()
