"""Start-up: --measure-startup, lazy imports, the login window's checks, the crash handler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint

from app.errors import PlatformError
from ui.login import BUILTIN, ChangePasswordDialog, LoginWindow, login_error_text
from ui.main import write_crash_report

HEAVY = ("requests", "pypdf", "pyzipper", "keyring", "lxml", "fastapi", "uvicorn", "markdown")


def test_measure_startup_exits_zero_without_heavy_imports(tmp_path: Path) -> None:
    code = (
        "import sys, ui.main\n"
        "rc = ui.main.main(['--measure-startup', '--home', sys.argv[1]])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=60, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_measure_main_window_opens_the_local_store_without_network_or_hidden_tabs(
    tmp_path: Path,
) -> None:
    """An enterprise opened from its local store shows the main window without loading the
    HTTP client's ``requests``, the keyring, or the modules of the tabs not yet shown."""
    from app.paths import app_paths
    from app.settings import Settings
    from app.store import LocalStore

    tid = "91110108MA01HC7K1M"
    paths = app_paths(tmp_path)
    settings = Settings.load(paths)
    settings.accounts = [
        {"server": "http://127.0.0.1:9", "account_type": "credit_code", "account": tid,
         "taxpayer_id": tid, "name": "北京华辰精密机械有限公司"}
    ]  # fmt: skip
    settings.save()
    LocalStore(paths.store_path(tid)).close()
    hidden_tabs = ("ui.tabs.declare", "ui.tabs.documents", "ui.tabs.services", "ui.tabs.queries")
    code = (
        "import sys, ui.main\n"
        "rc = ui.main.main(['--measure-main-window', sys.argv[2], '--home', sys.argv[1]])\n"
        f"print(sorted(m for m in {HEAVY + hidden_tabs!r} if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), tid], capture_output=True,
                          text=True, env=env, timeout=60, cwd=Path(__file__).parents[2])  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "idle" and lines[-1] == "[]", done.stdout
    assert "Traceback" not in done.stderr, done.stderr


def test_tabs_are_built_when_first_shown(
    qtbot: Any, paths: Any, fake_session: Any, monkeypatch: Any
) -> None:
    from tests.ui.conftest import open_main_window
    from ui.context import AppContext

    monkeypatch.setattr(AppContext, "start_sync", lambda self: None)
    main = open_main_window(qtbot, paths, fake_session)
    assert [i for i, page in enumerate(main._pages) if page is not None] == [0]
    tab = main.show_tab("退税提醒")  # built now, and it loads what it shows
    assert main.tabs.currentIndex() == 4 and main._pages[4] is tab
    qtbot.waitUntil(lambda: tab.nav.list.item(0).text() == "通知公告（2）")
    assert main.reminders is tab
    qtbot.waitUntil(lambda: main.context.tasks.pending() == 0)


def test_app_paths_keep_each_folder_in_its_place(tmp_path: Path) -> None:
    from app.paths import AppPaths, app_paths

    paths = app_paths(tmp_path)
    assert (paths.home, paths.data_dir, paths.log_dir, paths.cache_dir) == (
        tmp_path, tmp_path / "data", tmp_path / "logs", tmp_path / "cache"
    )  # fmt: skip
    assert paths == AppPaths(tmp_path, tmp_path / "data", tmp_path / "logs", tmp_path / "cache")
    assert hash(paths) == hash(app_paths(tmp_path)) and paths != app_paths(tmp_path / "x")
    with pytest.raises(AttributeError):
        paths.home = tmp_path  # type: ignore[misc]


def test_icons_render_at_the_size_painted_and_grey_when_disabled(qtbot: Any) -> None:
    from PySide6.QtGui import QIcon

    from ui.icons import icon

    normal = icon("user").pixmap(20, 20).toImage()
    disabled = icon("user").pixmap(20, 20, QIcon.Mode.Disabled).toImage()
    assert (normal.width(), normal.height()) == (20, 20)
    inked = [(x, y) for x in range(20) for y in range(20) if normal.pixelColor(x, y).alpha() > 200]
    assert inked, "the icon drew nothing"
    x, y = inked[0]
    assert normal.pixelColor(x, y).name() != disabled.pixelColor(x, y).name()
    assert icon("user").pixmap(32, 32).size().width() == 32


def test_python_m_ui_main_measure_startup(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TUISHUI_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "ui.main", "--measure-startup"], env=env,
                          timeout=60, cwd=Path(__file__).parents[2], capture_output=True)  # fmt: skip
    assert done.returncode == 0


def test_account_is_checked_as_you_type(qtbot: Any, paths: Any) -> None:
    login = LoginWindow(paths)
    qtbot.addWidget(login)
    login.password.setText("53012345")
    login.account.setText("91110108MA01HC7K1X")  # wrong check character
    assert login.account_hint.text().strip() and not login.login_button.isEnabled()
    login.account.setText("91110108MA01HC7K1M")
    assert not login.account_hint.text().strip() and login.login_button.isEnabled()
    login.set_account_type("customs_code")
    assert login.account_hint.text().strip() and not login.login_button.isEnabled()
    login.account.setText("1108361234")
    assert login.login_button.isEnabled()
    assert "53012345" in login.demo_hint.text() and "平台" in login.demo_hint.text()


def test_a_local_platform_reads_as_the_builtin_one(
    qtbot: Any, paths: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("app.logs.setup_logging", lambda *a, **k: None)
    login = LoginWindow(paths, server_override="http://127.0.0.1:45678")
    qtbot.addWidget(login)
    login.show()
    qtbot.waitExposed(login)
    login.start_background()
    assert login.server.currentText() == BUILTIN and login.server_url() is None
    assert "127.0.0.1:45678" in login.server_hint.text()  # the address only as a hint
    login.server.setCurrentText("https://tuishui.example.gov.cn")
    assert login.server_url() == "https://tuishui.example.gov.cn"
    # the as-you-type message has its own fixed line: the rows below do not move
    top = login.password.mapTo(login, QPoint()).y()
    login.account.setText("9111")
    qtbot.waitUntil(lambda: bool(login.account_hint.text()))
    assert login.password.mapTo(login, QPoint()).y() == top
    login.shutdown()


def test_platform_refusals_read_as_plain_chinese() -> None:
    failed = PlatformError(401, "AUTH_FAILED", "用户名或密码错误")
    assert login_error_text(failed).startswith("用户名或密码错误")
    locked = PlatformError(
        423, "AUTH_LOCKED", "锁定", {"locked_until": "2026-11-05T10:35:00+08:00"}
    )
    assert "锁定" in login_error_text(locked) and ":35" in login_error_text(locked)
    not_filed = PlatformError(403, "AUTH_NOT_FILED", "备案信息次日生效，请明天再登录。")
    assert login_error_text(not_filed) == "备案信息次日生效，请明天再登录。"


def test_password_change_dialog_checks_the_policy(qtbot: Any, fake_session: Any) -> None:
    from ui.tasks import Tasks

    dialog = ChangePasswordDialog(Tasks(), fake_session, forced=True)
    qtbot.addWidget(dialog)
    dialog.set_old_password("53012345")
    dialog.new.setText("abcdefgh")
    assert "字母和一个数字" in dialog.error.text()
    dialog.new.setText("Tuishui2026")
    dialog.again.setText("Tuishui2026")
    with qtbot.waitSignal(dialog.accepted):
        dialog.submit()
    assert ("password", ("53012345", "Tuishui2026")) in fake_session.calls


def test_crash_report_is_written_under_the_log_folder(tmp_path: Path) -> None:
    report = write_crash_report(tmp_path / "logs", "Traceback: boom")
    assert report.parent == tmp_path / "logs"
    assert "boom" in report.read_text(encoding="utf-8")
