"""Helpers for the live-stub tests: sessions, packages from the stub's own e-info, waits."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from server_stub.generate import from_data_dir
from tests.conftest import DEMO
from tests.livestub import LiveStub

SHANGHAI = timezone(timedelta(hours=8))
NEW_PASSWORD = "Tuishui2026"


def months_back(n: int) -> str:
    today = datetime.now(SHANGHAI).date()
    i = today.year * 12 + today.month - 1 - n
    return f"{i // 12:04d}{i % 12 + 1:02d}"


class Api:
    """One logged-in enterprise (password already changed) talking to a live stub."""

    def __init__(self, stub: LiveStub, who: str = "manufacturer") -> None:
        self.stub = stub
        self.taxpayer_id, self.customs_code, initial = DEMO[who]
        self.session = requests.Session()
        r = requests.post(
            stub.api + "/auth/login",
            timeout=30,
            json={"account_type": "credit_code", "account": self.taxpayer_id, "password": initial},
        )
        if r.status_code == 401:  # a stub shared by several tests: changed already
            token = stub.login(self.taxpayer_id, NEW_PASSWORD)
            self.session.headers["Authorization"] = f"Bearer {token}"
            return
        self.session.headers["Authorization"] = f"Bearer {r.json()['token']}"
        r = self.post(
            "/auth/password", json={"old_password": initial, "new_password": NEW_PASSWORD}
        )
        assert r.status_code == 204, r.text

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.stub.api + path, timeout=60, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.session.post(self.stub.api + path, timeout=60, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.session.put(self.stub.api + path, timeout=60, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.stub.api + path, timeout=60, **kw)

    def upload(self, path: Path, stage: str = "pre") -> requests.Response:
        with path.open("rb") as fh:
            return self.post(
                "/declarations", files={"file": (path.name, fh, "application/zip")},
                data={"stage": stage},
            )  # fmt: skip

    def declaration(self, decl_id: str) -> dict[str, Any]:
        r = self.get(f"/declarations/{decl_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_for(
        self, decl_id: str, done: Collection[str] = ("audited", "rejected", "pending_confirm"),
        timeout: float = 60, seen: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Poll the declaration until its status is one of ``done``."""
        deadline = time.monotonic() + timeout
        while True:
            d = self.declaration(decl_id)
            if seen is not None:
                seen(d)
            if d["status"] in done:
                return d
            assert time.monotonic() < deadline, f"still {d['status']}: {d}"
            time.sleep(0.1)


def package(
    stub: LiveStub, out: Path, *, who: str = "manufacturer", period: str | None = None,
    rows: int | None = 5, inject: tuple[str, ...] = (), batch: str = "001", seed: int = 0,
) -> Path:  # fmt: skip
    """A package generated from the stub's own e-info (as ``python -m server_stub generate``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return from_data_dir(
        stub.data_dir, taxpayer_id=DEMO[who][0], period=period or months_back(1), out=out,
        rows=rows, inject=inject, batch=batch, seed=seed,
    )  # fmt: skip


def problem(r: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``r`` is a problem+json answer with this status and code; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = dict(r.json())
    assert body["code"] == code, body
    assert body["type"] == f"urn:tuishui:problem:{code}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body
