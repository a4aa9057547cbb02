"""退税申报: 预申报, 正式申报 and 反馈下载 (seed manual §3.3)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.declaration.audit import RULE_INDEX
from app.declaration.businesses import BUSINESSES
from app.declaration.columns import TABLE_COLUMNS
from ui import formatting as fmt
from ui.icons import icon
from ui.models import Column, ListModel, attr
from ui.tabs import Tab
from ui.tasks import Cancelled, error_text
from ui.widgets import (
    RowAction,
    SideNav,
    TablePanel,
    heading,
    inform,
    muted,
    open_folder,
    stretch_columns,
)

AMOUNT_LABELS = {
    "fob_cny": "出口离岸价（人民币）",
    "mdt_amount": "免抵退税额",
    "not_exempt_amount": "不得免征和抵扣税额",
    "closing_credit": "期末留抵税额",
    "refund": "应退税额",
    "exempt_offset": "免抵税额",
    "taxable_amount": "计税金额",
}


def refund_of(d: Any) -> Any:
    return (d.amounts or {}).get("refund")


def doubt_summary(d: Any) -> str:
    c = d.doubt_counts
    if c is None:
        return ""
    if not c.total:
        return "无"
    return f"不可挑过 {c.blocking}，可挑过 {c.overridable}"


def rank_text(d: Any) -> str:
    if d.queue_position is None:
        return "正在审核" if d.status == "auditing" else ""
    return f"第 {d.queue_position} 位"


def declaration_columns(stage: str) -> list[Column]:
    cols = [
        Column("业务", lambda d: d.business_name or d.business_code, width=170,
               tooltip=lambda d: f"{d.business_code} {d.business_name}"),
        Column("所属期", attr("period"), "period", 100),
        Column("批次", attr("batch"), width=56),
        Column("记录数", attr("record_count"), "int", 72),
        Column("审核状态", fmt.declaration_chip, "chip", 124,
               tooltip=lambda d: d.reject_text or d.blocked_reason or d.status_text),
    ]  # fmt: skip
    if stage == "pre":
        cols += [
            Column("审核排位", rank_text, width=88),
            Column("预计等待", lambda d: fmt.eta(d.queue_eta_seconds), width=96),
            Column("疑点", doubt_summary, width=160),
        ]
    else:
        cols += [
            Column("申报退税额（元）", refund_of, "money", 140),
            Column("确认时间", attr("confirmed_at"), "time", 136),
        ]
    cols += [
        Column("上传时间", attr("uploaded_at"), "time", 136),
        Column("文件名", attr("file_name"), width=120, tooltip=attr("file_name")),
    ]
    return cols


def doubt_meaning(code: str) -> str:
    """What a doubt code means, from the audit rule's message (its values left out)."""
    rule = RULE_INDEX.get(code)
    if rule is None:
        return ""
    # {name} is the checked value's column: the rule's own field when that holds a value
    field = next((c for cols in TABLE_COLUMNS.values() for c in cols if c.code == rule.field), None)
    name = field.name if field and field.kind in ("amount", "quantity", "date") else "数据"
    text = rule.message.replace("{name}", name)
    return re.sub(r"[\[（(]?\{[^}]*\}[\]）)]?", "", text)


def column_name(code: str, table: str = "") -> str:
    """The Chinese name of a data column (package-format §3), ``code`` when unknown."""
    tables = [TABLE_COLUMNS[table]] if table in TABLE_COLUMNS else TABLE_COLUMNS.values()
    return next((c.name for cols in tables for c in cols if c.code == code), code)


def doubt_code(x: Any) -> str:
    meaning = doubt_meaning(x.code)
    return f"{x.code}　{meaning}" if meaning else x.code


def doubt_field(x: Any) -> str:
    return column_name(x.field, x.table) if x.field else x.object or x.table


def doubt_field_tip(x: Any) -> str:
    where = x.object or x.table
    return f"{where} · {column_name(x.field, x.table)}（{x.field}）" if x.field else where


DOUBT_COLUMNS = [
    Column("申报序号", lambda x: x.seq or "（整份）", width=80),
    Column("类别", lambda x: fmt.passable_chip(x.passable), "chip", 96),
    Column("疑点", doubt_code, width=300, tooltip=doubt_code),
    Column("数据表 / 字段", doubt_field, width=112, tooltip=doubt_field_tip),
    Column("疑点描述", attr("message"), width=260, tooltip=attr("message")),
    Column("处理建议", attr("hint"), width=260, tooltip=attr("hint")),
]  # fmt: skip


class DeclareTab(Tab):
    KEYS = frozenset({"declaration"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.nav = SideNav()
        self.pre = PrePage(self)
        self.formal = FormalPage(self)
        self.feedback = FeedbackPage(self)
        self.nav.add("预申报", self.pre, "upload")
        self.nav.add("正式申报", self.formal, "file-check")
        self.nav.add("反馈下载", self.feedback, "download")
        layout.addWidget(self.nav)
        self.setAcceptDrops(True)

    def reload(self, keys: set[str]) -> None:
        self.pre.reload()
        self.formal.reload()
        if {"feedback_job", "all"} & keys:
            self.feedback.reload()

    def _changed(self, keys: Any) -> None:
        if self.ctx.session is not None and ({"all", "declaration", "feedback_job"} & set(keys)):
            self.reload(set(keys))

    def upload_current(self) -> None:
        page = self.nav.stack.currentWidget()
        stage = "formal" if page is self.formal else "pre"
        if page is self.feedback:
            self.nav.show_page(0)
        self.upload(stage)

    def upload(self, stage: str, path: Path | None = None) -> None:
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "选择申报数据包", str(Path.home()), "申报数据包 (*.zip);;所有文件 (*)"
            )
            if not name:
                return
            path = Path(name)
        UploadDialog(self, path, stage).open()

    # drag-and-drop of a package anywhere on the tab
    def dragEnterEvent(self, event: Any) -> None:
        urls = event.mimeData().urls()
        if len(urls) == 1 and urls[0].toLocalFile().lower().endswith(".zip"):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        path = Path(event.mimeData().urls()[0].toLocalFile())
        stage = "formal" if self.nav.stack.currentWidget() is self.formal else "pre"
        self.upload(stage, path)


# -- 预申报 ------------------------------------------------------------------------------------


class PrePage(QWidget):
    def __init__(self, tab: DeclareTab) -> None:
        super().__init__()
        self.tab = tab
        self.ctx = tab.ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        drop = QLabel(
            "把申报数据包（.zip）拖到这里即可上传；上传前会先在本机检查一遍。审核排位和状态会自动更新。"
        )
        drop.setProperty("muted", True)
        layout.addWidget(drop)
        self.model = ListModel(declaration_columns("pre"))
        self.panel = TablePanel(
            "pre",
            self.model,
            [
                RowAction(
                    "上传",
                    "upload",
                    lambda _: tab.upload("pre"),
                    needs_row=False,
                    primary=True,
                    tip="选择预申报数据包上传（Ctrl+U）",
                ),
                RowAction(
                    "刷新",
                    "refresh",
                    lambda _: self.ctx.refresh_all(),
                    needs_row=False,
                    tip="从平台重新读取（F5）；列表平时会自动更新",
                ),
                RowAction("下载反馈", "download", self.download, self._download_reason),
                RowAction("打开文件夹", "folder", self.open_folder, self._folder_reason),
                RowAction("转正式申报", "send", self.convert, self._convert_reason),
                RowAction("删除", "trash", self.delete, self._delete_reason),
            ],
            filter_placeholder="筛选业务、所属期、文件名…",
            settings=self.ctx.settings,
        )
        self.panel.selection_changed.connect(self.show_doubts)
        self.panel.activated.connect(self.show_doubts)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.panel)
        self.doubts = DoubtsPanel(self.ctx)
        splitter.addWidget(self.doubts)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self._folders: dict[str, Path] = {}

    def reload(self) -> None:
        store = self.tab.store

        def read() -> tuple[Any, Any]:
            return store.declarations("pre"), {e.source_id: e.folder for e in store.feedback()}

        self.tab.read(read, self._show)

    def _show(self, result: tuple[Any, Any]) -> None:
        rows, self._folders = result
        current = self.panel.current_row()
        self.model.set_rows(rows)
        if current is None or not self.panel.select_where(lambda d: d.id == current.id):
            self.panel.select_first()
        self.show_doubts(self.panel.current_row())

    def show_doubts(self, d: Any) -> None:
        self.doubts.show_for(d)

    # reasons (None = possible)
    def _download_reason(self, d: Any) -> str | None:
        if d.status in ("queued", "auditing"):
            return "审核完成后才能下载反馈"
        return None

    def _folder_reason(self, d: Any) -> str | None:
        return None if d.id in self._folders else "还没有下载这份反馈"

    def _convert_reason(self, d: Any) -> str | None:
        if d.can_convert:
            return None
        if d.status == "converted":
            return "已转正式申报"
        return d.blocked_reason or (
            "审核完成后才能转正式申报"
            if d.status in ("queued", "auditing")
            else "有不可挑过疑点，请修改数据后重新申报"
        )

    def _delete_reason(self, d: Any) -> str | None:
        return None if d.can_delete else "只能删除排队中的申报数据"

    # actions
    def download(self, d: Any) -> None:
        def done(folder: Path) -> None:
            self._folders[d.id] = folder
            self.panel.update_actions()
            box = inform(self, "反馈已下载", f"反馈已解密保存到：\n{folder}")
            box.addButton("打开文件夹", QMessageBox.ButtonRole.ActionRole).clicked.connect(
                lambda: open_folder(folder)
            )

        session = self.tab.session
        self.tab.call(lambda p: session.fetch_feedback(d.id, p), done,
                      label="正在下载并解密反馈…", progress=lambda *_: None)  # fmt: skip

    def open_folder(self, d: Any) -> None:
        open_folder(self._folders[d.id])

    def convert(self, d: Any) -> None:
        session = self.tab.session

        def done(formal: Any) -> None:
            self.ctx.request("declaration")
            self.tab.nav.show_page(1)
            self.tab.formal.focus(formal)
            inform(
                self,
                "转正式申报",
                "已转为正式申报，请在「待确认申报数据」中核对台账后确认申报。",
            )

        self.tab.call(lambda: session.convert(d.id), done, label="正在转正式申报…")

    def delete(self, d: Any) -> None:
        answer = QMessageBox.question(
            self,
            "删除",
            f"删除排队中的 {d.business_name} {fmt.period(d.period)} 第{d.batch}批？删除后需重新上传。",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        session = self.tab.session
        self.tab.call(lambda: session.delete(d.id), lambda _: self.ctx.request("declaration"))


class DoubtsPanel(QWidget):
    """反馈信息: the doubts of the selected declaration, in place, filterable by passable."""

    def __init__(self, ctx: Any) -> None:
        super().__init__()
        self.ctx = ctx
        self.current: Any = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        head = QHBoxLayout()
        self.title = heading("反馈信息")
        head.addWidget(self.title, 1)
        self.kind = QComboBox()
        self.kind.setObjectName("passable_filter")
        self.kind.addItems(["全部疑点", "不可挑过", "可挑过"])
        self.kind.currentIndexChanged.connect(self._filter)
        head.addWidget(self.kind)
        layout.addLayout(head)
        self.model = ListModel(DOUBT_COLUMNS)
        self.all: list[Any] = []
        self.panel = TablePanel("doubts", self.model, [], filter_placeholder="筛选申报序号、代码、描述…",
                                settings=ctx.settings)  # fmt: skip
        head.addWidget(self.panel.filter)
        self.summary = muted("")  # its own line: the counts and what to do fit without wrapping
        layout.addWidget(self.summary)
        layout.addWidget(self.panel, 1)

    def show_for(self, d: Any) -> None:
        self.current = d
        if d is None:
            self.title.setText("反馈信息")
            self.summary.setText("选择一条预申报数据查看它的疑点。")
            self._set([])
            return
        self.title.setText(f"反馈信息 · {d.business_name} {fmt.period(d.period)} 第{d.batch}批")
        if d.status in ("queued", "auditing"):
            self.summary.setText("审核完成后在这里显示疑点。")
            self._set([])
            return
        if d.status == "rejected":
            self.summary.setText(f"不予受理（{d.reject_code}）：{d.reject_text or ''}")
            self._set([])
            return
        session = self.ctx.session
        store = session.store

        def read() -> Any:
            doubts = store.doubts(d.id)
            if not doubts and d.doubt_counts and d.doubt_counts.total:
                doubts = session.doubts(d.id)
            return doubts

        def show(doubts: Any) -> None:
            if self.current is d:
                self._set(doubts)

        self.ctx.tasks.run(read, show, owner=self)

    def _set(self, doubts: list[Any]) -> None:
        self.all = list(doubts)
        blocking = sum(1 for x in self.all if not x.passable)
        if self.current is not None and self.current.status == "audited":
            self.summary.setText(
                f"共 {len(self.all)} 条疑点：不可挑过 {blocking} 条，可挑过 {len(self.all) - blocking} 条。"
                + ("请按处理建议修改数据后重新申报。" if blocking else "")
                if self.all else "审核通过，没有疑点。"
            )  # fmt: skip
        self._filter()

    def _filter(self) -> None:
        choice = self.kind.currentIndex()
        rows = [x for x in self.all if choice == 0 or (choice == 1) != x.passable]
        self.model.set_rows(rows)


# -- 正式申报 ------------------------------------------------------------------------------------

FORMAL_VIEWS = (
    ("待确认申报数据", ("queued", "auditing", "pending_confirm", "rejected")),
    ("已确认申报数据", ("confirmed",)),
    ("已受理申报数据", ("accepted", "approved", "refused")),
    ("全部", ()),
)


class FormalPage(QWidget):
    def __init__(self, tab: DeclareTab) -> None:
        super().__init__()
        self.tab = tab
        self.ctx = tab.ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.views = QTabBar()
        self.views.setDrawBase(False)
        for name, _ in FORMAL_VIEWS:
            self.views.addTab(name)
        self.views.currentChanged.connect(lambda _: self._apply())
        layout.addWidget(self.views)
        self.model = ListModel(declaration_columns("formal"))
        self.model.muted = lambda d: d.status == "withdrawn"
        self.panel = TablePanel(
            "formal",
            self.model,
            [
                RowAction(
                    "直接上传",
                    "upload",
                    lambda _: tab.upload("formal"),
                    needs_row=False,
                    primary=True,
                    tip="不需要预申报的业务直接上传正式申报数据（Ctrl+U）",
                ),
                RowAction("确认申报", "check-circle", self.confirm, self._confirm_reason),
                RowAction("撤回", "undo", self.withdraw, self._withdraw_reason),
                RowAction("受理文书", "file", self.acceptance, self._acceptance_reason),
                RowAction("附列资料", "paperclip", self.attachments, self._attach_reason),
                RowAction("刷新", "refresh", lambda _: self.ctx.refresh_all(), needs_row=False),
            ],
            filter_placeholder="筛选业务、所属期、文件名…",
            settings=self.ctx.settings,
        )
        self.panel.activated.connect(self._open)
        layout.addWidget(self.panel, 1)
        self.all: list[Any] = []

    def reload(self) -> None:
        store = self.tab.store
        self.tab.read(lambda: store.declarations("formal"), self._show)

    def _show(self, rows: Any) -> None:
        self.all = list(rows)
        self._apply()

    def _apply(self) -> None:
        statuses = FORMAL_VIEWS[self.views.currentIndex()][1]
        current = self.panel.current_row()
        self.model.set_rows([d for d in self.all if not statuses or d.status in statuses])
        if current is None or not self.panel.select_where(lambda d: d.id == current.id):
            self.panel.select_first()
        for i, (name, sts) in enumerate(FORMAL_VIEWS):
            n = sum(1 for d in self.all if not sts or d.status in sts)
            self.views.setTabText(i, f"{name}（{n}）" if sts else name)

    def focus(self, d: Any) -> None:
        self.views.setCurrentIndex(0)
        self.all = [x for x in self.all if x.id != d.id] + [d]
        self._apply()
        self.panel.select_where(lambda x: x.id == d.id)

    def _open(self, d: Any) -> None:
        if d.can_confirm:
            self.confirm(d)
        elif self._acceptance_reason(d) is None:
            self.acceptance(d)

    def _confirm_reason(self, d: Any) -> str | None:
        if d.can_confirm:
            return None
        return d.blocked_reason or {
            "confirmed": "已确认申报，等待税务机关受理",
            "withdrawn": "已撤回",
            "queued": "正在排队审核，审核完成后才能确认",
            "auditing": "正在审核，审核完成后才能确认",
        }.get(d.status, "只有待确认的申报数据可以确认申报")

    def _withdraw_reason(self, d: Any) -> str | None:
        if d.can_withdraw:
            return None
        return (
            "已确认的申报数据无法撤回"
            if d.status in ("confirmed", "accepted", "approved")
            else "只有待确认的申报数据可以撤回"
        )

    def _acceptance_reason(self, d: Any) -> str | None:
        return (
            None
            if d.status in ("accepted", "approved", "refused")
            else "税务机关受理后才能开具受理文书"
        )

    def _attach_reason(self, d: Any) -> str | None:
        if d.status in ("accepted", "approved", "refused", "withdrawn", "rejected"):
            return "税务机关受理后不能再增减附列资料"
        return None

    def confirm(self, d: Any) -> None:
        dialog = ConfirmDialog(d, self)
        dialog.accepted.connect(lambda: self._confirmed(d))
        dialog.open()

    def _confirmed(self, d: Any) -> None:
        session = self.tab.session

        def done(result: Any) -> None:
            self.ctx.request("declaration", "progress")
            inform(self, "确认申报", getattr(result, "message", None) or "申报数据确认成功")

        self.tab.call(lambda: session.confirm(d.id), done, label="正在确认申报…")

    def withdraw(self, d: Any) -> None:
        answer = QMessageBox.question(
            self, "撤回", f"撤回 {d.business_name} {fmt.period(d.period)} 第{d.batch}批的正式申报数据？"
            + ("\n撤回后对应的预申报数据可以重新转正式申报。" if d.source_id else "")
        )  # fmt: skip
        if answer != QMessageBox.StandardButton.Yes:
            return
        session = self.tab.session

        def done(result: Any) -> None:
            self.ctx.request("declaration")
            inform(self, "撤回", getattr(result, "message", None) or "正式申报数据已撤回")

        self.tab.call(lambda: session.withdraw(d.id), done, label="正在撤回…")

    def acceptance(self, d: Any) -> None:
        session = self.tab.session

        def done(path: Path) -> None:
            from ui.pdfviewer import PdfViewer

            PdfViewer.open_file(
                path, f"受理文书 - {d.business_name} {fmt.period(d.period)}", self.window()
            )

        self.tab.call(lambda: session.acceptance_document(d.id), done, label="正在下载受理文书…")

    def attachments(self, d: Any) -> None:
        AttachmentsDialog(self.tab, d, self).open()


class ConfirmDialog(QDialog):
    """确认申报: the 台账 first, then the question (ui-guide «确认申报»)."""

    def __init__(self, d: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("确认申报")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        layout.setSpacing(16)
        layout.addWidget(heading("正式申报数据台账"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)
        rows: list[tuple[str, str]] = [
            ("业务", f"{d.business_name}（{d.business_code}）"),
            ("所属期", fmt.period(d.period)),
            ("批次", d.batch),
            ("记录数", f"{d.record_count:,}"),
        ]
        for key, value in (d.amounts or {}).items():
            if value is not None:
                rows.append((AMOUNT_LABELS.get(key, key), fmt.money(value) + " 元"))
        rows += [
            ("文件名", d.file_name),
            ("sha256", d.sha256),
            ("上传时间", fmt.moment(d.uploaded_at)),
        ]
        for i, (k, v) in enumerate(rows):
            key = QLabel(k)
            key.setProperty("muted", True)
            value = QLabel(v)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(k == "sha256")
            if "元" in v:
                value.setAlignment(Qt.AlignmentFlag.AlignRight)
            grid.addWidget(key, i, 0)
            grid.addWidget(value, i, 1)
        layout.addLayout(grid)
        layout.addWidget(
            muted("确认申报后数据提交税务机关受理，不能再撤回。请核对台账无误后确认。")
        )
        buttons = QDialogButtonBox()
        ok = buttons.addButton("确认申报", QDialogButtonBox.ButtonRole.AcceptRole)
        ok.setProperty("primary", True)
        ok.setObjectName("confirm")
        buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class UploadDialog(QDialog):
    """上传: the local pre-check first, then the upload with a progress bar (cancellable)."""

    uploaded = Signal(object)

    def __init__(self, tab: DeclareTab, path: Path, stage: str) -> None:
        super().__init__(tab)
        self.tab = tab
        self.path = path
        self.stage = stage
        self.task: Any = None
        self.setWindowTitle("上传预申报数据" if stage == "pre" else "上传正式申报数据")
        self.setMinimumWidth(600)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        layout.setSpacing(16)
        form = QFormLayout()
        form.addRow(
            "数据包",
            QLabel(f"{path.name}（{fmt.size(path.stat().st_size if path.exists() else 0)}）"),
        )
        form.addRow("申报类型", QLabel("预申报" if stage == "pre" else "正式申报"))
        layout.addLayout(form)
        self.check = QLabel("正在本机检查数据包…")
        self.check.setObjectName("CheckResult")
        self.check.setWordWrap(True)
        self.check.setTextFormat(Qt.TextFormat.RichText)
        frame = QFrame()
        frame.setObjectName("HintBox")
        fl = QVBoxLayout(frame)
        fl.setContentsMargins(16, 12, 16, 12)
        fl.addWidget(self.check)
        layout.addWidget(frame)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.hide()
        layout.addWidget(self.bar)
        self.buttons = QDialogButtonBox()
        self.start = self.buttons.addButton("开始上传", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start.setObjectName("start_upload")
        self.start.setProperty("primary", True)
        self.start.setEnabled(False)
        self.cancel = self.buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        self.start.clicked.connect(self.upload)
        self.cancel.clicked.connect(self._cancel)
        layout.addWidget(self.buttons)
        session = tab.session
        tab.call(
            lambda: session.check_package(path, stage), self._checked, on_error=self._check_failed
        )

    def _show(self, text: str) -> None:
        self.check.setText(text)
        # grow to the whole message (longer than the placeholder), keeping the width, once
        # the layout has taken in the label's new height
        QTimer.singleShot(0, self, self._fit_height)

    def _fit_height(self) -> None:
        self.resize(self.width(), max(self.height(), self.heightForWidth(self.width())))

    def _checked(self, report: Any) -> None:
        text, blocking = describe_check(report)
        self._show(text)
        self.start.setEnabled(not blocking)
        if blocking:
            self.start.setToolTip("本机检查发现问题，请修改数据包后再上传")

    def _check_failed(self, exc: BaseException) -> bool:
        self._show(f"<b>本机检查没有完成：</b>{error_text(exc)}")
        from app.errors import CoreError

        self.start.setEnabled(not isinstance(exc, CoreError))
        return True

    def upload(self) -> None:
        self.start.setEnabled(False)
        self.bar.show()
        session, path, stage = self.tab.session, self.path, self.stage

        def progress(done: int, total: int | None) -> None:
            if total:
                self.bar.setValue(int(done * 1000 / total))

        self.task = self.tab.call(
            lambda p: session.upload(path, stage, p), self._done,
            label=f"正在上传 {path.name}…", progress=progress, on_error=self._failed,
        )  # fmt: skip

    def _done(self, d: Any) -> None:
        self.tab.ctx.request("declaration")
        if self.stage == "formal":
            self.tab.nav.show_page(1)
            self.tab.formal.focus(d)
        else:
            self.tab.nav.show_page(0)
        self.task = None
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        self.task = None
        self.bar.hide()
        self._show(f"<b>上传没有完成：</b>{error_text(exc)}")
        self.start.setEnabled(getattr(exc, "code", "") not in ("PACKAGE_DUPLICATE",))
        return not getattr(exc, "problems", None)

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.reject()


def describe_check(report: Any) -> tuple[str, bool]:
    """本地预审 (``Session.check_package``) as rich text; True when the upload would be refused."""
    lines: list[str] = []
    if report.business_code:
        business = BUSINESSES.get(report.business_code)
        name = f"{business.name}（{report.business_code}）" if business else report.business_code
        lines.append(
            f"{name}，所属期 {fmt.period(report.period)}，"
            f"批次 {report.batch}，{report.record_count:,} 条记录。"
        )
    refusal = report.refusal
    if refusal is not None:
        lines.append(f"<b style='color:#b3261e'>平台会拒收这个数据包：</b>{refusal.detail}")
        for p in (report.problems or [])[:8]:
            lines.append("· " + _problem_text(p))
        if len(report.problems or []) > 8:
            lines.append(f"…… 共 {len(report.problems)} 处问题")
        return "<br>".join(lines), True
    if report.duplicate_of is not None:
        dup = report.duplicate_of
        lines.append(
            f"<b style='color:#b3261e'>该数据包已于 {fmt.moment(dup.uploaded_at)} 上传"
            f"（编号 {dup.id}，{dup.status_text}），请勿重复上传。</b>"
        )
        return "<br>".join(lines), True
    doubts = list(report.doubts or [])
    hard = [x for x in doubts if not x.passable]
    if report.reject_code:
        lines.append(
            f"<b style='color:#b3261e'>本机预审：将被不予受理（{report.reject_code}）。</b>"
        )
    elif not doubts:
        lines.append("<b style='color:#1c7c3f'>本机预审通过，没有发现疑点</b>，可以上传。")
    else:
        color = "#b3261e" if hard else "#8a5a00"
        lines.append(
            f"<b style='color:{color}'>本机预审发现疑点 {len(doubts)} 条（不可挑过 {len(hard)} 条）。</b>"
            + ("仍可上传预申报，以平台审核的反馈为准；修改数据后再上传更省时间。" if hard else "")
        )
        for x in doubts[:6]:
            lines.append(f"· 申报序号 {x.seq or '—'}：{x.message}（{x.code}）")
    refund = (report.amounts or {}).get("refund")
    if refund is not None:
        lines.append(f"应退税额（本机计算）：{fmt.money(refund)} 元")
    for note in report.warnings or []:
        lines.append(f"<span style='color:#6b7482'>{note}</span>")
    return "<br>".join(lines), False


def _problem_text(p: Any) -> str:
    get = p.get if isinstance(p, dict) else lambda k, d="": getattr(p, k, d)
    where = " ".join(
        str(x)
        for x in (get("entry", ""), f"第{get('row')}行" if get("row") else "", get("column", ""))
        if x
    )
    return f"{where}：{get('message', '')}"


class AttachmentsDialog(QDialog):
    """附列资料 of a formal declaration: list, upload (采购合同/仓单/提单/其他), delete."""

    CATEGORIES = ("采购合同", "仓单", "提单", "其他")

    def __init__(self, tab: DeclareTab, d: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tab = tab
        self.d = d
        self.setWindowTitle(f"附列资料 - {d.business_name} {fmt.period(d.period)} 第{d.batch}批")
        self.setMinimumSize(640, 360)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        self.category = QComboBox()
        self.category.addItems(self.CATEGORIES)
        self.model = ListModel([
            Column("类别", attr("category"), width=96),
            Column("文件名", attr("file_name"), width=260),
            Column("大小", attr("size"), "size", 90),
            Column("sha256", lambda a: a.sha256[:16] + "…", tooltip=attr("sha256")),
        ])  # fmt: skip
        self.panel = TablePanel("attachments", self.model, [
            RowAction("上传附列资料", "upload", lambda _: self.upload(), needs_row=False, primary=True),
            RowAction("删除", "trash", self.delete),
        ], extra=[QLabel("类别"), self.category], settings=tab.ctx.settings)  # fmt: skip
        layout.addWidget(self.panel)
        layout.addWidget(
            muted(
                "PDF、JPG 或 PNG，单个不超过 20 MB。附列资料不是必报资料，税务机关没有要求时可不上传。"
            )
        )
        self.reload()

    def reload(self) -> None:
        client, did = self.tab.session.client, self.d.id
        self.tab.call(lambda: client.attachments(did).items, self.model.set_rows)

    def upload(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "选择附列资料", str(Path.home()), "资料 (*.pdf *.jpg *.jpeg *.png)"
        )
        if not name:
            return
        session, did, cat = self.tab.session, self.d.id, self.category.currentText()
        self.tab.call(lambda: session.upload_attachment(did, Path(name), cat), lambda _: self.reload(),
                      label="正在上传附列资料…")  # fmt: skip

    def delete(self, a: Any) -> None:
        client, did = self.tab.session.client, self.d.id
        self.tab.call(lambda: client.delete_attachment(did, a.id), lambda _: self.reload())


# -- 反馈下载 --------------------------------------------------------------------------------------

JOB_CATEGORIES = (
    ("audit_result", "审核结果反馈"),
    ("certificate", "单证类反馈信息"),
    ("peripheral", "周边业务审核结果"),
    ("invoice", "认证发票数据"),
)


class FeedbackPage(QWidget):
    def __init__(self, tab: DeclareTab) -> None:
        super().__init__()
        self.tab = tab
        self.ctx = tab.ctx
        self.types: list[Any] = []
        self._folders: dict[str, Path] = {}
        self._fetching: set[str] = set()
        self._cancelled: set[str] = set()  # not fetched again by itself once cancelled
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        form = QHBoxLayout()
        form.setSpacing(8)
        self.category = QComboBox()
        self.category.currentIndexChanged.connect(self._fill_types)
        self.type = QComboBox()
        self.type.setMinimumWidth(200)
        self.year = QComboBox()
        this_year = date.today().year
        for y in range(this_year, this_year - 4, -1):
            self.year.addItem(f"{y}年", str(y))
        self.month = QComboBox()
        self.month.addItem("全年", "")
        for m in range(1, 13):
            self.month.addItem(f"{m}月", f"{m:02d}")
        last = date.today().month - 1 or 12
        self.month.setCurrentIndex(last)
        if date.today().month == 1:
            self.year.setCurrentIndex(1)
        self.month.setToolTip("按月下载更快；按全年下载组装时间较长")
        query = QPushButton(icon("search", "#ffffff"), "查询")
        query.setProperty("primary", True)
        query.setObjectName("request_job")
        query.clicked.connect(self.request)
        for label, w in (("类别", self.category), ("反馈类型", self.type), ("申报年月", self.year)):
            form.addWidget(QLabel(label))
            form.addWidget(w)
        form.addWidget(self.month)
        form.addWidget(query)
        form.addStretch(1)
        layout.addLayout(form)
        layout.addWidget(
            muted(
                "提交后平台组装并加密反馈数据，就绪后客户端会自动下载、解密到本机文件夹，并在托盘提示。"
            )
        )
        self.model = ListModel([
            Column("类别", lambda j: dict(JOB_CATEGORIES).get(j.category, j.category), width=112),
            Column("反馈类型", self._type_name, width=160),
            Column("申报年月", attr("period"), "period", 110),
            Column("状态", lambda j: fmt.chip(j.status), "chip", 96, tooltip=lambda j: j.reason or ""),
            Column("记录数", attr("record_count"), "int", 80),
            Column("大小", attr("size"), "size", 90),
            Column("就绪时间", attr("ready_at"), "time", 136),
            Column("有效期至", attr("expires_at"), "time", 136),
            Column("本机文件夹", lambda j: getattr(self._folders.get(j.id), "name", ""), width=200,
                   tooltip=lambda j: str(self._folders.get(j.id, ""))),
        ])  # fmt: skip
        self.panel = TablePanel("jobs", self.model, [
            RowAction("下载", "download", self.download, self._download_reason),
            RowAction("打开文件夹", "folder", lambda j: open_folder(self._folders[j.id]),
                      lambda j: None if j.id in self._folders else "还没有下载"),
            RowAction("刷新", "refresh", lambda _: self.ctx.refresh_all(), needs_row=False),
        ], settings=self.ctx.settings)  # fmt: skip
        layout.addWidget(self.panel, 1)
        stretch_columns(self.panel.view, 8)

    def _type_name(self, j: Any) -> str:
        for t in self.types:
            if t.type == j.type:
                return t.name
        return j.type

    def reload(self) -> None:
        session = self.tab.session
        store = session.store
        if not self.types:
            self.tab.call(lambda: session.client.feedback_job_types().items, self._set_types,
                          on_error=lambda _: True)  # fmt: skip

        def read() -> Any:
            return store.feedback_jobs(), {e.source_id: e.folder for e in store.feedback()}

        self.tab.read(read, self._show)

    def _set_types(self, types: Any) -> None:
        self.types = list(types)
        self.category.blockSignals(True)
        self.category.clear()
        present = {t.category for t in self.types}
        for key, name in JOB_CATEGORIES:
            if key in present:
                self.category.addItem(name, key)
        self.category.blockSignals(False)
        self._fill_types()
        self.model.refresh()

    def _fill_types(self) -> None:
        cat = self.category.currentData()
        self.type.clear()
        for t in self.types:
            if t.category == cat:
                self.type.addItem(t.name, t.type)

    def _show(self, result: Any) -> None:
        jobs, self._folders = result
        self.model.set_rows(jobs)
        for job in jobs:  # downloaded and decrypted automatically when ready
            if (
                job.status == "ready"
                and job.id not in self._folders
                and job.id not in self._fetching
                and job.id not in self._cancelled
            ):
                self.download(job, quiet=True)

    def _download_reason(self, j: Any) -> str | None:
        return {
            "assembling": "平台正在组装反馈数据，就绪后会自动下载",
            "failed": "组装失败，请重新查询",
            "expired": "已超过 7 天有效期，请重新查询",
        }.get(j.status)

    def request(self) -> None:
        category, type_ = self.category.currentData(), self.type.currentData()
        if not category or not type_:
            return
        period = self.year.currentData() + (self.month.currentData() or "")
        session = self.tab.session
        self.tab.call(lambda: session.request_job(category, type_, period),
                      lambda _: self.ctx.request("feedback_job"), label="正在提交反馈下载…")  # fmt: skip

    def download(self, job: Any, quiet: bool = False) -> None:
        session = self.tab.session
        self._fetching.add(job.id)
        if not quiet:
            self._cancelled.discard(job.id)

        def done(folder: Path) -> None:
            self._fetching.discard(job.id)
            self._folders[job.id] = folder
            self.model.refresh()
            self.panel.update_actions()

        def failed(exc: BaseException) -> bool:
            self._fetching.discard(job.id)
            if isinstance(exc, Cancelled):
                self._cancelled.add(job.id)
            return quiet

        self.tab.call(lambda p: session.fetch_job(job.id, p), done, label="正在下载并解密反馈…",
                      progress=lambda *_: None, on_error=failed)  # fmt: skip
