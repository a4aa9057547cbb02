"""办税服务: 退税日历 (month view, 申报期 highlighted, countdown), 退税指南 (Markdown),
下载专区 (downloads verified by sha256)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import (
    QCalendarWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ui import formatting as fmt
from ui.icons import tone
from ui.models import Column, ListModel, attr
from ui.tabs import Tab
from ui.widgets import RowAction, SideNav, TablePanel, heading, inform, muted

GUIDE_CATEGORIES = ("在线申报服务", "外贸企业政策", "生产企业政策", "退税学堂", "百科法规",
                    "退税图书馆", "财税大百科", "退税博客")  # fmt: skip


def wrap_lines(view: QListWidget) -> None:
    """Long titles wrap inside the list instead of running under a horizontal scroll bar."""
    view.setWordWrap(True)
    view.setResizeMode(QListWidget.ResizeMode.Adjust)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)


class ServicesTab(Tab):
    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.nav = SideNav()
        self.calendar = CalendarPage(self)
        self.guides = GuidesPage(self)
        self.downloads = DownloadsPage(self)
        self.nav.add("退税日历", self.calendar, "calendar")
        self.nav.add("退税指南", self.guides, "book")
        self.nav.add("下载专区", self.downloads, "download")
        layout.addWidget(self.nav)

    def reload(self, keys: set[str]) -> None:
        if "all" in keys:
            self.calendar.reload()
            self.guides.reload()
            self.downloads.reload()

    def open_guide(self, guide: Any) -> None:
        self.nav.show_page(1)
        self.guides.open(guide)


class CalendarPage(QWidget):
    def __init__(self, tab: ServicesTab) -> None:
        super().__init__()
        self.tab = tab
        self.months: dict[tuple[int, int], Any] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        left = QVBoxLayout()
        self.countdown = QLabel("")
        self.countdown.setObjectName("BigNumber")
        self.countdown.setWordWrap(True)
        left.addWidget(self.countdown)
        self.cal = QCalendarWidget()
        self.cal.setGridVisible(False)
        self.cal.setVerticalHeaderFormat(QCalendarWidget.VerticalHeaderFormat.NoVerticalHeader)
        self.cal.setLocale(self.cal.locale().__class__(self.cal.locale().Language.Chinese,
                                                       self.cal.locale().Country.China))  # fmt: skip
        self.cal.setMinimumSize(520, 360)
        self.cal.currentPageChanged.connect(lambda y, m: self._show_month(y, m))
        left.addWidget(self.cal, 1)
        legend = muted(
            "蓝色底为申报期；橙色为日历中的重要日期。标「暂定」的月份节假日安排尚未正式公布。"
        )
        left.addWidget(legend)
        layout.addLayout(left, 3)
        right = QVBoxLayout()
        self.month_title = heading("")
        right.addWidget(self.month_title)
        self.items = QListWidget()
        wrap_lines(self.items)
        right.addWidget(self.items, 1)
        layout.addLayout(right, 2)

    def reload(self) -> None:
        client = self.tab.session.client
        year = date.today().year

        def fetch() -> list[Any]:
            return client.calendar(year).items + client.calendar(year + 1).items

        def show(items: list[Any]) -> None:
            self.months = {(m.period_start.year, m.month): m for m in items}
            self._paint()
            self._show_month(self.cal.yearShown(), self.cal.monthShown())
            self._countdown()

        self.tab.call(fetch, show, on_error=lambda _: True)

    def _paint(self) -> None:
        period_fmt = QTextCharFormat()
        period_fmt.setBackground(QColor(tone("#d6e4f8", "#24406b")))
        period_fmt.setForeground(QColor(tone("#1f5fbf", "#cfe0ff")))
        item_fmt = QTextCharFormat()
        item_fmt.setBackground(QColor(tone("#fff1d6", "#5a4215")))
        item_fmt.setForeground(QColor(tone("#8a5a00", "#ffd89a")))
        item_fmt.setFontWeight(700)
        for m in self.months.values():
            d = m.period_start
            while d <= m.period_end:
                self.cal.setDateTextFormat(QDate(d.year, d.month, d.day), period_fmt)
                d = date.fromordinal(d.toordinal() + 1)
            for it in m.items:
                self.cal.setDateTextFormat(
                    QDate(it.date.year, it.date.month, it.date.day), item_fmt
                )

    def _show_month(self, year: int, month: int) -> None:
        m = self.months.get((year, month))
        self.items.clear()
        if m is None:
            self.month_title.setText(f"{year}年{month}月")
            return
        self.month_title.setText(
            f"{year}年{month}月 申报期 {fmt.day(m.period_start)} 至 {fmt.day(m.period_end)}"
            + ("（暂定）" if m.provisional else "")
        )
        for it in m.items:
            self.items.addItem(QListWidgetItem(f"{fmt.day(it.date)}　{it.title}"))

    def _countdown(self) -> None:
        today = date.today()
        current = next((m for m in sorted(self.months.values(), key=lambda m: m.period_start)
                        if m.period_end >= today), None)  # fmt: skip
        if current is None:
            self.countdown.setText("")
        elif current.period_start <= today:
            days = (current.period_end - today).days
            self.countdown.setText(
                f"本月申报期 {fmt.day(current.period_end)} 截止，还剩 {days} 天"
                if days
                else "今天是本月申报期最后一天"
            )
        else:
            days = (current.period_start - today).days
            self.countdown.setText(
                f"下一个申报期 {fmt.day(current.period_start)} 开始，还有 {days} 天"
            )


class GuidesPage(QWidget):
    """退税指南: categories, titles, and the guide rendered from Markdown."""

    def __init__(self, tab: ServicesTab) -> None:
        super().__init__()
        self.tab = tab
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter()
        self.list = QListWidget()
        self.list.setMinimumWidth(340)
        wrap_lines(self.list)
        self.list.currentItemChanged.connect(
            lambda cur, _: (
                self.open(cur.data(Qt.ItemDataRole.UserRole))
                if cur and cur.data(Qt.ItemDataRole.UserRole)
                else None
            )
        )
        self.body = QTextBrowser()
        self.body.setOpenExternalLinks(True)
        splitter.addWidget(self.list)
        splitter.addWidget(self.body)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter)

    def reload(self) -> None:
        client = self.tab.session.client
        self.tab.call(lambda: client.guides().items, self._show, on_error=lambda _: True)

    def _show(self, guides: list[Any]) -> None:
        self.list.clear()
        by_cat: dict[str, list[Any]] = {}
        for g in guides:
            by_cat.setdefault(g.category, []).append(g)
        for cat in [*GUIDE_CATEGORIES, *(c for c in by_cat if c not in GUIDE_CATEGORIES)]:
            if cat not in by_cat:
                continue
            header = QListWidgetItem(cat)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(header)
            for g in by_cat[cat]:
                item = QListWidgetItem("　" + g.title)
                item.setData(Qt.ItemDataRole.UserRole, g)
                item.setToolTip(g.summary)
                self.list.addItem(item)
        if self.list.count() > 1 and not self.body.toPlainText():
            self.list.setCurrentRow(1)

    def open(self, guide: Any) -> None:
        client = self.tab.session.client

        def render() -> str:
            import markdown

            body = guide.body if guide.body is not None else client.guide(guide.id).body
            html = markdown.markdown(body or "", extensions=["tables", "sane_lists"])
            # QTextDocument knows table attributes better than CSS borders
            return html.replace(
                "<table>", '<table border="1" cellspacing="0" cellpadding="6" width="100%">'
            )

        def show(html: str) -> None:
            title = "" if html.lstrip().startswith("<h1") else f"<h2>{guide.title}</h2>"
            self.body.setHtml(f"{title}<p style='color:#6b7482'>{guide.category}</p>{html}")

        self.tab.call(render, show)


class DownloadsPage(QWidget):
    """下载专区: files checked against their sha256 before they are kept."""

    def __init__(self, tab: ServicesTab) -> None:
        super().__init__()
        self.tab = tab
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.model = ListModel([
            Column("名称", attr("name"), width=300),
            Column("版本", attr("version"), width=100),
            Column("大小", attr("size"), "size", 90),
            Column("发布日期", attr("published_at"), "date", 110),
            Column("类别", lambda d: "申报系统（当前版本）" if d.kind == "declaration_software" else "资料", width=150),
            Column("sha256", lambda d: d.sha256[:16] + "…", tooltip=attr("sha256")),
        ])  # fmt: skip
        self.panel = TablePanel("downloads", self.model, [
            RowAction("下载", "download", self.download, primary=True),
        ], settings=tab.ctx.settings)  # fmt: skip
        self.panel.activated.connect(self.download)
        layout.addWidget(self.panel, 1)
        layout.addWidget(muted("下载完成后会核对文件的 sha256 校验值，与平台公布的一致才保存。"))

    def reload(self) -> None:
        client = self.tab.session.client
        self.tab.call(
            lambda: client.downloads().items, self.model.set_rows, on_error=lambda _: True
        )

    def download(self, d: Any) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "保存到", str(Path.home() / d.name))
        if not name:
            return
        client = self.tab.session.client
        dest = Path(name)

        def fetch(progress: Any) -> Path:
            from app.documents import file_sha256
            from app.errors import LocalError

            temp = dest.with_name(f".{dest.name}.part")
            client.download_file(d.id, temp, progress)
            if file_sha256(temp) != d.sha256.lower():
                temp.unlink(missing_ok=True)
                raise LocalError("下载的文件与平台公布的 sha256 校验值不一致，已删除。请重新下载。")
            temp.replace(dest)
            return dest

        self.tab.call(fetch, lambda p: inform(self, "下载完成", f"已校验并保存到：\n{p}"),
                      label=f"正在下载 {d.name}…", progress=lambda *_: None)  # fmt: skip
