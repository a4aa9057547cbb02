"""The built-in PDF viewer: pages, zoom, fit width, search, print (to a PDF printer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrinter

from tests.ui.conftest import make_pdf
from ui.pdfviewer import PdfViewer


def test_viewer_pages_zoom_search_and_print(qtbot: Any, tmp_path: Path) -> None:
    viewer = PdfViewer(make_pdf(tmp_path / "a.pdf"), "受理文书")
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.document.status() == QPdfDocument.Status.Ready)
    assert viewer.document.pageCount() == 2 and viewer.page_count.text().strip() == "/ 2"
    assert viewer.document.parent() is viewer  # never the view (crash on teardown)
    viewer.zoom(1.25)
    assert viewer.view.zoomMode() == QPdfView.ZoomMode.Custom
    viewer.fit_width()
    assert viewer.view.zoomMode() == QPdfView.ZoomMode.FitToWidth
    viewer.search("63,900.00")
    qtbot.waitUntil(lambda: viewer.search_model.rowCount(QModelIndex()) == 1)
    assert viewer.search_model.resultAtIndex(0).page() == 1
    image = viewer.render_page(0, 72)
    assert image.pixelColor(5, 5).name() == "#ffffff"  # painted on white, not transparent
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    viewer.print_to(printer)
    printed = QPdfDocument(viewer)
    printed.load(str(out))
    assert printed.pageCount() == 2
    viewer.close()
