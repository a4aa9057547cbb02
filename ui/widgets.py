"""Widgets every tab uses: the status chip delegate, the table panel with its row actions,
cards, the side navigation, small helpers for buttons and folders."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QDesktopServices, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.icons import icon
from ui.roles import CHIP_ROLE, ROW_ROLE, SORT_ROLE

if TYPE_CHECKING:
    from PySide6.QtCore import QSortFilterProxyModel
    from PySide6.QtWidgets import QMessageBox, QStyleOptionViewItem


class ChipDelegate(QStyledItemDelegate):
    """Paints a status as a rounded, coloured chip with its words (ui-guide «statuses»)."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        chip = index.data(CHIP_ROLE)
        if chip is None:
            super().paint(painter, option, index)
            return
        # with the first table, not as the window opens (P1)
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QStyleOptionViewItem

        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            from PySide6.QtWidgets import QStyle  # its ~800 enum members load with the first table

            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = option.fontMetrics
        width = metrics.horizontalAdvance(chip.text) + 16
        height = metrics.height() + 4
        rect = QRectF(
            option.rect.x() + (option.rect.width() - width) / 2,
            option.rect.y() + (option.rect.height() - height) / 2,
            width,
            height,
        )
        if chip.outline:
            painter.setPen(QPen(QColor(chip.fg), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(chip.fill))
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), height / 2, height / 2)
        font = painter.font()
        font.setStrikeOut(chip.struck)
        painter.setFont(font)
        painter.setPen(QColor(chip.fg))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, chip.text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> Any:
        hint = super().sizeHint(option, index)
        chip = index.data(CHIP_ROLE)
        if chip is not None:
            hint.setWidth(option.fontMetrics.horizontalAdvance(chip.text) + 32)
        return hint


@dataclass
class RowAction:
    """A toolbar/context-menu action on the selected row.

    ``reason(row)`` returns None when the action is possible, else the Chinese reason shown
    as the disabled button's tooltip. ``needs_row`` False: always available (上传, 刷新).
    """

    text: str
    icon_name: str
    handler: Callable[[Any], None]
    reason: Callable[[Any], str | None] | None = None
    needs_row: bool = True
    primary: bool = False
    shortcut: str = ""
    tip: str = ""


class TablePanel(QWidget):
    """A toolbar of row actions, a filter box and a sortable table (ui-guide «Tables»).

    The table state (column widths, sort) is saved per ``name`` in the settings.
    """

    activated = Signal(object)
    selection_changed = Signal(object)

    def __init__(
        self,
        name: str,
        model: Any,
        actions: Sequence[RowAction] = (),
        *,
        filter_placeholder: str = "筛选…",
        proxy: bool = True,
        settings: Any = None,
        extra: Sequence[QWidget] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.model = model
        self.settings = settings
        self.actions_ = list(actions)
        self.buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        for act in self.actions_:
            button = QPushButton(icon(act.icon_name, "#ffffff" if act.primary else ""), act.text)
            if act.primary:
                button.setProperty("primary", True)
            if act.shortcut:
                button.setShortcut(QKeySequence(act.shortcut))
            button.setToolTip(act.tip)
            button.clicked.connect(lambda _=False, a=act: self._trigger(a))
            bar.addWidget(button)
            self.buttons[act.text] = button
        for widget in extra:
            bar.addWidget(widget)
        bar.addStretch(1)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(filter_placeholder)
        self.filter.setClearButtonEnabled(True)
        self.filter.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.filter.setFixedWidth(240)
        bar.addWidget(self.filter)
        self.bar = bar
        layout.addLayout(bar)

        from PySide6.QtCore import Qt  # with the first table, not as the window opens (P1)

        self.view = QTableView()
        self.view.setObjectName(f"table-{name}")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(32)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        self.view.setItemDelegate(ChipDelegate(self.view))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.doubleClicked.connect(lambda _: self._open_current())
        if proxy:
            from PySide6.QtCore import QSortFilterProxyModel

            self.proxy: QSortFilterProxyModel | None = QSortFilterProxyModel(self)
            self.proxy.setSourceModel(model)
            self.proxy.setSortRole(SORT_ROLE)
            self.proxy.setFilterKeyColumn(-1)
            self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.view.setModel(self.proxy)
            self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        else:
            self.proxy = None
            self.view.setModel(model)
        self.view.setSortingEnabled(True)
        if proxy:
            self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.update_actions())
        model.modelReset.connect(self.update_actions)
        layout.addWidget(self.view, 1)
        self._apply_widths()
        self._restore_state()
        self.view.horizontalHeader().sectionResized.connect(lambda *_: self._save_state())
        self.update_actions()

        enter = QAction(self.view)
        enter.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        enter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        enter.triggered.connect(self._open_current)
        self.view.addAction(enter)

    # -- rows ------------------------------------------------------------------------------

    def current_row(self) -> Any:
        index = self.view.currentIndex()
        if not index.isValid() or not self.view.selectionModel().hasSelection():
            return None
        return index.data(ROW_ROLE)

    def select_first(self) -> None:
        if self.view.model().rowCount() > 0:
            self.view.selectRow(0)

    def select_where(self, pred: Callable[[Any], bool]) -> bool:
        model = self.view.model()
        for r in range(model.rowCount()):
            if pred(model.index(r, 0).data(ROW_ROLE)):
                self.view.selectRow(r)
                return True
        return False

    def _open_current(self) -> None:
        row = self.current_row()
        if row is not None:
            self.activated.emit(row)

    def update_actions(self) -> None:
        row = self.current_row()
        for act in self.actions_:
            button = self.buttons[act.text]
            reason: str | None = None
            if act.needs_row and row is None:
                reason = "请先在列表中选择一行"
            elif act.reason is not None and row is not None:
                reason = act.reason(row)
            button.setEnabled(reason is None)
            button.setToolTip(reason or act.tip)
        self.selection_changed.emit(row)

    def _trigger(self, act: RowAction) -> None:
        row = self.current_row()
        if act.needs_row and row is None:
            return
        act.handler(row)

    def _menu(self, pos: Any) -> None:
        row = self.current_row()
        if row is None:
            return
        menu = QMenu(self)
        for act in self.actions_:
            if not act.needs_row:
                continue
            reason = act.reason(row) if act.reason else None
            action = menu.addAction(icon(act.icon_name), act.text)
            action.setEnabled(reason is None)
            if reason:
                action.setToolTip(reason)
            action.triggered.connect(lambda _=False, a=act: self._trigger(a))
        menu.setToolTipsVisible(True)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    # -- look and state ---------------------------------------------------------------------

    def _apply_widths(self) -> None:
        columns = getattr(self.model, "columns", None)
        if not columns:
            return
        header = self.view.horizontalHeader()
        for i, col in enumerate(columns):
            if col.width:
                header.resizeSection(i, col.width)

    def _restore_state(self) -> None:
        if self.settings is None:
            return
        blob = self.settings.table_states.get(self.name)
        if blob:
            self.view.horizontalHeader().restoreState(QByteArray(base64.b64decode(blob)))

    def _save_state(self) -> None:
        if self.settings is None:
            return
        state = self.view.horizontalHeader().saveState()
        self.settings.table_states[self.name] = base64.b64encode(bytes(state.data())).decode()


def stretch_columns(view: QTableView, *columns: int) -> None:
    for c in columns:
        view.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)


class Card(QFrame):
    """A 办税桌面 card: a header (icon, title, optional badge, "更多") and a body."""

    more_clicked = Signal()

    def __init__(
        self, title: str, icon_name: str, more: bool = True, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("Card")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 16)
        outer.setSpacing(8)
        head = QHBoxLayout()
        head.setSpacing(8)
        pic = QLabel()
        pic.setPixmap(icon(icon_name, "#1f5fbf").pixmap(20, 20))
        head.addWidget(pic)
        self.title = QLabel(title)
        self.title.setObjectName("CardTitle")
        head.addWidget(self.title)
        head.addStretch(1)
        if more:
            link = LinkButton("更多")
            link.clicked.connect(self.more_clicked)
            head.addWidget(link)
        outer.addLayout(head)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: palette(mid);")
        line.setFixedHeight(1)
        outer.addWidget(line)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        outer.addLayout(self.body, 1)


class SideNav(QWidget):
    """A left list of sub-pages (预申报 / 正式申报 / 反馈下载 …) and a stack of pages."""

    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(16)
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QListWidget

        self.list = QListWidget()
        self.list.setObjectName("SideNav")
        self.list.setFixedWidth(168)
        self.list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setIconSize(QSize(16, 16))
        self.stack = QStackedWidget()
        layout.addWidget(self.list, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.stack, 1)
        self.list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.list.currentRowChanged.connect(self.changed)

    def add(self, title: str, page: QWidget, icon_name: str = "") -> int:
        item_index = self.stack.addWidget(page)
        self.list.addItem(title)
        item = self.list.item(item_index)
        item.setSizeHint(QSize(0, 40))
        if icon_name:
            item.setIcon(icon(icon_name))
        self.list.setFixedHeight(self.list.count() * 40 + 18)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)
        return item_index

    def set_title(self, index: int, title: str) -> None:
        self.list.item(index).setText(title)

    def show_page(self, index: int) -> None:
        self.list.setCurrentRow(index)


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("CardTitle")
    return label


def muted(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("muted", True)
    label.setWordWrap(True)
    return label


class LinkButton(QPushButton):
    """A button that looks like a link (``[link="true"]`` in the style sheet), with the
    pointing-hand cursor.

    The cursor is set when the pointer first comes over it: ``Qt.CursorShape`` builds
    PySide6's whole ``Qt`` namespace (~11 ms), not worth paying while the window opens (P1).
    """

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setProperty("link", True)
        self._hand = False

    def enterEvent(self, event: Any) -> None:
        if not self._hand:
            from PySide6.QtCore import Qt

            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self._hand = True
        super().enterEvent(event)


def link_button(text: str, handler: Callable[[], None]) -> QPushButton:
    button = LinkButton(text)
    button.clicked.connect(lambda _=False: handler())
    return button


def selectable(label: QLabel) -> QLabel:
    """Let the user select and copy ``label``'s text. Through the Qt property by name:
    ``Qt.TextInteractionFlag`` builds PySide6's whole ``Qt`` namespace (~11 ms) (P1)."""
    label.setProperty("textInteractionFlags", "TextSelectableByMouse")
    return label


def inform(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A non-blocking information box (the window keeps working while it shows)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(
        QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName("inform")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box


def open_folder(path: Path) -> None:
    """打开文件夹 in the system's file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
