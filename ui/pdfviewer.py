"""The built-in PDF viewer (QtPdf): pages, zoom, fit width, search, print, save a copy.

The ``QPdfDocument`` is parented to the viewer window, never to the ``QPdfView``
(destroying the view first would crash). Printing renders each page to an image on white
(``render()`` is transparent) and paints it onto the ``QPrinter``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QPointF, QSize, Qt
from PySide6.QtGui import QImage, QKeySequence, QPainter
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QSpinBox,
    QSplitter,
    QToolBar,
    QToolButton,
    QWidget,
)

from ui.icons import app_icon, icon


class PdfViewer(QMainWindow):
    _open: ClassVar[list[PdfViewer]] = []  # keeps top-level viewers alive while shown

    def __init__(self, path: Path, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(f"{title or path.name} - 文书阅读")
        self.setWindowIcon(app_icon())
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.resize(960, 900)
        self.document = QPdfDocument(self)
        self.view = QPdfView()
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.search_model = QPdfSearchModel(self)
        self.search_model.setDocument(self.document)
        self.results = QListView()
        self.results.setModel(self.search_model)
        self.results.setMaximumWidth(280)
        self.results.hide()
        self.results.clicked.connect(self._jump_to_result)
        splitter = QSplitter()
        splitter.addWidget(self.results)
        splitter.addWidget(self.view)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self._toolbar()
        self.document.pageCountChanged.connect(self._pages_changed)
        self.view.pageNavigator().currentPageChanged.connect(self._page_shown)
        self.document.load(str(path))
        self.statusBar().showMessage(f"文件：{path.name}")
        self.statusBar().setToolTip(str(path))

    @classmethod
    def open_file(cls, path: Path, title: str = "", parent: QWidget | None = None) -> PdfViewer:
        viewer = cls(path, title, None)
        cls._open.append(viewer)
        viewer.destroyed.connect(
            lambda *_: cls._open.remove(viewer) if viewer in cls._open else None
        )
        viewer.show()
        return viewer

    def _toolbar(self) -> None:
        bar = QToolBar("文书")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        # page and zoom buttons are icons only (tooltips name them): the whole bar fits 900 px
        compact = [bar.addAction(icon("chevron-left"), "上一页", lambda: self.go(self.page() - 1))]
        self.page_box = QSpinBox()
        self.page_box.setMinimum(1)
        self.page_box.setFixedWidth(56)
        self.page_box.valueChanged.connect(
            lambda v: self.go(v - 1) if v - 1 != self.page() else None
        )
        bar.addWidget(self.page_box)
        self.page_count = QLabel(" / 0 ")
        bar.addWidget(self.page_count)
        compact.append(
            bar.addAction(icon("chevron-right"), "下一页", lambda: self.go(self.page() + 1))
        )
        bar.addSeparator()
        zoom_out = bar.addAction(icon("zoom-out"), "缩小", lambda: self.zoom(1 / 1.25))
        zoom_out.setShortcut(QKeySequence.StandardKey.ZoomOut)
        zoom_in = bar.addAction(icon("zoom-in"), "放大", lambda: self.zoom(1.25))
        zoom_in.setShortcut(QKeySequence.StandardKey.ZoomIn)
        bar.addAction(icon("fit-width"), "适合宽度", self.fit_width)
        bar.addSeparator()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("在文书中查找…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setFixedWidth(180)
        self.search_box.returnPressed.connect(lambda: self.search(self.search_box.text()))
        bar.addWidget(self.search_box)
        find = bar.addAction(icon("search"), "查找", lambda: self.search(self.search_box.text()))
        find.setShortcut(QKeySequence.StandardKey.Find)
        bar.addSeparator()
        printing = bar.addAction(icon("printer"), "打印", self.print_document)
        printing.setShortcut(QKeySequence.StandardKey.Print)
        save = bar.addAction(icon("save"), "另存为", self.save_copy)
        save.setShortcut(QKeySequence.StandardKey.Save)
        for action in (*compact, zoom_out, zoom_in, find):
            button = bar.widgetForAction(action)
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    # -- navigation -----------------------------------------------------------------------------

    def page(self) -> int:
        return int(self.view.pageNavigator().currentPage())

    def go(self, page: int) -> None:
        if 0 <= page < self.document.pageCount():
            self.view.pageNavigator().jump(page, QPointF(), self.view.pageNavigator().currentZoom())

    def _pages_changed(self, count: int) -> None:
        self.page_box.setMaximum(max(1, count))
        self.page_count.setText(f" / {count} ")

    def _page_shown(self, page: int) -> None:
        self.page_box.blockSignals(True)
        self.page_box.setValue(page + 1)
        self.page_box.blockSignals(False)

    def zoom(self, factor: float) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(0.25, min(4.0, self.view.zoomFactor() * factor)))

    def fit_width(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

    # -- search ---------------------------------------------------------------------------------

    def search(self, text: str) -> None:
        self.search_model.setSearchString(text)
        self.view.setSearchModel(self.search_model if text else None)
        self.results.setVisible(bool(text))

    def _jump_to_result(self, index: QModelIndex) -> None:
        link = self.search_model.resultAtIndex(index.row())
        self.view.setCurrentSearchResultIndex(index.row())
        self.view.pageNavigator().jump(link)

    # -- print and save -------------------------------------------------------------------------

    def render_page(self, page: int, dpi: int) -> QImage:
        """One page on white at ``dpi`` (``QPdfDocument.render`` leaves it transparent)."""
        size_pt = self.document.pagePointSize(page)
        size = QSize(round(size_pt.width() * dpi / 72), round(size_pt.height() * dpi / 72))
        image = self.document.render(page, size)
        page_image = QImage(size, QImage.Format.Format_RGB32)
        page_image.fill(Qt.GlobalColor.white)
        painter = QPainter(page_image)
        painter.drawImage(0, 0, image)
        painter.end()
        return page_image

    def print_document(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.path.stem)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("打印文书")
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def print_to(self, printer: Any) -> None:
        """Paint every page (or the chosen range) onto ``printer``, scaled to the page."""
        first = max(printer.fromPage(), 1) - 1 if printer.fromPage() else 0
        last = (printer.toPage() or self.document.pageCount()) - 1
        painter = QPainter(printer)
        try:
            for page in range(first, last + 1):
                if page > first:
                    printer.newPage()
                image = self.render_page(page, min(300, printer.resolution()))
                target = painter.viewport()
                scaled = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
                painter.drawImage(
                    target.x(), target.y(),
                    image.scaled(scaled, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation),
                )  # fmt: skip
        finally:
            painter.end()

    def save_copy(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "另存为", str(Path.home() / self.path.name), "PDF (*.pdf)"
        )
        if name:
            shutil.copyfile(self.path, name)
            self.statusBar().showMessage(f"已另存到 {name}", 5000)
