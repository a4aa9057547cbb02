"""Test-wide configuration: offscreen Qt, every path under tmp, an in-memory keyring."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Before anything imports Qt: no display is needed, ever.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import keyring
import keyring.backend
import pytest

from tests.livestub import LiveStub

# Demo enterprises (protocol §10): credit code, customs code, initial password.
DEMO = {
    "manufacturer": ("91110108MA01HC7K1M", "1108361234", "53012345"),
    "trader": ("91110105MA02YH3Q27", "1105466789", "00088765"),
    "not_filed": ("91110115MA03XQ5R3K", "1115362468", "16245702"),
    "suspended": ("91110106MA04TQ8W2Y", "1106361357", "00001086"),
}


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Keyring backend for tests: secrets live only in this process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own app home and keyring; nothing touches the real user's."""
    monkeypatch.setenv("TUISHUI_HOME", str(tmp_path / "home"))
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def session_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStub]:
    """One live stub shared by read-mostly tests (tax office left to the admin calls)."""
    stub = LiveStub(
        tmp_path_factory.mktemp("stub-session"),
        args=["--accept-after", "0", "--approve-after", "0", "--assemble-delay", "0"],
    ).start()
    yield stub
    stub.stop()


@pytest.fixture
def live_stub(tmp_path: Path) -> Iterator[LiveStub]:
    """A fresh live stub of this test's own (for tests that change state or kill it)."""
    stub = LiveStub(
        tmp_path / "stub",
        args=["--accept-after", "0", "--approve-after", "0", "--assemble-delay", "0"],
    ).start()
    yield stub
    stub.kill()


@pytest.fixture
def port_stub(tmp_path: Path) -> Iterator[LiveStub]:
    """A live stub on a fixed port, so it can be killed and restarted at the same address."""
    from tests.client.packages import free_port

    stub = LiveStub(
        tmp_path / "stub",
        args=["--port", str(free_port()), "--accept-after", "0", "--approve-after", "0",
              "--assemble-delay", "0"],
    ).start()  # fmt: skip
    yield stub
    stub.kill()
