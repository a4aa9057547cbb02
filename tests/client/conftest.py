"""Fixtures of the client tests: logged-in sessions on live stubs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.paths import app_paths
from app.session import Session, Workspace
from tests.conftest import DEMO
from tests.livestub import LiveStub

NEW_PASSWORD = "Huachen2026"


def login_changed(
    ws: Workspace, stub: LiveStub, who: str = "manufacturer", remember: bool = True
) -> Session:
    """Log in as a demo enterprise, doing the forced password change on first login."""
    tid, _, initial = DEMO[who]
    session = ws.login(stub.url, "credit_code", tid, initial, remember)
    assert session.must_change_password
    session.change_password(initial, NEW_PASSWORD)
    assert session.enterprise is not None and session.enterprise.taxpayer_id == tid
    return session


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace(app_paths())
    yield ws
    ws.close()
