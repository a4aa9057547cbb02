"""The platform going away: a cut upload, sync reconnecting, offline start, lost keys."""

from __future__ import annotations

import threading
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.errors import LocalError, NetworkError
from app.feedback import extract_feedback
from app.models import Change, FeedbackKey
from app.paths import app_paths
from app.session import Workspace
from app.sync import SyncWorker
from tests.client.conftest import login_changed
from tests.client.packages import manufacturer_package
from tests.conftest import DEMO
from tests.livestub import LiveStub

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("cut_at", [0.5, 1.0])
def test_upload_cut_by_a_crash_is_retried_exactly_once(
    port_stub: LiveStub, workspace: Workspace, tmp_path: Path, cut_at: float
) -> None:
    session = login_changed(workspace, port_stub)
    session.client.backoff = 0.2
    package = manufacturer_package(session, tmp_path / "p.zip", lines=20)
    restarted = threading.Event()

    def restart() -> None:
        port_stub.start()
        restarted.set()

    killed: list[int] = []

    def progress(done: int, total: int | None) -> None:
        if not killed and total and done >= total * cut_at:
            killed.append(done)
            port_stub.kill()  # kill -9 the platform and its workers mid-upload
            threading.Thread(target=restart, daemon=True).start()

    decl = session.upload(package, "pre", progress)
    assert killed and restarted.wait(60)
    same = [
        d
        for d in session.client.list_declarations(stage="pre", page_size=500).items
        if d.sha256 == decl.sha256
    ]
    assert [d.id for d in same] == [decl.id]
    assert session.wait_for_audit(decl.id).status == "audited"


def test_sync_follows_changes_and_recovers(port_stub: LiveStub, workspace: Workspace) -> None:
    session = login_changed(workspace, port_stub)
    session.refresh_all()
    changes: list[Change] = []
    states: list[str] = []
    got_notice = threading.Event()
    state_changed = threading.Condition()

    def on_changes(batch: list[Change]) -> None:
        changes.extend(batch)
        if any(c.kind == "notice" for c in batch):
            got_notice.set()

    def on_state(state: str, detail: str) -> None:
        with state_changed:
            states.append(state)
            state_changed.notify_all()

    worker = SyncWorker(session, on_changes, on_state, wait=2, max_backoff=1.0)
    worker.start()
    try:
        with state_changed:
            assert state_changed.wait_for(lambda: "connected" in states, 30)
        answer = port_stub.admin(
            "POST",
            "/notices",
            {
                "category": "daily",
                "subcategory": "日常提醒",
                "title": "同步测试",
                "body": "正文",
                "taxpayer_id": session.taxpayer_id,
            },
        )
        assert answer.status_code in (200, 201)
        assert got_notice.wait(30)
        assert any(n.title == "同步测试" for n in session.store.notices("daily"))

        port_stub.stop()
        with state_changed:
            assert state_changed.wait_for(lambda: states[-1] in ("reconnecting", "offline"), 60)
        port_stub.start()
        with state_changed:
            assert state_changed.wait_for(lambda: states[-1] == "connected", 60)
    finally:
        worker.stop()


def test_offline_start_from_the_local_store(live_stub: LiveStub, workspace: Workspace) -> None:
    session = login_changed(workspace, live_stub)
    session.refresh_all()
    known = {d.id for d in session.store.declarations()}
    assert known
    tid = session.taxpayer_id
    workspace.close()
    live_stub.kill()

    ws = Workspace(app_paths())
    offline = ws.open_offline(tid)
    try:
        assert offline.offline and offline.brief.name == session.brief.name
        assert {d.id for d in offline.store.declarations()} == known
        with pytest.raises(NetworkError) as info:
            offline.client.health()
        assert "无法连接到服务器" in info.value.detail
    finally:
        ws.close()


def test_feedback_keys_wrong_stale_and_missing(
    live_stub: LiveStub, workspace: Workspace, tmp_path: Path
) -> None:
    session = login_changed(workspace, live_stub)
    decl = session.wait_for_audit(
        session.upload(manufacturer_package(session, tmp_path / "p.zip", unknown_entries=1)).id
    )
    raw = session.client.download_feedback(decl.id, tmp_path / "feedback.zip")
    # A wrong key: a clear error, nothing written.
    out = tmp_path / "out" / "x"
    with pytest.raises(LocalError) as info:
        extract_feedback(raw, "not-the-key-" * 3, out, session.taxpayer_id)
    assert info.value.code == "BAD_KEY" and "反馈密钥不正确" in info.value.detail
    assert not out.parent.exists() or not any(out.parent.iterdir())

    # A stale remembered key (same key id, other secret): fetched again, then it works.
    real = session.client.feedback_key()
    session.credentials.remember_feedback_key(
        session.account.server, session.taxpayer_id, FeedbackKey(real.key_id, "stale-" * 8)
    )
    session._feedback_key = None
    folder = session.fetch_feedback(decl.id)
    assert (folder / "feedback.json").is_file()
    remembered = session.credentials.feedback_key(session.account.server, session.taxpayer_id)
    assert remembered == real

    # No key anywhere and the platform unreachable: says it cannot get the key.
    session.credentials.forget_feedback_key(session.account.server, session.taxpayer_id)
    session._feedback_key = None
    live_stub.kill()
    with pytest.raises(NetworkError) as info2:
        session.feedback_key()
    assert "无法从平台获取反馈密钥" in info2.value.detail


def test_no_keyring_login_works_and_keeps_nothing_in_files(
    live_stub: LiveStub, workspace: Workspace
) -> None:
    keyring.set_keyring(fail.Keyring())
    tid, _, initial = DEMO["trader"]
    session = workspace.login(live_stub.url, "credit_code", tid, initial, remember=True)
    assert any("未找到系统凭据管理器，密码不会被保存" in w for w in session.warnings)
    assert workspace.remembered_password(workspace.accounts()[0]) is None
    home = app_paths().home
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert initial.encode() not in data and session.client.token.encode() not in data  # type: ignore[union-attr]
