"""退税提醒: 通知公告, 日常提醒, 年度提醒, 办理进度, 政策通知 — unread ones marked."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from ui import formatting as fmt
from ui.models import Column, ListModel, attr
from ui.tabs import Tab
from ui.widgets import RowAction, SideNav, TablePanel


def read_chip(n: Any) -> fmt.Chip:
    return fmt.Chip("已读", *fmt.GREY) if n.read else fmt.Chip("未读", *fmt.BLUE)


class RemindersTab(Tab):
    KEYS = frozenset({"notice"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.nav = SideNav()
        self.pages: list[NoticePage] = []
        for key, name in fmt.NOTICE_CATEGORIES:
            page = NoticePage(self, key)
            self.pages.append(page)
            self.nav.add(name, page)
        layout.addWidget(self.nav)

    def reload(self, keys: set[str]) -> None:
        store = self.store

        def read() -> tuple[Any, Any]:
            return store.notices(), store.unread_counts()

        self.read(read, self._show)

    def _show(self, result: tuple[Any, Any]) -> None:
        notices, unread = result
        for i, (key, name) in enumerate(fmt.NOTICE_CATEGORIES):
            n = unread.get(key, 0)
            self.nav.set_title(i, f"{name}（{n}）" if n else name)
            self.pages[i].set_rows([x for x in notices if x.category == key])

    def open_notice(self, notice: Any) -> None:
        index = [k for k, _ in fmt.NOTICE_CATEGORIES].index(notice.category)
        self.nav.show_page(index)
        page = self.pages[index]
        page.panel.select_where(lambda n: n.id == notice.id)
        page.show_notice(notice)


class NoticePage(QWidget):
    def __init__(self, tab: RemindersTab, category: str) -> None:
        super().__init__()
        self.tab = tab
        self.category = category
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        columns = [Column("状态", read_chip, "chip", 72), Column("标题", attr("title"), width=480)]
        if category == "announcement":
            columns.append(Column("类别", lambda n: n.subcategory or "", width=90))
        columns.append(Column("发布时间", attr("published_at"), "time", 140))
        self.model = ListModel(columns)
        self.model.bold = lambda n: not n.read
        self.panel = TablePanel(
            f"notices-{category}", self.model,
            [RowAction("标为已读", "check", self.mark_read,
                       lambda n: None if not n.read else "已读")],
            filter_placeholder="筛选标题…", settings=tab.ctx.settings,
        )  # fmt: skip
        self.panel.selection_changed.connect(self.show_notice)
        self.body = QTextBrowser()
        self.body.setOpenExternalLinks(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.panel)
        splitter.addWidget(self.body)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter)
        self.empty = QLabel("")

    def set_rows(self, rows: list[Any]) -> None:
        current = self.panel.current_row()
        self.model.set_rows(rows)
        if current is not None:
            self.panel.select_where(lambda n: n.id == current.id)

    def show_notice(self, n: Any) -> None:
        if n is None:
            self.body.setHtml("<p style='color:#6b7482'>选择一条提醒查看内容。</p>")
            return
        body = "".join(f"<p>{line}</p>" for line in n.body.splitlines() if line.strip())
        self.body.setHtml(f"<h3>{n.title}</h3><p style='color:#6b7482'>{fmt.moment(n.published_at)}"
                          f"{'　' + n.subcategory if n.subcategory else ''}</p>{body}")  # fmt: skip
        if not n.read:
            self.mark_read(n)

    def mark_read(self, n: Any) -> None:
        session = self.tab.session
        self.tab.call(lambda: session.mark_read(n.id), lambda _: self.tab.ctx.request("notice"),
                      on_error=lambda _: True)  # fmt: skip
