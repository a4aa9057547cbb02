"""主窗口: the enterprise header, the seven tabs of the 办税桌面, the status bar, the tray."""

from __future__ import annotations

import base64
import logging
from importlib import import_module
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSystemTrayIcon,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import formatting as fmt
from ui.context import AppContext
from ui.icons import app_icon, icon
from ui.tasks import Tasks
from ui.widgets import inform, link_button, open_folder, selectable

log = logging.getLogger(__name__)

TAB_TITLES = ("办税桌面", "退税申报", "文书开具", "退税进度", "退税提醒", "综合查询", "办税服务")
# each tab's page (module, class) and icon, in TAB_TITLES order
_TABS = (
    ("ui.tabs.desktop", "DesktopTab", "home"),
    ("ui.tabs.declare", "DeclareTab", "upload"),
    ("ui.tabs.documents", "DocumentsTab", "file"),
    ("ui.tabs.progress", "ProgressTab", "chart"),
    ("ui.tabs.reminders", "RemindersTab", "bell"),
    ("ui.tabs.queries", "QueriesTab", "search"),
    ("ui.tabs.services", "ServicesTab", "book"),
)
_STATE_TEXT = {"connected": "已连接", "offline": "离线", "reconnecting": "正在重连…"}


class MainWindow(QMainWindow):
    def __init__(self, login: Any, paths: Any, settings: Any, workspace: Any, tasks: Tasks) -> None:
        super().__init__()
        self.login = login
        self.context = AppContext(paths, settings, workspace, tasks, self)
        tasks.error_parent = self
        self.setWindowTitle("出口退税综合服务平台")
        self.setWindowIcon(app_icon())
        self.resize(1280, 800)
        self.setMinimumSize(960, 600)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._header())
        self.banner = self._banner()
        layout.addWidget(self.banner)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("MainTabs")
        self.tabs.setDocumentMode(True)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._status_bar()
        self._build_tabs()
        self._shortcuts()
        self._tray()
        self.context.session_changed.connect(self._session_changed)
        self.context.connection.connect(self._connection)
        self.context.notify.connect(self._notify)
        self.context.changed.connect(self._changed)
        tasks.busy_changed.connect(self._busy)
        tasks.status_progress.connect(self._progress)
        self._restore_window()

    # -- header ------------------------------------------------------------------------------

    def _header(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("HeaderBar")
        h = QHBoxLayout(bar)
        h.setContentsMargins(16, 8, 16, 8)
        h.setSpacing(16)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(32, 32))
        h.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.enterprise_name = QLabel("")
        self.enterprise_name.setObjectName("EnterpriseName")
        self.enterprise_id = QLabel("")
        self.enterprise_id.setObjectName("EnterpriseId")
        selectable(self.enterprise_id)
        names.addWidget(self.enterprise_name)
        names.addWidget(self.enterprise_id)
        h.addLayout(names)
        h.addStretch(1)
        self.switcher = QComboBox()
        self.switcher.setObjectName("EnterpriseSwitcher")
        self.switcher.setToolTip("切换企业（代理多户企业时使用）")
        self.switcher.setMinimumWidth(240)
        self.switcher.activated.connect(self._switch_chosen)
        h.addWidget(self.switcher)
        self.state_label = QLabel("已连接")
        self.state_label.setObjectName("ConnectionState")
        self.state_label.setProperty("state", "connected")
        h.addWidget(self.state_label)
        self.user_button = QToolButton()
        self.user_button.setIcon(icon("user"))
        self.user_button.setText("账户")
        # by name: Qt.ToolButtonStyle builds PySide6's whole Qt namespace (~11 ms) (P1)
        self.user_button.setProperty("toolButtonStyle", "ToolButtonTextBesideIcon")
        self.user_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.user_button)
        menu.addAction(icon("key"), "修改密码", self.change_password)
        menu.addAction(icon("settings"), "设置", self.open_settings)
        menu.addAction(icon("folder"), "打开日志文件夹", self.open_logs)
        menu.addAction(icon("info"), "关于", self.about)
        menu.addSeparator()
        menu.addAction(icon("logout"), "退出登录", self.logout)
        self.user_button.setMenu(menu)
        h.addWidget(self.user_button)
        return bar

    def _banner(self) -> QWidget:
        banner = QFrame()
        banner.setObjectName("Banner")
        h = QHBoxLayout(banner)
        h.setContentsMargins(16, 6, 16, 6)
        pic = QLabel()
        pic.setPixmap(icon("wifi-off", "#8a5a00").pixmap(16, 16))
        h.addWidget(pic)
        self.banner_text = QLabel("")
        self.banner_text.setWordWrap(True)
        h.addWidget(self.banner_text, 1)
        self.relogin = QPushButton("重新登录")
        self.relogin.clicked.connect(
            lambda: self.login.add_enterprise(getattr(self.context.session, "account", None))
        )
        h.addWidget(self.relogin)
        banner.hide()
        return banner

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.status_text = QLabel("就绪")
        bar.addWidget(self.status_text, 1)
        self.status_progress = QProgressBar()
        self.status_progress.setFixedWidth(160)
        self.status_progress.setTextVisible(False)
        self.status_progress.hide()
        bar.addPermanentWidget(self.status_progress)
        self.status_cancel = link_button("取消", self._cancel_shown)
        self.status_cancel.setToolTip("停止正在进行的下载或上传；未完成的部分不会保留")
        self._cancelling = False
        self.status_cancel.hide()
        bar.addPermanentWidget(self.status_cancel)
        self.sync_label = QLabel("")
        bar.addPermanentWidget(self.sync_label)

    # -- tabs --------------------------------------------------------------------------------

    def _build_tabs(self) -> None:
        """Seven tab headers; a tab's page is built when it is first shown or asked for
        (building all seven before the window shows took most of the start, P1)."""
        self._pages: list[Any] = [None] * len(TAB_TITLES)
        self._holders: list[QVBoxLayout] = []
        for title, (_, _, icon_name) in zip(TAB_TITLES, _TABS, strict=True):
            holder = QWidget()
            box = QVBoxLayout(holder)
            box.setContentsMargins(0, 0, 0, 0)
            self._holders.append(box)
            self.tabs.addTab(holder, icon(icon_name), title)
        self.tabs.currentChanged.connect(self._tab_changed)

    def page(self, index: int) -> Any:
        """The page of tab ``index``, built now if it has not been shown yet."""
        page = self._pages[index]
        if page is None:
            module, name, _ = _TABS[index]
            page = getattr(import_module(module), name)(self.context, self)
            self._pages[index] = page
            self._holders[index].addWidget(page)
            if self.context.session is not None:  # it missed the session's first load
                page.reload({"all"})
        return page

    desktop = property(lambda self: self.page(0))
    declare = property(lambda self: self.page(1))
    documents = property(lambda self: self.page(2))
    progress = property(lambda self: self.page(3))
    reminders = property(lambda self: self.page(4))
    queries = property(lambda self: self.page(5))
    services = property(lambda self: self.page(6))

    def show_tab(self, title: str, sub: int | None = None) -> Any:
        index = TAB_TITLES.index(title)
        page = self.page(index)
        self.tabs.setCurrentIndex(index)
        if sub is not None and hasattr(page, "nav"):
            page.nav.show_page(sub)
        return page

    def _tab_changed(self, index: int) -> None:
        self.context.settings.window_state = str(index)
        if index >= 0:
            self.page(index)

    def _shortcuts(self) -> None:
        keys: list[tuple[QKeySequence, Any]] = [
            (QKeySequence(f"Ctrl+{i + 1}"), lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            for i in range(len(TAB_TITLES))
        ]
        keys += [
            (QKeySequence("F5"), self.context.refresh_all),
            (QKeySequence("Ctrl+U"), self._upload_shortcut),
            (QKeySequence(QKeySequence.StandardKey.Find), self._find),
        ]
        for key, slot in keys:
            action = QAction(self)
            # a list: setShortcut()'s overloads build PySide6's whole Qt namespace (~11 ms)
            action.setShortcuts([key])
            action.triggered.connect(slot)
            self.addAction(action)

    def _upload_shortcut(self) -> None:
        page = self.show_tab("退税申报")
        page.upload_current()

    def _find(self) -> None:
        """Ctrl+F: the filter box of the table on the current tab."""
        from ui.widgets import TablePanel

        page = self.tabs.currentWidget()
        panels = [p for p in page.findChildren(TablePanel) if p.isVisible()]
        if panels:
            panels[0].filter.setFocus()
            panels[0].filter.selectAll()

    # -- session and connection ---------------------------------------------------------------

    def _session_changed(self) -> None:
        ent = self.context.enterprise
        name = getattr(ent, "name", "")
        kind = fmt.KIND_NAMES.get(getattr(ent, "kind", ""), "")
        cls = getattr(ent, "management_class", "")
        self.enterprise_name.setText(name)
        self.enterprise_id.setText(
            f"纳税人识别号 {getattr(ent, 'taxpayer_id', '')}　{kind}　分类管理 {cls}".rstrip()
        )
        self.setWindowTitle(f"{name}（{getattr(ent, 'taxpayer_id', '')}）- 出口退税综合服务平台")
        self._fill_switcher()
        offline = getattr(self.context.session, "offline", False)
        self._connection("offline" if offline else "connected", "")

    def _changed(self, keys: Any) -> None:
        if {"enterprise", "all"} & set(keys):
            self._session_changed_light()
        self.sync_label.setText("数据已更新 " + fmt.moment(_now())[11:])

    def _session_changed_light(self) -> None:
        ent = self.context.enterprise
        if ent is not None:
            self.enterprise_name.setText(ent.name)

    def _fill_switcher(self) -> None:
        ws = self.context.workspace
        self.switcher.clear()
        current = getattr(self.context.session, "taxpayer_id", "")
        sessions = getattr(ws, "sessions", {}) or {}
        seen = set()
        for tid, session in sessions.items() if isinstance(sessions, dict) else []:
            ent = session.enterprise or session.brief
            self.switcher.addItem(icon("building"), f"{ent.name}", ("session", tid))
            seen.add(tid)
        for acc in ws.accounts():
            if acc.taxpayer_id not in seen:
                self.switcher.addItem(f"{acc.name}（未登录）", ("account", acc))
                seen.add(acc.taxpayer_id)
        self.switcher.addItem(icon("user"), "添加企业…", ("add", None))
        for i in range(self.switcher.count()):
            kind, value = self.switcher.itemData(i)
            if kind == "session" and value == current:
                self.switcher.setCurrentIndex(i)
        self.switcher.setVisible(self.switcher.count() > 2 or bool(ws.accounts()))

    def _switch_chosen(self, index: int) -> None:
        kind, value = self.switcher.itemData(index)
        if kind == "session" and value != getattr(self.context.session, "taxpayer_id", ""):
            self.context.set_session(self.context.workspace.switch(value))
        elif kind == "account":
            self.login.add_enterprise(value)
            self._fill_switcher()
        elif kind == "add":
            self.login.add_enterprise(None)
            self._fill_switcher()

    def _connection(self, state: str, detail: str) -> None:
        self.state_label.setText(_STATE_TEXT.get(state, state))
        if self.state_label.property("state") != state:
            self.state_label.setProperty("state", state)
            # restyled through its own (empty) style sheet: style().polish() would build
            # PySide6's QStyle class with its ~800 enum members as the window opens (P1)
            self.state_label.setStyleSheet(f"/* {state} */")
        if state == "connected":
            self.banner.hide()
            return
        text = detail or "暂时无法连接平台。"
        session = self.context.session
        opened_offline = getattr(session, "offline", False)
        if state != "offline":
            text += " 正在自动重新连接…"
        elif not opened_offline:  # the sync reconnects with the session it has
            text += " 现在显示的是本机保存的数据；连接恢复后会自动更新，无需重新登录。"
        else:
            text += (
                " 现在显示的是本机保存的数据（只读）；"
                + {
                    None: "平台恢复后会自动重新连接。",
                    False: "平台恢复后会自动登录并更新。",
                    True: "请点击「重新登录」输入密码后更新数据。",
                }[self.context.needs_login]
            )
        self.relogin.setVisible(opened_offline)
        self.banner_text.setText(text)
        self.banner.show()

    def _busy(self, count: int, label: str) -> None:
        if count and label:
            self.status_text.setText(label)
            self.status_progress.setRange(0, 0)
            self.status_progress.show()
        elif not count:
            self.status_text.setText("已取消" if self._cancelling else "就绪")
            self._cancelling = False
            self.status_progress.hide()
        self.status_cancel.setVisible(bool(self.context.tasks.cancellable()))

    def _cancel_shown(self) -> None:
        if self.context.tasks.cancel_shown():
            self._cancelling = True
            self.status_text.setText("正在取消…")
            self.status_cancel.hide()

    def _progress(self, done: int, total: int) -> None:
        if total:
            self.status_progress.setRange(0, 1000)
            self.status_progress.setValue(int(done * 1000 / total))
            self.status_progress.show()

    # -- tray ----------------------------------------------------------------------------------

    def _tray(self) -> None:
        self.tray: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        self.tray = QSystemTrayIcon(app_icon(), self)
        self.tray.setToolTip("出口退税综合服务平台")
        menu = QMenu(self)
        menu.addAction("显示主窗口", self.login.raise_current)
        menu.addAction("退出", self.close)
        self.tray.setContextMenu(menu)
        self.tray.activated.connect(lambda *_: self.login.raise_current())
        self.tray.show()

    def _notify(self, title: str, message: str) -> None:
        self.status_text.setText(f"{title}：{message}")
        if self.tray is not None and self.context.settings.notifications:
            self.tray.showMessage(title, message, app_icon(), 8000)

    # -- user menu ------------------------------------------------------------------------------

    def change_password(self) -> None:
        from PySide6.QtCore import Qt

        from ui.login import ChangePasswordDialog

        dialog = ChangePasswordDialog(self.context.tasks, self.context.session, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.accepted.connect(
            lambda: inform(self, "修改密码", "密码已修改。下次登录请使用新密码。")
        )
        dialog.open()

    def open_settings(self) -> None:
        SettingsDialog(self.context, self).exec()

    def open_logs(self) -> None:
        self.context.paths.log_dir.mkdir(parents=True, exist_ok=True)
        open_folder(self.context.paths.log_dir)

    def about(self) -> None:
        from importlib import metadata

        try:
            version = metadata.version("tuishui")
        except metadata.PackageNotFoundError:
            version = "开发版"
        ent = self.context.enterprise
        session = self.context.session
        server = getattr(getattr(session, "client", None), "server", "") or "内置演示平台"
        office = getattr(ent, "tax_office", "") or "（尚未取得）"
        phone = getattr(ent, "tax_office_phone", "") or "（尚未取得）"
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(
            self,
            "关于",
            f"<h3>出口退税综合服务平台 桌面客户端</h3>"
            f"<p>版本 {version}</p>"
            f"<p>平台地址：{server}</p>"
            f"<p>主管税务机关：{office}<br>咨询电话：{phone}</p>"
            f"<p>日志文件夹：{self.context.paths.log_dir}</p>"
            "<p>遇到问题请先咨询主管税务机关；忘记密码请联系主管税务机关重置。</p>",
        )

    def logout(self) -> None:
        session = self.context.session
        if session is None:
            return
        ws = self.context.workspace
        self.context.stop_sync()
        tid = session.taxpayer_id

        def done(_: Any = None) -> bool:
            remaining = [t for t in ws.sessions if t != tid]
            if remaining:
                self.context.set_session(ws.switch(remaining[0]))
            else:
                self.context.session = None
                self.login.back_to_login()
            return True  # a failed logout still leaves this computer logged out

        self.context.tasks.run(lambda: ws.logout(tid), done, done)

    # -- window state ---------------------------------------------------------------------------

    def _restore_window(self) -> None:
        settings = self.context.settings
        if settings.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(settings.window_geometry)))
        state = settings.window_state
        index = int(state) if state.isdigit() and int(state) < len(TAB_TITLES) else 0
        self.tabs.setCurrentIndex(index)
        self.page(index)  # the one page that shows first

    def save_window(self) -> None:
        settings = self.context.settings
        settings.window_geometry = base64.b64encode(bytes(self.saveGeometry().data())).decode()
        settings.window_state = str(self.tabs.currentIndex())
        try:
            settings.save()
        except (OSError, ValueError):
            log.warning("settings not saved", exc_info=True)

    def closeEvent(self, event: Any) -> None:
        self.save_window()
        self.context.stop_sync()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
        self.login.close()


def _now() -> Any:
    from datetime import datetime

    return datetime.now()


class SettingsDialog(QDialog):
    """设置: the platform address, notifications and where files are kept."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("设置")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        form = QFormLayout()
        form.setSpacing(8)
        s = ctx.settings
        self.server = QLineEdit(s.server_url or "")
        self.server.setPlaceholderText("留空表示使用内置演示平台")
        form.addRow("平台地址", self.server)
        self.notify = QCheckBox("审核完成、受理、审批和反馈就绪时在托盘提示")
        self.notify.setChecked(bool(s.notifications))
        form.addRow("通知", self.notify)
        data = QPushButton(icon("folder"), str(ctx.paths.data_dir))
        data.clicked.connect(lambda: open_folder(ctx.paths.data_dir))
        form.addRow("数据文件夹", data)
        logs = QPushButton(icon("folder"), str(ctx.paths.log_dir))
        logs.clicked.connect(lambda: open_folder(ctx.paths.log_dir))
        form.addRow("日志文件夹", logs)
        layout.addLayout(form)
        note = QLabel("更改平台地址后，下次登录时生效。")
        note.setProperty("muted", True)
        layout.addWidget(note)
        from PySide6.QtWidgets import QDialogButtonBox

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _save(self) -> None:
        s = self.ctx.settings
        s.server_url = self.server.text().strip() or None
        s.notifications = self.notify.isChecked()
        try:
            s.save()
        except OSError as exc:
            self.ctx.tasks.show_error(exc)
            return
        self.accept()
