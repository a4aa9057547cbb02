"""出口退税电子信息查询: customs, invoices, VAT returns, exchange rates (protocol §4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from server_stub import clock, einfo
from server_stub.api.deps import CurrentEnterprise, Db, Paging, paged
from server_stub.api.errors import ApiError, error_responses
from server_stub.api.schemas import CustomsList, ExchangeRate, InvoiceList, VatReturn, documented

router = APIRouter(tags=["电子信息"])

MAX_SPAN = 36
PERIOD = r"^\d{4}(0[1-9]|1[0-2])$"
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD, description="YYYYMM")]
RequiredPeriod = Annotated[str, Query(pattern=PERIOD, description="YYYYMM")]


def _range(period_from: str | None, period_to: str | None) -> tuple[str, str]:
    """The months to list: by default the last 36 months up to the current one."""
    current = clock.month_index(clock.today().strftime("%Y%m"))
    to = clock.month_index(period_to) if period_to else current
    start = clock.month_index(period_from) if period_from else to - MAX_SPAN
    if start > to:
        raise ApiError(
            422, "VALIDATION", "起始月份不能晚于截止月份，请调整查询期间。",
            errors=[{"field": "period_from", "message": "晚于 period_to"}],
        )  # fmt: skip
    if to - start > MAX_SPAN:
        raise ApiError(
            422, "VALIDATION", "查询期间不能超过36个月，请缩短查询期间后重试。",
            errors=[{"field": "period_from", "message": "期间超过36个月"}],
        )  # fmt: skip
    return clock.period_of(start), clock.period_of(to)


def _date_range(period_from: str | None, period_to: str | None) -> tuple[str, str]:
    start, end = _range(period_from, period_to)
    return f"{start[:4]}-{start[4:]}-01", f"{end[:4]}-{end[4:]}-31"


@router.get(
    "/e-info/customs",
    response_model=documented(CustomsList),
    summary="出口报关单电子信息（按出口月份）",
    responses=error_responses(401, 403, 422),
)
def customs(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    period_from: PeriodQuery = None,
    period_to: PeriodQuery = None,
) -> dict[str, Any]:
    start, end = _date_range(period_from, period_to)
    where, args = " AND export_date >= ? AND export_date <= ?", (start, end)
    total = conn.execute(
        "SELECT count(*) FROM customs WHERE taxpayer_id = ?" + where,
        (enterprise.taxpayer_id, *args),
    ).fetchone()[0]
    lines = einfo.customs_lines(
        conn, enterprise.taxpayer_id, where, args, paging.page_size, paging.offset
    )
    return paged(total, [einfo.customs_dict(c) for c in lines])


@router.get(
    "/e-info/invoices",
    response_model=documented(InvoiceList),
    summary="增值税发票电子信息（外贸企业，按开票月份）",
    responses=error_responses(401, 403, 422),
)
def invoices(
    enterprise: CurrentEnterprise,
    conn: Db,
    paging: Paging,
    period_from: PeriodQuery = None,
    period_to: PeriodQuery = None,
) -> dict[str, Any]:
    start, end = _date_range(period_from, period_to)
    where, args = " AND issue_date >= ? AND issue_date <= ?", (start, end)
    total = conn.execute(
        "SELECT count(*) FROM invoices WHERE taxpayer_id = ?" + where,
        (enterprise.taxpayer_id, *args),
    ).fetchone()[0]
    items = einfo.invoices(
        conn, enterprise.taxpayer_id, where, args, paging.page_size, paging.offset
    )
    return paged(total, [einfo.invoice_dict(i) for i in items])


@router.get(
    "/e-info/vat-returns",
    response_model=documented(VatReturn),
    summary="增值税纳税申报情况及期末留抵税额（生产企业）",
    responses=error_responses(401, 403, 422),
)
def vat_return(enterprise: CurrentEnterprise, conn: Db, period: RequiredPeriod) -> dict[str, Any]:
    if enterprise.kind != "manufacturer":
        raise ApiError(
            422, "VALIDATION", "外贸企业不适用增值税纳税申报期末留抵查询（仅生产企业免抵退税使用）。",
            errors=[{"field": "period", "message": "仅生产企业可查询"}],
        )  # fmt: skip
    row = conn.execute(
        "SELECT closing_credit FROM vat_returns WHERE taxpayer_id = ? AND period = ?",
        (enterprise.taxpayer_id, period),
    ).fetchone()
    return {"period": period, "filed": row is not None, "closing_credit": row[0] if row else None}


@router.get(
    "/e-info/exchange-rates",
    response_model=documented(ExchangeRate),
    summary="外汇人民币折合率（按月）",
    responses=error_responses(401, 403, 404, 422),
)
def exchange_rate(
    enterprise: CurrentEnterprise, conn: Db, period: RequiredPeriod
) -> dict[str, Any]:
    row = conn.execute("SELECT usd_cny FROM exchange_rates WHERE period = ?", (period,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"{period[:4]}年{int(period[4:])}月的外汇折合率尚未公布。")
    return {"period": period, "usd_cny": row[0]}
