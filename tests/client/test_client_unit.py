"""PlatformClient without a server: error mapping, retries, the streaming upload body."""

from __future__ import annotations

import email
import email.policy
import json
import logging
from pathlib import Path

import pytest
import requests

from app.client import PlatformClient, api_base
from app.errors import NetworkError, PlatformError
from app.logs import setup_logging
from app.paths import app_paths
from tests.client.helpers import fake_session, problem

DECL = {
    "id": "d-1",
    "stage": "pre",
    "business_code": "A0305001",
    "business_name": "生产企业免抵退税申报",
    "period": "202610",
    "batch": "001",
    "file_name": "p.zip",
    "size": 10,
    "sha256": "ab",
    "uploaded_at": "2026-11-05T10:20:30+08:00",
    "record_count": 3,
    "status": "queued",
    "status_text": "排队中",
    "queue_position": 4,
    "amounts": {"refund": "12.30", "closing_credit": None},
}


def client_with(handler, **kw) -> tuple[PlatformClient, object]:  # type: ignore[no-untyped-def]
    session, adapter = fake_session(handler)
    return PlatformClient("http://platform.test", session=session, backoff=0, **kw), adapter


def test_api_base_normalises_urls() -> None:
    assert api_base("127.0.0.1:8765") == "http://127.0.0.1:8765/api/v1"
    assert api_base("https://x.cn/api/v1/") == "https://x.cn/api/v1"


def test_problem_json_becomes_platform_error_with_extras() -> None:
    client, _ = client_with(
        lambda r: problem(
            423, "AUTH_LOCKED", "账号已锁定", locked_until="2026-11-05T10:35:00+08:00"
        )
    )
    with pytest.raises(PlatformError) as info:
        client.login("credit_code", "91110108MA01HC7K1M", "x")
    err = info.value
    assert (err.status, err.code, err.detail) == (423, "AUTH_LOCKED", "账号已锁定")
    assert err.locked_until == "2026-11-05T10:35:00+08:00"

    client, _ = client_with(lambda r: problem(409, "PACKAGE_DUPLICATE", "重复", existing_id="d-9"))
    with pytest.raises(PlatformError) as info:
        client.convert("d-1")
    assert info.value.existing_id == "d-9"


def test_money_is_decimal_and_null_amounts_survive() -> None:
    client, _ = client_with(lambda r: (200, {}, json.dumps(DECL).encode()))
    decl = client.declaration("d-1")
    assert str(decl.amounts["refund"]) == "12.30"  # type: ignore[index]
    assert decl.amounts["closing_credit"] is None  # type: ignore[index]
    assert decl.uploaded_at.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]


def test_non_problem_error_and_bad_answers_are_chinese() -> None:
    client, adapter = client_with(
        lambda r: (502, {"Content-Type": "text/html"}, b"<html>bad gateway")
    )
    with pytest.raises(PlatformError) as info:
        client.declaration("d-1")
    assert info.value.code == "HTTP_502" and "请稍后重试" in info.value.detail
    assert len(adapter.calls) == 4  # idempotent GET: retried

    client, _ = client_with(lambda r: (200, {}, b'{"unexpected": 1}'))
    with pytest.raises(PlatformError) as info:
        client.declaration("d-1")
    assert info.value.code == "BAD_ANSWER"


def test_connection_errors_retry_gets_but_never_posts() -> None:
    client, adapter = client_with(lambda r: requests.ConnectionError("refused"))
    with pytest.raises(NetworkError) as info:
        client.enterprise()
    assert "无法连接到服务器" in info.value.detail and "请检查网络或稍后重试" in info.value.detail
    assert len(adapter.calls) == 4

    client, adapter = client_with(lambda r: requests.ConnectionError("refused"))
    with pytest.raises(NetworkError):
        client.confirm("d-1")
    assert len(adapter.calls) == 1


def test_expired_token_is_renewed_once_from_memory() -> None:
    tokens = iter(["t1", "t2"])

    def handler(r: requests.PreparedRequest):  # type: ignore[no-untyped-def]
        if r.path_url.endswith("/auth/login"):
            return (
                200,
                {},
                json.dumps(
                    {
                        "token": next(tokens),
                        "expires_at": "2026-11-05T18:00:00+08:00",
                        "must_change_password": False,
                        "enterprise": {
                            "taxpayer_id": "T",
                            "name": "n",
                            "kind": "trader",
                            "management_class": "一类",
                        },
                    }
                ).encode(),
            )
        if r.headers["Authorization"] == "Bearer t1":
            return problem(401, "TOKEN_INVALID", "登录已失效")
        return 200, {}, json.dumps({"key_id": "k", "key": "s" * 32}).encode()

    client, _ = client_with(handler)
    client.login("credit_code", "A", "pw")
    assert client.feedback_key().key == "s" * 32
    assert client.token == "t2"


def test_upload_streams_a_multipart_body(tmp_path: Path) -> None:
    package = tmp_path / "包.zip"
    package.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    seen: dict[str, object] = {}

    def handler(r: requests.PreparedRequest):  # type: ignore[no-untyped-def]
        body = r.body
        assert not isinstance(body, bytes | str)  # a stream, never the whole file in memory
        chunks = []
        while block := body.read(65536):  # type: ignore[union-attr]
            chunks.append(block)
        raw = b"".join(chunks)
        assert int(r.headers["Content-Length"]) == len(raw)
        msg = email.message_from_bytes(
            b"Content-Type: " + r.headers["Content-Type"].encode() + b"\r\n\r\n" + raw,
            policy=email.policy.HTTP,
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        seen["stage"] = parts["stage"].get_content()
        seen["file"] = parts["file"].get_payload(decode=True)
        seen["filename"] = parts["file"].get_filename()
        return 202, {}, json.dumps(DECL).encode()

    progress: list[tuple[int, int | None]] = []
    client, _ = client_with(handler)
    decl = client.upload_declaration(
        package, "pre", lambda done, total: progress.append((done, total))
    )
    assert decl.id == "d-1"
    assert seen["stage"] == "pre" and seen["filename"] == "包.zip"
    assert seen["file"] == package.read_bytes()
    assert len(progress) >= 4 and progress[-1][0] == progress[-1][1]


@pytest.fixture
def logging_to_files(tmp_path: Path):  # type: ignore[no-untyped-def]
    paths = app_paths(tmp_path / "home")
    loggers = [logging.getLogger(), logging.getLogger("tuishui.requests")]
    before = [list(lg.handlers) for lg in loggers]
    setup_logging(paths)
    yield paths
    for lg, handlers in zip(loggers, before, strict=True):
        for h in lg.handlers:
            if h not in handlers:
                h.close()
        lg.handlers[:] = handlers


def test_request_log_has_no_secrets(logging_to_files) -> None:  # type: ignore[no-untyped-def]
    paths = logging_to_files
    client, _ = client_with(
        lambda r: (
            200,
            {},
            json.dumps(
                {
                    "token": "SECRET-TOKEN",
                    "expires_at": "2026-11-05T18:00:00+08:00",
                    "must_change_password": True,
                    "enterprise": {
                        "taxpayer_id": "T",
                        "name": "n",
                        "kind": "trader",
                        "management_class": "一类",
                    },
                }
            ).encode(),
        )
    )
    client.login("credit_code", "A", "SECRET-PASSWORD")
    for handler in logging.getLogger("tuishui.requests").handlers:
        handler.flush()
    text = (paths.log_dir / "requests.log").read_text(encoding="utf-8")
    assert "POST /auth/login 200" in text
    assert "SECRET" not in text
    assert "SECRET" not in (paths.log_dir / "app.log").read_text(encoding="utf-8")


def test_cut_upload_that_arrived_is_not_sent_again(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(b"PK" + bytes(1000))
    from app.documents import file_sha256

    arrived = DECL | {"sha256": file_sha256(package).upper()}
    posts: list[int] = []

    def handler(r: requests.PreparedRequest):  # type: ignore[no-untyped-def]
        if r.method == "POST":
            posts.append(1)
            return requests.ConnectionError("reset by peer")  # the answer was lost
        assert "stage=pre" in (r.path_url or "")
        return 200, {}, json.dumps({"total": 1, "items": [arrived]}).encode()

    client, _ = client_with(handler)
    assert client.upload_declaration(package, "pre").id == "d-1"
    assert posts == [1]


def test_retry_refused_as_duplicate_returns_the_first_upload(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    package.write_bytes(b"PK" + bytes(1000))
    posts: list[int] = []

    def handler(r: requests.PreparedRequest):  # type: ignore[no-untyped-def]
        if r.method == "POST":
            posts.append(1)
            if len(posts) == 1:
                return requests.ConnectionError("reset by peer")
            return problem(409, "PACKAGE_DUPLICATE", "重复", existing_id="d-1")
        if r.path_url.startswith("/api/v1/declarations?"):
            return 200, {}, json.dumps({"total": 0, "items": []}).encode()
        return 200, {}, json.dumps(DECL).encode()

    client, _ = client_with(handler)
    assert client.upload_declaration(package, "pre").id == "d-1"
    assert len(posts) == 2


def test_a_download_stopped_by_its_progress_callback_leaves_nothing(tmp_path: Path) -> None:
    """取消: the progress callback raises; no file, no .part, nothing retried."""
    body = bytes(200_000)
    client, adapter = client_with(
        lambda r: (200, {"Content-Length": str(len(body)), "ETag": '"v1"'}, body)
    )

    class Stop(Exception):
        pass

    def progress(done: int, total: int | None) -> None:
        assert total == len(body)
        if done >= 65536:
            raise Stop

    with pytest.raises(Stop):
        client.download_file("f1", tmp_path / "out" / "setup.exe", progress)
    assert list((tmp_path / "out").iterdir()) == []
    assert len(adapter.calls) == 1  # type: ignore[attr-defined]
