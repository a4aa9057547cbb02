"""Every hostile package gets its documented answer, locally and from the live platform."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.conftest import DEMO
from tests.livestub import LiveStub

from .packages import KINDS, HostileKind, Result, local_outcome, make_all, upload_all

CJK = re.compile(r"[\u4e00-\u9fff]")
NEW_PASSWORD = "Hostile2026x"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_all(tmp_path_factory.mktemp("hostile"))


def _local(kind: HostileKind, path: Path) -> Result:
    uploaded: set[str] = set()
    result = local_outcome(path, uploaded=uploaded)
    if kind.name == "same_package_twice":
        assert result is None  # the first upload is fine
        result = local_outcome(path, uploaded=uploaded)
    assert result is not None, f"{kind.name}: nothing found wrong"
    return result


def test_at_least_thirty_kinds_each_with_a_maker() -> None:
    names = [k.name for k in KINDS]
    assert len(names) >= 30 and len(set(names)) == len(names)
    issue_8 = {
        "not_a_zip", "truncated_zip", "empty_file", "directory_entry", "traversal",
        "absolute_path", "drive_path", "backslash", "link_entry", "duplicate_names",
        "too_many_entries", "deflate_bomb", "high_ratio_entry", "manifest_missing",
        "manifest_not_xml", "manifest_wrong_root", "manifest_wrong_version", "xxe",
        "billion_laughs", "gbk_undeclared", "unknown_business", "period_in_future",
        "batch_not_3_digits", "digest_mismatch", "row_count_mismatch",
        "missing_required_column", "extra_unknown_column", "non_numeric_amount",
        "negative_without_hzcj", "field_100k_chars", "control_characters",
        "other_enterprise", "same_package_twice",
    }  # fmt: skip
    assert issue_8 <= set(names)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_local_check_gives_the_documented_answer(
    kind: HostileKind, packages: dict[str, Path]
) -> None:
    result = _local(kind, packages[kind.name])
    assert result.code == kind.expected_code, result.detail
    assert result.where == kind.expected_where
    assert CJK.search(result.detail)
    if kind.outcome == "refused" and kind.expected_where is not None:
        # the detail names where, and says what to do next
        assert f"第一处：{kind.expected_where}：" in result.detail
        assert "请" in result.detail.rsplit("。", 2)[-2]


def test_bomb_is_refused_before_anything_is_inflated(packages: dict[str, Path]) -> None:
    path = packages["deflate_bomb"]
    assert path.stat().st_size < 8 * 1024 * 1024  # 520 MiB inside
    result = local_outcome(path)
    assert (
        result is not None and result.code == "PACKAGE_UNSAFE" and "解压后总大小" in result.detail
    )


def _login(stub: LiveStub) -> str:
    taxpayer_id, _, initial = DEMO["manufacturer"]
    token = stub.login(taxpayer_id, initial)
    r = requests.post(
        stub.api + "/auth/password",
        json={"old_password": initial, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 204, r.text
    return token


def test_live_platform_gives_the_same_answers(
    live_stub: LiveStub, packages: dict[str, Path], tmp_path: Path
) -> None:
    answers = upload_all(live_stub.api, _login(live_stub), tmp_path / "upload")
    assert [k.name for k, _, _ in answers] == [k.name for k in KINDS]
    for kind, status, body in answers:
        local = _local(kind, packages[kind.name])
        if kind.outcome == "refused":
            assert status in (409, 422), (kind.name, status, body)
            assert body["code"] == kind.expected_code, (kind.name, body)
            if kind.name != "same_package_twice":  # the client names its own record
                assert body["detail"] == local.detail, kind.name
            if not kind.by_caller:
                assert body["problems"][0]["entry"] == _entry(kind), kind.name
        elif kind.outcome == "rejected":
            assert status == 202, (kind.name, body)
            assert body["status"] == "rejected" and body["reject_code"] == kind.expected_code
            assert body["reject_text"] == local.detail
        else:
            assert status == 202, (kind.name, body)
            doubt = next(d for d in body["doubts"] if d["code"] == kind.expected_code)
            assert doubt["message"] == local.detail
            assert f"{doubt['table']} 申报序号{doubt['seq']} {doubt['field']}列" == local.where
    health = requests.get(live_stub.api + "/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def _entry(kind: HostileKind) -> str | None:
    where = kind.expected_where
    return None if where in (None, "数据包") else str(where).split(" ")[0]
