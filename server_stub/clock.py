"""The platform's clock (Asia/Shanghai), optionally shifted by ``--now``.

With ``--now`` the clock starts at that moment and runs on, so lockouts, expiry and
timers behave as in real time. Worker processes get the same offset from the server.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# China has no daylight saving time: a fixed offset needs no tz database (not on Windows).
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

_offset = timedelta(0)


def set_start(start: datetime | None) -> None:
    """Make the clock read ``start`` now (None: the real time)."""
    global _offset
    if start is None:
        _offset = timedelta(0)
        return
    if start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    _offset = start - datetime.now(SHANGHAI)


def offset_seconds() -> float:
    return _offset.total_seconds()


def set_offset_seconds(seconds: float) -> None:
    global _offset
    _offset = timedelta(seconds=seconds)


def now() -> datetime:
    """The current time in Asia/Shanghai, whole seconds are not enforced."""
    return datetime.now(SHANGHAI) + _offset


def today() -> date:
    return now().date()


def month_index(period: str) -> int:
    """A 所属期 ``YYYYMM`` as a count of months, for arithmetic."""
    return int(period[:4]) * 12 + int(period[4:]) - 1


def period_of(index: int) -> str:
    """The ``YYYYMM`` of a month count (inverse of month_index)."""
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def iso(value: datetime | None = None) -> str:
    """A time as the protocol writes it: ``2026-11-05T10:20:30+08:00``."""
    return (value or now()).astimezone(SHANGHAI).isoformat(timespec="seconds")
