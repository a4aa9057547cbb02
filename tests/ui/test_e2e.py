"""End to end: the real windows and the real core against a live stub.

login → forced password change → upload a package with doubts → read them in place →
upload a clean one → 转正式申报 → 确认申报 (台账 first) → the tax office accepts (admin) →
the 受理文书 opens in the built-in viewer.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from tests.conftest import DEMO
from ui.login import ChangePasswordDialog, LoginWindow
from ui.pdfviewer import PdfViewer
from ui.tabs.declare import ConfirmDialog, UploadDialog

pytestmark = pytest.mark.slow
TID, _, INITIAL = DEMO["manufacturer"]


def last_month() -> str:
    today = date.today()
    y, m = divmod(today.year * 12 + today.month - 2, 12)
    return f"{y}{m + 1:02d}"


def generate(stub: Any, out: Path, *, inject: str | None = None, batch: str = "001") -> Path:
    cmd = [sys.executable, "-m", "server_stub", "generate", "--data-dir", str(stub.data_dir),
           "--taxpayer-id", TID, "--period", last_month(), "--rows", "20", "--batch", batch,
           "--out", str(out)]  # fmt: skip
    if inject:
        cmd += ["--inject", inject]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return out


def upload(qtbot: Any, main: Any, path: Path) -> Any:
    """Upload through the dialog (local pre-check first); returns the new declaration."""
    main.declare.upload("pre", path)
    dialog = main.declare.findChild(UploadDialog)
    qtbot.waitUntil(
        lambda: "本机预审" in dialog.check.text() or "拒收" in dialog.check.text(), timeout=30000
    )
    assert dialog.start.isEnabled(), dialog.check.text()
    before = {d.id for d in main.declare.pre.model.rows}
    dialog.start.click()
    qtbot.waitUntil(
        lambda: bool({d.id for d in main.declare.pre.model.rows} - before), timeout=30000
    )
    (new_id,) = {d.id for d in main.declare.pre.model.rows} - before
    return new_id


def pre_row(main: Any, did: str) -> Any:
    return next((d for d in main.declare.pre.model.rows if d.id == did), None)


def test_the_whole_way_through_the_real_window(qtbot: Any, live_stub: Any, paths: Any,
                                               tmp_path: Path, monkeypatch: Any) -> None:  # fmt: skip
    monkeypatch.setattr("app.logs.setup_logging", lambda *a, **k: None)
    login = LoginWindow(paths, server_override=live_stub.url)
    qtbot.addWidget(login)
    login.show()
    login.start_background()
    login.account.setText(TID)
    login.password.setText(INITIAL)
    login.login_button.click()

    dialog = None

    def password_dialog() -> bool:
        nonlocal dialog
        dialog = login.findChild(ChangePasswordDialog)
        return dialog is not None and dialog.isVisible()

    qtbot.waitUntil(password_dialog, timeout=30000)
    assert dialog is not None
    dialog.new.setText("Huachen2026")
    dialog.again.setText("Huachen2026")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(
        lambda: login.main_window is not None and login.main_window.isVisible(), timeout=30000
    )
    main = login.main_window
    qtbot.addWidget(main)
    qtbot.waitUntil(
        lambda: main.enterprise_name.text() == "北京华辰精密机械有限公司", timeout=30000
    )

    # a package with doubts: audited by the platform, doubts read in place
    doubtful = upload(qtbot, main, generate(live_stub, tmp_path / "doubts.zip", inject="BGD_WDZXX"))
    qtbot.waitUntil(
        lambda: getattr(pre_row(main, doubtful), "status", "") == "audited", timeout=60000
    )
    pre = main.declare.pre
    assert pre.panel.select_where(lambda d: d.id == doubtful)
    qtbot.waitUntil(lambda: pre.doubts.model.rowCount() > 0, timeout=30000)
    codes = {pre.doubts.model.row(i).code for i in range(pre.doubts.model.rowCount())}
    assert "BGD_WDZXX" in codes
    assert not pre.panel.buttons["转正式申报"].isEnabled()
    assert pre.panel.buttons["转正式申报"].toolTip()

    # a clean one: convert, then confirm with the 台账 shown first
    clean = upload(qtbot, main, generate(live_stub, tmp_path / "clean.zip", batch="002"))
    qtbot.waitUntil(lambda: getattr(pre_row(main, clean), "can_convert", False), timeout=60000)
    assert pre.panel.select_where(lambda d: d.id == clean)
    pre.panel.buttons["转正式申报"].click()
    formal = main.declare.formal
    qtbot.waitUntil(lambda: formal.panel.current_row() is not None
                    and formal.panel.current_row().source_id == clean, timeout=30000)  # fmt: skip
    formal_id = formal.panel.current_row().id
    formal.panel.buttons["确认申报"].click()
    confirm = formal.findChild(ConfirmDialog)
    assert confirm is not None and confirm.isVisible()
    confirm.findChild(QPushButton, "confirm").click()

    def status_of(did: str) -> str:
        return next((d.status for d in formal.all if d.id == did), "")

    qtbot.waitUntil(lambda: status_of(formal_id) == "confirmed", timeout=30000)

    # the tax office reads it in; sync brings it back by itself
    live_stub.admin("POST", f"/declarations/{formal_id}/accept").raise_for_status()
    qtbot.waitUntil(lambda: status_of(formal_id) == "accepted", timeout=60000)
    formal.views.setCurrentIndex(2)
    assert formal.panel.select_where(lambda d: d.id == formal_id)
    formal.panel.buttons["受理文书"].click()
    qtbot.waitUntil(lambda: bool(PdfViewer._open), timeout=30000)
    viewer = PdfViewer._open[-1]
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.document.pageCount() > 0, timeout=30000)
    viewer.search(TID)
    viewer.close()
    main.close()
    login.shutdown()
