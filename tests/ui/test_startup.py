"""Start-up: --measure-startup, lazy imports, the login window's checks, the crash handler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
