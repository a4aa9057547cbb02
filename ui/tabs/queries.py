"""综合查询: 一户式查询 (企业备案信息, 已申报过商品, 申报明细数据) and 出口退税率查询."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import formatting as fmt
from ui.icons import icon
from ui.models import Column, DeclaredDetailModel, ListModel, attr
from ui.tabs import Tab
from ui.tabs.desktop import EnterpriseSections
from ui.widgets import ChipDelegate, SideNav, TablePanel, heading, muted


class QueriesTab(Tab):
    KEYS = frozenset({"enterprise", "declaration"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.nav = SideNav()
        self.filing = FilingPage()
        self.commodities = CommoditiesPage(self)
        self.details = DetailsPage(self)
        self.rates = RatesPage(self)
        self.nav.add("企业备案信息", self.filing, "building")
        self.nav.add("已申报过商品", self.commodities, "list")
        self.nav.add("申报明细数据", self.details, "file")
        self.nav.add("出口退税率查询", self.rates, "search")
        layout.addWidget(self.nav)

    def reload(self, keys: set[str]) -> None:
        ent = self.ctx.enterprise
        if ent is not None and {"enterprise", "all"} & keys:
            self.filing.show_enterprise(ent)
        if {"declaration", "all"} & keys:
            self.details.reload()
            self.commodities.query()
        if "all" in keys:
            self.rates.reload()


class FilingPage(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.title = heading("")
        self.layout_.addWidget(self.title)
        self.sections: QWidget | None = None

    def show_enterprise(self, ent: Any) -> None:
        self.title.setText(f"{ent.name}　纳税人识别号 {ent.taxpayer_id}")
        if not getattr(ent, "sections", None):
            return
        if self.sections is not None:
            self.sections.deleteLater()
        self.sections = EnterpriseSections(ent)
        self.layout_.addWidget(self.sections, 1)


class CommoditiesPage(QWidget):
    """已申报过商品: from the platform, searched by code prefix or name."""

    def __init__(self, tab: QueriesTab) -> None:
        super().__init__()
        self.tab = tab
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.model = ListModel([
            Column("商品代码", attr("commodity_code"), width=120),
            Column("商品名称", attr("commodity_name"), width=240),
            Column("计量单位", attr("unit"), width=80),
            Column("退税率", attr("refund_rate"), "rate", 80),
            Column("申报次数", attr("times_declared"), "int", 90),
            Column("最近所属期", attr("last_period"), "period", 110),
        ])  # fmt: skip
        self.panel = TablePanel("commodities", self.model, [], filter_placeholder="商品代码或名称…",
                                settings=tab.ctx.settings)  # fmt: skip
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.query)
        self.panel.filter.textChanged.connect(lambda _: self.timer.start())
        layout.addWidget(self.panel)

    def query(self) -> None:
        client = self.tab.session.client
        q = self.panel.filter.text().strip() or None

        def fetch() -> list[Any]:
            from app.client import iter_all

            return list(
                iter_all(lambda page: client.declared_commodities(q, page=page, page_size=500))
            )

        self.tab.call(fetch, self.model.set_rows, on_error=lambda _: True)


class DetailsPage(QWidget):
    """申报明细数据: a lazy model over the local store — fluid with 1,000,000 rows."""

    def __init__(self, tab: QueriesTab) -> None:
        super().__init__()
        self.tab = tab
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.entry_no = QLineEdit()
        self.entry_no.setPlaceholderText("报关单号（前几位即可）")
        self.entry_no.setMinimumWidth(200)
        self.q = QLineEdit()
        self.q.setPlaceholderText("商品代码或名称")
        self.period_from = QLineEdit()
        self.period_from.setPlaceholderText("起 YYYYMM")
        self.period_from.setFixedWidth(96)
        self.period_to = QLineEdit()
        self.period_to.setPlaceholderText("止 YYYYMM")
        self.period_to.setFixedWidth(96)
        search = QPushButton(icon("search", "#ffffff"), "查询")
        search.setProperty("primary", True)
        search.clicked.connect(self.reload)
        for w in (self.entry_no, self.q, QLabel("所属期"), self.period_from, QLabel("至"),
                  self.period_to, search):  # fmt: skip
            bar.addWidget(w)
            if isinstance(w, QLineEdit):
                w.returnPressed.connect(self.reload)
        bar.addStretch(1)
        self.count = muted("")
        bar.addWidget(self.count)
        layout.addLayout(bar)
        self.model = DeclaredDetailModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(ChipDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(28)
        self.view.verticalHeader().setMinimumWidth(56)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        layout.addWidget(self.view, 1)
        layout.addWidget(
            muted(
                "可按 所属期、报关单号、商品代码、商品名称、数量、美元离岸价 排序（点击列标题）。"
            )
        )

    def _filter(self) -> Any:
        from app.store import DetailFilter

        return DetailFilter(
            entry_no=self.entry_no.text().strip(),
            q=self.q.text().strip(),
            period_from=self.period_from.text().strip(),
            period_to=self.period_to.text().strip(),
        )

    def reload(self) -> None:
        store, flt = self.tab.store, self._filter()
        order_by, descending = self.model.order()

        def open_view() -> Any:
            view = store.detail_view(flt, order_by, descending)
            view.count()  # counting a filtered million rows takes a moment: not on the GUI thread
            return view

        self.tab.read(open_view, lambda view: self._show(store, flt, view))

    def _show(self, store: Any, flt: Any, view: Any) -> None:
        header = self.view.horizontalHeader()
        state = header.saveState() if self.model.rowCount() else None
        self.model.set_view(store, flt, view)  # a reset: the header forgets its sizes
        if state is not None:
            header.restoreState(state)
        else:
            for col, width in enumerate((0, 96, 56, 72, 164, 50, 104, 180, 80, 110, 64)):
                self.view.setColumnWidth(col, width)
            self.view.setColumnHidden(0, True)  # the declaration's opaque id means nothing here
        self.count.setText(f"共 {view.count():,} 条")


class RatesPage(QWidget):
    """出口退税率查询: instant search per keystroke over the local library, with its version."""

    def __init__(self, tab: QueriesTab) -> None:
        super().__init__()
        self.tab = tab
        self.ready = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.version = muted("")
        layout.addWidget(self.version)
        self.model = ListModel([
            Column("商品代码", attr("commodity_code"), width=110),
            Column("商品名称", attr("name"), width=260),
            Column("商品类别", attr("category"), width=140),
            Column("计量单位", attr("unit"), width=80),
            Column("征税率", attr("vat_rate"), "rate", 90),
            Column("退税率", attr("refund_rate"), "rate", 80),
            Column("执行起始", attr("valid_from"), "date", 100),
            Column("执行截止", attr("valid_to"), "date", 100),
            Column("特殊标识", attr("special_flag"), width=80),
        ])  # fmt: skip
        self.panel = TablePanel("rates", self.model, [], proxy=False,
                                filter_placeholder="输入商品代码或名称，例如 8471 或 机床",
                                settings=tab.ctx.settings)  # fmt: skip
        self.panel.view.setSortingEnabled(False)
        self.panel.filter.setFixedWidth(320)
        self.panel.filter.textChanged.connect(self.search)
        layout.addWidget(self.panel, 1)

    def reload(self) -> None:
        store = self.tab.store
        session = self.tab.session

        def prepare() -> tuple[Any, Any]:
            rows = store.search_rates("", 200)  # builds the in-memory index once
            return rows, store.rates_version()

        def shown(result: tuple[Any, Any]) -> None:
            _rows, version = result
            self.ready = True
            self.version.setText(
                f"本机退税率文库版本 {version or '（尚未下载）'}，当前有效记录；输入即查。"
            )
            self.search(self.panel.filter.text())
            self.tab.call(session.client.rates_meta, lambda meta: self._compare(meta, version),
                          on_error=lambda _: True)  # fmt: skip

        self.tab.read(prepare, shown)

    def _compare(self, meta: Any, local: str | None) -> None:
        text = f"本机退税率文库版本 {local or '（尚未下载）'}；平台版本 {meta.version}（{fmt.day(meta.published_at)} 发布，{meta.count:,} 条"
        text += (
            f"，商品码版本 {meta.commodity_code_version}）" if meta.commodity_code_version else "）"
        )
        if local and meta.version != local:
            text += "。平台已发布新版本，正在自动更新本机文库。"
        self.version.setText(text)

    def search(self, text: str) -> None:
        if not self.ready:
            return
        # in-memory index: well under one frame, so it runs right here per keystroke
        self.model.set_rows(self.tab.store.search_rates(text.strip(), 200))
