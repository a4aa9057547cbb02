"""Feedback zips: decrypt into place, refuse what is not ours, survive hostile archives."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import pyzipper

from app.errors import LocalError
from app.feedback import FeedbackIndex, Limits, extract_feedback, read_comment
from tests.client.helpers import KEY, TID, feedback_json, make_feedback_zip


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_extracts_into_place_and_is_idempotent(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(tmp_path / "f.zip")
    dest = tmp_path / "反馈" / "202610" / "pre_audit-d1"
    assert extract_feedback(zip_path, KEY, dest, TID) == dest
    assert (dest / "feedback.json").read_bytes() == feedback_json()
    assert leftovers(dest.parent) == ["pre_audit-d1"]
    summary = FeedbackIndex.read(dest)
    assert (summary.kind, summary.taxpayer_id, summary.result, summary.doubt_count) == (
        "pre_audit",
        TID,
        2,
        2,
    )
    assert [d["seq"] for d in FeedbackIndex.doubts(dest)] == ["0001", "0002"]
    extract_feedback(zip_path, KEY, dest, TID)  # again: same folder, nothing new
    assert leftovers(dest.parent) == ["pre_audit-d1"]


def test_wrong_key_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(tmp_path / "f.zip")
    dest = tmp_path / "out" / "pre_audit-d1"
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, "wrong-key-" * 4, dest, TID)
    assert info.value.code == "BAD_KEY" and "密钥不正确" in info.value.detail
    assert leftovers(dest.parent) == []


def test_a_disk_full_at_the_flush_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background flush of an extracted file fails (a full disk may only say so at
    fsync): the folder is not placed, nothing is left behind."""
    zip_path = make_feedback_zip(
        tmp_path / "f.zip", {"feedback.json": feedback_json(), "a.csv": b"1"}
    )
    dest = tmp_path / "out" / "pre_audit-d1"
    flushed: list[int] = []

    def fsync(fd: int) -> None:
        flushed.append(fd)
        if len(flushed) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("app.feedback.os.fsync", fsync)
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID)
    assert info.value.code == "DISK_FULL" and "磁盘空间不足" in info.value.detail
    assert len(flushed) == 2 and leftovers(dest.parent) == []


def test_another_enterprises_feedback_is_refused(tmp_path: Path) -> None:
    other = "91110105MA02YH3Q27"
    zip_path = make_feedback_zip(tmp_path / "f.zip", enterprise=other)
    with pytest.raises(LocalError) as info:
        read_comment(zip_path, TID)
    assert info.value.code == "WRONG_ENTERPRISE" and other in info.value.detail
    # Comment says ours but the content is someone else's: refused too, nothing placed.
    zip_path = make_feedback_zip(
        tmp_path / "g.zip", {"feedback.json": feedback_json(other)}, enterprise=TID
    )
    dest = tmp_path / "out" / "pre_audit-d1"
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID)
    assert info.value.code == "WRONG_ENTERPRISE"
    assert leftovers(dest.parent) == []


def test_missing_comment_is_not_feedback(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(tmp_path / "f.zip", comment=b"")
    with pytest.raises(LocalError) as info:
        read_comment(zip_path, TID)
    assert info.value.code == "NOT_FEEDBACK"


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt", "C:/evil.txt", "a\\..\\evil.txt", "./x"],
)
def test_traversal_never_escapes(tmp_path: Path, name: str) -> None:
    zip_path = tmp_path / "f.zip"
    make_feedback_zip(zip_path, {"feedback.json": feedback_json()})
    with pyzipper.AESZipFile(zip_path, "a", encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(KEY.encode())
        zf.writestr(name, b"owned")
    dest = tmp_path / "root" / "out" / "pre_audit-d1"
    with pytest.raises(LocalError) as err:
        extract_feedback(zip_path, KEY, dest, TID)
    assert err.value.code in ("UNSAFE", "BAD_ZIP")
    assert not list(tmp_path.rglob("evil.txt"))
    assert leftovers(dest.parent) == []


def test_bomb_is_refused_before_writing(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(
        tmp_path / "f.zip", {"feedback.json": feedback_json(), "zeros.bin": bytes(50 * 1024**2)}
    )
    dest = tmp_path / "out" / "pre_audit-d1"
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID)
    assert info.value.code == "UNSAFE" and "压缩比" in info.value.detail
    assert leftovers(dest.parent) == []
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID, Limits(max_total=1024**2, max_ratio=10**6))
    assert "总大小" in info.value.detail


def test_too_many_entries_and_duplicates(tmp_path: Path) -> None:
    entries = {"feedback.json": feedback_json()} | {f"f{i}.txt": b"x" for i in range(20)}
    zip_path = make_feedback_zip(tmp_path / "f.zip", entries)
    dest = tmp_path / "out" / "x-1"
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID, Limits(max_entries=10))
    assert "数量过多" in info.value.detail
    dup = make_feedback_zip(tmp_path / "d.zip", {"feedback.json": feedback_json()})
    with pyzipper.AESZipFile(dup, "a", encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(KEY.encode())
        zf.writestr("FEEDBACK.json", b"{}")  # the same name on a case-insensitive disk
    with pytest.raises(LocalError) as info:
        extract_feedback(dup, KEY, dest, TID)
    assert "重名" in info.value.detail
    assert leftovers(dest.parent) == []


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(tmp_path / "f.zip", {"feedback.json": feedback_json()})
    with pyzipper.AESZipFile(zip_path, "a", encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(KEY.encode())
        zf.writestr("link", b"/etc/passwd")
        zf.filelist[-1].external_attr = 0o120777 << 16
    with pytest.raises(LocalError) as err:
        extract_feedback(zip_path, KEY, tmp_path / "out" / "x-1", TID)
    assert "链接" in err.value.detail


def test_zip_without_feedback_json_is_not_placed(tmp_path: Path) -> None:
    zip_path = make_feedback_zip(tmp_path / "f.zip", {"疑点清单.csv": b"x"})
    dest = tmp_path / "out" / "pre_audit-d1"
    with pytest.raises(LocalError) as info:
        extract_feedback(zip_path, KEY, dest, TID)
    assert info.value.code == "BAD_ZIP"
    assert leftovers(dest.parent) == []
