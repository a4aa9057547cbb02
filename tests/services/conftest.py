"""Fixtures of the services tests: logged-in API clients of the demo enterprises."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.conftest import DEMO
from tests.livestub import LiveStub

NEW_PASSWORD = "Services2026"


@dataclass
class Api:
    """A logged-in enterprise on a live stub."""

    stub: LiveStub
    token: str
    taxpayer_id: str

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return requests.request(method, self.stub.api + path, headers=headers, timeout=60, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def ok(self, path: str, **params: Any) -> Any:
        r = self.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()


def admin(stub: LiveStub, method: str, path: str, body: Any = None) -> requests.Response:
    """An admin call with a JSON body (Content-Type set)."""
    return requests.request(
        method, stub.url + "/admin/v1" + path, headers={"X-Admin-Token": stub.admin_token},
        json=body, timeout=30,
    )  # fmt: skip


def login(stub: LiveStub, kind: str) -> Api:
    """Log in (changing the initial password the first time on this stub)."""
    credit, _, initial = DEMO[kind]
    r = requests.post(
        stub.api + "/auth/login",
        json={"account_type": "credit_code", "account": credit, "password": NEW_PASSWORD},
        timeout=30,
    )
    if r.status_code == 200:
        return Api(stub, r.json()["token"], credit)
    token = stub.login(credit, initial)
    r = requests.post(
        stub.api + "/auth/password",
        headers={"Authorization": f"Bearer {token}"},
        json={"old_password": initial, "new_password": NEW_PASSWORD},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    return Api(stub, token, credit)


@pytest.fixture(scope="session")
def manufacturer(session_stub: LiveStub) -> Api:
    return login(session_stub, "manufacturer")


@pytest.fixture(scope="session")
def trader(session_stub: LiveStub) -> Api:
    return login(session_stub, "trader")


@pytest.fixture
def stub_db(session_stub: LiveStub) -> Iterator[sqlite3.Connection]:
    """A direct connection to the session stub's database (white-box set-up only)."""
    conn = sqlite3.connect(session_stub.data_dir / "platform.sqlite3", timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    yield conn
    conn.close()


def problem(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``r`` is the problem+json answer (status, code) and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    assert body["detail"]
    return body
