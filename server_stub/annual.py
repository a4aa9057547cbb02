"""年度提醒: reminders computed from the enterprise's own data (docs/domain.md §6).

- 上年出口未申报: last year's exports not yet in an alive formal declaration, before the
  annual deadline (the end of this year's April 申报期);
- 临近36个月: undeclared exports whose 36-month limit ends within three months;
- 收汇未登记: last year's exports without a 出口收汇 / 不能收汇 declaration, before 30 April.

Each reminder has a key (enterprise, kind, year or month), so computing again the same
day or the next does not repeat it. Computed when the enterprise lists its notices, at
most once a day per enterprise (and at seeding).
"""

from __future__ import annotations

import sqlite3
from contextlib import nullcontext
from datetime import date, timedelta

from server_stub import calendar, clock, db
from server_stub.einfo import ALIVE_FORMAL_CLAIM
from server_stub.notices import add_notice

EXPIRY_MONTHS = 36
WARN_MONTHS = 3
_EXPORT_TABLES = "('mdt_ckmx', 'mts_ckmx')"
_FOREX_TABLES = "('zb_cksh', 'zb_bnsh')"

_done: dict[str, date] = {}


def _months_back(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month0 + 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _undeclared(
    conn: sqlite3.Connection, taxpayer_id: str, start: date, end: date, tables: str
) -> tuple[int, int]:
    """(lines, entries) of customs e-info exported in [start, end] not in ``tables`` of an
    alive formal declaration."""
    row = conn.execute(
        "SELECT count(*), count(DISTINCT c.entry_no) FROM customs c"
        " WHERE c.taxpayer_id = ? AND c.export_date BETWEEN ? AND ?"
        " AND NOT EXISTS (SELECT 1 FROM declaration_lines l"
        "   JOIN declarations d ON d.id = l.declaration_id"
        f"  WHERE l.taxpayer_id = c.taxpayer_id AND l.entry_no = c.entry_no"
        f"  AND (l.item_no = c.item_no OR l.item_no IS NULL) AND l.tbl IN {tables}"
        f"  AND {ALIVE_FORMAL_CLAIM})",
        (taxpayer_id, start.isoformat(), end.isoformat()),
    ).fetchone()
    return int(row[0]), int(row[1])


def refresh(conn: sqlite3.Connection, taxpayer_id: str, on: date | None = None) -> None:
    """Publish the reminders that apply on ``on`` (default today) and are not out yet."""
    today = on or clock.today()
    if on is None and _done.get(taxpayer_id) == today:
        return
    with nullcontext() if conn.in_transaction else db.transaction(conn):
        _publish(conn, taxpayer_id, today)
    _done[taxpayer_id] = today


def _publish(conn: sqlite3.Connection, taxpayer_id: str, today: date) -> None:
    last_year = today.year - 1
    deadline = calendar.annual_deadline(last_year)
    year_start, year_end = date(last_year, 1, 1), date(last_year, 12, 31)
    if today <= deadline:
        lines, entries = _undeclared(conn, taxpayer_id, year_start, year_end, _EXPORT_TABLES)
        if lines:
            add_notice(
                conn,
                taxpayer_id=taxpayer_id,
                category="annual",
                subcategory="上年出口未申报出口退（免）税业务",
                title=f"{last_year}年出口尚有{lines}条未申报出口退（免）税",
                body=(
                    f"您单位{last_year}年出口的报关单中，尚有{entries}份报关单共{lines}项"
                    f"未申报出口退（免）税。申报截止日为{deadline.month}月{deadline.day}日"
                    f"（{today.year}年4月申报期结束），逾期不再办理退（免）税。"
                    "请在“出口退税电子信息查询”中核对后尽快申报。"
                ),
                dedup_key=f"annual:{taxpayer_id}:undeclared:{last_year}",
            )
    if today <= date(today.year, 4, 30):
        lines, entries = _undeclared(conn, taxpayer_id, year_start, year_end, _FOREX_TABLES)
        if entries:
            add_notice(
                conn,
                taxpayer_id=taxpayer_id,
                category="annual",
                subcategory="出口收汇",
                title=f"{last_year}年出口尚有{entries}份报关单未登记收汇",
                body=(
                    f"您单位{last_year}年出口的报关单中，有{entries}份尚未申报出口收汇信息。"
                    f"出口货物应在{today.year}年4月30日前收汇；确实不能收汇的，"
                    "请在截止期前一个月内办理“出口不能收汇申报”。"
                ),
                dedup_key=f"annual:{taxpayer_id}:forex:{last_year}",
            )
    oldest = _months_back(today, EXPIRY_MONTHS)
    warn_until = _months_back(today, EXPIRY_MONTHS - WARN_MONTHS)
    lines, entries = _undeclared(conn, taxpayer_id, oldest, warn_until, _EXPORT_TABLES)
    if lines:
        add_notice(
            conn,
            taxpayer_id=taxpayer_id,
            category="annual",
            subcategory="临近36个月申报期限",
            title=f"{lines}条出口即将超过36个月申报期限",
            body=(
                f"您单位有{entries}份报关单共{lines}项出口，出口日期在{oldest.isoformat()}至"
                f"{warn_until.isoformat()}之间，将在三个月内超过自出口之日起36个月的申报期限，"
                "超过后不再办理退（免）税。请尽快申报。"
            ),
            dedup_key=f"annual:{taxpayer_id}:expiring:{today.strftime('%Y%m')}",
        )
