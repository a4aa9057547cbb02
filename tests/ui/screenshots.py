"""Screenshots of the real window with real data, for docs/screenshots/ and the README.

Run under Xvfb (a script, not a test):

    xvfb-run -a -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \\
        .venv/bin/python tests/ui/screenshots.py

With ``--dark`` the windows start from a dark system palette (the app follows it) and
the pictures go to docs/screenshots/dark/; ``QT_SCALE_FACTOR=2`` in the environment
shows 200 % scaling.

It starts a live stub in a temporary folder, prepares data through the client core as an
accountant would (password change, uploads, a conversion, a confirmation, the tax office
accepting and approving), then opens the real login and main windows and saves a PNG of
the login window, every tab and the main dialogs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
TID, PASSWORD, NEW_PASSWORD = "91110108MA01HC7K1M", "53012345", "Huachen2026"


def months_back(n: int) -> str:
    today = date.today()
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return f"{y}{m + 1:02d}"


def generate(data_dir: Path, out: Path, period: str, batch: str, inject: str | None = None) -> Path:
    cmd = [sys.executable, "-m", "server_stub", "generate", "--data-dir", str(data_dir),
           "--taxpayer-id", TID, "--period", period, "--rows", "30", "--batch", batch,
           "--out", str(out)]  # fmt: skip
    if inject:
        cmd += ["--inject", inject]
    subprocess.run(cmd, check=True, timeout=300)
    return out


def prepare(stub: Any, work: Path, paths: Any) -> None:
    """Real data through the core: pre-declarations with and without doubts, formal ones in
    several states, a feedback job, a document."""
    from app.session import Workspace

    ws = Workspace(paths)
    session = ws.login(stub.url, "credit_code", TID, PASSWORD, remember=False)
    session.change_password(PASSWORD, NEW_PASSWORD)
    session.refresh_all()
    uploads = [
        generate(stub.data_dir, work / "a.zip", months_back(1), "001", "BGD_WDZXX"),
        generate(stub.data_dir, work / "b.zip", months_back(2), "001"),
        generate(stub.data_dir, work / "c.zip", months_back(3), "001"),
        generate(stub.data_dir, work / "d.zip", months_back(1), "002", "TSL_MISMATCH"),
    ]
    decls = [session.upload(p, "pre") for p in uploads]
    audited = [session.wait_for_audit(d.id, timeout=120) for d in decls]
    formal_b = session.convert(audited[1].id)
    session.confirm(formal_b.id)
    stub.admin("POST", f"/declarations/{formal_b.id}/accept").raise_for_status()
    stub.admin("POST", f"/declarations/{formal_b.id}/approve").raise_for_status()
    formal_c = session.convert(audited[2].id)
    session.confirm(formal_c.id)
    stub.admin("POST", f"/declarations/{formal_c.id}/accept").raise_for_status()
    session.request_job("audit_result", "mdt_result", months_back(2))
    session.issue_document("mdt_summary", months_back(2))
    # one more queued behind a slow audit would need --audit-delay; the list shows ranks anyway
    ws.close()


def main() -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    work = Path(tempfile.mkdtemp(prefix="tuishui-shots-"))
    os.environ["TUISHUI_HOME"] = str(work / "home")
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from app.paths import app_paths
    from tests.livestub import LiveStub

    stub = LiveStub(work / "stub", args=["--accept-after", "0", "--approve-after", "0",
                                         "--assemble-delay", "1"]).start()  # fmt: skip
    app = QApplication([sys.argv[0]])
    try:
        paths = app_paths()
        prepare(stub, work, paths)
        return shoot(app, stub, paths, QEventLoop, QTimer)
    finally:
        stub.stop()


def shoot(app: Any, stub: Any, paths: Any, QEventLoop: Any, QTimer: Any) -> int:
    from PySide6.QtGui import QColor, QPalette

    from ui.icons import app_icon, apply_style
    from ui.login import LoginWindow
    from ui.pdfviewer import PdfViewer
    from ui.tabs.declare import ConfirmDialog, UploadDialog

    out = OUT
    if "--dark" in sys.argv:  # what a Windows "dark mode" hands the app
        out = OUT / "dark"
        system = QPalette()
        system.setColor(QPalette.ColorRole.Window, QColor("#202020"))
        app.setPalette(system)
    apply_style(app)
    app.setWindowIcon(app_icon())
    out.mkdir(parents=True, exist_ok=True)

    def pump(ms: int = 100) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(cond: Callable[[], Any], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TimeoutError(getattr(cond, "__name__", "condition"))
            pump(50)

    def save(widget: Any, name: str) -> None:
        pump(400)
        widget.grab().save(str(out / f"{name}.png"))
        print("saved", name)

    login = LoginWindow(paths, server_override=stub.url)
    login.show()
    login.start_background()
    login.set_account_type("credit_code")
    login.account.setText(TID)
    pump(300)
    save(login, "00-登录")
    login.password.setText(NEW_PASSWORD)
    login.login_button.click()
    wait(lambda: login.main_window is not None and login.main_window.isVisible())
    main = login.main_window
    main.resize(1366, 768)
    main.move(0, 0)
    wait(lambda: main.declare.pre.model.rowCount() >= 4 and main.context.tasks.pending() == 0)
    wait(lambda: main.queries.details.model.rowCount() > 0 and main.queries.rates.ready)
    pump(1500)

    main.tabs.setCurrentIndex(0)
    save(main, "01-办税桌面")
    main.tabs.setCurrentIndex(1)
    pre = main.declare.pre
    pre.panel.select_where(lambda d: d.result == 2)
    wait(lambda: pre.doubts.model.rowCount() > 0)
    save(main, "02-退税申报-预申报与疑点")
    main.declare.nav.show_page(1)
    main.declare.formal.views.setCurrentIndex(3)
    main.declare.formal.panel.select_first()
    save(main, "03-退税申报-正式申报")
    main.declare.nav.show_page(2)
    wait(lambda: main.declare.feedback.model.rowCount() > 0)
    save(main, "04-退税申报-反馈下载")
    main.tabs.setCurrentIndex(2)
    wait(lambda: main.documents.model.rowCount() > 0)
    save(main, "05-文书开具")
    main.tabs.setCurrentIndex(3)
    save(main, "06-退税进度")
    main.tabs.setCurrentIndex(4)
    main.reminders.pages[0].panel.select_first()
    save(main, "07-退税提醒")
    main.tabs.setCurrentIndex(5)
    main.queries.nav.show_page(0)
    save(main, "08-综合查询-企业备案信息")
    main.queries.nav.show_page(2)
    save(main, "09-综合查询-申报明细数据")
    main.queries.nav.show_page(3)
    main.queries.rates.panel.filter.setText("机")
    save(main, "10-综合查询-出口退税率查询")
    main.tabs.setCurrentIndex(6)
    wait(lambda: bool(main.services.calendar.months))
    save(main, "11-办税服务-退税日历")
    main.services.nav.show_page(1)
    wait(lambda: main.services.guides.body.toPlainText() != "")
    save(main, "12-办税服务-退税指南")

    # dialogs and the viewer
    main.tabs.setCurrentIndex(1)
    main.declare.nav.show_page(0)
    work = Path(os.environ["TUISHUI_HOME"]).parent
    package = generate(work / "stub", work / "e.zip", months_back(4), "001", "BGD_WDZXX")
    main.declare.upload("pre", package)
    upload = main.declare.findChild(UploadDialog)
    wait(lambda: "本机预审" in upload.check.text() or "拒收" in upload.check.text())
    save(upload, "13-上传-本机预审")
    upload.reject()
    formal = main.declare.formal
    main.declare.nav.show_page(1)
    formal.views.setCurrentIndex(3)
    formal.panel.select_where(lambda d: d.status == "accepted")
    formal.panel.buttons["受理文书"].click()
    wait(lambda: bool(PdfViewer._open) and PdfViewer._open[-1].document.pageCount() > 0)
    viewer = PdfViewer._open[-1]
    viewer.resize(900, 760)
    save(viewer, "14-受理文书")
    viewer.close()
    dialog = ConfirmDialog(formal.all[0], main)
    dialog.show()
    save(dialog, "15-确认申报台账")
    dialog.close()
    main.close()
    login.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
