"""A full disk on the client's computer: while a feedback package is downloaded or
extracted, and while the local store (SQLite) writes what sync brought.

What must hold: a LocalError ``DISK_FULL`` whose Chinese detail says the disk is full
and to free space and retry; no half file anywhere in the feedback folders; the store
still passes ``PRAGMA integrity_check`` and keeps everything it held before; once space
is back, the same call succeeds and nothing is lost.

The full disk is injected (a file whose writes fail with ENOSPC; SQLite's
``max_page_count``), and, where this runs as root and may mount, also real (a tmpfs).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.errors import LocalError
from app.models import Declaration
from app.paths import app_paths
from app.session import Session, Workspace
from app.sync import SyncWorker
from tests.client.conftest import NEW_PASSWORD
from tests.client.packages import manufacturer_package
from tests.conftest import DEMO
from tests.livestub import LiveStub

pytestmark = pytest.mark.slow


class FullDiskFile(io.BufferedWriter):
    """A real file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, raw: Any, room: int) -> None:
        super().__init__(raw)
        self.room = room

    def write(self, data: Any) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return super().write(data)


def fill_disk_for(
    monkeypatch: pytest.MonkeyPatch, wanted: Callable[[Path, str], bool], room: int = 256
) -> list[Path]:
    """From now on, files opened with ``Path.open`` for which ``wanted(path, mode)`` hold
    take ``room`` bytes and then fail with ENOSPC. Returns the paths that were hit."""
    real_open = Path.open
    hit: list[Path] = []

    def open_(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if wanted(self, mode):
            hit.append(self)
            return FullDiskFile(io.FileIO(self, mode.replace("b", "")), room)
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    return hit


@pytest.fixture
def session(live_stub: LiveStub) -> Iterator[Session]:
    workspace = Workspace(app_paths())
    try:
        tid, _, initial = DEMO["manufacturer"]
        logged_in = workspace.login(live_stub.url, "credit_code", tid, initial, remember=True)
        logged_in.change_password(initial, NEW_PASSWORD)
        yield logged_in
    finally:
        workspace.close()


@pytest.fixture
def audited(session: Session, tmp_path: Path) -> Declaration:
    """An audited pre-declaration whose feedback package is ready."""
    package = manufacturer_package(session, tmp_path / "p.zip", unknown_entries=1)
    return session.wait_for_audit(session.upload(package, "pre").id)


def feedback_files(session: Session) -> list[Path]:
    root = session.paths.feedback_dir(session.taxpayer_id)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_disk_full(error: LocalError) -> None:
    assert error.code == "DISK_FULL"
    assert "磁盘空间不足" in error.detail and "释放空间后重试" in error.detail


def assert_fetch_works(session: Session, declaration_id: str) -> None:
    folder = session.fetch_feedback(declaration_id)
    assert (folder / "feedback.json").is_file()
    assert not [p for p in feedback_files(session) if p.name.startswith(".")]
    [entry] = session.store.feedback(declaration_id)
    assert entry.zip.is_file() and entry.doubt_count >= 1


# -- feedback: download, extraction ----------------------------------------------------


@pytest.mark.parametrize("stage", ["download", "extract"])
def test_full_disk_during_feedback_leaves_nothing(
    session: Session, audited: Declaration, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    if stage == "download":  # the streamed download into its temp file
        hit = fill_disk_for(monkeypatch, lambda p, mode: mode == "wb" and p.suffix == ".part")
    else:  # an entry written out of the decrypted zip
        hit = fill_disk_for(monkeypatch, lambda p, mode: mode == "xb")

    with pytest.raises(LocalError) as info:
        session.fetch_feedback(audited.id)

    assert hit, "the full disk was never reached"
    assert_disk_full(info.value)
    assert feedback_files(session) == []  # no .part, no temp zip, no half folder
    assert session.store.feedback(audited.id) == []
    monkeypatch.undo()  # space freed
    assert_fetch_works(session, audited.id)


# -- the local store -------------------------------------------------------------------


def shrink_to_current_size(session: Session) -> None:
    """Let the store's file grow no more: no free pages, no new ones (SQLITE_FULL)."""
    db = session.store._db
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("VACUUM")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")


def integrity(session: Session) -> str:
    return str(session.store._db.execute("PRAGMA integrity_check").fetchone()[0])


def test_store_full_during_sync_keeps_old_data_and_loses_nothing(
    session: Session, live_stub: LiveStub
) -> None:
    worker = SyncWorker(session)
    worker.poll_once()  # the first round loads everything
    before = {
        "declarations": [d.id for d in session.store.declarations()],
        "notices": [n.id for n in session.store.notices()],
        "cursor": session.store.sync_cursor(),
    }
    assert before["declarations"] and before["notices"]
    body = "本通知用于测试磁盘已满时的同步。" * 1200  # ~58 KB in UTF-8: needs new pages
    answer = live_stub.admin(
        "POST",
        "/notices",
        {
            "category": "daily",
            "subcategory": "日常提醒",
            "title": "磁盘已满测试",
            "body": body,
            "taxpayer_id": session.taxpayer_id,
        },
    )
    assert answer.status_code in (200, 201)
    shrink_to_current_size(session)

    with pytest.raises(LocalError) as info:
        worker.poll_once()

    assert_disk_full(info.value)
    assert integrity(session) == "ok"
    assert [d.id for d in session.store.declarations()] == before["declarations"]
    assert [n.id for n in session.store.notices()] == before["notices"]
    assert session.store.sync_cursor() == before["cursor"]  # the change is asked for again

    session.store._db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    worker.poll_once()
    assert any(n.title == "磁盘已满测试" and n.body == body for n in session.store.notices())
    assert session.store.sync_cursor() > before["cursor"]
    assert integrity(session) == "ok"


def test_store_full_on_a_big_write_rolls_back_whole(session: Session) -> None:
    session.store.set_einfo("customs", "202601", [{"n": i} for i in range(10)])
    shrink_to_current_size(session)
    big = [{"n": i, "pad": "x" * 200} for i in range(2000)]

    with pytest.raises(LocalError) as info:
        session.store.set_einfo("customs", "202602", big)

    assert_disk_full(info.value)
    assert integrity(session) == "ok"
    assert session.store.einfo("customs", "202601") == [{"n": i} for i in range(10)]
    assert session.store.einfo("customs", "202602") is None
    session.store._db.execute("PRAGMA max_page_count = 1073741823")
    session.store.set_einfo("customs", "202602", big)
    assert session.store.einfo("customs", "202602") == big


# -- a real full disk (tmpfs) ----------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[Path, str], Path]]:
    """Mount small tmpfs file systems (root only); all unmounted at the end."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(where: Path, size: str) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its file system is full."""
    filler = folder / "filler.bin"
    block = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with filler.open("ab", buffering=0) as f:  # the last partial block too
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_feedback_onto_a_really_full_disk(
    session: Session, audited: Declaration, tmpfs: Callable[[Path, str], Path]
) -> None:
    folder = tmpfs(session.paths.feedback_dir(session.taxpayer_id), "80m")
    filler = fill(folder)

    with pytest.raises(LocalError) as info:
        session.fetch_feedback(audited.id)

    assert_disk_full(info.value)
    assert [p for p in feedback_files(session) if p != filler] == []
    assert session.store.feedback(audited.id) == []
    filler.unlink()  # space freed (80 MB: above the 64 MB the extraction keeps in reserve)
    assert_fetch_works(session, audited.id)


def test_store_on_a_really_full_disk(
    session: Session, tmp_path: Path, tmpfs: Callable[[Path, str], Path]
) -> None:
    from app.store import LocalStore

    where = tmpfs(tmp_path / "small", "2m")
    store = LocalStore(where / "local.sqlite3")
    try:
        store.set_einfo("customs", "202601", [{"n": i} for i in range(10)])
        filler = fill(where)
        big = [{"n": i, "pad": "x" * 500} for i in range(5000)]  # ~2.5 MB
        with pytest.raises(LocalError) as info:
            store.set_einfo("customs", "202602", big)
        assert_disk_full(info.value)
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.einfo("customs", "202601") == [{"n": i} for i in range(10)]
        assert store.einfo("customs", "202602") is None
        filler.unlink()
        store.set_einfo("customs", "202602", big[:500])
        assert store.einfo("customs", "202602") == big[:500]
    finally:
        store.close()
