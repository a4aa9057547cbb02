"""Entry point of the desktop client: ``tuishui`` / ``python -m ui.main``.

Start-up is lazy on purpose (P1: the login window within 1.3× of a bare Qt window):
only Qt and this package load before the login window shows; the HTTP client, the
keyring, pypdf and the bundled platform are imported or started after it is on screen.

Options: ``--home DIR`` (everything under one folder), ``--server URL`` (another
platform), ``--self-test`` (run the whole flow against the bundled platform, exit 0 if it
works), ``--measure-startup`` (exit 0 once the login window is shown and the event
loop idle), ``--measure-main-window TAXPAYER_ID`` (the same for the main window of an
enterprise opened from its local store), ``--stub ...`` (frozen app only: run the bundled platform with the rest of
the arguments).
"""

from __future__ import annotations

import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Options:
    """The command line; a plain class, as a dataclass would load ``dataclasses`` and
    ``inspect`` (~4 ms) before the window shows."""

    home: Path | None = None
    server: str | None = None
    measure_startup: bool = False
    measure_main_window: str | None = None


def _parse(argv: list[str]) -> Options:
    """The usual command lines directly; anything else (``--help``, ``--home=DIR``, a typo)
    through argparse for its messages — importing and building it costs ~3 ms (P1)."""
    options, rest = Options(), list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--measure-startup":
            options.measure_startup = True
        elif arg == "--home" and rest and not rest[0].startswith("-"):
            options.home = Path(rest.pop(0))
        elif arg == "--server" and rest and not rest[0].startswith("-"):
            options.server = rest.pop(0)
        elif arg == "--measure-main-window" and rest and not rest[0].startswith("-"):
            options.measure_main_window = rest.pop(0)
        else:
            return _parse_with_argparse(argv)
    return options


def _parse_with_argparse(argv: list[str]) -> Options:
    import argparse

    parser = argparse.ArgumentParser(prog="tuishui", description="出口退税综合服务平台桌面客户端")
    parser.add_argument("--home", type=Path, help="把设置、数据和日志都放在这个文件夹")
    parser.add_argument("--server", help="平台地址（默认使用内置演示平台）")
    parser.add_argument("--measure-startup", action="store_true", help="登录窗口出现后立即退出")
    parser.add_argument(
        "--measure-main-window", metavar="TAXPAYER_ID", help="离线打开该企业的主窗口后立即退出"
    )
    options = Options()
    for name, value in vars(parser.parse_args(argv)).items():
        setattr(options, name, value)
    return options


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        import multiprocessing

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
    existing = QApplication.instance()
    # the house style as a Qt option: app.setStyle() would build PySide6's QStyle class
    # with its ~800 enum members (~4 ms) before the window shows (P1)
    app = existing or QApplication([sys.argv[0], "-style", "Fusion"])
    assert isinstance(app, QApplication)
    app.setApplicationName("出口退税客户端")
    app.setOrganizationName("tuishui")
    app.setApplicationDisplayName("出口退税综合服务平台")

    instance = SingleInstance(paths.home)
    measuring = args.measure_startup or args.measure_main_window is not None
    if not measuring and instance.raise_running():
        return 0
    install_crash_handler(paths.log_dir)

    from ui.icons import app_icon, apply_style
    from ui.login import LoginWindow

    apply_style(app, set_style=existing is not None)
    app.setWindowIcon(app_icon())
    login = LoginWindow(paths, server_override=args.server, form=args.measure_main_window is None)
    if args.measure_main_window is not None:
        login.open_offline_store(args.measure_main_window)

        def idle() -> None:
            # what a benchmark times: closing waits for the background refresh still running
            print("idle", flush=True)
            app.quit()

        QTimer.singleShot(0, idle)
        code = app.exec()
        login.shutdown()
        return code
    login.show()
    if args.measure_startup:
        QTimer.singleShot(0, app.quit)
        return app.exec()

    def started() -> None:
        if instance.listen(login.raise_current):
            login.start_background()
        else:  # another window started at the same moment and won: it was raised
            app.quit()

    QTimer.singleShot(0, started)
    code = app.exec()
    login.shutdown()
    return code


class SingleInstance:
    """One window per user and home folder: a second start raises the first one.

    The pipe name carries the user name (accountants share RDS/Citrix servers) and a
    checksum of the home folder (a portable copy is its own instance). The check runs
    before the login window shows; the server listens only after it is on screen.
    """

    def __init__(self, home: Path) -> None:
        user = os.environ.get("USERNAME") or os.environ.get("USER") or "user"
        self.name = f"tuishui-{user}-{zlib.crc32(str(home).encode()):08x}"
        self.server: Any = None

    def raise_running(self) -> bool:
        """Ask a running window to come to the front; False when there is none."""
        if sys.platform != "win32":
            # Qt's local server is a socket file in QDir::tempPath(): without it nothing
            # listens, and QtNetwork need not load before the window shows
            if not (Path(os.environ.get("TMPDIR") or "/tmp") / self.name).exists():
                return False
        from PySide6.QtNetwork import QLocalSocket

        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(300):
            return False
        socket.write(b"raise\n")
        socket.waitForBytesWritten(300)
        socket.disconnectFromServer()
        return True

    def listen(self, on_raise: Callable[[], None]) -> bool:
        """Serve later starts; False when another window claimed the name meanwhile."""
        from PySide6.QtNetwork import QLocalServer

        server = QLocalServer()
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if self.raise_running():
                return False
            QLocalServer.removeServer(self.name)  # stale pipe after a crash
            server.listen(self.name)

        def connected() -> None:
            conn = server.nextPendingConnection()
            if conn is not None:
                conn.readyRead.connect(on_raise)
                conn.disconnected.connect(conn.deleteLater)

        server.newConnection.connect(connected)
        self.server = server
        return True


def install_crash_handler(log_dir: Path) -> None:
    """An unexpected exception writes a report under the log folder and says where."""

    def handler(exc_type: Any, exc: BaseException, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        import traceback

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
    import platform
    from datetime import datetime

    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"crash-{datetime.now():%Y%m%d-%H%M%S}.txt"

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
