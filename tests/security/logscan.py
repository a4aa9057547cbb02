"""Secrets must never reach the stub's log files: a scan usable after any stub run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.conftest import DEMO
from tests.livestub import LiveStub
from tests.stub.helpers import NEW_PASSWORD, Api


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def secrets_of(stub: LiveStub, *apis: Api) -> set[str]:
    """Every password, token and feedback key the run used: the demo initial passwords,
    the changed one, the admin token and each session's bearer token and feedback key."""
    found = {NEW_PASSWORD, stub.admin_token, *(account[2] for account in DEMO.values())}
    for api in apis:
        found.add(str(api.session.headers["Authorization"]).removeprefix("Bearer "))
        r = api.get("/enterprise/feedback-key")
        assert r.status_code == 200, r.text
        found |= {s for s in _strings(r.json()) if len(s) >= 8}
    return found


def assert_no_secret_in_logs(stub: LiveStub, secrets: set[str]) -> None:
    """Stop ``stub`` (so its logs are flushed) and scan every file under ``logs/``."""
    stub.stop()
    logs = sorted(p for p in (stub.data_dir / "logs").rglob("*") if p.is_file())
    assert logs, "the stub wrote no log file"
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = sorted(s[:3] + "…" for s in secrets if s in text)
        assert not found, f"{path.name} contains secrets (starting {found})"
