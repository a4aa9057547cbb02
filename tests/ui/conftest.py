"""Fixtures of the UI tests: the house style, a main window over the fake core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.paths import AppPaths, app_paths
from app.settings import Settings
from tests.ui.fakecore import FakeSession, FakeWorkspace
from ui.context import AppContext
from ui.icons import apply_style


@pytest.fixture(autouse=True)
def _style(qapp: QApplication) -> None:
    apply_style(qapp)


@pytest.fixture
def paths() -> AppPaths:
    return app_paths()


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Modal message boxes answered at once ("Yes"); what they said is recorded."""
    said: list[tuple[str, str]] = []

    def record(_parent: Any, title: str, text: str, *a: Any, **kw: Any) -> Any:
        said.append((title, text))
        return QMessageBox.StandardButton.Yes

    for name in ("information", "question", "warning"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(record))
    return said


def make_pdf(
    path: Path, text: str = "受理通知书 北京华辰精密机械有限公司 91110108MA01HC7K1M"
) -> Path:
    """A two-page PDF with real text, written by Qt itself."""
    from PySide6.QtGui import QFont, QPageSize, QPainter, QPdfWriter

    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    painter = QPainter(writer)
    painter.setFont(QFont("Noto Sans CJK SC", 14))
    painter.drawText(200, 400, text)
    writer.newPage()
    painter.drawText(200, 400, "第二页 应退税额 63,900.00")
    painter.end()
    return path


@pytest.fixture
def fake_session(paths: AppPaths, tmp_path: Path) -> Iterator[FakeSession]:
    session = FakeSession(paths)
    session.pdf = make_pdf(tmp_path / "doc.pdf")
    yield session
    session.close()


def open_main_window(qtbot: Any, paths: AppPaths, session: FakeSession) -> Any:
    """The main window as the login window opens it over ``session``."""
    from ui.login import LoginWindow

    login = LoginWindow(paths)
    qtbot.addWidget(login)
    login.settings = Settings.load(paths)
    login.workspace = FakeWorkspace(session)
    login.open_main(session)
    main = login.main_window
    qtbot.addWidget(main)
    return main


@pytest.fixture
def window(qtbot: Any, paths: AppPaths, fake_session: FakeSession, monkeypatch: pytest.MonkeyPatch,
           messages: list[tuple[str, str]]) -> Iterator[Any]:  # fmt: skip
    """The real main window over the fake core, data loaded (no sync thread)."""
    monkeypatch.setattr(AppContext, "start_sync", lambda self: None)
    main = open_main_window(qtbot, paths, fake_session)
    main.resize(1366, 768)
    for index in range(main.tabs.count()):  # a tab's page is built when first shown
        main.page(index)
    qtbot.waitUntil(
        lambda: main.declare.pre.model.rowCount() == 3 and main.context.tasks.pending() == 0
    )
    yield main
    main.context.tasks.wait_idle()
