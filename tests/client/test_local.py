"""Paths, settings, credentials and the command line's argument handling — no server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.cli import EXIT_NETWORK, EXIT_REFUSED, EXIT_USAGE, main
from app.credentials import CredentialStore, KeyringUnavailable
from app.models import FeedbackKey
from app.paths import app_paths
from app.session import Workspace
from app.settings import SETTINGS, Settings


def test_home_override_puts_everything_under_it(tmp_path: Path) -> None:
    paths = app_paths()  # TUISHUI_HOME from the autouse fixture
    home = paths.home
    for p in (
        paths.data_dir,
        paths.log_dir,
        paths.cache_dir,
        paths.settings_file,
        paths.stub_data_dir,
        paths.store_path("91110108MA01HC7K1M"),
    ):
        assert p.is_relative_to(home)
    assert paths.feedback_dir("91110108MA01HC7K1M") == home / "data" / "91110108MA01HC7K1M" / "反馈"
    assert app_paths(tmp_path / "other").home == tmp_path / "other"
    with pytest.raises(ValueError):
        paths.enterprise_dir("../x")


def test_settings_declared_once_and_round_trip() -> None:
    paths = app_paths()
    assert all(f.metadata["doc"] for f in SETTINGS)
    s = Settings.load(paths)
    assert s.server_url is None and s.notifications is True
    s.server_url = "http://10.0.0.1:8765"
    s.table_states["declarations"] = "abc"
    s.save()
    again = Settings.load(paths)
    assert again.server_url == "http://10.0.0.1:8765" and again.table_states == {
        "declarations": "abc"
    }
    paths.settings_file.write_text(
        json.dumps({"notifications": "yes", "bogus": 1}), encoding="utf-8"
    )
    assert Settings.load(paths).notifications is True  # wrong type → default


def test_credentials_in_the_keyring() -> None:
    creds = CredentialStore()
    assert creds.available()
    creds.remember_password("http://s", "credit_code:X", "pw")
    creds.remember_feedback_key("http://s", "T", FeedbackKey("k1", "secret"))
    assert creds.password("http://s", "credit_code:X") == "pw"
    assert creds.feedback_key("http://s", "T") == FeedbackKey("k1", "secret")
    creds.forget("http://s", "credit_code:X")
    assert creds.password("http://s", "credit_code:X") is None


def test_no_keyring_says_so_and_keeps_nothing() -> None:
    keyring.set_keyring(fail.Keyring())
    creds = CredentialStore()
    assert not creds.available()
    with pytest.raises(KeyringUnavailable) as info:
        creds.remember_password("http://s", "a", "pw")
    assert "未找到系统凭据管理器，密码不会被保存" in info.value.detail
    assert creds.password("http://s", "a") is None


def test_cli_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        [],
        ["upload"],
        ["login", "--account", "A"],
        ["nonsense"],
        ["login", "--type", "x", "--account", "A", "--password", "p"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == EXIT_USAGE
    capsys.readouterr()


def test_cli_not_logged_in_and_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = f"http://127.0.0.1:{port}"
    assert main(["list", "--server", server]) == EXIT_REFUSED
    assert "请先执行 tuishui-cli login" in capsys.readouterr().err
    code = main(
        [
            "--json",
            "login",
            "--server",
            server,
            "--account",
            "91110108MA01HC7K1M",
            "--password",
            "x",
        ]
    )
    assert code == EXIT_NETWORK
    out = json.loads(capsys.readouterr().out)
    assert "无法连接到服务器" in out["error"]["detail"]


def test_workspace_without_accounts_cannot_open_offline() -> None:
    ws = Workspace(app_paths())
    with pytest.raises(Exception) as info:
        ws.open_offline("91110108MA01HC7K1M")
    assert "无法离线查看" in str(info.value)


def test_a_password_remembered_for_the_bundled_platform_survives_its_new_port() -> None:
    """The bundled platform gets a new loopback port at each start; a real server does not."""
    creds = CredentialStore()
    creds.remember_password("http://127.0.0.1:41001", "91110108MA01HC7K1M", "Secret2026")
    assert creds.password("http://127.0.0.1:52002", "91110108MA01HC7K1M") == "Secret2026"
    assert creds.password("http://localhost:8765", "91110108MA01HC7K1M") == "Secret2026"
    assert creds.password("https://etax.example.cn", "91110108MA01HC7K1M") is None
    creds.forget("http://127.0.0.1:63003", "91110108MA01HC7K1M")
    assert creds.password("http://127.0.0.1:41001", "91110108MA01HC7K1M") is None
