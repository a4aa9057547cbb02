"""文书开具: issue a 退税类电子文书 (免抵退税汇总表, 审批情况反馈表, 税务事项通知书) and open it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ui import formatting as fmt
from ui.icons import icon
from ui.models import Column, ListModel, attr
from ui.tabs import Tab
from ui.widgets import RowAction, TablePanel, muted, open_folder


class DocumentsTab(Tab):
    KEYS = frozenset({"document"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        self.types: list[Any] = []
        self.paths: dict[str, Path | None] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.type = QComboBox()
        self.type.setMinimumWidth(260)
        self.type.currentIndexChanged.connect(self._type_changed)
        self.period = QComboBox()
        today = date.today()
        for i in range(1, 25):
            y, m = divmod(today.year * 12 + today.month - 1 - i, 12)
            p = f"{y}{m + 1:02d}"
            self.period.addItem(fmt.period(p), p)
        self.issue_button = QPushButton(icon("file", "#ffffff"), "开具")
        self.issue_button.setObjectName("issue")
        self.issue_button.setProperty("primary", True)
        self.issue_button.clicked.connect(self.issue)
        for w in (QLabel("文书类型"), self.type, QLabel("所属期"), self.period, self.issue_button):
            bar.addWidget(w)
        bar.addStretch(1)
        layout.addLayout(bar)
        layout.addWidget(
            muted("开具后文书保存在本机的「文书」文件夹，并在内置阅读器中打开，可打印或另存。")
        )
        self.model = ListModel([
            Column("文书名称", attr("name"), width=280),
            Column("所属期", attr("period"), "period", 110),
            Column("开具时间", attr("created_at"), "time", 140),
            Column("本机文件", lambda d: getattr(self.paths.get(d.id), "name", "（未下载）"),
                   width=360, tooltip=lambda d: str(self.paths.get(d.id) or "")),
            Column("sha256", lambda d: d.sha256[:16] + "…", tooltip=attr("sha256")),
        ])  # fmt: skip
        self.panel = TablePanel("documents", self.model, [
            RowAction("打开", "eye", self.open_document),
            RowAction("打开文件夹", "folder", lambda d: open_folder(self.paths[d.id].parent),
                      lambda d: None if self.paths.get(d.id) else "还没有下载到本机"),
            RowAction("刷新", "refresh", lambda _: self.ctx.refresh_all(), needs_row=False),
        ], filter_placeholder="筛选文书…", settings=ctx.settings)  # fmt: skip
        self.panel.activated.connect(self.open_document)
        layout.addWidget(self.panel, 1)

    def reload(self, keys: set[str]) -> None:
        store = self.store
        self.read(store.documents, self._show)
        if "all" in keys:
            client = self.session.client
            self.call(
                lambda: client.document_types().items, self._set_types, on_error=lambda _: True
            )

    def _set_types(self, types: Any) -> None:
        self.types = list(types)
        self.type.clear()
        for t in self.types:
            self.type.addItem(t.name, t)

    def _type_changed(self) -> None:
        t = self.type.currentData()
        self.period.setEnabled(bool(t and t.needs_period))

    def _show(self, docs: Any) -> None:
        self.paths = {d.id: p for d, p in docs}
        self.model.set_rows([d for d, _ in docs])

    def issue(self) -> None:
        t = self.type.currentData()
        if t is None:
            return
        period = self.period.currentData() if t.needs_period else None
        session = self.session
        self.issue_button.setEnabled(False)

        def done(path: Path) -> None:
            self.issue_button.setEnabled(True)
            self.ctx.request("document")
            self._view(path, t.name)

        def failed(_: BaseException) -> bool:
            self.issue_button.setEnabled(True)
            return False

        self.call(lambda: session.issue_document(t.type, period), done, label="正在开具文书…",
                  on_error=failed)  # fmt: skip

    def open_document(self, d: Any) -> None:
        path = self.paths.get(d.id)
        if path is not None and path.exists():
            self._view(path, d.name)
            return
        session = self.session

        def fetch() -> Path:
            dest = session.paths.documents_dir(session.taxpayer_id) / f"{d.name}-{d.id}.pdf"
            dest.parent.mkdir(parents=True, exist_ok=True)
            session.client.document_pdf(d.id, dest)
            session.store.set_document_path(d.id, dest)
            return dest

        def fetched(path: Path) -> None:
            self.ctx.request("document")
            self._view(path, d.name)

        self.call(fetch, fetched, label="正在下载文书…")

    def _view(self, path: Path, title: str) -> None:
        from ui.pdfviewer import PdfViewer

        PdfViewer.open_file(path, title, self.window())
