"""Entry point of the desktop client: ``tuishui`` / ``python -m ui.main``.

Start-up is lazy on purpose (P1: the login window within 1.3× of a bare Qt window):
only Qt and this package load before the login window shows; the HTTP client, the
keyring, pypdf and the bundled platform are imported or started after it is on screen.

Options: ``--home DIR`` (everything under one folder), ``--server URL`` (another
platform), ``--self-test`` (run the whole flow against the bundled platform, exit 0 if it
works), ``--measure-startup`` (exit 0 once the login window is shown and the event
loop idle), ``--stub ...`` (frozen app only: run the bundled platform with the rest of
the arguments).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tuishui", description="出口退税综合服务平台桌面客户端")
    parser.add_argument("--home", type=Path, help="把设置、数据和日志都放在这个文件夹")
    parser.add_argument("--server", help="平台地址（默认使用内置演示平台）")
    parser.add_argument("--measure-startup", action="store_true", help="登录窗口出现后立即退出")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--stub"]:
        from server_stub.__main__ import main as stub_main

        sys.argv = [sys.argv[0], *argv[1:]]
        result = stub_main()
        return int(result or 0)
    if "--self-test" in argv:
        from ui.selftest import main as self_test

        return self_test(argv)
    args = _parse(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.paths import app_paths

    paths = app_paths(args.home)
    if args.home is not None:
        os.environ["TUISHUI_HOME"] = str(paths.home)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("出口退税客户端")
    app.setOrganizationName("tuishui")
    app.setApplicationDisplayName("出口退税综合服务平台")

    instance = SingleInstance(paths.home)
    if not args.measure_startup and not instance.claim():
        return 0  # the running window was raised instead
    install_crash_handler(paths.log_dir)

    from ui.icons import app_icon, apply_style
    from ui.login import LoginWindow

    apply_style(app)
    app.setWindowIcon(app_icon())
    login = LoginWindow(paths, server_override=args.server)
    instance.raise_requested.connect(login.raise_current)
    login.show()
    if args.measure_startup:
        QTimer.singleShot(0, app.quit)
        return app.exec()
    QTimer.singleShot(0, login.start_background)
    code = app.exec()
    login.shutdown()
    return code


class _Instance:
    """Placeholder base so the class below can be defined without importing Qt early."""


def _instance_class() -> Any:
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

    class _SingleInstance(QObject):
        """One window per user and home folder: a second start raises the first one.

        The pipe name carries the user name (accountants share RDS/Citrix servers) and a
        hash of the home folder (a portable copy is its own instance).
        """

        raise_requested = Signal()

        def __init__(self, home: Path) -> None:
            super().__init__()
            user = os.environ.get("USERNAME") or os.environ.get("USER") or "user"
            digest = hashlib.sha1(str(home).encode()).hexdigest()[:10]
            self.name = f"tuishui-{user}-{digest}"
            self.server: QLocalServer | None = None

        def claim(self) -> bool:
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(300):
                socket.write(b"raise\n")
                socket.waitForBytesWritten(300)
                socket.disconnectFromServer()
                return False
            server = QLocalServer(self)
            server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
            if not server.listen(self.name):
                QLocalServer.removeServer(self.name)  # stale pipe after a crash
                server.listen(self.name)
            server.newConnection.connect(self._on_connection)
            self.server = server
            return True

        def _on_connection(self) -> None:
            assert self.server is not None
            conn = self.server.nextPendingConnection()
            if conn is not None:
                conn.readyRead.connect(self.raise_requested)
                conn.disconnected.connect(conn.deleteLater)

    return _SingleInstance


def SingleInstance(home: Path) -> Any:
    return _instance_class()(home)


def install_crash_handler(log_dir: Path) -> None:
    """An unexpected exception writes a report under the log folder and says where."""

    def handler(exc_type: Any, exc: BaseException, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        report = write_crash_report(log_dir, text)
        try:
            import logging

            logging.getLogger("ui").error("unexpected error, report %s\n%s", report, text)
            from PySide6.QtWidgets import QApplication, QMessageBox

            if (
                QApplication.instance() is not None
                and os.environ.get("QT_QPA_PLATFORM") != "offscreen"
            ):
                box = QMessageBox(
                    QMessageBox.Icon.Critical,
                    "程序出错",
                    "程序遇到了意外错误，刚才的操作可能没有完成。\n\n"
                    f"错误报告已保存到：\n{report}\n\n"
                    "请重试；如果再次出现，请把这个文件发给技术支持。",
                )
                box.setDetailedText(text)
                box.exec()
        except Exception:  # the crash handler itself must never raise
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = handler


def write_crash_report(log_dir: Path, text: str) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"crash-{datetime.now():%Y%m%d-%H%M%S}.txt"
    import platform

    from PySide6 import __version__ as pyside_version

    from app.paths import atomic_write_text

    header = (
        f"时间: {datetime.now().isoformat(timespec='seconds')}\n"
        f"系统: {platform.platform()}  Python {platform.python_version()}  PySide6 {pyside_version}\n\n"
    )
    atomic_write_text(path, header + text)
    return path


if __name__ == "__main__":
    sys.exit(main())
