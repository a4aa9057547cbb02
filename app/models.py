"""What the platform sends, as typed dataclasses (protocol v1).

Money and quantities are ``Decimal``, times ``datetime`` (with offset), days ``date``.
:func:`from_wire` builds any of these classes from the JSON the platform sent (extra
keys are ignored, so a newer server does not break the client); :func:`to_wire` turns one
back into JSON-ready data (the local store keeps it that way).
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

Stage = Literal["pre", "formal"]
RELEASED_STATUSES = frozenset({"rejected", "withdrawn"})
"""A package whose declaration is in one of these states may be uploaded again (§5.1)."""
QUEUED_STATUSES = frozenset({"queued", "auditing"})
"""States in which a declaration waits for the audit (排队中, 审核中)."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One answer of a list call: ``total`` over all pages, this page's ``items``."""

    total: int
    items: list[T]


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    version: str
    time: datetime


@dataclass(frozen=True, slots=True)
class EnterpriseBrief:
    taxpayer_id: str
    name: str
    kind: str  # manufacturer 生产企业 | trader 外贸企业
    management_class: str


@dataclass(frozen=True, slots=True)
class LoginResult:
    token: str
    expires_at: datetime
    must_change_password: bool
    enterprise: EnterpriseBrief


@dataclass(frozen=True, slots=True)
class EnterpriseInfo:
    """企业备案信息 (protocol §3)."""

    taxpayer_id: str
    credit_code: str
    customs_code: str
    name: str
    kind: str
    management_class: str
    tax_office: str = ""
    tax_office_phone: str = ""
    filing_date: date | None = None
    bank_name: str = ""
    bank_account_masked: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedbackKey:
    key_id: str
    key: str


@dataclass(frozen=True, slots=True)
class CustomsEInfo:
    """出口报关单电子信息, one item."""

    entry_no: str
    item_no: int
    export_date: date
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Decimal
    fob_usd: Decimal
    trade_mode: str
    transport_mode: str = ""
    destination_country: str = ""
    declared_quantity_so_far: Decimal = Decimal(0)
    declared_fob_usd_so_far: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class InvoiceEInfo:
    """增值税发票电子信息 (外贸企业)."""

    invoice_code: str
    invoice_no: str
    issue_date: date
    seller_taxpayer_id: str
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    declared_amount_so_far: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class VatReturn:
    period: str
    filed: bool
    closing_credit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    period: str
    usd_cny: Decimal


@dataclass(frozen=True, slots=True)
class DoubtCounts:
    total: int
    blocking: int
    overridable: int


@dataclass(frozen=True, slots=True)
class Declaration:
    """One uploaded package: 预申报 (pre) or 正式申报 (formal), protocol §5."""

    id: str
    stage: str
    business_code: str
    business_name: str
    period: str
    batch: str
    file_name: str
    size: int
    sha256: str
    uploaded_at: datetime
    status: str
    status_text: str
    record_count: int = 0
    queue_position: int | None = None
    result: int | None = None
    doubt_counts: DoubtCounts | None = None
    amounts: dict[str, Decimal | None] | None = None
    reject_code: str | None = None
    reject_text: str | None = None
    source_id: str | None = None
    formal_id: str | None = None
    can_convert: bool = False
    can_confirm: bool = False
    can_withdraw: bool = False
    can_delete: bool = False
    blocked_reason: str | None = None
    queue_eta_seconds: int | None = None
    confirmed_at: datetime | None = None
    accepted_at: datetime | None = None
    approved_at: datetime | None = None
    refused_at: datetime | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Doubt:
    """疑点: ``passable`` False = 不可挑过."""

    seq: str | None
    table: str
    code: str
    level: str
    passable: bool
    object: str
    field: str
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    category: str
    file_name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class FeedbackJobType:
    category: str
    type: str
    name: str


@dataclass(frozen=True, slots=True)
class FeedbackJob:
    """反馈下载 job (protocol §6)."""

    id: str
    category: str
    type: str
    period: str
    status: str  # assembling | ready | failed | expired
    size: int | None = None
    record_count: int | None = None
    ready_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentType:
    type: str
    name: str
    needs_period: bool


@dataclass(frozen=True, slots=True)
class Document:
    """文书 issued by the platform."""

    id: str
    type: str
    name: str
    created_at: datetime
    sha256: str
    period: str | None = None


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """退税进度, one declaration."""

    declaration_id: str
    business_name: str
    period: str
    batch: str
    status: str
    status_text: str
    confirmed_at: datetime | None = None
    accepted_at: datetime | None = None
    approved_at: datetime | None = None
    declared_refund: Decimal | None = None
    approved_refund: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """退税提醒 / 通知公告."""

    id: str
    category: str
    title: str
    body: str
    published_at: datetime
    read: bool
    subcategory: str | None = None


@dataclass(frozen=True, slots=True)
class DeclaredCommodity:
    commodity_code: str
    commodity_name: str
    unit: str
    refund_rate: Decimal
    times_declared: int
    last_period: str


@dataclass(frozen=True, slots=True)
class DeclaredDetail:
    """申报明细数据, one declared line of an alive formal declaration."""

    declaration_id: str
    period: str
    batch: str
    seq: str
    entry_no: str
    item_no: int
    commodity_code: str
    commodity_name: str
    quantity: Decimal
    fob_usd: Decimal
    refund_rate: Decimal
    status: str


@dataclass(frozen=True, slots=True)
class RateRow:
    """出口退税率文库, one dated row (``vat_rate`` is the 征税率 set, e.g. "0.13,0.09")."""

    commodity_code: str
    name: str
    category: str
    unit: str
    vat_rate: str
    refund_rate: Decimal
    valid_from: date
    valid_to: date
    special_flag: str = ""


@dataclass(frozen=True, slots=True)
class RateMeta:
    version: str
    published_at: datetime
    count: int
    commodity_code_version: str = ""


@dataclass(frozen=True, slots=True)
class CalendarItem:
    date: date
    title: str


@dataclass(frozen=True, slots=True)
class CalendarMonth:
    """退税日历: one month's 申报期 and dates."""

    month: int
    period_start: date
    period_end: date
    provisional: bool
    items: list[CalendarItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Guide:
    id: str
    category: str
    title: str
    summary: str
    body: str | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """下载专区 file."""

    id: str
    name: str
    version: str
    size: int
    sha256: str
    published_at: datetime
    kind: str


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the sync feed: ``kind`` changed object ``id`` (``op`` upsert|deleted)."""

    kind: str
    id: str
    op: str
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncPage:
    cursor: int
    more: bool
    reset: bool
    changes: list[Change]


# -- JSON <-> dataclass ---------------------------------------------------------------------


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def from_wire(cls: type[T], data: Any) -> T:
    """Build ``cls`` from wire JSON. Raises ``ValueError`` on data that does not fit."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if _optional(hints[f.name]):
                kwargs[f.name] = None
            else:
                raise ValueError(f"{cls.__name__}: missing {f.name!r}")
    return cls(**kwargs)


def _optional(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)


def _convert(hint: Any, value: Any, name: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in get_args(hint) if a is not type(None)]
        return _convert(inner, value, name)
    if value is None:
        raise ValueError(f"{name}: null not allowed")
    if origin is list:
        (inner,) = get_args(hint)
        return [_convert(inner, v, name) for v in value]
    if origin is dict:
        _, inner = get_args(hint)
        return {str(k): _convert(inner, v, name) for k, v in value.items()}
    if hint is Any:
        return value
    if hint is Decimal:
        if isinstance(value, float):
            raise ValueError(f"{name}: a number must be a string on the wire")
        return Decimal(str(value))
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true/false")
        return value
    if hint is int:
        return int(value)
    if hint is str:
        return str(value)
    if dataclasses.is_dataclass(hint):
        return from_wire(hint, value)  # type: ignore[arg-type]
    raise ValueError(f"{name}: unsupported type {hint!r}")


def to_wire(obj: Any) -> Any:
    """JSON-ready data for a model (Decimal → str, datetime/date → ISO 8601)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_wire(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, list | tuple):
        return [to_wire(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_wire(v) for k, v in obj.items()}
    return obj
