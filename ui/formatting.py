"""How numbers, dates and states look (ui-guide.md «Text and numbers»).

Money ``63,900.00``; rates ``13%``; dates ``2026-11-05``; times ``2026-11-05 10:20``;
所属期 ``2026年10月``; states as chips with words and a colour (:func:`chip`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

KIND_NAMES = {"manufacturer": "生产企业", "trader": "外贸企业"}
NOTICE_CATEGORIES = (
    ("announcement", "通知公告"),
    ("daily", "日常提醒"),
    ("annual", "年度提醒"),
    ("progress", "办理进度"),
    ("policy", "政策通知"),
)


def money(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:,.2f}"


def rate(value: Decimal | str | None) -> str:
    """A fraction as a percentage: ``0.13`` → ``13%``, ``0.095`` → ``9.5%``; sets joined."""
    if value is None or value == "":
        return ""
    parts = [p for p in str(value).split(",") if p.strip()]
    out = []
    for p in parts:
        pct = (Decimal(p.strip()) * 100).normalize()
        out.append(f"{pct:f}%")
    return "、".join(out)


def day(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%Y-%m-%d")


def moment(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (
        value.astimezone().strftime("%Y-%m-%d %H:%M")
        if value.tzinfo
        else value.strftime("%Y-%m-%d %H:%M")
    )


def period(value: str | None) -> str:
    """所属期 ``202610`` → ``2026年10月``; a year ``2026`` → ``2026年``."""
    if not value:
        return ""
    if len(value) == 6 and value.isdigit():
        return f"{value[:4]}年{int(value[4:])}月"
    if len(value) == 4 and value.isdigit():
        return f"{value}年"
    return value


def period_long(value: str | None) -> str:
    """``202603`` → ``2026年03月`` (the form used in tables, so columns line up)."""
    if value and len(value) == 6 and value.isdigit():
        return f"{value[:4]}年{value[4:]}月"
    return period(value)


def size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def eta(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "约 1 分钟内"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"约 {minutes} 分钟"
    return f"约 {minutes // 60} 小时 {minutes % 60} 分钟"


@dataclass(frozen=True, slots=True)
class Chip:
    """A coloured status label: text, fill, text colour, outlined, struck through."""

    text: str
    fill: str
    fg: str
    outline: bool = False
    struck: bool = False


GREY = ("#eceff3", "#4a5260")
BLUE = ("#e3edfb", "#1f5fbf")
GREEN = ("#e2f3e8", "#1c7c3f")
GREEN_DARK = ("#cfead9", "#145c2e")
AMBER = ("#fff1d6", "#8a5a00")
RED = ("#fde4e2", "#b3261e")

_STATUS = {
    "queued": ("排队中", GREY),
    "auditing": ("审核中", BLUE),
    "rejected": ("不予受理", RED),
    "converted": ("已转正式申报", GREEN),
    "pending_confirm": ("待确认", BLUE),
    "confirmed": ("已确认", GREEN),
    "accepted": ("已受理", GREEN),
    "approved": ("审核通过", GREEN_DARK),
    "refused": ("审核不通过", RED),
    "withdrawn": ("已撤回", GREY),
    # feedback jobs
    "assembling": ("组装中", BLUE),
    "ready": ("可下载", GREEN),
    "failed": ("失败", RED),
    "expired": ("已过期", GREY),
}
_RESULT = {0: ("无疑点", GREEN), 1: ("有可挑过疑点", AMBER), 2: ("有不可挑过疑点", RED)}


def chip(status: str, result: int | None = None, text: str | None = None) -> Chip:
    """The chip for a declaration/job state; an audited one shows its result."""
    if status == "audited":
        label, (fill, fg) = _RESULT.get(result if result is not None else 0, _RESULT[0])
        if result is None:
            label = "审核完成"
        return Chip(label, fill, fg)
    label, (fill, fg) = _STATUS.get(status, (text or status, GREY))
    return Chip(
        text if status not in _STATUS and text else label,
        fill,
        fg,
        outline=status == "pending_confirm",
        struck=status == "withdrawn",
    )


def passable_chip(passable: bool) -> Chip:
    return Chip("可挑过", *AMBER) if passable else Chip("不可挑过", *RED)


def declaration_chip(d: Any) -> Chip:
    return chip(d.status, d.result, d.status_text)
