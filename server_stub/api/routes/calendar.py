"""退税日历: ``GET /calendar?year=`` — the monthly 申报期 and the deadlines (protocol §7)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server_stub import calendar
from server_stub.api.deps import CurrentEnterprise
from server_stub.api.errors import error_responses
from server_stub.api.schemas import CalendarList, documented
from server_stub.clock import today

router = APIRouter(tags=["办税服务"])


@router.get(
    "/calendar",
    response_model=documented(CalendarList),
    summary="退税日历：每月申报期与年度截止期",
    responses=error_responses(401, 403, 422),
)
def get_calendar(
    enterprise: CurrentEnterprise,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年份，默认今年")] = None,
) -> dict[str, Any]:
    months = calendar.year_calendar(year or today().year)
    items = [
        {
            "month": m.month,
            "period_start": m.period_start.isoformat(),
            "period_end": m.period_end.isoformat(),
            "provisional": m.provisional,
            "items": [{"date": i.day.isoformat(), "title": i.title} for i in m.items],
        }
        for m in months
    ]
    return {"total": len(items), "items": items}
