"""登录与密码 (protocol §2) against a live stub."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.conftest import DEMO
from tests.livestub import LiveStub
from tests.stub.conftest import start_stub
from tests.stub.helpers import NEW_PASSWORD, problem

TID, CUSTOMS, INITIAL = DEMO["manufacturer"]


def login(
    stub: LiveStub, account: str, password: str, kind: str = "credit_code"
) -> requests.Response:
    return requests.post(
        stub.api + "/auth/login",
        json={"account_type": kind, "account": account, "password": password},
        timeout=30,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_first_login_password_change_and_logout(live_stub: LiveStub) -> None:
    r = login(live_stub, " " + TID.lower() + " ", INITIAL)  # trimmed and upper-cased
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["must_change_password"] is True
    assert body["enterprise"] == {"taxpayer_id": TID, "name": "北京华辰精密机械有限公司",
                                  "kind": "manufacturer", "management_class": "一类"}  # fmt: skip
    token = body["token"]
    other = login(live_stub, CUSTOMS, INITIAL, "customs_code").json()["token"]
    problem(requests.get(live_stub.api + "/enterprise", headers=bearer(token), timeout=30),
            403, "PASSWORD_CHANGE_REQUIRED")  # fmt: skip

    def change(old: str, new: str) -> requests.Response:
        return requests.post(live_stub.api + "/auth/password", headers=bearer(token),
                             json={"old_password": old, "new_password": new}, timeout=30)  # fmt: skip

    for weak in ("abc123", "abcdefghij", "1234567890", INITIAL, "a1" * 11):
        problem(change(INITIAL, weak), 422, "PASSWORD_POLICY")
    problem(change("wrong-old-1", NEW_PASSWORD), 401, "AUTH_FAILED")
    assert change(INITIAL, NEW_PASSWORD).status_code == 204
    r = requests.get(live_stub.api + "/enterprise", headers=bearer(token), timeout=30)
    assert r.status_code == 200 and r.json()["taxpayer_id"] == TID
    # the other session ended with the change; this one stays valid
    problem(requests.get(live_stub.api + "/enterprise", headers=bearer(other), timeout=30),
            401, "TOKEN_INVALID")  # fmt: skip
    problem(login(live_stub, TID, INITIAL), 401, "AUTH_FAILED")
    again = login(live_stub, TID, NEW_PASSWORD, "taxpayer_id").json()
    assert again["must_change_password"] is False

    r = requests.post(live_stub.api + "/auth/logout", headers=bearer(token), timeout=30)
    assert r.status_code == 204
    problem(requests.get(live_stub.api + "/enterprise", headers=bearer(token), timeout=30),
            401, "TOKEN_INVALID")  # fmt: skip
    problem(requests.get(live_stub.api + "/enterprise", timeout=30), 401, "TOKEN_INVALID")


def test_failures_lock_and_reset_clears(live_stub: LiveStub) -> None:
    unknown = "91350100M000100Y43"  # well formed, no such enterprise
    for _ in range(5):
        assert problem(login(live_stub, TID, "wrong-pw-9"), 401, "AUTH_FAILED")["detail"] == (
            "用户名或密码错误"
        )
        problem(login(live_stub, unknown, "wrong-pw-9"), 401, "AUTH_FAILED")
    # counted per enterprise, whichever account name is used: right password, still locked
    body = problem(login(live_stub, CUSTOMS, INITIAL, "customs_code"), 423, "AUTH_LOCKED")
    assert body["locked_until"]
    problem(login(live_stub, unknown, "whatever-1"), 423, "AUTH_LOCKED")
    # malformed accounts are refused before any password check and do not count
    for kind, account in (("credit_code", "91310000MA1FL5LK2B"), ("customs_code", "12AB"),
                          ("taxpayer_id", "123")):  # fmt: skip
        problem(login(live_stub, account, "x", kind), 422, "VALIDATION")

    assert live_stub.admin("POST", f"/enterprises/{TID}/reset-password").status_code == 204
    r = login(live_stub, TID, INITIAL)
    assert r.status_code == 200 and r.json()["must_change_password"] is True


def test_not_filed_only_after_a_correct_password(live_stub: LiveStub) -> None:
    tid, _, initial = DEMO["not_filed"]
    problem(login(live_stub, tid, "wrong-pw-9"), 401, "AUTH_FAILED")
    body = problem(login(live_stub, tid, initial), 403, "AUTH_NOT_FILED")
    assert "明天" in body["detail"]


def test_login_rate_limit(tmp_path: Path) -> None:
    stub = start_stub(tmp_path / "stub", "--login-rate", "3")
    try:
        for _ in range(3):
            problem(login(stub, TID, "wrong-pw-9"), 401, "AUTH_FAILED")
        r = login(stub, TID, INITIAL)
        problem(r, 429, "RATE_LIMITED")
        assert int(r.headers["Retry-After"]) > 0
    finally:
        stub.kill()


def test_admin_routes_need_the_token(live_stub: LiveStub) -> None:
    r = requests.post(live_stub.url + f"/admin/v1/enterprises/{TID}/reset-password", timeout=30)
    problem(r, 401, "TOKEN_INVALID")
    r = requests.post(live_stub.url + f"/admin/v1/enterprises/{TID}/reset-password",
                      headers={"X-Admin-Token": "not-the-token"}, timeout=30)  # fmt: skip
    problem(r, 401, "TOKEN_INVALID")
