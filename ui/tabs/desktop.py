"""办税桌面: four cards — 通知区, 信息区, 办税区, 服务区 — in a 2×2 grid that reflows."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import formatting as fmt
from ui.icons import icon
from ui.tabs import Tab
from ui.widgets import Card, LinkButton, TablePanel, link_button, muted, selectable

SECTION_NAMES = (
    ("basic", "基础信息"),
    ("extended", "扩展信息"),
    ("config", "配置信息"),
    ("collection", "征管信息"),
    ("credit", "信用信息"),
)
SERVICE_CATEGORIES = ("退税图书馆", "财税大百科", "退税博客")


class DesktopTab(Tab):
    KEYS = frozenset({"declaration", "notice", "progress", "feedback_job", "enterprise"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        self.grid = QGridLayout(body)
        self.grid.setContentsMargins(16, 16, 16, 16)
        self.grid.setSpacing(16)
        self.notice_card = self._notice_card()
        self.info_card = self._info_card()
        self.work_card = self._work_card()
        self.service_card = self._service_card()
        self.cards = [self.notice_card, self.info_card, self.work_card, self.service_card]
        self._columns = 0
        self._arrange(2)

    # -- reflow ---------------------------------------------------------------------------------

    def _arrange(self, columns: int) -> None:
        if columns == self._columns:
            return
        self._columns = columns
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns)
        for c in range(2):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event: Any) -> None:
        self._arrange(1 if event.size().width() < 1000 else 2)
        super().resizeEvent(event)

    # -- 通知区 --------------------------------------------------------------------------------

    def _notice_card(self) -> Card:
        card = Card("通知区", "bell")
        card.more_clicked.connect(lambda: self.main.show_tab("退税提醒"))
        row = QHBoxLayout()
        row.setSpacing(16)
        self.stat_labels: dict[str, QLabel] = {}
        self.stat_tiles: dict[str, StatTile] = {}
        for key, title, target, tip in (
            ("progress", "我的退税进度", "退税进度", "正在办理中的正式申报，点击查看退税进度"),
            ("reminders", "我的退税提醒", "退税提醒", "未读的退税提醒，点击查看"),
            ("announcements", "我的通知公告", "退税提醒", "未读的通知公告，点击查看"),
        ):
            tile = StatTile(title)
            tile.setToolTip(tip)
            tile.clicked.connect(lambda _=False, t=target: self.main.show_tab(t))
            self.stat_labels[key] = tile.number
            self.stat_tiles[key] = tile
            row.addWidget(tile, 1)
        card.body.addLayout(row)
        self.notice_list = QVBoxLayout()
        self.notice_list.setSpacing(4)
        card.body.addLayout(self.notice_list)
        card.body.addStretch(1)
        return card

    # -- 信息区 --------------------------------------------------------------------------------

    def _info_card(self) -> Card:
        card = Card("信息区", "building", more=False)
        self.info_form = QFormLayout()
        self.info_form.setHorizontalSpacing(16)
        self.info_form.setVerticalSpacing(6)
        self.info_labels: dict[str, QLabel] = {}
        for key, title in (
            ("name", "企业名称"),
            ("taxpayer_id", "纳税人识别号"),
            ("customs_code", "海关代码"),
            ("kind", "企业类型"),
            ("management_class", "分类管理类别"),
            ("tax_office", "主管税务机关"),
            ("bank", "退税账户"),
        ):
            label = QLabel("")
            selectable(label)
            self.info_labels[key] = label
            self.info_form.addRow(muted(title), label)
        self.contact_name = QLineEdit()
        self.contact_name.setObjectName("contact_name")
        self.contact_phone = QLineEdit()
        self.contact_phone.setObjectName("contact_phone")
        self.contact_phone.setPlaceholderText("11 位手机号，用于接收短信提醒")
        self.info_form.addRow(muted("联系人"), self.contact_name)
        self.info_form.addRow(muted("联系电话"), self.contact_phone)
        card.body.addLayout(self.info_form)
        buttons = QHBoxLayout()
        self.contact_error = QLabel("")
        self.contact_error.setObjectName("ErrorLabel")
        buttons.addWidget(self.contact_error, 1)
        details = QPushButton(icon("list"), "详情")
        details.setObjectName("details")
        details.clicked.connect(self.show_details)
        buttons.addWidget(details)
        save = QPushButton(icon("save"), "保存联系人")
        save.setObjectName("save_contact")
        save.clicked.connect(self.save_contact)
        buttons.addWidget(save)
        card.body.addLayout(buttons)
        card.body.addStretch(1)
        return card

    # -- 办税区 --------------------------------------------------------------------------------

    def _work_card(self) -> Card:
        card = Card("办税区", "file-check", more=False)
        grid = QGridLayout()
        grid.setSpacing(8)
        entries = (
            ("预申报", "upload", lambda: self.main.show_tab("退税申报", 0)),
            ("正式申报", "file-check", lambda: self.main.show_tab("退税申报", 1)),
            ("反馈下载", "download", lambda: self.main.show_tab("退税申报", 2)),
            ("文书开具", "file", lambda: self.main.show_tab("文书开具")),
            ("外部信息查询", "globe", self.open_einfo),
            ("退税信息查询", "search", lambda: self.main.show_tab("综合查询")),
        )
        for i, (title, icon_name, handler) in enumerate(entries):
            b = QPushButton(icon(icon_name), title)
            b.setMinimumHeight(36)
            b.clicked.connect(lambda _=False, h=handler: h())
            grid.addWidget(b, i // 3, i % 3)
        card.body.addLayout(grid)
        card.body.addWidget(muted("需要处理的事项"))
        self.todo = QVBoxLayout()
        self.todo.setSpacing(4)
        card.body.addLayout(self.todo)
        card.body.addStretch(1)
        return card

    # -- 服务区 --------------------------------------------------------------------------------

    def _service_card(self) -> Card:
        card = Card("服务区", "book")
        card.more_clicked.connect(lambda: self.main.show_tab("办税服务", 1))
        self.service_tabs = QTabWidget()
        self.service_tabs.setDocumentMode(True)
        self.service_lists: dict[str, QVBoxLayout] = {}
        for cat in SERVICE_CATEGORIES:
            page = QWidget()
            layout = QVBoxLayout(page)
            layout.setContentsMargins(0, 8, 0, 0)
            layout.setSpacing(4)
            layout.addStretch(1)
            self.service_lists[cat] = layout
            self.service_tabs.addTab(page, cat)
        card.body.addWidget(self.service_tabs, 1)
        return card

    # -- data ------------------------------------------------------------------------------------

    def reload(self, keys: set[str]) -> None:
        store = self.store

        def read() -> dict[str, Any]:
            declarations = store.declarations()
            feedback = {e.source_id for e in store.feedback()}
            return {
                "enterprise": store.enterprise(),
                "unread": store.unread_counts(),
                "announcements": store.notices("announcement")[:5],
                "progress": store.progress(str(date.today().year)) or store.progress(),
                "declarations": declarations,
                "jobs": [
                    j for j in store.feedback_jobs() if j.status == "ready" and j.id not in feedback
                ],
            }

        self.read(read, self._show)
        if getattr(self.session, "offline", False):
            return  # opened from the local store: the platform is out of reach
        if "all" in keys and not any(self.service_lists[c].count() > 1 for c in SERVICE_CATEGORIES):
            client = self.session.client

            def guides() -> dict[str, Any]:
                return {c: client.guides(c).items[:5] for c in SERVICE_CATEGORIES}

            self.call(guides, self._show_guides, on_error=lambda _: True)

    def _show(self, data: dict[str, Any]) -> None:
        ent = data["enterprise"] or self.ctx.enterprise
        if ent is not None:
            self._show_enterprise(ent)
        unread = data["unread"]
        self.stat_labels["reminders"].setText(
            str(sum(v for k, v in unread.items() if k != "announcement"))
        )
        self.stat_labels["announcements"].setText(str(unread.get("announcement", 0)))
        open_rows = [
            r for r in data["progress"] if r.status not in ("approved", "refused", "withdrawn")
        ]
        self.stat_labels["progress"].setText(str(len(open_rows)))
        _clear(self.notice_list)
        for n in data["announcements"]:
            mark = "● " if not n.read else "　"
            b = link_button(
                f"{mark}{n.title}", lambda n=n: self.main.show_tab("退税提醒").open_notice(n)
            )
            b.setStyleSheet("text-align: left;")
            row = QHBoxLayout()
            row.addWidget(b, 1)
            row.addWidget(muted(fmt.day(n.published_at)))
            self.notice_list.addLayout(row)
        if not data["announcements"]:
            self.notice_list.addWidget(muted("暂无通知公告。"))
        self._show_todo(data["declarations"], data["jobs"])

    def _show_enterprise(self, ent: Any) -> None:
        labels = self.info_labels
        labels["name"].setText(ent.name)
        labels["taxpayer_id"].setText(ent.taxpayer_id)
        labels["customs_code"].setText(getattr(ent, "customs_code", ""))
        labels["kind"].setText(fmt.KIND_NAMES.get(ent.kind, ent.kind))
        labels["management_class"].setText(ent.management_class)
        office = getattr(ent, "tax_office", "")
        phone = getattr(ent, "tax_office_phone", "")
        labels["tax_office"].setText(f"{office}　{phone}".strip())
        labels["bank"].setText(
            f"{getattr(ent, 'bank_name', '')} {getattr(ent, 'bank_account_masked', '')}".strip()
        )
        if not self.contact_name.hasFocus() and not self.contact_phone.hasFocus():
            self.contact_name.setText(getattr(ent, "contact_name", ""))
            self.contact_phone.setText(getattr(ent, "contact_phone", ""))

    def _show_todo(self, declarations: list[Any], jobs: list[Any]) -> None:
        _clear(self.todo)
        doubts = [
            d for d in declarations if d.stage == "pre" and d.status == "audited" and d.result
        ]
        confirm = [d for d in declarations if d.can_confirm]
        convert = [d for d in declarations if d.stage == "pre" and d.can_convert]
        queued = [d for d in declarations if d.status in ("queued", "auditing")]
        items = []
        if confirm:
            items.append(
                (
                    f"{len(confirm)} 份正式申报数据待确认申报",
                    lambda: self.main.show_tab("退税申报", 1),
                )
            )
        if convert:
            items.append(
                (
                    f"{len(convert)} 份预申报可以转正式申报",
                    lambda: self.main.show_tab("退税申报", 0),
                )
            )
        if doubts:
            items.append(
                (
                    f"{len(doubts)} 份预申报有疑点，请查看反馈信息",
                    lambda: self.main.show_tab("退税申报", 0),
                )
            )
        if jobs:
            items.append(
                (f"{len(jobs)} 个反馈数据已就绪，待下载", lambda: self.main.show_tab("退税申报", 2))
            )
        if queued:
            first = min((d.queue_position or 0) for d in queued)
            items.append((f"{len(queued)} 份申报正在排队审核（最前排位 第 {first} 位）",
                          lambda: self.main.show_tab("退税申报", 0)))  # fmt: skip
        for text, handler in items[:6]:
            b = link_button("→ " + text, handler)
            b.setStyleSheet("text-align: left;")
            self.todo.addWidget(b)
        if not items:
            self.todo.addWidget(muted("目前没有需要处理的事项。"))

    def _show_guides(self, guides: dict[str, Any]) -> None:
        for cat, items in guides.items():
            layout = self.service_lists[cat]
            while layout.count() > 1:
                item = layout.takeAt(0)
                if item.widget():
                    item.widget().deleteLater()
            for i, g in enumerate(items):
                b = link_button(
                    g.title, lambda g=g: self.main.show_tab("办税服务", 1).open_guide(g)
                )
                b.setStyleSheet("text-align: left;")
                b.setToolTip(g.summary)
                layout.insertWidget(i, b)

    # -- actions ---------------------------------------------------------------------------------

    def save_contact(self) -> None:
        name, phone = self.contact_name.text().strip(), self.contact_phone.text().strip()
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            self.contact_error.setText("联系电话应为 11 位手机号码。")
            return
        self.contact_error.setText("")
        session = self.session

        def done(_: Any) -> None:
            self.contact_error.setText("")
            self.main.status_text.setText("联系人已保存，短信提醒将发送到新号码。")
            self.ctx.request("enterprise")

        self.call(lambda: session.update_contact(name, phone), done, label="正在保存联系人…")

    def show_details(self) -> None:
        ent = self.ctx.enterprise
        if ent is not None:
            DetailsDialog(ent, self).exec()

    def open_einfo(self) -> None:
        EInfoDialog(self.ctx, self).show()


class StatTile(LinkButton):
    """A 通知区 count as one clickable tile: the number centred above its caption."""

    def __init__(self, caption: str) -> None:
        super().__init__("")
        self.setProperty("link", False)  # a tile, not an underlined link
        self.setObjectName("StatTile")  # styled in resources/style.qss
        self.setAccessibleName(caption)
        self.lines = layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(0)
        self.number = QLabel("–")
        self.number.setObjectName("BigNumber")
        self.caption = QLabel(caption)
        for label in (self.number, self.caption):
            label.setProperty("alignment", "AlignCenter")
            layout.addWidget(label)

    def sizeHint(self) -> QSize:
        # the two lines of the tile, measured once the style sheet sets their fonts
        return self.lines.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self.lines.minimumSize()


def _clear(layout: Any) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())


class DetailsDialog(QDialog):
    """详情: the five sections of the 企业备案信息 (基础/扩展/配置/征管/信用)."""

    def __init__(self, ent: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"企业备案信息 - {ent.name}")
        self.setMinimumSize(560, 420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(EnterpriseSections(ent))


class EnterpriseSections(QTabWidget):
    """The five sections as tabs of label → value (also used by 综合查询)."""

    def __init__(self, ent: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        sections = getattr(ent, "sections", {}) or {}
        for key, name in SECTION_NAMES:
            page = QWidget()
            form = QFormLayout(page)
            form.setContentsMargins(16, 16, 16, 16)
            form.setHorizontalSpacing(24)
            form.setVerticalSpacing(8)
            for label, value in (sections.get(key) or {}).items():
                v = QLabel(_value_text(value))
                selectable(v)
                v.setWordWrap(True)
                form.addRow(muted(str(label)), v)
            if not sections.get(key):
                form.addRow(muted("暂无数据"))
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(page)
            self.addTab(scroll, name)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or value == "":
        return "—"
    return str(value)


class EInfoDialog(QDialog):
    """外部信息查询: the customs and invoice e-info the tax authority holds (protocol §4)."""

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        from PySide6.QtCore import Qt

        from ui.models import Column, ListModel, attr

        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("外部信息查询")
        self.resize(1100, 600)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        self.kind = QComboBox()
        self.kind.addItem("出口报关单信息", "customs")
        if ctx.kind == "trader":
            self.kind.addItem("增值税发票信息", "invoices")
        self.period = QComboBox()
        today = date.today()
        for i in range(1, 37):
            y, m = divmod(today.year * 12 + today.month - 1 - i, 12)
            p = f"{y}{m + 1:02d}"
            self.period.addItem(fmt.period(p), p)
        query = QPushButton(icon("search", "#ffffff"), "查询")
        query.setProperty("primary", True)
        query.clicked.connect(self.query)
        for w in (QLabel("信息类型"), self.kind, QLabel("所属月份"), self.period, query):
            bar.addWidget(w)
        bar.addStretch(1)
        layout.addLayout(bar)
        layout.addWidget(
            muted(
                "「已申报」列是已确认的正式申报已经使用的数量或金额。没有查到的报关单或发票，多半是电子信息还没有传到税务机关，请过几天再查，并非数据出错。"
            )
        )
        self.customs_columns = [
            Column("报关单号", attr("entry_no"), width=170),
            Column("项号", attr("item_no"), "int", 50),
            Column("出口日期", attr("export_date"), "date", 100),
            Column("商品代码", attr("commodity_code"), width=100),
            Column("商品名称", attr("commodity_name"), width=160),
            Column("单位", attr("unit"), width=50),
            Column("数量", attr("quantity"), "int", 90),
            Column("美元离岸价", attr("fob_usd"), "money", 110),
            Column("贸易方式", attr("trade_mode"), width=70),
            Column("已申报离岸价", attr("declared_fob_usd_so_far"), "money", 110),
        ]  # fmt: skip
        self.invoice_columns = [
            Column("发票代码", attr("invoice_code"), width=110),
            Column("发票号码", attr("invoice_no"), width=170),
            Column("开票日期", attr("issue_date"), "date", 100),
            Column("销方识别号", attr("seller_taxpayer_id"), width=170),
            Column("商品名称", attr("commodity_name"), width=140),
            Column("金额", attr("amount"), "money", 110),
            Column("税率", attr("tax_rate"), "rate", 60),
            Column("税额", attr("tax"), "money", 100),
            Column("已申报金额", attr("declared_amount_so_far"), "money", 110),
        ]  # fmt: skip
        self.model = ListModel(self.customs_columns)
        self.panel = TablePanel("einfo", self.model, [], settings=ctx.settings)
        layout.addWidget(self.panel, 1)
        self.query()

    def query(self) -> None:
        client = self.ctx.session.client
        kind, p = self.kind.currentData(), self.period.currentData()

        def fetch() -> list[Any]:
            from app.client import iter_all

            method = client.customs_einfo if kind == "customs" else client.invoice_einfo
            return list(
                iter_all(lambda page: method(period_from=p, period_to=p, page=page, page_size=500))
            )

        def show(rows: list[Any]) -> None:
            self.model.beginResetModel()
            self.model.columns = self.customs_columns if kind == "customs" else self.invoice_columns
            self.model.rows = rows
            self.model.endResetModel()

        self.ctx.tasks.run(fetch, show, label="正在查询电子信息…", owner=self)
