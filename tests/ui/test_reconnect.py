"""An enterprise opened offline (the platform was unreachable at login) comes back online
by itself once the platform answers: with the remembered password it logs in again and
syncs; without one the banner says the platform is back and offers 重新登录."""

from __future__ import annotations

from typing import Any

import pytest

from app.paths import AppPaths
from app.session import Workspace
from tests.client.conftest import login_changed
from tests.conftest import DEMO
from tests.livestub import LiveStub
from ui.context import AppContext
from ui.login import LoginWindow

pytestmark = pytest.mark.slow
TID = DEMO["manufacturer"][0]


def known_enterprise(paths: AppPaths, stub: LiveStub, *, remember: bool) -> None:
    """An enterprise this computer has logged in to before, its data in the local store."""
    ws = Workspace(paths)
    try:
        login_changed(ws, stub, remember=remember).refresh_all()
    finally:
        ws.close()


def open_offline(qtbot: Any, paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(AppContext, "FIRST_PROBE_MS", 100)
    monkeypatch.setattr(AppContext, "RECONNECT_MS", 100)
    login = LoginWindow(paths)
    qtbot.addWidget(login)
    login.workspace = Workspace(paths)
    login.settings = login.workspace.settings
    session = login.workspace.open_offline(TID)
    login.open_main(session)
    main = login.main_window
    qtbot.addWidget(main)
    return main


def close(qtbot: Any, main: Any) -> None:
    """Every background answer delivered, then the window closed (its sync stops)."""
    qtbot.waitUntil(lambda: main.context.tasks.pending() == 0, timeout=30000)
    main.close()
    main.context.workspace.close()


def test_remembered_password_logs_in_again_when_the_platform_is_back(
    qtbot: Any, paths: AppPaths, port_stub: LiveStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_enterprise(paths, port_stub, remember=True)
    port_stub.kill()
    main = open_offline(qtbot, paths, monkeypatch)
    context = main.context
    try:
        assert context.session.offline and main.banner.isVisibleTo(main)
        assert "会自动重新连接" in main.banner_text.text()  # before its first look
        qtbot.waitUntil(lambda: "会自动登录" in main.banner_text.text())
        qtbot.wait(600)  # several probes against the dead address: quiet, still offline
        assert context.session.offline and context._sync is None
        assert main.state_label.text() == "离线"

        port_stub.start()
        qtbot.waitUntil(lambda: not context.session.offline, timeout=30000)
        qtbot.waitUntil(lambda: context.state == "connected" and context._sync is not None)
        assert not main.banner.isVisibleTo(main) and main.state_label.text() == "已连接"
        assert not context._reconnect.isActive()
        # online for real: the session's token answers the platform
        assert context.session.client.token
        assert context.session.client.enterprise().taxpayer_id == TID
    finally:
        close(qtbot, main)


def test_without_a_remembered_password_the_banner_asks_for_a_login(
    qtbot: Any, paths: AppPaths, port_stub: LiveStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    known_enterprise(paths, port_stub, remember=False)
    main = open_offline(qtbot, paths, monkeypatch)
    context = main.context
    try:
        assert main.relogin.isVisibleTo(main)
        qtbot.waitUntil(lambda: "平台已恢复连接" in main.banner_text.text(), timeout=30000)
        assert "请点击「重新登录」" in main.banner_text.text()
        assert context.session.offline and context._sync is None
        assert not context._reconnect.isActive()  # one answer is enough: no more probes

        main.relogin.click()
        assert main.login.isVisible() and main.login.adding
        assert main.login.account.text() == TID
    finally:
        close(qtbot, main)
