"""登录窗口 and the forced first-login password change.

The login window is the root of the app: it owns the core's workspace, the background
helper and the main window it opens after a successful login (and shows itself again
after 退出登录). It imports nothing heavy: the core's session module (requests, keyring)
loads in :meth:`LoginWindow.start_background`, after the window is on screen.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.icons import app_icon, icon
from ui.tasks import Tasks, error_text

log = logging.getLogger(__name__)

BUILTIN = "内置演示平台"
ACCOUNT_TYPES = (
    ("credit_code", "社会信用代码"),
    ("taxpayer_id", "纳税人识别号"),
    ("customs_code", "海关代码"),
)
DEMO_FALLBACK = (
    ("北京华辰精密机械有限公司（生产企业）", "91110108MA01HC7K1M", "53012345"),
    ("北京远航进出口贸易有限公司（外贸企业）", "91110105MA02YH3Q27", "00088765"),
)


def is_loopback(url: str) -> bool:
    """The bundled platform listens on this computer, on a new port at every start."""
    return url.startswith(("http://127.0.0.1", "http://localhost"))


def account_problem(account_type: str, account: str) -> str | None:
    """Why ``account`` is not a valid account of ``account_type`` (None when it is)."""
    from app.declaration.validators import account_problem as core_check

    return core_check(account_type, account)


def login_error_text(exc: BaseException) -> str:
    """The platform's answers in plain Chinese (protocol §2)."""
    code = getattr(exc, "code", None)
    if code == "AUTH_LOCKED":
        until = getattr(exc, "locked_until", None)
        when = ""
        if until:
            from ui.formatting import moment

            when = moment(until)[11:] if until[:10] else ""
        return (
            f"密码连续输错次数过多，账号已锁定，请在 {when} 之后再试。"
            if when
            else "密码连续输错次数过多，账号已暂时锁定，请 15 分钟后再试。"
        ) + "忘记密码请联系主管税务机关重置。"
    if code == "AUTH_FAILED":
        return (
            "用户名或密码错误。初始密码为退税账户银行账号后 8 位；忘记密码请联系主管税务机关重置。"
        )
    return error_text(exc)


def _mark_invalid(widget: QWidget, invalid: bool) -> None:
    """Restyle ``widget`` when its ``invalid`` property flips (only then: a re-polish is
    slow, and the first one builds PySide6's Qt namespace — not before the window shows)."""
    if bool(widget.property("invalid")) == invalid:
        return
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class LoginWindow(QWidget):
    """登录: account kind, account (checked as you type), password, 记住密码, platform."""

    def __init__(
        self, paths: Any, server_override: str | None = None, *, form: bool = True
    ) -> None:
        """``form=False`` when the app opens an enterprise straight from its local store:
        the form is built when the window first shows (after 退出登录, or to add one)."""
        super().__init__()
        self.paths = paths
        self.server_override = server_override
        self.tasks = Tasks(self, error_parent=self)
        self.settings: Any = None
        self.workspace: Any = None
        self.platform: Any = None
        self.builtin_url: str | None = None  # the 内置演示平台's address, once known
        self.local_url: str | None = None  # a local platform given instead of the bundled one
        self.main_window: Any = None
        self.adding = False  # True when a tax agent adds another enterprise
        self.setWindowTitle("登录 - 出口退税综合服务平台")
        self.setWindowIcon(app_icon())
        self.setFixedSize(880, 560)
        self._form_built = False
        if form:
            self._ensure_form()

    def _ensure_form(self) -> None:
        if not self._form_built:
            self._form_built = True
            self._build()

    def setVisible(self, visible: bool) -> None:
        """Builds the form before the first show; closing the window while a tax agent adds
        an enterprise cancels the adding (the main window stays). Here rather than in
        ``closeEvent``: a Python ``closeEvent`` builds PySide6's ``QEvent`` class (~1 ms)
        at every quit, and quitting is part of the start-up measurement (P1)."""
        if visible:
            self._ensure_form()
        elif self.adding and self.main_window is not None:
            self.adding = False
            self.cancel_add.hide()
        super().setVisible(visible)

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        side = QFrame()
        side.setObjectName("LoginSide")
        side.setFixedWidth(340)
        s = QVBoxLayout(side)
        s.setContentsMargins(32, 40, 32, 32)
        s.setSpacing(16)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        s.addWidget(logo)
        title = QLabel("出口退税综合服务平台")
        title.setObjectName("LoginTitle")
        s.addWidget(title)
        s.addWidget(
            QLabel("桌面客户端 · 预申报、正式申报、反馈下载、\n文书开具与进度查询，一处办完。")
        )
        s.addStretch(1)
        self.demo_hint = QLabel()
        self.demo_hint.setWordWrap(True)
        s.addWidget(self.demo_hint)
        root.addWidget(side)

        form_frame = QFrame()
        form_frame.setObjectName("LoginForm")
        f = QVBoxLayout(form_frame)
        f.setContentsMargins(48, 48, 48, 32)
        f.setSpacing(16)
        heading = QLabel("登录")
        heading.setObjectName("LoginTitle")
        f.addWidget(heading)

        self.recent = QComboBox()
        self.recent.setPlaceholderText("最近登录的企业")
        self.recent.activated.connect(self._recent_chosen)
        self.recent.hide()  # until start_background finds remembered enterprises
        f.addWidget(self.recent)

        kinds_frame = QFrame()
        kinds_frame.setObjectName("Segmented")
        kinds = QHBoxLayout(kinds_frame)
        kinds.setContentsMargins(0, 0, 0, 0)
        kinds.setSpacing(0)
        self.kind_group = QButtonGroup(self)
        for i, (key, name) in enumerate(ACCOUNT_TYPES):
            b = QPushButton(name)
            b.setCheckable(True)
            b.setProperty("account_type", key)
            b.setProperty(
                "edge", "first" if i == 0 else "last" if i == len(ACCOUNT_TYPES) - 1 else ""
            )
            b.setObjectName(f"kind-{key}")
            self.kind_group.addButton(b, i)
            kinds.addWidget(b)
        self.kind_group.button(0).setChecked(True)
        self.kind_group.idToggled.connect(lambda *_: self._validate())
        f.addWidget(kinds_frame)

        # every field has one fixed small line under it (the as-you-type message or a hint),
        # so the rows keep an even rhythm whether or not a message shows
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(4)
        # no label alignment: the captions are all two characters wide and as tall as their
        # fields, and any Qt.AlignmentFlag builds PySide6's whole Qt namespace (~12 ms)
        # before the window can show (P1)
        self.account = QLineEdit()
        self.account.setObjectName("account")
        self.account.setPlaceholderText("例如 91110108MA01HC7K1M")
        self.account.textChanged.connect(self._validate)
        self.account.addAction(icon("user"), QLineEdit.ActionPosition.LeadingPosition)
        self.account_hint = self._add_field(form, "账号", self.account)
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("请输入密码")
        self.password.addAction(icon("key"), QLineEdit.ActionPosition.LeadingPosition)
        self.password.returnPressed.connect(self.submit)
        self.password.textChanged.connect(lambda _: self._validate())
        self._add_field(form, "密码", self.password).setText(
            "首次登录的初始密码为退税账户银行账号后 8 位"
        )
        self.server = QComboBox()
        self.server.setObjectName("server")
        self.server.setEditable(True)
        self.server.addItem(icon("home"), BUILTIN, None)
        self.server.setToolTip(
            "选择「内置演示平台」或登录过的平台，也可以直接输入平台地址，"
            "例如 https://tuishui.example.gov.cn"
        )
        self.server.currentTextChanged.connect(lambda _: self._show_server_hint())
        self.server_hint = self._add_field(form, "平台", self.server)
        f.addLayout(form)

        self.remember = QCheckBox("记住密码")
        self.remember.setToolTip("密码保存在系统凭据管理器中，不写入任何文件")
        f.addWidget(self.remember)

        self.error = QLabel("")
        self.error.setObjectName("ErrorLabel")
        self.error.setWordWrap(True)
        f.addWidget(self.error)

        self.offline_button = QPushButton(icon("wifi-off"), "离线查看本机数据")
        self.offline_button.setToolTip("平台暂时连不上时，可以只读查看上次同步到本机的数据")
        self.offline_button.clicked.connect(self.open_offline)
        self.offline_button.hide()
        f.addWidget(self.offline_button)
        buttons = QHBoxLayout()
        self.cancel_add = QPushButton("取消")
        self.cancel_add.clicked.connect(self._cancel_adding)
        self.cancel_add.hide()
        buttons.addWidget(self.cancel_add)
        self.login_button = QPushButton("登录")
        self.login_button.setObjectName("login")
        self.login_button.setProperty("primary", True)
        self.login_button.setMinimumHeight(36)
        self.login_button.clicked.connect(self.submit)
        buttons.addWidget(self.login_button, 1)
        f.addLayout(buttons)
        f.addStretch(1)
        self.status = QLabel("")
        self.status.setProperty("muted", True)
        self.status.setWordWrap(True)
        f.addWidget(self.status)
        root.addWidget(form_frame, 1)
        self._set_demo_hint(DEMO_FALLBACK)
        self._validate()
        self._show_server_hint()

    @staticmethod
    def _add_field(form: QFormLayout, label: str, field: QWidget) -> QLabel:
        """A form row: the field with its fixed small message line below; returns the line."""
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        v.addWidget(field)
        hint = QLabel("")
        hint.setObjectName("FieldHint")
        hint.setFixedHeight(hint.fontMetrics().height() + 2)
        v.addWidget(hint)
        caption = QLabel(label)
        caption.setFixedHeight(field.sizeHint().height())
        form.addRow(caption, box)
        return hint

    def _show_server_hint(self) -> None:
        url = self.server_url()
        if url is None:
            self.server_hint.setText(
                f"随客户端安装的模拟平台（{self.builtin_url}）" if self.builtin_url
                else "随客户端安装的模拟平台，数据都是虚构的"
            )  # fmt: skip
        else:
            self.server_hint.setText("将连接到这个地址的平台；试用演示数据请选「内置演示平台」")

    def _set_demo_hint(self, accounts: Any) -> None:
        lines = "<br>".join(
            f"{name}<br>&nbsp;&nbsp;账号 <b>{account}</b><br>&nbsp;&nbsp;初始密码 <b>{pw}</b>"
            for name, account, pw in accounts
        )
        self.demo_hint.setText(
            "<p>「内置演示平台」是随客户端安装的模拟平台，数据都是虚构的，可放心试用。</p>"
            f"<p>{lines}</p>"
            "<p>要连接真实或其他平台，在「平台」一栏输入它的地址即可。</p>"
        )

    # -- state -----------------------------------------------------------------------------

    def account_type(self) -> str:
        button = self.kind_group.checkedButton()
        return str(button.property("account_type"))

    def set_account_type(self, key: str) -> None:
        for b in self.kind_group.buttons():
            if b.property("account_type") == key:
                b.setChecked(True)

    def _validate(self) -> bool:
        text = self.account.text().strip()
        problem = account_problem(self.account_type(), text) if text else None
        self.account_hint.setText(problem or "")
        for widget in (self.account_hint, self.account):
            _mark_invalid(widget, bool(problem))
        ok = bool(text) and problem is None and bool(self.password.text())
        self.login_button.setEnabled(ok)
        return ok

    def server_url(self) -> str | None:
        """The platform address chosen or typed; None for the 内置演示平台."""
        text = self.server.currentText().strip()
        return None if not text or text == BUILTIN else text

    def _fill_servers(self, current: str | None) -> None:
        """内置演示平台 first, then the other platforms this user has logged in to."""
        while self.server.count() > 1:
            self.server.removeItem(1)
        known = [a.server for a in self.workspace.accounts()] if self.workspace else []
        for url in dict.fromkeys([*known, current]):
            if url and not is_loopback(url):
                self.server.addItem(icon("globe"), url, url)
        self.server.setCurrentText(current or BUILTIN)
        self._show_server_hint()

    # -- background start (after the window shows) -------------------------------------------

    def start_background(self) -> None:
        """Load the core, settings and remembered accounts; start the bundled platform."""
        from PySide6.QtCore import Qt

        from app.logs import setup_logging
        from app.settings import Settings

        self._ensure_form()
        self.demo_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        setup_logging(self.paths)
        self.settings = Settings.load(self.paths)
        self.set_account_type(self.settings.last_account_type)
        if self.settings.last_account and not self.account.text():
            self.account.setText(self.settings.last_account)
        self._create_workspace()
        configured = self.server_override or self.settings.server_url
        if configured and is_loopback(configured):
            # a platform on this computer (--server of a local one) stands in for the
            # bundled one: the user sees 内置演示平台, its address only in the hint line
            self.local_url = self.builtin_url = configured
            configured = None
        self._fill_servers(configured)
        self._fill_recent()
        from app.launcher import BundledPlatform, demo_accounts

        self.platform = BundledPlatform(self.paths)
        self._set_demo_hint(
            [(f"{a.name}（{a.note.split('，')[0]}）", a.credit_code, a.initial_password)
             for a in demo_accounts()[:2]]
        )  # fmt: skip
        if self.server_url() is None and self.local_url is None:
            self.status.setText("正在启动内置演示平台…")
            self.tasks.run(
                self.platform.ensure_running, self._platform_ready, self._platform_failed
            )
        accounts = self.workspace.accounts()
        if accounts and not self.password.text():
            self.choose_account(accounts[0])

    def open_offline_store(self, taxpayer_id: str) -> None:
        """The main window of an enterprise straight from its local store (no platform)."""
        from app.settings import Settings

        self.settings = Settings.load(self.paths)
        self._create_workspace()
        self.open_main(self.workspace.open_offline(taxpayer_id))

    def _create_workspace(self) -> None:
        from app.credentials import CredentialStore
        from app.session import Workspace

        self.workspace = Workspace(self.paths, self.settings, CredentialStore())

    def _platform_ready(self, url: str) -> None:
        self.builtin_url = url
        self.status.setText("内置演示平台已就绪。")
        self._show_server_hint()

    def _platform_failed(self, exc: BaseException) -> bool:
        self.status.setText("内置演示平台没有启动：" + error_text(exc))
        return True

    def _fill_recent(self) -> None:
        self.recent.clear()
        accounts = list(self.workspace.accounts()) if self.workspace is not None else []
        for acc in accounts:
            self.recent.addItem(icon("building"), f"{acc.name}（{acc.taxpayer_id}）", acc)
        self.recent.setVisible(bool(accounts))
        self.recent.setCurrentIndex(-1)

    def _recent_chosen(self, index: int) -> None:
        self.choose_account(self.recent.itemData(index))

    def choose_account(self, acc: Any) -> None:
        """Fill the form from a remembered account (and its remembered password)."""
        self.set_account_type(acc.account_type)
        self.account.setText(acc.account)
        if not self.server_override:
            # the bundled platform gets a new loopback port at every start
            self.server.setCurrentText(BUILTIN if is_loopback(acc.server) else acc.server)
        self.password.clear()
        workspace = self.workspace

        def read() -> str | None:
            try:
                return workspace.remembered_password(acc)
            except Exception:  # no keyring: the user types the password
                return None

        def fill(pw: str | None) -> None:
            if pw and not self.password.text():
                self.password.setText(pw)
                self.remember.setChecked(True)

        self.tasks.run(read, fill, lambda _: True)

    # -- login -----------------------------------------------------------------------------

    def submit(self) -> None:
        if not self._validate() or self.workspace is None:
            return
        self.error.setText("")
        self.offline_button.hide()
        self.login_button.setEnabled(False)
        self.login_button.setText("正在登录…")
        account_type, account = self.account_type(), self.account.text().strip().upper()
        password, remember = self.password.text(), self.remember.isChecked()
        server = self.server_url() or self.local_url
        platform, workspace = self.platform, self.workspace

        def work() -> Any:
            url = server or (platform.ensure_running() if platform is not None else None)
            if url is None:
                from app.errors import LocalError

                raise LocalError("内置演示平台不可用，请在「平台」一栏输入平台地址。")
            return workspace.login(url, account_type, account, password, remember)

        self.tasks.run(work, self._logged_in, self._login_failed, label="正在登录…")

    def _login_failed(self, exc: BaseException) -> bool:
        from app.errors import CoreError

        self.login_button.setText("登录")
        self._validate()
        if not isinstance(exc, CoreError):
            return False
        self.error.setText(login_error_text(exc))
        from app.errors import NetworkError

        self.offline_button.setVisible(
            isinstance(exc, NetworkError) and self._known_account() is not None
        )
        return True

    def _known_account(self) -> Any:
        account = self.account.text().strip().upper()
        accounts = self.workspace.accounts() if self.workspace is not None else []
        return next((a for a in accounts if a.account == account), None)

    def open_offline(self) -> None:
        """Read-only from the local store while the platform cannot be reached."""
        acc = self._known_account()
        if acc is None:
            return
        workspace = self.workspace
        self.tasks.run(lambda: workspace.open_offline(acc.taxpayer_id), self.open_main)

    def _logged_in(self, session: Any) -> None:
        self.login_button.setText("登录")
        self._validate()
        self.settings.last_account_type = self.account_type()
        self.settings.last_account = self.account.text().strip().upper()
        self.settings.server_url = self.server_url()
        self._save_settings()
        if not session.must_change_password:
            self.password.clear()
            self.open_main(session)
            return
        from PySide6.QtCore import Qt

        dialog = ChangePasswordDialog(self.tasks, session, forced=True, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.set_old_password(self.password.text())
        dialog.finished.connect(lambda result: self._password_changed(session, result))
        dialog.open()

    def _password_changed(self, session: Any, result: int) -> None:
        if result != QDialog.DialogCode.Accepted:
            workspace = self.workspace
            self.tasks.run(lambda: workspace.logout(session.taxpayer_id), None, lambda _: True)
            return
        self.password.clear()
        self.open_main(session)

    def _save_settings(self) -> None:
        try:
            self.settings.save()
        except OSError:
            log.warning("settings not saved", exc_info=True)

    def open_main(self, session: Any) -> None:
        from ui.mainwindow import MainWindow

        if self.main_window is None:
            self.main_window = MainWindow(
                self, self.paths, self.settings, self.workspace, self.tasks
            )
            self.main_window.show()
        self.main_window.context.set_session(session)
        self.main_window.show()
        self.main_window.raise_()
        self.adding = False
        if self._form_built:
            self.cancel_add.hide()
        self.hide()

    # -- called by the main window -----------------------------------------------------------

    def add_enterprise(self, account: Any = None) -> None:
        """A tax agent logs in to one more enterprise (the main window stays open)."""
        self._ensure_form()
        self.adding = True
        self.cancel_add.show()
        self._fill_recent()
        if account is not None:
            self.choose_account(account)
        else:
            self.account.clear()
            self.password.clear()
        self.show()
        self.raise_()
        self.activateWindow()

    def _cancel_adding(self) -> None:
        self.adding = False
        self.cancel_add.hide()
        if self.main_window is not None:
            self.hide()

    def back_to_login(self) -> None:
        """After 退出登录 of the last enterprise."""
        self._ensure_form()
        if self.main_window is not None:
            self.main_window.hide()
        self._fill_recent()
        self.show()
        self.raise_()

    def raise_current(self) -> None:
        window = (
            self.main_window
            if self.main_window is not None and self.main_window.isVisible()
            else self
        )
        window.showNormal()
        window.raise_()
        window.activateWindow()

    def shutdown(self) -> None:
        if self.main_window is not None:
            self.main_window.context.stop_sync()
        self.tasks.wait_idle(5000)
        if self.workspace is not None:
            self.workspace.close()
        if self.platform is not None:
            try:
                self.platform.stop()
            except Exception:
                log.warning("bundled platform did not stop cleanly", exc_info=True)


class ChangePasswordDialog(QDialog):
    """修改密码 — forced on first login (and after a reset by the tax office)."""

    def __init__(
        self, tasks: Tasks, session: Any, forced: bool = False, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.tasks = tasks
        self.session = session
        self.setWindowTitle("修改密码")
        self.setModal(True)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 16)
        layout.setSpacing(16)
        if forced:
            note = QLabel(
                "您正在使用初始密码（银行账号后 8 位），为了账号安全，请先设置新密码再继续。"
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        form = QFormLayout()
        form.setSpacing(8)
        self.old = QLineEdit()
        self.old.setObjectName("old_password")
        self.new = QLineEdit()
        self.new.setObjectName("new_password")
        self.again = QLineEdit()
        self.again.setObjectName("again_password")
        for w in (self.old, self.new, self.again):
            w.setEchoMode(QLineEdit.EchoMode.Password)
            w.textChanged.connect(self._check)
        form.addRow("原密码", self.old)
        form.addRow("新密码", self.new)
        form.addRow("确认新密码", self.again)
        layout.addLayout(form)
        rule = QLabel("8–20 位，至少包含一个字母和一个数字，区分大小写，不能与初始密码相同。")
        rule.setProperty("muted", True)
        rule.setWordWrap(True)
        layout.addWidget(rule)
        self.error = QLabel("")
        self.error.setObjectName("ErrorLabel")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        from PySide6.QtWidgets import QDialogButtonBox  # not before the login window (P1)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("修改密码")
        self.ok_button.setProperty("primary", True)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(
            "退出登录" if forced else "取消"
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._check()

    def set_old_password(self, text: str) -> None:
        self.old.setText(text)
        QTimer.singleShot(0, self.new.setFocus)

    def _problem(self) -> str | None:
        new = self.new.text()
        if not new:
            return None
        if not 8 <= len(new) <= 20:
            return "新密码应为 8–20 位。"
        if not (any(c.isalpha() for c in new) and any(c.isdigit() for c in new)):
            return "新密码至少包含一个字母和一个数字。"
        if self.again.text() and self.again.text() != new:
            return "两次输入的新密码不一致。"
        return None

    def _check(self) -> None:
        problem = self._problem()
        self.error.setText(problem or "")
        ok = (
            bool(self.old.text() and self.new.text() and self.again.text() == self.new.text())
            and not problem
        )
        self.ok_button.setEnabled(ok)

    def submit(self) -> None:
        self.buttons.setEnabled(False)
        old, new = self.old.text(), self.new.text()
        self.tasks.run(lambda: self.session.change_password(old, new), self._done, self._failed)

    def _done(self, _: Any) -> None:
        self.buttons.setEnabled(True)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        self.buttons.setEnabled(True)
        from app.errors import CoreError

        if not isinstance(exc, CoreError):
            return False
        code = getattr(exc, "code", "")
        self.error.setText(
            "原密码不正确，请重新输入。" if code == "AUTH_FAILED" else error_text(exc)
        )
        return True
