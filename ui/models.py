"""Table models: a small list model for short lists, a lazy one for 申报明细数据.

:class:`ListModel` shows a Python list of core dataclasses (declarations, doubts, notices …
tens to a few thousand rows) through :class:`Column` specs that say how each value looks.
:class:`DeclaredDetailModel` shows up to millions of rows from the local store through its
keyset row-window view: only row numbers live here, rows are fetched a page at a time,
sorting and filtering happen in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ui import formatting as fmt
from ui.roles import CHIP_ROLE, ROW_ROLE, SORT_ROLE

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


@dataclass(frozen=True)
class Column:
    """One column: header, how to get the value from a row, how it looks.

    ``kind``: text | money | rate | int | date | time | period | chip | size.
    For ``chip`` the getter returns a :class:`ui.formatting.Chip`.
    """

    title: str
    get: Callable[[Any], Any]
    kind: str = "text"
    width: int = 0
    tooltip: Callable[[Any], str] | None = None

    def display(self, value: Any) -> str:
        if value is None:
            return ""
        match self.kind:
            case "money":
                return fmt.money(value)
            case "rate":
                return fmt.rate(value)
            case "date":
                return fmt.day(value)
            case "time":
                return fmt.moment(value)
            case "period":
                return fmt.period_long(value)
            case "chip":
                return str(value.text)
            case "size":
                return fmt.size(value)
            case "int":
                return f"{value:,}" if isinstance(value, int) else str(value)
        return str(value)


def attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


class ListModel(QAbstractTableModel):
    """Rows of objects shown through :class:`Column` s. Use a proxy to sort and filter."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[Any] = []
        self.bold: Callable[[Any], bool] | None = None  # e.g. unread notices
        self.muted: Callable[[Any], bool] | None = None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row(self, r: int) -> Any:
        return self.rows[r]

    def refresh(self) -> None:
        """Repaint every cell (a value computed from outside state changed)."""
        if self.rows:
            last = self.index(len(self.rows) - 1, len(self.columns) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        col = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if col.kind in ("money", "int", "size", "rate") else _LEFT)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        col = self.columns[index.column()]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            return col.display(col.get(row))
        if role == SORT_ROLE:
            value = col.get(row)
            if col.kind == "chip":
                return value.text if value else ""
            if isinstance(value, Decimal):
                return float(value)
            return "" if value is None else value if isinstance(value, int | float) else str(value)
        if role == CHIP_ROLE and col.kind == "chip":
            return col.get(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col.kind in ("money", "int", "size", "rate"):
                return int(_RIGHT)
            if col.kind == "chip":
                return int(_CENTER)
            return int(_LEFT)
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return col.tooltip(row)
        if role == Qt.ItemDataRole.FontRole and self.bold is not None and self.bold(row):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and self.muted is not None and self.muted(row):
            return QBrush(QColor("#8a93a0"))
        return None


DETAIL_HEADERS = (
    ("declaration_id", "申报编号", "text"),
    ("period", "所属期", "period"),
    ("batch", "批次", "text"),
    ("seq", "申报序号", "text"),
    ("entry_no", "报关单号", "text"),
    ("item_no", "项号", "int"),
    ("commodity_code", "商品代码", "text"),
    ("commodity_name", "商品名称", "text"),
    ("quantity", "数量", "qty"),
    ("fob_usd", "美元离岸价", "money"),
    ("refund_rate", "退税率", "rate"),
    ("status", "状态", "text"),
)
_STATUS_TEXT = {
    "pending_confirm": "待确认",
    "confirmed": "已确认",
    "accepted": "已受理",
    "approved": "审核通过",
    "refused": "审核不通过",
}


class DeclaredDetailModel(QAbstractTableModel):
    """申报明细数据 over the store's keyset view (``LocalStore.detail_view``), lazily.

    Only the current view (count + a small page cache) lives here; ``sort`` asks the
    store for a new view ordered in SQL, so 1,000,000 rows open, scroll and sort at once.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._store: Any = None
        self._view: Any = None
        self._count = 0
        self._filter: Any = None
        self._order = ("rid", False)

    def set_store(self, store: Any, flt: Any = None) -> None:
        self.beginResetModel()
        self._store = store
        self._filter = flt
        self._view = None
        self._count = 0
        if store is not None:
            self._open()
        self.endResetModel()

    def set_filter(self, flt: Any) -> None:
        self.set_store(self._store, flt)

    def set_view(self, store: Any, flt: Any, view: Any) -> None:
        """Show a view opened and counted in the background, in the current :meth:`order`
        (a filtered count over a million rows takes a moment)."""
        self.beginResetModel()
        self._store, self._filter, self._view = store, flt, view
        self._count = view.count()
        self.endResetModel()

    def order(self) -> tuple[str, bool]:
        return self._order

    def _open(self) -> None:
        from app.store import DetailFilter

        flt = self._filter or DetailFilter()
        order_by, descending = self._order
        self._view = self._store.detail_view(flt, order_by, descending)
        self._count = self._view.count()

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(DETAIL_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and not 0 <= section < len(DETAIL_HEADERS):
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and orientation == Qt.Orientation.Horizontal:
            return int(
                _RIGHT if DETAIL_HEADERS[section][2] in ("money", "rate", "qty", "int") else _LEFT
            )
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return DETAIL_HEADERS[section][1]
        return str(section + 1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._view is None or index.row() >= self._count:
            return None
        kind = DETAIL_HEADERS[index.column()][2]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(_RIGHT if kind in ("money", "rate", "qty", "int") else _LEFT)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        value = self._view.row_at(index.row())[index.column()]
        match kind:
            case "money":
                return fmt.money(value)
            case "rate":
                return fmt.rate(value)
            case "period":
                return fmt.period_long(value)
            case "qty":
                return f"{value.normalize():,f}" if isinstance(value, Decimal) else str(value)
            case _ if DETAIL_HEADERS[index.column()][0] == "status":
                return _STATUS_TEXT.get(value, value)
        return str(value)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        from app.store import SORTABLE_DETAIL_COLUMNS

        name = DETAIL_HEADERS[column][0] if 0 <= column < len(DETAIL_HEADERS) else "rid"
        if name not in SORTABLE_DETAIL_COLUMNS:
            name = "rid"
        self._order = (name, order == Qt.SortOrder.DescendingOrder)
        if self._store is None:
            return
        self.beginResetModel()
        self._open()
        self.endResetModel()

    @staticmethod
    def sortable(column: int) -> bool:
        from app.store import SORTABLE_DETAIL_COLUMNS

        return DETAIL_HEADERS[column][0] in SORTABLE_DETAIL_COLUMNS
