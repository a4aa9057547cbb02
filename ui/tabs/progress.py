"""退税进度: the 审核进度 table and a bar chart of declared vs approved refund by month.

The chart is drawn with QPainter (QtCharts lives in the large Addons wheel)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from ui import formatting as fmt
from ui.models import Column, ListModel, attr
from ui.tabs import Tab
from ui.widgets import RowAction, TablePanel, heading, muted

DECLARED = QColor("#8fb3e8")
APPROVED = QColor("#1c7c3f")


class ProgressTab(Tab):
    KEYS = frozenset({"progress", "declaration"})

    def __init__(self, ctx: Any, main: Any) -> None:
        super().__init__(ctx, main)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.addWidget(heading("退税审核进度"))
        bar.addStretch(1)
        bar.addWidget(QLabel("所属期年度"))
        self.year = QComboBox()
        for y in range(date.today().year, date.today().year - 2, -1):
            self.year.addItem(f"{y}年", str(y))
        self.year.currentIndexChanged.connect(lambda _: self.reload({"progress"}))
        bar.addWidget(self.year)
        layout.addLayout(bar)
        self.totals = muted("")
        layout.addWidget(self.totals)
        self.chart = RefundChart()
        self.model = ListModel([
            Column("业务", attr("business_name"), width=170),
            Column("所属期", attr("period"), "period", 100),
            Column("批次", attr("batch"), width=56),
            Column("审核状态", lambda r: fmt.chip(r.status, 0, r.status_text), "chip", 110),
            Column("申报退税额（元）", attr("declared_refund"), "money", 150),
            Column("审核通过退税额（元）", attr("approved_refund"), "money", 170),
            Column("确认时间", attr("confirmed_at"), "time", 136),
            Column("受理时间", attr("accepted_at"), "time", 136),
            Column("审批时间", attr("approved_at"), "time", 136),
        ])  # fmt: skip
        self.panel = TablePanel("progress", self.model, [
            RowAction("刷新", "refresh", lambda _: self.ctx.refresh_all(), needs_row=False),
        ], filter_placeholder="筛选业务、所属期…", settings=ctx.settings)  # fmt: skip
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)

    def reload(self, keys: set[str]) -> None:
        store, year = self.store, self.year.currentData()
        self.read(lambda: store.progress(year), self._show)

    def _show(self, rows: Any) -> None:
        self.model.set_rows(rows)
        by_month: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for r in rows:
            by_month[r.period][0] += r.declared_refund or 0
            by_month[r.period][1] += r.approved_refund or 0
        year = self.year.currentData()
        months = [f"{year}{m:02d}" for m in range(1, 13)]
        self.chart.set_data([(p, *by_month.get(p, (Decimal(0), Decimal(0)))) for p in months])
        declared = sum((v[0] for v in by_month.values()), Decimal(0))
        approved = sum((v[1] for v in by_month.values()), Decimal(0))
        self.totals.setText(
            f"{year}年共 {len(rows)} 笔正式申报；申报退税额 {fmt.money(declared)} 元，"
            f"审核通过退税额 {fmt.money(approved)} 元。"
        )


class RefundChart(QWidget):
    """Grouped bars per month: 申报退税额 (light blue) and 审核通过退税额 (green)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: list[tuple[str, Decimal, Decimal]] = []
        self.setMinimumHeight(220)

    def sizeHint(self) -> QSize:
        return QSize(800, 260)

    def set_data(self, data: list[tuple[str, Decimal, Decimal]]) -> None:
        self.data = data
        self.update()

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        text = pal.color(QPalette.ColorRole.Text)
        grid = QColor(text)
        grid.setAlpha(40)
        fm = p.fontMetrics()
        left, right, top, bottom = 96, 16, 36, fm.height() + 16
        plot = QRectF(left, top, self.width() - left - right, self.height() - top - bottom)
        # legend
        x = left
        for color, label in ((DECLARED, "申报退税额"), (APPROVED, "审核通过退税额")):
            p.fillRect(QRectF(x, 12, 12, 12), color)
            p.setPen(text)
            p.drawText(QPointF(x + 18, 12 + fm.ascent() - 1), label)
            x += 18 + fm.horizontalAdvance(label) + 24
        p.drawText(QRectF(0, 8, self.width() - right, 20), Qt.AlignmentFlag.AlignRight, "单位：元")
        top_value = max([max(d, a) for _, d, a in self.data] or [Decimal(0)])
        scale = _nice(top_value)
        for i in range(5):
            y = plot.bottom() - plot.height() * i / 4
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(text)
            label = fmt.money(scale * i / 4)[:-3]
            p.drawText(QRectF(0, y - fm.height() / 2, left - 8, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)  # fmt: skip
        if not self.data:
            return
        slot = plot.width() / len(self.data)
        bar = min(24.0, slot / 3)
        for i, (period, declared, approved) in enumerate(self.data):
            cx = plot.left() + slot * (i + 0.5)
            for j, (value, color) in enumerate(((declared, DECLARED), (approved, APPROVED))):
                h = float(value / scale) * plot.height() if scale else 0
                p.fillRect(QRectF(cx - bar + j * bar, plot.bottom() - h, bar - 2, h), color)
            p.setPen(text)
            p.drawText(QRectF(cx - slot / 2, plot.bottom() + 4, slot, fm.height()),
                       Qt.AlignmentFlag.AlignCenter, f"{int(period[4:])}月")  # fmt: skip


def _nice(value: Decimal) -> Decimal:
    """A round axis maximum ≥ value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return Decimal(10000)
    exp = len(str(int(value))) - 1
    base = Decimal(10) ** exp
    for m in (1, 2, 5, 10):
        if value <= m * base:
            return m * base
    return 10 * base
