"""A small stand-in for the client core (same names as app.session), over a real LocalStore.

Used by the tab tests that need exact, fixed data (and by the model tests); the
end-to-end test drives the real core against a live stub instead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.models import (
    CalendarItem,
    CalendarMonth,
    Declaration,
    DeclaredCommodity,
    DeclaredDetail,
    Document,
    DocumentType,
    Doubt,
    DoubtCounts,
    Download,
    EnterpriseBrief,
    EnterpriseInfo,
    FeedbackJob,
    FeedbackJobType,
    Guide,
    Notice,
    Page,
    ProgressRow,
    RateMeta,
    RateRow,
)
from app.paths import AppPaths
from app.session import CheckReport
from app.store import LocalStore

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 5, 10, 20, tzinfo=TZ)
TID = "91110108MA01HC7K1M"

ENTERPRISE = EnterpriseInfo(
    taxpayer_id=TID,
    credit_code=TID,
    customs_code="1108361234",
    name="北京华辰精密机械有限公司",
    kind="manufacturer",
    management_class="一类",
    tax_office="国家税务总局北京市海淀区税务局",
    tax_office_phone="010-12345678",
    filing_date=date(2020, 3, 2),
    bank_name="中国建设银行北京海淀支行",
    bank_account_masked="1100 **** **** 2345",
    contact_name="王会计",
    contact_phone="13800138000",
    sections={
        "basic": {"企业名称": "北京华辰精密机械有限公司", "备案日期": "2020-03-02"},
        "extended": {"注册资本": "5000 万元"},
        "config": {"退税办法": "免抵退"},
        "collection": {"主管税务机关": "海淀区税务局"},
        "credit": {"纳税信用级别": "A"},
    },
)


def declaration(n: int, **kw: Any) -> Declaration:
    base = Declaration(
        id=f"d{n}", stage="pre", business_code="A0305001", business_name="生产企业免抵退税申报",
        period="202610", batch=f"{n:03d}", file_name=f"mdt_202610_{n:03d}.zip", size=20480,
        sha256=f"{n:064x}", uploaded_at=NOW - timedelta(minutes=n), status="audited",
        status_text="审核完成", record_count=50,
    )  # fmt: skip
    return replace(base, **kw)


def sample_declarations() -> list[Declaration]:
    return [
        declaration(1, status="queued", status_text="排队中", queue_position=12,
                    queue_eta_seconds=420, can_delete=True),
        declaration(2, result=2, doubt_counts=DoubtCounts(3, 1, 2),
                    blocked_reason="有不可挑过疑点，不能转正式申报"),
        declaration(3, result=0, doubt_counts=DoubtCounts(0, 0, 0), can_convert=True),
        declaration(4, stage="formal", status="pending_confirm", status_text="待确认",
                    can_confirm=True, can_withdraw=True,
                    amounts={"fob_cny": Decimal("639000.00"), "refund": Decimal("63900.00")}),
        declaration(5, stage="formal", status="accepted", status_text="已受理",
                    amounts={"refund": Decimal("1234567.89")}, accepted_at=NOW),
        declaration(6, stage="formal", status="withdrawn", status_text="已撤回"),
    ]  # fmt: skip


DOUBTS = [
    Doubt("1", "mdt_ckmx", "BGD_WDZXX", "E", False, "出口报关单", "报关单号",
          "无出口报关单电子信息", "海关信息可能尚未传到税务机关，请过几天再申报。"),
    Doubt("2", "mdt_ckmx", "TSL_DIFF", "I", True, "出口商品", "退税率", "退税率与文库不符", "核对商品代码。"),
    Doubt("7", "mdt_ckmx", "DW_DIFF", "I", True, "出口商品", "计量单位", "计量单位与电子信息不一致", "核对单位。"),
]  # fmt: skip


def notices() -> list[Notice]:
    cats = ("announcement", "daily", "annual", "progress", "policy")
    return [
        Notice(f"n{i}", cats[i % 5], f"提醒标题 {i}：关于出口退税申报的通知", "正文第一段。\n正文第二段。",
               NOW - timedelta(days=i), read=i % 3 == 0,
               subcategory="申报通知" if cats[i % 5] == "announcement" else None)
        for i in range(12)
    ]  # fmt: skip


def rates(n: int = 300) -> list[RateRow]:
    names = ("数控机床", "滚动轴承", "齿轮箱", "液压泵", "电动机", "变压器")
    return [
        RateRow(f"84{i:06d}", f"{names[i % len(names)]}{i}", "机械器具", "台", "0.13",
                Decimal("0.13") if i % 4 else Decimal("0.09"), date(2020, 1, 1), date(2099, 12, 31))
        for i in range(n)
    ]  # fmt: skip


def details(n: int) -> list[DeclaredDetail]:
    return [
        DeclaredDetail("d5", f"2026{1 + i % 10:02d}", "001", str(i + 1), f"{530120260000000000 + i}",
                       1 + i % 3, f"84{i % 997:06d}", f"商品{i % 997}", Decimal(i % 50 + 1),
                       Decimal(f"{(i * 37) % 100000}.25"), Decimal("0.13"), "accepted")
        for i in range(n)
    ]  # fmt: skip


class FakeClient:
    server = "http://127.0.0.1:9"

    def __init__(self) -> None:
        self.attachments_list: list[Any] = []

    def feedback_job_types(self) -> Page[FeedbackJobType]:
        items = [FeedbackJobType("audit_result", "mdt_result", "免抵退审核结果"),
                 FeedbackJobType("certificate", "dlck", "代理出口证明")]  # fmt: skip
        return Page(len(items), items)

    def document_types(self) -> Page[DocumentType]:
        items = [DocumentType("mdt_summary", "生产企业免抵退税汇总表", True),
                 DocumentType("approval_notice", "税务事项通知书（出口退税审批）", True)]  # fmt: skip
        return Page(2, items)

    def guides(self, category: str | None = None) -> Page[Guide]:
        items = [Guide(f"g{i}", category or "退税学堂", f"{category or '退税学堂'}文章 {i}", "摘要")
                 for i in range(3)]  # fmt: skip
        return Page(len(items), items)

    def guide(self, guide_id: str) -> Guide:
        return Guide(
            guide_id,
            "退税学堂",
            "如何申报",
            "摘要",
            body="# 标题\n\n| 列 | 值 |\n|---|---|\n| a | 1 |\n",
        )

    def downloads(self) -> Page[Download]:
        return Page(
            1,
            [
                Download(
                    "x1", "出口退税申报系统", "2.1.3", 1024, "0" * 64, NOW, "declaration_software"
                )
            ],
        )

    def calendar(self, year: int | str) -> Page[CalendarMonth]:
        y = int(year)
        items = [CalendarMonth(m, date(y, m, 1), date(y, m, 15), y > 2026,
                               [CalendarItem(date(y, m, 15), "申报期截止")]) for m in range(1, 13)]  # fmt: skip
        return Page(12, items)

    def rates_meta(self) -> RateMeta:
        return RateMeta("2026B", NOW, 300, "2026")

    def declared_commodities(
        self, q: str | None = None, *, page: int = 1, page_size: int = 50
    ) -> Page[Any]:
        items = [DeclaredCommodity("84581100", "数控车床", "台", Decimal("0.13"), 12, "202610")]
        return Page(1, items if page == 1 else [])

    def customs_einfo(
        self, period_from: Any = None, period_to: Any = None, *, page: int = 1, page_size: int = 500
    ) -> Page[Any]:
        return Page(0, [])

    def invoice_einfo(self, *a: Any, **kw: Any) -> Page[Any]:
        return Page(0, [])

    def attachments(self, declaration_id: str) -> Page[Any]:
        return Page(len(self.attachments_list), self.attachments_list)


class FakeSession:
    """Same names as ``app.session.Session``; records the calls it gets."""

    def __init__(self, paths: AppPaths, *, detail_rows: int = 40) -> None:
        self.paths = paths
        self.taxpayer_id = TID
        self.offline = False
        self.must_change_password = False
        self.enterprise = ENTERPRISE
        self.brief = EnterpriseBrief(TID, ENTERPRISE.name, "manufacturer", "一类")
        self.client = FakeClient()
        self.store = LocalStore(paths.store_path(TID))
        self.calls: list[tuple[str, Any]] = []
        self.detail_rows = detail_rows
        self.pdf: Path | None = None

    def refresh_all(self) -> None:
        self.calls.append(("refresh_all", None))
        s = self.store
        s.set_enterprise(ENTERPRISE)
        s.upsert_declarations(sample_declarations())
        s.replace_doubts("d2", DOUBTS)
        s.upsert_notices(notices())
        s.replace_progress(str(date.today().year), [
            ProgressRow("d5", "生产企业免抵退税申报", f"{date.today().year}03", "001", "approved", "审核通过",
                        declared_refund=Decimal("63900.00"), approved_refund=Decimal("60000.00")),
            ProgressRow("d7", "生产企业免抵退税申报", f"{date.today().year}05", "001", "accepted", "已受理",
                        declared_refund=Decimal("12000.50")),
        ])  # fmt: skip
        s.upsert_documents(
            [Document("doc1", "mdt_summary", "生产企业免抵退税汇总表", NOW, "a" * 64, "202610")]
        )
        s.upsert_feedback_jobs(
            [FeedbackJob("j1", "audit_result", "mdt_result", "202610", "assembling")]
        )
        s.replace_rates(rates(), "etag1", "2026B")
        s.replace_declared_details(details(self.detail_rows))

    def doubts(self, declaration_id: str) -> list[Doubt]:
        return self.store.doubts(declaration_id)

    def check_package(self, path: Path, stage: str = "pre") -> CheckReport:
        self.calls.append(("check", path))
        return CheckReport(
            path, "f" * 64, "A0305001", "202610", "001", 50, doubts=DOUBTS[:1], result=2
        )

    def upload(self, path: Path, stage: str = "pre", progress: Any = None) -> Declaration:
        if progress:
            progress(50, 100)
            progress(100, 100)
        d = declaration(9, stage=stage, status="queued", status_text="排队中", queue_position=3)
        self.store.upsert_declarations([d])
        self.calls.append(("upload", (path, stage)))
        return d

    def _set(self, d: Declaration, **kw: Any) -> Declaration:
        new = replace(d, **kw)
        self.store.upsert_declarations([new])
        return new

    def convert(self, declaration_id: str) -> Declaration:
        self.calls.append(("convert", declaration_id))
        pre = self.store.declaration(declaration_id)
        assert pre is not None
        self._set(pre, status="converted", can_convert=False)
        return self._set(pre, id="f" + declaration_id, stage="formal", status="pending_confirm",
                         status_text="待确认", can_convert=False, can_confirm=True, can_withdraw=True)  # fmt: skip

    def confirm(self, declaration_id: str) -> Declaration:
        self.calls.append(("confirm", declaration_id))
        d = self.store.declaration(declaration_id)
        assert d is not None
        return replace(self._set(d, status="confirmed", can_confirm=False, can_withdraw=False),
                       message="申报数据确认成功")  # fmt: skip

    def withdraw(self, declaration_id: str) -> Declaration:
        self.calls.append(("withdraw", declaration_id))
        d = self.store.declaration(declaration_id)
        assert d is not None
        return self._set(d, status="withdrawn", can_confirm=False, can_withdraw=False)

    def delete(self, declaration_id: str) -> None:
        self.calls.append(("delete", declaration_id))
        self.store.delete_declaration(declaration_id)

    def fetch_feedback(self, declaration_id: str, progress: Any = None) -> Path:
        folder = self.paths.feedback_dir(TID) / declaration_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def request_job(self, category: str, type: str, period: str) -> FeedbackJob:
        self.calls.append(("job", (category, type, period)))
        job = FeedbackJob("j2", category, type, period, "assembling")
        self.store.upsert_feedback_jobs([job])
        return job

    def fetch_job(self, job_id: str, progress: Any = None) -> Path:
        self.calls.append(("fetch_job", job_id))
        return self.fetch_feedback(job_id)

    def issue_document(self, type: str, period: str | None = None) -> Path:
        self.calls.append(("issue", (type, period)))
        assert self.pdf is not None
        return self.pdf

    def acceptance_document(self, declaration_id: str) -> Path:
        assert self.pdf is not None
        return self.pdf

    def update_contact(self, name: str, phone: str) -> EnterpriseInfo:
        self.calls.append(("contact", (name, phone)))
        self.enterprise = replace(ENTERPRISE, contact_name=name, contact_phone=phone)
        self.store.set_enterprise(self.enterprise)
        return self.enterprise

    def mark_read(self, notice_id: str) -> None:
        self.store.mark_notice_read(notice_id)

    def change_password(self, old: str, new: str) -> None:
        self.calls.append(("password", (old, new)))

    def close(self) -> None:
        self.store.close()


class FakeWorkspace:
    def __init__(self, session: FakeSession) -> None:
        self.sessions = {session.taxpayer_id: session}
        self.current = session
        self.credentials = None

    def accounts(self) -> list[Any]:
        return []

    def switch(self, taxpayer_id: str) -> FakeSession:
        return self.sessions[taxpayer_id]

    def logout(self, taxpayer_id: str) -> None:
        self.sessions.pop(taxpayer_id).close()
