"""The success answers of protocol v1 (../shared/docs/protocol.md), for the OpenAPI document.

These models describe what the routes send; they are never used to check an answer at
run time. A route declares one with ``response_model=documented(Model)``: the answer
stays the handler's plain dict (FastAPI only serialises it, as for ``dict[str, Any]``),
while /openapi.json shows ``Model`` — so the status GETs the clients poll pay nothing for
the precise document, and schemathesis (tests/fuzz) checks every answer against it.

Objects stay open (extra members allowed): the protocol is a contract on the members it
names, and a client must ignore members it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# ---------------------------------------------------------------- documentation only


@dataclass(frozen=True)
class _DocumentedAs:
    """Annotation: the JSON schema of ``model`` (as a ``$ref`` to its component)."""

    model: type[BaseModel]

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # the model as a list item is always emitted as a $ref (registered in the
        # components); taken alone it would be inlined into every operation
        items: JsonSchemaValue = handler(
            core_schema.list_schema(self.model.__pydantic_core_schema__)
        )
        return dict(items["items"])


def documented(model: type[BaseModel]) -> Any:
    """A ``response_model`` that is ``dict[str, Any]`` at run time and ``model`` in the
    OpenAPI document."""
    return Annotated[dict[str, Any], _DocumentedAs(model)]


BINARY = {"type": "string", "format": "binary"}


def binary(description: str, *media_types: str, status: int = 200) -> dict[int | str, Any]:
    """OpenAPI ``responses`` entry for a file answer (zip, PDF, image, NDJSON…)."""
    content = {media_type: {"schema": BINARY} for media_type in media_types}
    return {status: {"description": description, "content": content}}


# ---------------------------------------------------------------- wire types (protocol §0)

Money = Annotated[
    str,
    Field(pattern=r"^-?\d+\.\d{2}$", description="金额：两位小数的字符串", examples=["63900.00"]),
]
Fraction = Annotated[
    str, Field(pattern=r"^\d+(\.\d+)?$", description="税率：小数形式的字符串", examples=["0.13"])
]
Quantity = Annotated[
    str, Field(pattern=r"^-?\d+(\.\d{1,5})?$", description="数量：至多5位小数的字符串")
]
Period = Annotated[str, Field(pattern=r"^\d{4}(0[1-9]|1[0-2])$", description="YYYYMM")]
Day = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="YYYY-MM-DD",
        json_schema_extra={"format": "date"},
    ),
]
Time = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$",
        description="ISO 8601，带时区偏移",
        examples=["2026-11-05T10:20:30+08:00"],
        json_schema_extra={"format": "date-time"},
    ),
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Count = Annotated[int, Field(ge=0)]


class _Open(BaseModel):
    """An object of the protocol: the named members, and possibly more."""

    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- §1 health


class Health(_Open):
    status: Literal["ok"]
    version: str
    time: Time


# ---------------------------------------------------------------- §3 enterprise


class EnterpriseSections(_Open):
    """基础/扩展/配置/征管/信用信息: label → value."""

    basic: dict[str, str]
    extended: dict[str, str]
    config: dict[str, str]
    collection: dict[str, str]
    credit: dict[str, str]


class Enterprise(_Open):
    """企业备案信息 (信息区)."""

    taxpayer_id: str
    credit_code: str
    customs_code: str
    name: str
    kind: Literal["manufacturer", "trader"] = Field(description="生产企业 | 外贸企业")
    management_class: Literal["一类", "二类", "三类", "四类"]
    tax_office: str
    tax_office_phone: str
    filing_date: Day
    bank_name: str
    bank_account_masked: Annotated[str, Field(pattern=r"^\S{4} \*{4} \*{4} \S{4}$")]
    contact_name: str
    contact_phone: str
    sections: EnterpriseSections


class FeedbackKey(_Open):
    """反馈包解密密钥."""

    key_id: str
    key: Annotated[str, Field(min_length=32)]


# ---------------------------------------------------------------- §4 e-info


class CustomsLine(_Open):
    """出口报关单电子信息 (one item of an entry)."""

    entry_no: Annotated[str, Field(pattern=r"^\d{18}$")]
    item_no: Annotated[int, Field(ge=1, le=99)]
    export_date: Day
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Quantity
    fob_usd: Money
    trade_mode: Annotated[str, Field(pattern=r"^\d{4}$")]
    transport_mode: str
    destination_country: str
    declared_quantity_so_far: Quantity
    declared_fob_usd_so_far: Money


class InvoiceLine(_Open):
    """增值税发票电子信息 (a 数电票 has an empty ``invoice_code`` and a 20-digit number)."""

    invoice_code: str
    invoice_no: str
    issue_date: Day
    seller_taxpayer_id: str
    commodity_code: str
    commodity_name: str
    unit: str
    quantity: Quantity
    amount: Money
    tax_rate: Fraction
    tax: Money
    declared_amount_so_far: Money


class VatReturn(_Open):
    """增值税纳税申报 of a period and its 期末留抵税额."""

    period: Period
    filed: bool
    closing_credit: Money | None


class ExchangeRate(_Open):
    """外汇人民币折合率 of a month."""

    period: Period
    usd_cny: Annotated[str, Field(pattern=r"^\d+\.\d{4}$")]


# ---------------------------------------------------------------- §5 declarations

DeclarationStatus = Literal[
    "queued", "auditing", "audited", "rejected", "converted", "pending_confirm", "confirmed",
    "accepted", "approved", "refused", "withdrawn",
]  # fmt: skip


class DoubtCounts(_Open):
    total: Count
    blocking: Count
    overridable: Count


class MdtAmounts(_Open):
    """生产企业免抵退 (A0305001), protocol §5.4."""

    fob_cny: Money
    mdt_amount: Money = Field(description="免抵退税额")
    not_exempt_amount: Money = Field(description="免抵退税不得免征和抵扣税额")
    closing_credit: Money = Field(description="期末留抵税额")
    refund: Money = Field(description="应退税额")
    exempt_offset: Money = Field(description="免抵税额")


class MtsAmounts(_Open):
    """外贸企业免退税 (A0301001), protocol §5.4."""

    taxable_amount: Money = Field(description="计税金额")
    refund: Money = Field(description="应退税额")


class Declaration(_Open):
    """One uploaded package (预申报 or 正式申报)."""

    id: str
    stage: Literal["pre", "formal"]
    business_code: str = Field(examples=["A0305001"])
    business_name: str
    period: Period
    batch: Annotated[str, Field(examples=["001"])]
    file_name: str
    size: Count
    sha256: Sha256
    uploaded_at: Time
    record_count: Count
    status: DeclarationStatus
    status_text: str
    queue_position: Annotated[int, Field(ge=1)] | None = Field(description="审核排位（排队中）")
    result: Literal[0, 1, 2] | None = Field(
        description="0 无疑点, 1 仅可挑过疑点, 2 有不可挑过疑点; 审核前与不予受理时为 null"
    )
    doubt_counts: DoubtCounts | None
    amounts: MdtAmounts | MtsAmounts | None
    reject_code: str | None
    reject_text: str | None
    source_id: str | None
    formal_id: str | None
    can_convert: bool
    can_confirm: bool
    can_withdraw: bool
    can_delete: bool
    blocked_reason: str | None
    queue_eta_seconds: Count | None
    confirmed_at: Time | None
    accepted_at: Time | None
    approved_at: Time | None
    refused_at: Time | None


class DeclarationWithMessage(Declaration):
    """The Declaration after 确认申报 or 撤回, with the platform's message."""

    message: str


class Doubt(_Open):
    """A 疑点 of the audit (``passable``: 可挑过)."""

    seq: str | None = Field(description="申报序号；整个申报的疑点为 null")
    table: str
    code: str
    level: Literal["E", "I"]
    passable: bool
    object: str
    field: str
    message: str
    hint: str


class Attachment(_Open):
    """附列资料."""

    id: str
    category: Literal["采购合同", "仓单", "提单", "其他"]
    file_name: str
    size: Count
    sha256: Sha256


# ---------------------------------------------------------------- §6 feedback jobs

FeedbackCategory = Literal["audit_result", "certificate", "peripheral", "invoice"]


class FeedbackType(_Open):
    category: FeedbackCategory
    type: str = Field(examples=["mdt_result"])
    name: str


class FeedbackJob(_Open):
    """反馈下载任务."""

    id: str
    category: FeedbackCategory
    type: str
    period: Annotated[
        str, Field(pattern=r"^\d{4}((0[1-9]|1[0-2]))?$", description="YYYYMM 或 YYYY")
    ]
    status: Literal["assembling", "ready", "failed", "expired"]
    size: Count | None = Field(description="组装完成前为 null")
    record_count: Count | None = Field(description="组装完成前为 null")
    ready_at: Time | None
    expires_at: Time | None
    # members the platform adds beyond protocol §6
    reason: str | None = Field(None, description="失败原因（协议之外的附加字段）")
    created_at: Time | None = Field(None, description="申请时间（协议之外的附加字段）")


# ---------------------------------------------------------------- §7 services


class DocumentType(_Open):
    type: Literal["mdt_summary", "mts_approval", "approval_notice"]
    name: str
    needs_period: bool


class Document(_Open):
    """开具的文书."""

    id: str
    type: Literal["mdt_summary", "mts_approval", "approval_notice"]
    name: str
    period: Period | None
    created_at: Time
    sha256: Sha256


class Progress(_Open):
    """退税进度 of a submitted formal declaration."""

    declaration_id: str
    business_name: str
    period: Period
    batch: str
    status: Literal["confirmed", "accepted", "approved", "refused"]
    status_text: str
    confirmed_at: Time | None
    accepted_at: Time | None
    approved_at: Time | None
    declared_refund: Money | None
    approved_refund: Money | None


NoticeCategory = Literal["announcement", "daily", "annual", "progress", "policy"]


class Notice(_Open):
    """退税提醒."""

    id: str
    category: NoticeCategory
    subcategory: str
    title: str
    body: str
    published_at: Time
    read: bool


class DeclaredCommodity(_Open):
    """已申报过商品."""

    commodity_code: str
    commodity_name: str
    unit: str
    refund_rate: Fraction
    times_declared: Annotated[int, Field(ge=1)]
    last_period: Period


class DeclaredDetail(_Open):
    """申报明细数据: one declared detail line."""

    declaration_id: str
    period: Period
    batch: str
    seq: str
    entry_no: str
    item_no: int
    commodity_code: str
    commodity_name: str
    quantity: Quantity
    fob_usd: Money
    refund_rate: Fraction
    status: DeclarationStatus


class Rate(_Open):
    """出口退税率文库 row."""

    commodity_code: str
    name: str
    category: str = Field(description="商品类别")
    unit: str
    vat_rate: Annotated[str, Field(pattern=r"^\d+(\.\d+)?(,\d+(\.\d+)?)*$", description="征税率")]
    refund_rate: Fraction
    valid_from: Day
    valid_to: Day
    special_flag: str


class RateMeta(_Open):
    """退税率文库版本."""

    version: str = Field(examples=["2026B"])
    published_at: Time
    count: Count
    commodity_code_version: str


class CalendarItem(_Open):
    date: Day
    title: str


class CalendarMonth(_Open):
    """退税日历: one month's 申报期."""

    month: Annotated[int, Field(ge=1, le=12)]
    period_start: Day
    period_end: Day
    provisional: bool
    items: list[CalendarItem]


GuideCategory = Literal[
    "在线申报服务", "外贸企业政策", "生产企业政策", "退税学堂", "百科法规", "退税图书馆",
    "财税大百科", "退税博客",
]  # fmt: skip


class GuideHead(_Open):
    """退税指南 as listed."""

    id: str
    category: GuideCategory
    title: str
    summary: str


class GuideArticle(GuideHead):
    """退税指南 with its Markdown body."""

    body: str


class Download(_Open):
    """下载专区 file (``kind`` ``declaration_software``: the current 申报系统)."""

    id: str
    name: str
    version: str
    size: Count
    sha256: Sha256
    published_at: Time
    kind: str


# ---------------------------------------------------------------- §8 sync


class Change(_Open):
    kind: Literal["declaration", "notice", "progress", "feedback_job", "document", "enterprise"]
    id: str
    op: Literal["upsert", "deleted"]
    at: Time


class SyncAnswer(_Open):
    cursor: Count
    more: bool
    reset: bool
    changes: list[Change]


# ---------------------------------------------------------------- lists (protocol §0)


class DeclarationList(_Open):
    total: Count
    items: list[Declaration]


class DoubtList(_Open):
    total: Count
    items: list[Doubt]


class AttachmentList(_Open):
    total: Count
    items: list[Attachment]


class CustomsList(_Open):
    total: Count
    items: list[CustomsLine]


class InvoiceList(_Open):
    total: Count
    items: list[InvoiceLine]


class FeedbackTypeList(_Open):
    total: Count
    items: list[FeedbackType]


class FeedbackJobList(_Open):
    total: Count
    items: list[FeedbackJob]


class DocumentTypeList(_Open):
    total: Count
    items: list[DocumentType]


class DocumentList(_Open):
    total: Count
    items: list[Document]


class ProgressList(_Open):
    total: Count
    items: list[Progress]


class NoticeList(_Open):
    total: Count
    items: list[Notice]


class DeclaredCommodityList(_Open):
    total: Count
    items: list[DeclaredCommodity]


class DeclaredDetailList(_Open):
    total: Count
    items: list[DeclaredDetail]


class RateList(_Open):
    total: Count
    items: list[Rate]


class CalendarList(_Open):
    total: Count
    items: list[CalendarMonth]


class GuideList(_Open):
    total: Count
    items: list[GuideHead]


class DownloadList(_Open):
    total: Count
    items: list[Download]


# ---------------------------------------------------------------- §10 the tax office (admin)


class EnterpriseState(_Open):
    taxpayer_id: str
    state: str


class Created(_Open):
    id: str


class PublishedLibrary(_Open):
    version: str
    count: Count
